import EmoCFG
import XCTest

final class StoreTests: XCTestCase {
    func makeStore() throws -> Store { try Store(path: try temporaryDirectory().appendingPathComponent("s.sqlite").path) }

    func clip(_ i: Int, source: String = "S") -> StoredClip {
        var labels = NormalizedLabels(emotion: "anger")
        labels.facts["view"] = "front"
        let record = ClipRecord(
            key: String(format: "%05d", i), path: "clips/\(i).mp4", nativeSplit: "set_1:test", split: "test",
            folds: ["1": "test", "2": "train"], identity: "actor:\(i % 7)", nativeLabels: ["label": "4"], labels: labels,
            texts: ["utterance": "Hi, \"you\"."], labelOrigin: SourceLocation(file: "labels.csv", line: i + 1))
        return StoredClip(
            uid: "\(source)/\(record.key)", source: source, record: record,
            probe: ProbeResult(duration: 2.5, width: 640, height: 360, fps: 25, frameCount: 62, frameCountExact: true,
                               codec: "h264", hasAudio: true, container: "mp4"),
            face: FaceBox(x: 0.25, y: 0.1, w: 0.5, h: 0.6, origin: .sidecar), view: .head,
            fileSize: 1234, fileMtime: 1_700_000_000.123456, recordHash: "abc", status: .ok, error: nil)
    }

    func test_a_new_store_is_in_wal_mode_with_every_migration() throws {
        let store = try makeStore()
        XCTAssertEqual(try store.journalMode(), "wal")
        XCTAssertEqual(try store.appliedMigrations(), ["v1-sources-clips", "v2-media-probes", "v3-samples-llm-calls", "v4-verdicts", "v5-clip-splits", "v6-exports", "v7-pipeline-runs", "v8-clip-media", "v9-claims-abstentions", "v10-served-model", "v11-face-searches", "v12-batch-ledger", "v13-human-review"])
        // Reopening applies nothing twice.
        XCTAssertEqual(try Store(path: store.path).appliedMigrations(), ["v1-sources-clips", "v2-media-probes", "v3-samples-llm-calls", "v4-verdicts", "v5-clip-splits", "v6-exports", "v7-pipeline-runs", "v8-clip-media", "v9-claims-abstentions", "v10-served-model", "v11-face-searches", "v12-batch-ledger", "v13-human-review"])
    }

    func test_clip_round_trips_every_field() throws {
        let store = try makeStore()
        try store.upsertSource(SourceRow(name: "S", root: "/r", adapter: "dfew", adapterVersion: 1, licence: nil))
        let c = clip(42)
        try store.upsertClips([c])
        let back = try XCTUnwrap(try store.clip(uid: "S/00042"))
        XCTAssertEqual(back, c)
        XCTAssertEqual(back.faceRatio ?? 0, 0.3, accuracy: 1e-9)

        // A part of a frame folder keeps its frame range; a source keeps its export folder name.
        var part = clip(43)
        part.record.kind = .frames
        part.record.path = "rawpic/s15/recording"
        part.record.frameRange = FrameRange(first: 120, last: 188)
        part.record.frameRate = 25
        try store.upsertClips([part])
        XCTAssertEqual(try store.clip(uid: "S/00043")?.record.frameRange, FrameRange(first: 120, last: 188))
        try store.upsertSource(SourceRow(name: "S", root: "/r", adapter: "dfew", adapterVersion: 1, licence: nil, exportName: "Dfew"))
        XCTAssertEqual(try store.sources().first?.exportName, "Dfew")
    }

    func test_upsert_replaces_rather_than_duplicates() throws {
        let store = try makeStore()
        try store.upsertSource(SourceRow(name: "S", root: "/r", adapter: "dfew", adapterVersion: 1, licence: nil))
        try store.upsertClips((0..<1000).map { clip($0) })
        var changed = clip(5)
        changed.record.labels.emotion = "fear"
        try store.upsertClips([changed])
        XCTAssertEqual(try store.clips(source: "S").count, 1000)
        XCTAssertEqual(try store.clip(uid: "S/00005")?.record.labels.emotion, "fear")
        let counts = try XCTUnwrap(try store.sourceCounts()["S"])
        XCTAssertEqual(counts.clips, 1000)
        XCTAssertEqual(counts.probed, 1000)
        XCTAssertEqual(counts.labelled, 1000)
        XCTAssertEqual(counts.withFace, 1000)
    }

