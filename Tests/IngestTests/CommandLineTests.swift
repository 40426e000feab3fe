import EmoCFG
import Foundation
import TestSupport
import XCTest

/// The `emocfg` executable as a user runs it: exit codes, messages, JSON shapes.
final class CommandLineTests: XCTestCase {
    func run(_ args: [String], cwd: URL) throws -> (status: Int32, out: String, err: String) {
        let p = Process()
        p.executableURL = try builtExecutable("emocfg")
        p.arguments = args
        p.currentDirectoryURL = cwd
        let out = Pipe(), err = Pipe()
        p.standardOutput = out
        p.standardError = err
        try p.run()
        let o = out.fileHandleForReading.readDataToEndOfFile(), e = err.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        return (p.terminationStatus, String(decoding: o, as: UTF8.self), String(decoding: e, as: UTF8.self))
    }

    func workdir() throws -> URL {
        let d = FileManager.default.temporaryDirectory.appendingPathComponent("emocfg-cli-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: d, withIntermediateDirectories: true)
        return d
    }

    func test_malformed_sources_yaml_exits_2_naming_file_line_and_key_and_stores_nothing() throws {
        let dir = try workdir()
        try """
            sources:
              RAVDESS:
                adapter: ravdess
                root: \(fixturesRoot.appendingPathComponent("RAVDESS").path)
                rooot: typo
            """.write(to: dir.appendingPathComponent("sources.yaml"), atomically: true, encoding: .utf8)
        let r = try run(["ingest"], cwd: dir)
        XCTAssertEqual(r.status, 2)
        XCTAssertTrue(r.err.contains("sources.yaml:5: 'sources.RAVDESS.rooot': unknown key; allowed here: adapter, root"), r.err)
        XCTAssertFalse(FileManager.default.fileExists(atPath: dir.appendingPathComponent("emocfg.sqlite").path))
    }

    func test_an_option_the_adapter_does_not_know_fails_before_the_store_is_created() throws {
        let dir = try workdir()
        try """
            sources:
              DFEW:
                adapter: dfew
                root: /nowhere/DFEW
                options:
                  fold: 1
                  folds: 5
            """.write(to: dir.appendingPathComponent("sources.yaml"), atomically: true, encoding: .utf8)
        let r = try run(["ingest", "--db", "x.sqlite"], cwd: dir)
        XCTAssertEqual(r.status, 2)
        XCTAssertTrue(r.err.contains("sources.yaml:7: 'sources.DFEW.options.folds': unknown key; allowed here: fold"), r.err)
        XCTAssertFalse(FileManager.default.fileExists(atPath: dir.appendingPathComponent("x.sqlite").path))
    }

    func test_unknown_source_name_lists_the_sources_of_the_file() throws {
        let dir = try workdir()
        let r = try run(["ingest", "--sources", samplesConfig.path, "--source", "DFEV", "--db", dir.appendingPathComponent("s.sqlite").path], cwd: dir)
        XCTAssertEqual(r.status, 2)
        XCTAssertTrue(r.err.contains("'DFEV': no such source; sources in this file: DFEW, AFEW"), r.err)
    }

    func test_ingest_and_status_print_json_with_per_source_counts() throws {
        let dir = try workdir()
        let db = dir.appendingPathComponent("s.sqlite").path
        let ingest = try run(["ingest", "--sources", samplesConfig.path, "--source", "RAVDESS", "MELD", "--db", db, "--json"], cwd: dir)
        XCTAssertEqual(ingest.status, 0, ingest.err)
        let report = try JSONSerialization.jsonObject(with: Data(ingest.out.utf8)) as! [String: Any]
        let sources = report["sources"] as! [[String: Any]]
        XCTAssertEqual(sources.map { $0["name"] as? String }, ["RAVDESS", "MELD"])
        XCTAssertEqual(sources[0]["found"] as? Int, 9)
        XCTAssertEqual(sources[0]["probed"] as? Int, 9)
        XCTAssertTrue(ingest.err.contains("RAVDESS probing: 9/9"), "plain progress lines when not on a terminal: \(ingest.err)")

        let status = try run(["status", "--json", "--db", db], cwd: dir)
        XCTAssertEqual(status.status, 0, status.err)
        let counts = try JSONSerialization.jsonObject(with: Data(status.out.utf8)) as! [String: Any]
        let ravdess = (counts["sources"] as! [String: Any])["RAVDESS"] as! [String: Int]
        XCTAssertEqual(ravdess["clips"], 9)
        XCTAssertEqual(ravdess["probed"], 9)
        XCTAssertEqual(ravdess["labelled"], 9)
        XCTAssertEqual(ravdess["errors"], 1)
        XCTAssertEqual(ravdess["with_face"], 3, "samples/ravdess-faces.jsonl names three clips")
        XCTAssertEqual(ravdess["face_from_sidecar"], 3)
        XCTAssertEqual(ravdess["no_face_found"], 6, "the other six replica clips show no face, and the detector searched them")

        let again = try run(["ingest", "--sources", samplesConfig.path, "--source", "RAVDESS", "--db", db], cwd: dir)
        let row = again.out.split(separator: "\n").first { $0.hasPrefix("RAVDESS") }?.split(separator: " ").map(String.init)
        XCTAssertEqual(row, ["RAVDESS", "9", "0", "9", "1", "9", "3", "6"], "found, probed, labelled, errors, skipped, faces, no face: \(again.out)")
        XCTAssertTrue(again.out.contains("faces: 0 clips searched on this run, 6 from earlier searches, 3 with the dataset's or a sidecar's box"), again.out)
    }

    var samplesConfig: URL {
        fixturesRoot.deletingLastPathComponent().deletingLastPathComponent().appendingPathComponent("samples/sources.yaml")
    }
}
