import EmoCFG
import XCTest

final class SourcesConfigTests: XCTestCase {
    let adapters = ["dfew", "meld", "ravdess"]

    func parse(_ yaml: String) throws -> SourcesConfig {
        try SourcesConfig.parse(yaml: yaml, file: "sources.yaml", baseDirectory: URL(fileURLWithPath: "/data/emo"), adapters: adapters)
    }

    func assertConfigError(_ yaml: String, line: Int?, key: String?, contains: String, file: StaticString = #filePath, lineNo: UInt = #line) {
        XCTAssertThrowsError(try parse(yaml), file: file, line: lineNo) { error in
            guard let e = error as? ConfigError else { return XCTFail("not a ConfigError: \(error)", file: file, line: lineNo) }
            XCTAssertEqual(e.file, "sources.yaml", file: file, line: lineNo)
            XCTAssertEqual(e.line, line, "\(e)", file: file, line: lineNo)
            XCTAssertEqual(e.key, key, "\(e)", file: file, line: lineNo)
            XCTAssertTrue(e.description.contains(contains), "\(e)", file: file, line: lineNo)
        }
    }

    func test_relative_roots_resolve_against_the_file_and_order_is_kept() throws {
        let c = try parse("""
            sources:
              MELD:
                adapter: meld
                root: MELD
              DFEW:
                adapter: dfew
                root: /mnt/DFEW
                options: {fold: 2}
                licence: research only
            """)
        XCTAssertEqual(c.sources.map(\.name), ["MELD", "DFEW"])
        XCTAssertEqual(c.sources[0].root.path, "/data/emo/MELD")
        XCTAssertEqual(c.sources[1].root.path, "/mnt/DFEW")
        XCTAssertEqual(try c.sources[1].options.int("fold"), 2)
        XCTAssertEqual(c.sources[1].licence, "research only")
        XCTAssertEqual(c.viewThresholds, ViewThresholds())
    }

    func test_export_name_sets_the_videos_folder_and_a_path_is_refused() throws {
        let c = try parse("""
            sources:
              DFEW:
                adapter: dfew
                root: DFEW
                export_name: DFEW_aligned
            """)
        XCTAssertEqual(c.sources[0].exportName, "DFEW_aligned")
        assertConfigError("""
            sources:
              DFEW:
                adapter: dfew
                root: DFEW
                export_name: ../elsewhere
            """, line: 5, key: "sources.DFEW.export_name", contains: "cannot be a folder name")
    }

    func test_unknown_key_in_a_source_names_line_key_and_allowed_keys() {
        assertConfigError("""
            sources:
              DFEW:
                adapter: dfew
                root: DFEW
                rooot: typo
            """, line: 5, key: "sources.DFEW.rooot", contains: "allowed here: adapter, root, options")
    }

    func test_unknown_adapter_names_the_line_and_the_known_adapters() {
        assertConfigError("""
            sources:
              DFEW:
                root: DFEW
                adapter: dfw
            """, line: 4, key: "sources.DFEW.adapter", contains: "known adapters: dfew, meld, ravdess")
    }

    func test_missing_root_key_is_an_error_naming_the_source() {
        assertConfigError("""
            sources:
              MELD:
                adapter: meld
            """, line: 3, key: "sources.MELD.root", contains: "required but missing")
    }

    func test_unknown_top_level_key_is_rejected() {
        assertConfigError("""
            sauces:
              X: {}
            """, line: 1, key: "sauces", contains: "allowed here: defaults, sources")
    }

    func test_yaml_syntax_error_names_the_line() {
        XCTAssertThrowsError(try parse("sources:\n  DFEW:\n    adapter: [dfew\n    root: x\n")) { error in
            let e = error as! ConfigError
            XCTAssertNotNil(e.line)
            XCTAssertTrue(e.message.hasPrefix("not valid YAML"), "\(e)")
        }
    }

    func test_view_thresholds_are_read_and_checked() throws {
        let c = try parse("defaults:\n  view_thresholds: {head: 0.2, half: 0.05}\nsources: {}\n")
        XCTAssertEqual(c.viewThresholds, ViewThresholds(head: 0.2, half: 0.05))
        XCTAssertEqual(c.viewThresholds.classify(0.3), .head)
        XCTAssertEqual(c.viewThresholds.classify(0.05), .half)
        XCTAssertEqual(c.viewThresholds.classify(0.01), .full)
        assertConfigError("defaults:\n  view_thresholds: {head: 0.01, half: 0.05}\nsources: {}\n",
                          line: 2, key: "defaults.view_thresholds", contains: "half < head")
    }

    func test_face_box_sidecar_settings_accept_a_path_or_a_map() throws {
        let c = try parse("""
            sources:
              A: {adapter: dfew, root: a, face_boxes: faces/a.csv}
              B:
                adapter: dfew
                root: b
                face_boxes: {file: b.jsonl, units: pixels}
            """)
        XCTAssertEqual(c.sources[0].faceBoxes?.format, .csv)
        XCTAssertEqual(c.sources[0].faceBoxes?.file.path, "/data/emo/faces/a.csv")
        XCTAssertEqual(c.sources[1].faceBoxes?.units, .pixels)
        assertConfigError("sources:\n  B:\n    adapter: dfew\n    root: b\n    face_boxes: {file: b.jsonl, units: inches}\n",
                          line: 5, key: "sources.B.face_boxes.units", contains: "expected one of: pixels, normalized, auto")
    }

    func test_the_shipped_sources_yaml_parses_and_names_all_19_datasets() throws {
        let url = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("sources.yaml")
        let text = try String(contentsOf: url, encoding: .utf8)
        let c = try SourcesConfig.parse(yaml: text, file: url.path, baseDirectory: url.deletingLastPathComponent(),
                                        adapters: SourcesConfigTests.allAdapterNames)
        XCTAssertEqual(Set(c.sources.map(\.name)), [
            "DFEW", "MAFW", "FERV39K", "AFEW", "CAER", "RAVDESS", "MEAD", "MELD", "MER2023", "MOSI", "MOSEI", "CH-SIMS",
            "AffWild2", "CASME", "CASME2", "CAS(ME)^2", "CelebV-HQ", "CelebV-Text", "PERR"])
        XCTAssertEqual(c.sources.count, 19)
    }

    /// Every adapter name the shipped file may use (Ingest's registry is not importable from here).
    static let allAdapterNames = ["dfew", "mafw", "ferv39k", "afew", "caer", "ravdess", "mead", "meld", "mer2023",
                                  "mmsa", "affwild2", "casme", "casme2", "casme_sq", "celebvhq", "celebvtext", "manifest"]
}
