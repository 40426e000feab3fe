import EmoCFG
import Foundation
import Ingest
import XCTest

/// The runner's behaviour on bad input, on reruns and with face-box sidecars, over a temporary copy
/// of the RAVDESS replica (its labels come from file names, so any file can be added).
final class IngestRunnerTests: XCTestCase {
    var root: URL!
    let fm = FileManager.default

    override func setUpWithError() throws {
        root = fm.temporaryDirectory.appendingPathComponent("emocfg-runner-\(UUID().uuidString)/RAVDESS")
        try fm.createDirectory(at: root.deletingLastPathComponent(), withIntermediateDirectories: true)
        try fm.copyItem(at: fixturesRoot.appendingPathComponent("RAVDESS"), to: root)
    }

    override func tearDownWithError() throws {
        try? fm.removeItem(at: root.deletingLastPathComponent())
    }

    func add(_ relative: String, _ data: Data) throws {
        let url = root.appendingPathComponent(relative)
        try fm.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
        try data.write(to: url)
    }

    var goodVideo: Data { get throws { try Data(contentsOf: fixturesRoot.appendingPathComponent("_media/av.mp4")) } }

    func test_bad_files_are_recorded_with_reasons_and_the_good_ones_are_kept() throws {
        try add("Actor_03/01-01-03-01-01-01-03.mp4", Data())                                   // zero bytes
        try add("Actor_03/01-01-04-01-01-01-03.mp4", try goodVideo.prefix(1500))               // truncated
        try add("Actor_03/01-01-05-01-01-01-03.mp4", Data("not a video\n".utf8))               // text named .mp4
        try fm.createDirectory(at: root.appendingPathComponent("Actor_03/01-01-06-01-01-01-03.mp4"), withIntermediateDirectories: true)
        try fm.createSymbolicLink(atPath: root.appendingPathComponent("Actor_03/01-01-07-01-01-01-03.mp4").path,
                                  withDestinationPath: "../nowhere/gone.mp4")                   // broken symlink
        try add("Actor_03/01-01-09-01-01-01-03.mp4", try goodVideo)                             // emotion 09 is no emotion
        try add("Actor_03/01-01-02-01-01-01-03.mp4", try goodVideo)                             // a good one among them

        let r = try ingestReplica("RAVDESS", adapter: "ravdess", root: root)

        XCTAssertEqual(r.summary.outcome, .done)
        XCTAssertEqual(r.summary.found, 16)
        XCTAssertEqual(r.clips.count, 16)
        XCTAssertEqual(r.summary.probed, 11, "9 replica clips + the out-of-vocabulary one + the good one")

        let zero = try XCTUnwrap(r["01-01-03-01-01-01-03"])
        XCTAssertEqual(zero.status, "failed")
        XCTAssertTrue(zero.error?.contains("Invalid data found when processing input") == true, zero.error ?? "")
        let cut = try XCTUnwrap(r["01-01-04-01-01-01-03"])
        XCTAssertEqual(cut.status, "failed")
        XCTAssertTrue(cut.error?.contains("moov atom not found") == true, cut.error ?? "")
        XCTAssertEqual(r["01-01-05-01-01-01-03"]?.status, "failed")
        let dir = try XCTUnwrap(r["01-01-06-01-01-01-03"])
        XCTAssertEqual(dir.status, "unreadable")
        XCTAssertTrue(dir.error?.contains("is a directory") == true)
        let link = try XCTUnwrap(r["01-01-07-01-01-01-03"])
        XCTAssertEqual(link.status, "unreadable")
        XCTAssertTrue(link.error?.contains("broken symbolic link to '../nowhere/gone.mp4'") == true, link.error ?? "")

        let oov = try XCTUnwrap(r["01-01-09-01-01-01-03"])
        XCTAssertEqual(oov.status, "ok", "a bad label does not make the media unusable")
        XCTAssertNotNil(oov.probe)
        XCTAssertNil(oov.record.labels.emotion)
        XCTAssertEqual(oov.record.nativeLabels["emotion"], "09")
        XCTAssertTrue(oov.record.labelProblems.contains { $0.contains("emotion '09'") }, "\(oov.record.labelProblems)")

        XCTAssertEqual(r["01-01-02-01-01-01-03"]?.status, "ok")
        XCTAssertEqual(r["01-01-02-01-01-01-03"]?.record.labels.emotion, "calm")

        XCTAssertEqual(r.problems(.probeFailed).count, 3)
        XCTAssertEqual(r.problems(.unreadableMedia).count, 2)
        XCTAssertEqual(r.problems(.probeFailed).compactMap { $0.location?.file }.sorted(),
                       ["Actor_03/01-01-03-01-01-01-03.mp4", "Actor_03/01-01-04-01-01-01-03.mp4", "Actor_03/01-01-05-01-01-01-03.mp4"])
        // 5 media problems, the new bad label, and the replica's own (disgust in a song file).
        XCTAssertEqual(r.summary.errors, 7)
        XCTAssertEqual(try r.store.sourceCounts()["RAVDESS"]?.errors, 7)
        XCTAssertEqual(try r.store.sourceCounts()["RAVDESS"]?.failed, 3)
    }

