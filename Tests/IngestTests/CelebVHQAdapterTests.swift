import EmoCFG
import Foundation
import Ingest
import XCTest

/// The CelebV-HQ replica: `celebvhq_info.json` (indented, five clips) with clips in `35666/` and one
/// at the root, ids starting with `-` and `_`, single and segmented emotion labels, a listed clip
/// without its mp4, an mp4 the JSON does not list, a 39-bit appearance array and an unknown emotion.
final class CelebVHQAdapterTests: XCTestCase {
    static let info = "celebvhq_info.json"

    func ingest() throws -> IngestedReplica {
        try ingestReplica("CelebV-HQ", adapter: "celebvhq")
    }

    /// A throwaway root holding only `json` as the info file and an empty `35666/`.
    func temporaryRoot(json: String) throws -> URL {
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("celebvhq-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: root.appendingPathComponent("35666"), withIntermediateDirectories: true)
        try Data(json.utf8).write(to: root.appendingPathComponent(Self.info))
        addTeardownBlock { try? FileManager.default.removeItem(at: root) }
        return root
    }

    func test_celebvhq_every_listed_clip_and_every_unlisted_mp4_becomes_one_record() throws {
        let r = try ingest()
        XCTAssertEqual(Set(r.clips.keys),
                       ["-Zx3kQ9pL2a_0", "_aB4cD5eF6g_2", "Q1w2E3r4T5y_1", "abcDEF12345_3", "zz9yy8xx7ww_0", "k9J8h7G6f5d_4"])
    }

    func test_celebvhq_ids_with_leading_dash_and_underscore_survive_in_key_path_and_identity() throws {
        let r = try ingest()
        let dash = try XCTUnwrap(r["-Zx3kQ9pL2a_0"])
        XCTAssertEqual(dash.record.path, "35666/-Zx3kQ9pL2a_0.mp4")
        XCTAssertEqual(dash.record.identity, "ytb:-Zx3kQ9pL2a")
        XCTAssertEqual(dash.status, "ok")
        let underscore = try XCTUnwrap(r["_aB4cD5eF6g_2"])
        XCTAssertEqual(underscore.record.path, "35666/_aB4cD5eF6g_2.mp4")
        XCTAssertEqual(underscore.record.identity, "ytb:_aB4cD5eF6g")
        XCTAssertEqual(underscore.status, "ok")
    }

    func test_celebvhq_clips_are_found_in_35666_or_beside_the_json() throws {
        let r = try ingest()
        XCTAssertEqual(r["Q1w2E3r4T5y_1"]?.record.path, "Q1w2E3r4T5y_1.mp4")
        XCTAssertEqual(r["Q1w2E3r4T5y_1"]?.status, "ok")
        XCTAssertEqual(r["zz9yy8xx7ww_0"]?.record.path, "35666/zz9yy8xx7ww_0.mp4")
    }

    func test_celebvhq_single_emotion_string_sets_the_emotion() throws {
        let r = try ingest()
        let clip = try XCTUnwrap(r["-Zx3kQ9pL2a_0"]?.record)
        XCTAssertEqual(clip.labels.emotion, "happiness")
        XCTAssertEqual(clip.labels.emotions, [])
        XCTAssertEqual(clip.nativeLabels["emotion"], "happy")
        XCTAssertEqual(clip.nativeLabels["sep_flag"], "false")
        XCTAssertEqual(r["Q1w2E3r4T5y_1"]?.record.labels.emotion, "surprise")
        XCTAssertEqual(clip.labelProblems, [])
    }

    func test_celebvhq_segmented_emotions_in_time_order_and_the_longest_total_wins() throws {
        let r = try ingest()
        let clip = try XCTUnwrap(r["_aB4cD5eF6g_2"]?.record)
        // Listed neutral, sadness, neutral, happy; in time sadness (0-1.5) comes first. Neutral has no
        // segment longer than sadness's but the most time in total (3 s).
        XCTAssertEqual(clip.labels.emotions, ["sadness", "neutral", "happiness"])
        XCTAssertEqual(clip.labels.emotion, "neutral")
        XCTAssertEqual(clip.nativeLabels["sep_flag"], "true")
        let native = try XCTUnwrap(clip.nativeLabels["emotion"])
        let segments = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(native.utf8)) as? [[String: Any]])
        XCTAssertEqual(segments.map { $0["emotion"] as? String }, ["neutral", "sadness", "neutral", "happy"])
        XCTAssertEqual(clip.labelProblems, [])
    }

    func test_celebvhq_segments_of_equal_length_go_to_the_earliest_emotion() throws {
        let r = try ingest()
        let clip = try XCTUnwrap(r["abcDEF12345_3"]?.record)
        XCTAssertEqual(clip.labels.emotions, ["anger", "disgust"])
        XCTAssertEqual(clip.labels.emotion, "anger")
    }

    func test_celebvhq_attribute_bits_become_vocabulary_names_and_raw_arrays_are_kept() throws {
        let r = try ingest()
        let clip = try XCTUnwrap(r["-Zx3kQ9pL2a_0"]?.record)
        XCTAssertEqual(clip.labels.attributes["appearance"], ["male", "receding_hairline", "mustache"])
        XCTAssertEqual(clip.labels.attributes["action"], ["smile", "talk"])
        let appearance = try XCTUnwrap(clip.nativeLabels["appearance"])
        XCTAssertTrue(appearance.hasPrefix("[0,1,0,0,0,0,0,1,"), appearance)
        XCTAssertEqual(appearance.filter { $0 == "," }.count, 39)
        let action = try XCTUnwrap(clip.nativeLabels["action"])
        XCTAssertEqual(action.filter { $0 == "," }.count, 34)
        XCTAssertEqual(r["_aB4cD5eF6g_2"]?.record.labels.attributes["action"], ["cry", "sigh"])
    }

    func test_celebvhq_all_zero_bits_are_an_empty_attribute_list() throws {
        let r = try ingest()
        XCTAssertEqual(r["Q1w2E3r4T5y_1"]?.record.labels.attributes["action"], [])
        XCTAssertEqual(r["Q1w2E3r4T5y_1"]?.record.labels.attributes["appearance"], ["bald", "eyeglasses"])
    }

    func test_celebvhq_bbox_edges_become_the_dataset_face_box() throws {
        let r = try ingest()
        let box = try XCTUnwrap(r["-Zx3kQ9pL2a_0"]?.record.faceBox)
        XCTAssertEqual(box.x, 0.25, accuracy: 1e-9)
        XCTAssertEqual(box.y, 0.1, accuracy: 1e-9)
        XCTAssertEqual(box.w, 0.45, accuracy: 1e-9)
        XCTAssertEqual(box.h, 0.5, accuracy: 1e-9)
        XCTAssertEqual(box.origin, .dataset)
        XCTAssertEqual(r["-Zx3kQ9pL2a_0"]?.view, .head)
    }

    func test_celebvhq_duration_goes_to_facts_and_there_is_no_native_split() throws {
        let r = try ingest()
        let clip = try XCTUnwrap(r["-Zx3kQ9pL2a_0"]?.record)
        XCTAssertEqual(clip.labels.facts["start_sec"], "12.5")
        XCTAssertEqual(clip.labels.facts["end_sec"], "19")
        XCTAssertEqual(clip.nativeLabels["ytb_id"], "-Zx3kQ9pL2a")
        XCTAssertEqual(clip.nativeLabels["version"], "v0.1")
        XCTAssertNil(clip.nativeSplit)
        XCTAssertNil(clip.split)
    }

    func test_celebvhq_label_origin_is_the_line_where_the_clip_starts_in_the_json() throws {
        let r = try ingest()
        XCTAssertEqual(r["-Zx3kQ9pL2a_0"]?.record.labelOrigin, SourceLocation(file: Self.info, line: 84))
        XCTAssertEqual(r["zz9yy8xx7ww_0"]?.record.labelOrigin, SourceLocation(file: Self.info, line: 512))
    }

    func test_celebvhq_listed_clip_without_mp4_is_a_record_the_runner_reports_missing() throws {
        let r = try ingest()
        let clip = try XCTUnwrap(r["abcDEF12345_3"])
        XCTAssertEqual(clip.record.path, "35666/abcDEF12345_3.mp4")
        XCTAssertEqual(clip.status, "missing")
        XCTAssertEqual(clip.record.identity, "ytb:abcDEF12345")
        let missing = r.problems(.missingFile)
        XCTAssertEqual(missing.map { $0.location }, [SourceLocation(file: Self.info, line: 402)])
        XCTAssertTrue(missing.first?.message.contains("35666/abcDEF12345_3.mp4") ?? false)
    }

    func test_celebvhq_mp4_not_in_the_json_is_an_unlabelled_clip_and_reported() throws {
        let r = try ingest()
        let clip = try XCTUnwrap(r["k9J8h7G6f5d_4"])
        XCTAssertEqual(clip.record.path, "35666/k9J8h7G6f5d_4.mp4")
        XCTAssertTrue(clip.record.labels.isEmpty)
        XCTAssertEqual(clip.record.identity, "ytb:k9J8h7G6f5d")
        let stray = r.problems(.strayFile)
        XCTAssertEqual(stray.map { $0.location?.file }, ["35666/k9J8h7G6f5d_4.mp4"])
        XCTAssertTrue(stray.first?.message.contains("not listed in celebvhq_info.json") ?? false)
    }

    func test_celebvhq_wrong_length_attribute_array_and_unknown_emotion_are_label_problems() throws {
        let r = try ingest()
        let clip = try XCTUnwrap(r["zz9yy8xx7ww_0"]?.record)
        XCTAssertNil(clip.labels.attributes["appearance"])
        XCTAssertEqual(clip.labels.attributes["action"], ["yawn"])
        XCTAssertNil(clip.labels.emotion)
        XCTAssertEqual(clip.nativeLabels["emotion"], "boredom")
        XCTAssertEqual(clip.labelProblems.count, 2)
        let appearance = try XCTUnwrap(clip.labelProblems.first { $0.hasPrefix("appearance") })
        XCTAssertTrue(appearance.contains("40 values"), appearance)
        XCTAssertTrue(appearance.contains("celebvhq_info.json:512"), appearance)
        let emotion = try XCTUnwrap(clip.labelProblems.first { $0.contains("'boredom'") })
        XCTAssertTrue(emotion.contains("celebvhq_info.json:512"), emotion)
        XCTAssertTrue(emotion.contains("sadness"), emotion)
    }

    func test_celebvhq_attribute_names_come_from_the_json_mapping() throws {
        let app = (0..<40).map { "\"a\($0)\"" }.joined(separator: ",")
        let act = (0..<35).map { "\"b\($0)\"" }.joined(separator: ",")
        let bits = { (n: Int, ones: Set<Int>) in (0..<n).map { ones.contains($0) ? "1" : "0" }.joined(separator: ",") }
        let json = """
            {"meta_info": {"appearance_mapping": [\(app)], "action_mapping": [\(act)]},
             "clips": {"xYz_1": {"ytb_id": "xYz", "attributes": {"appearance": [\(bits(40, [3, 39]))],
               "action": [\(bits(35, [0]))], "emotion": {"sep_flag": false, "labels": "fear"}}}}}
            """
        let r = try ingestReplica("CelebV-HQ", adapter: "celebvhq", root: try temporaryRoot(json: json))
        let clip = try XCTUnwrap(r["xYz_1"]?.record)
        XCTAssertEqual(clip.labels.attributes["appearance"], ["a3", "a39"])
        XCTAssertEqual(clip.labels.attributes["action"], ["b0"])
        XCTAssertEqual(clip.labels.emotion, "fear")
        XCTAssertEqual(clip.labelOrigin, SourceLocation(file: Self.info, line: 2))
        XCTAssertEqual(clip.path, "35666/xYz_1.mp4")
        XCTAssertNil(clip.faceBox)
    }

    func test_celebvhq_without_meta_info_the_published_names_are_used() throws {
        let bits = { (n: Int, ones: Set<Int>) in (0..<n).map { ones.contains($0) ? "1" : "0" }.joined(separator: ",") }
        let json = """
            {"clips": {"-q_0": {"ytb_id": "-q", "attributes": {"appearance": [\(bits(40, [0, 39]))],
               "action": [\(bits(35, [34]))], "emotion": {"sep_flag": false, "labels": "contempt"}}}}}
            """
        let r = try ingestReplica("CelebV-HQ", adapter: "celebvhq", root: try temporaryRoot(json: json))
        let clip = try XCTUnwrap(r["-q_0"]?.record)
        XCTAssertEqual(clip.labels.attributes["appearance"], ["blurry", "wearing_mask"])
        XCTAssertEqual(clip.labels.attributes["action"], ["yawn"])
        XCTAssertEqual(clip.labels.emotion, "contempt")
    }

    func test_celebvhq_no_json_and_no_mp4_fails_the_source() throws {
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("celebvhq-empty-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: root, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: root) }
        let r = try ingestReplica("CelebV-HQ", adapter: "celebvhq", root: root)
        XCTAssertEqual(r.summary.outcome, .failed)
        XCTAssertTrue(r.summary.note?.contains("celebvhq_info.json") ?? false, r.summary.note ?? "")
    }
}
