import EmoCFG
import Export
import Foundation
import Ingest
import TestSupport
import XCTest

/// The statistics report and the dataset card count face boxes by origin for every source: after a
/// real ingest of the face fixtures (detector boxes and a clip with no face) with a sidecar box.
final class FaceStatsTests: XCTestCase {
    func test_stats_and_card_count_boxes_from_the_detector_a_sidecar_and_clips_with_no_face() throws {
        let fm = FileManager.default
        let faces = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("Fixtures/_faces")
        let root = fm.temporaryDirectory.appendingPathComponent("emocfg-facestats-\(UUID().uuidString)")
        try fm.createDirectory(at: root, withIntermediateDirectories: true)
        defer { try? fm.removeItem(at: root) }
        var csv = "path,label\n"
        for f in ["size120_bottomright.mp4", "size080_centre.mp4", "no_face.mp4", "two_people_120_064.mp4"] {
            try fm.copyItem(at: faces.appendingPathComponent(f), to: root.appendingPathComponent(f))
            csv += "\(f),happy\n"
        }
        try Data(csv.utf8).write(to: root.appendingPathComponent("m.csv"))
        try Data(#"{"path": "two_people_120_064.mp4", "x": 0.2, "y": 0.2, "w": 0.2, "h": 0.3}"#.utf8).write(to: root.appendingPathComponent("boxes.jsonl"))
        let yaml = """
            sources:
              Faces:
                adapter: manifest
                root: "\(root.path)"
                options: {file: m.csv, columns: {path: path, emotion: label}}
                face_boxes: {file: "\(root.path)/boxes.jsonl", units: normalized}
            """
        let config = try SourcesConfig.parse(yaml: yaml, file: "s.yaml", baseDirectory: root, adapters: AdapterRegistry.names)
        let store = try Store(path: root.appendingPathComponent("s.sqlite").path)
        let runner = IngestRunner(store: store, config: config, jobs: 2)
        _ = try blocking { try await runner.run() }

        let stats = try StatsData.gather(from: store)
        let source = try XCTUnwrap(stats.sources.first { $0.name == "Faces" })
        XCTAssertEqual(source.faceBoxes.detector, 2)
        XCTAssertEqual(source.faceBoxes.sidecar, 1)
        XCTAssertEqual(source.faceBoxes.noFaceFound, 1)
        XCTAssertEqual(source.faceBoxes.notSearched, 0)
        XCTAssertEqual(source.faceRatio.unknown, 1, "only the clip without a face has no face-area ratio")
        XCTAssertEqual(source.views.unknown, 1)

        let html = StatsReport(data: stats).html()
        XCTAssertTrue(html.contains("<th class=\"n\">from the detector</th>"), "the report's face-box table")
        XCTAssertTrue(html.contains("<tr><td>Faces</td><td class=\"n\">0</td><td class=\"n\">1</td><td class=\"n\">2</td><td class=\"n\">1</td><td class=\"n\">0</td></tr>"), html)
        let card = DatasetCard(stats: stats, versions: [], toolVersion: "test").markdown()
        XCTAssertTrue(card.contains("## Face boxes"), card)
        XCTAssertTrue(card.contains("| Faces | 0 | 1 | 2 | 1 | 0 |"), card)
    }
}