    func test_a_file_without_read_permission_is_unreadable() throws {
        try XCTSkipIf(geteuid() == 0, "root reads every file; permissions cannot be tested as root")
        let path = root.appendingPathComponent("Actor_01/01-01-03-02-01-01-01.mp4").path
        chmod(path, 0)
        defer { chmod(path, 0o644) }
        let r = try ingestReplica("RAVDESS", adapter: "ravdess", root: root)
        XCTAssertEqual(r["01-01-03-02-01-01-01"]?.status, "unreadable")
        XCTAssertTrue(r["01-01-03-02-01-01-01"]?.error?.contains("permission denied") == true)
    }

    func test_second_ingest_writes_nothing_and_probes_nothing() throws {
        let first = try ingestReplica("RAVDESS", adapter: "ravdess", root: root)
        XCTAssertEqual(first.summary.probed, 9)
        XCTAssertEqual(first.summary.written, 9)
        let before = try snapshot(first.store)

        let second = try ingestReplica("RAVDESS", adapter: "ravdess", root: root, store: first.store)
        XCTAssertEqual(second.summary.probed, 0)
        XCTAssertEqual(second.summary.written, 0)
        XCTAssertEqual(second.summary.skipped, 9)
        XCTAssertEqual(try snapshot(first.store), before, "no row written, no problem re-inserted")
    }

    func test_touching_one_file_reprobes_exactly_that_file() throws {
        let first = try ingestReplica("RAVDESS", adapter: "ravdess", root: root)
        let touched = root.appendingPathComponent("Actor_02/01-01-08-02-02-01-02.mp4")
        try fm.setAttributes([.modificationDate: Date(timeIntervalSinceNow: 60)], ofItemAtPath: touched.path)

        let second = try ingestReplica("RAVDESS", adapter: "ravdess", root: root, store: first.store)
        XCTAssertEqual(second.summary.probed, 1)
        XCTAssertEqual(second.summary.written, 1)
        XCTAssertEqual(second.summary.skipped, 8)
        let stored = try XCTUnwrap(try first.store.clip(uid: "RAVDESS/01-01-08-02-02-01-02"))
        XCTAssertEqual(stored.fileMtime ?? 0, (try fm.attributesOfItem(atPath: touched.path)[.modificationDate] as! Date).timeIntervalSince1970, accuracy: 0.001)
    }

    func test_a_repaired_file_is_probed_again_and_its_problem_cleared() throws {
        try add("Actor_03/01-01-04-01-01-01-03.mp4", try goodVideo.prefix(1000))
        let first = try ingestReplica("RAVDESS", adapter: "ravdess", root: root)
        XCTAssertEqual(first["01-01-04-01-01-01-03"]?.status, "failed")
        XCTAssertEqual(first.problems(.probeFailed).count, 1)

        try add("Actor_03/01-01-04-01-01-01-03.mp4", try goodVideo)
        let second = try ingestReplica("RAVDESS", adapter: "ravdess", root: root, store: first.store)
        XCTAssertEqual(second.summary.probed, 1)
        XCTAssertEqual(second["01-01-04-01-01-01-03"]?.status, "ok")
        XCTAssertEqual(second["01-01-04-01-01-01-03"]?.probe?.width, 64)
        XCTAssertEqual(second.problems(.probeFailed).count, 0)
    }