    func test_replacing_problems_with_the_same_set_inserts_nothing() throws {
        let store = try makeStore()
        let p = StoredProblem(source: "S", clipUID: nil, phase: .scan,
                              problem: IngestProblem(kind: .badRow, location: SourceLocation(file: "a.csv", line: 3), message: "x"))
        XCTAssertEqual(try store.replaceProblems(source: "S", phase: .scan, with: [p]), 1)
        XCTAssertEqual(try store.replaceProblems(source: "S", phase: .scan, with: [p]), 0)
        XCTAssertEqual(try store.problems(source: "S").count, 1)
        XCTAssertEqual(try store.replaceProblems(source: "S", phase: .scan, with: []), 0)
        XCTAssertEqual(try store.problems(source: "S").count, 0)
    }

    func test_media_problems_of_unchecked_clips_survive_a_replacement() throws {
        let store = try makeStore()
        func media(_ uid: String) -> StoredProblem {
            StoredProblem(source: "S", clipUID: uid, phase: .media, problem: IngestProblem(kind: .probeFailed, message: uid))
        }
        try store.replaceProblems(source: "S", phase: .media, clips: ["S/a", "S/b"], with: [media("S/a"), media("S/b")])
        try store.replaceProblems(source: "S", phase: .media, clips: ["S/a"], with: [])
        XCTAssertEqual(try store.problems(source: "S").map(\.clipUID), ["S/b"])
    }

    func test_clips_no_longer_listed_are_marked_gone_not_deleted() throws {
        let store = try makeStore()
        try store.upsertSource(SourceRow(name: "S", root: "/r", adapter: "dfew", adapterVersion: 1, licence: nil))
        try store.upsertClips([clip(1), clip(2)])
        XCTAssertEqual(try store.markGone(source: "S", present: ["S/00001"]), 1)
        XCTAssertEqual(try store.clip(uid: "S/00002")?.status, .gone)
        XCTAssertEqual(try store.sourceCounts()["S"]?.clips, 1)
    }

    func test_a_store_path_in_a_missing_folder_is_created() throws {
        let path = try temporaryDirectory().appendingPathComponent("a/b/c.sqlite").path
        _ = try Store(path: path)
        XCTAssertTrue(FileManager.default.fileExists(atPath: path))
    }
}

final class CanonicalJSONTests: XCTestCase {
    func test_string_maps_are_written_with_sorted_keys_and_round_trip_through_json() throws {
        let map = ["b": "say \"hi\"\\ now", "a": "line\nbreak\ttab\u{01}", "中文": "你好，世界 😀", "/": "a/b"]
        let text = CanonicalJSON.encode(map)
        XCTAssertTrue(text.hasPrefix("{\"/\":\"a/b\",\"a\":"), text)
        XCTAssertEqual(CanonicalJSON.decode([String: String].self, text), map)
        XCTAssertEqual(CanonicalJSON.encode([String: String]()), "{}")
    }
}

extension CanonicalJSONTests {
    func test_normalised_labels_written_directly_decode_to_the_same_value_as_the_encoder_gives() throws {
        let full = NormalizedLabels(
            emotion: "anger", emotions: ["anger", "disgust"], sentiment: "negative", sentimentScore: -2.4,
            valence: -0.35, arousal: 0.8, intensity: "strong",
            attributes: ["appearance": ["male", "no_beard"], "action": []], facts: ["view": "front", "q": "\"x\""])
        for labels in [full, NormalizedLabels(), NormalizedLabels(sentimentScore: 1e-7)] {
            let direct = CanonicalJSON.encode(labels)
            XCTAssertEqual(CanonicalJSON.decode(NormalizedLabels.self, direct), labels, direct)
            let viaEncoder = String(decoding: try JSONEncoder().encode(labels), as: UTF8.self)
            XCTAssertEqual(CanonicalJSON.decode(NormalizedLabels.self, viaEncoder), CanonicalJSON.decode(NormalizedLabels.self, direct))
        }
    }
}