    func test_a_deleted_file_marks_its_clip_gone() throws {
        let first = try ingestReplica("RAVDESS", adapter: "ravdess", root: root)
        try fm.removeItem(at: root.appendingPathComponent("Actor_18/02-01-02-01-02-02-18.mp4"))
        let second = try ingestReplica("RAVDESS", adapter: "ravdess", root: root, store: first.store)
        XCTAssertEqual(second.clips.count, 8)
        XCTAssertEqual(try first.store.clip(uid: "RAVDESS/02-01-02-01-02-02-18")?.status, .gone)
        XCTAssertEqual(try first.store.sourceCounts()["RAVDESS"]?.clips, 8)
    }

    func test_sidecar_face_boxes_in_pixels_give_ratio_and_view() throws {
        let faces = root.deletingLastPathComponent().appendingPathComponent("faces.jsonl")
        try """
            {"key": "01-01-03-02-01-01-01", "frame": 0, "x": 16, "y": 8, "w": 32, "h": 32}
            {"key": "01-01-03-02-01-01-01", "frame": 5, "x": 18, "y": 8, "w": 32, "h": 32}
            {"path": "Actor_02/01-01-08-02-02-01-02.mp4", "x": 30, "y": 20, "w": 12, "h": 10}
            {"key": "01-01-01-01-01-02-02", "x": 30, "y": 20, "w": 2, "h": 2}
            {"key": "no-such-clip", "x": 1, "y": 1, "w": 1
            """.write(to: faces, atomically: true, encoding: .utf8)
        let r = try ingestReplica("RAVDESS", adapter: "ravdess", root: root,
                                  extra: "face_boxes: {file: \(faces.path), units: pixels}")
        let head = try XCTUnwrap(r["01-01-03-02-01-01-01"])
        XCTAssertEqual(head.record.faceBox?.origin, .sidecar)
        XCTAssertEqual(head.record.faceBox?.x ?? 0, 17.0 / 64, accuracy: 1e-9)
        XCTAssertEqual(head.record.faceBox?.areaRatio ?? 0, (32.0 / 64) * (32.0 / 48), accuracy: 1e-9)
        XCTAssertEqual(head.view, .head)
        XCTAssertEqual(r["01-01-08-02-02-01-02"]?.view, .half)  // 12x10 of 64x48: ratio 0.039
        XCTAssertEqual(r["01-01-01-01-01-02-02"]?.view, .full)
        XCTAssertNil(r["02-01-03-02-01-01-01"]?.record.faceBox)
        XCTAssertEqual(r.problems(.badFaceBox).count, 1)
        XCTAssertEqual(r.problems(.badFaceBox).first?.location?.line, 5)
    }

    func test_options_the_adapter_does_not_know_fail_before_anything_is_stored() throws {
        let store = try temporaryStore()
        XCTAssertThrowsError(try ingestReplica("RAVDESS", adapter: "ravdess", options: "fold: 2", root: root, store: store)) { error in
            let e = error as! ConfigError
            XCTAssertEqual(e.key, "sources.RAVDESS.options.fold")
            XCTAssertEqual(e.line, 6)
            XCTAssertTrue(e.message.contains("allowed here: modalities"), e.message)
        }
        XCTAssertEqual(try store.sources().count, 0)
    }

    func test_a_source_whose_root_is_absent_is_skipped_with_a_note() throws {
        let r = try ingestReplica("RAVDESS", adapter: "ravdess", root: root.appendingPathComponent("not-here"))
        XCTAssertEqual(r.summary.outcome, .skipped)
        XCTAssertTrue(r.summary.note?.contains("not on this machine") == true)
        XCTAssertTrue(r.clips.isEmpty)
    }

    /// Every clip and problem row with its update time: equal snapshots mean nothing was written.
    func snapshot(_ store: Store) throws -> [String] {
        try store.read { db in
            try String.fetchAll(db, sql: "SELECT uid || '|' || updated_at || '|' || record_hash FROM clips ORDER BY uid")
                + String.fetchAll(db, sql: "SELECT id || '|' || fingerprint FROM ingest_problems ORDER BY id")
        }
    }
}
