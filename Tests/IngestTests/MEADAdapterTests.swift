import EmoCFG
import Foundation
import Ingest
import XCTest

/// The MEAD replica: actors `M003` (plus a second split-tar part `M003_part2`) and `W011` (partly
/// nested as `video/1/<view>/…`), an audio folder, an unknown view, an unknown emotion, a neutral clip
/// at level_2, a file outside the layout, and one clip unpacked from two parts.
final class MEADAdapterTests: XCTestCase {
    func ingest() throws -> IngestedReplica {
        try ingestReplica("MEAD", adapter: "mead")
    }

    func test_mead_every_video_in_the_layout_becomes_one_record_keyed_without_the_packaging() throws {
        let r = try ingest()
        XCTAssertEqual(Set(r.clips.keys), [
            "M003/front/angry/level_1/001", "M003/front/angry/level_3/002", "M003/left_30/neutral/level_1/001",
            "M003/down/happy/level_2/007", "M003/right_60/surprised/level_2/003",
            "W011/top/disgusted/level_2/001", "W011/right_30/sad/level_3/014", "W011/front/contempt/level_1/001",
            "W011/back/fear/level_1/002", "W011/front/bored/level_2/001", "W011/left_60/neutral/level_2/001",
        ])
        for (key, clip) in r.clips { XCTAssertEqual(clip.status, "ok", key) }
    }

    func test_mead_labels_come_from_the_path() throws {
        let r = try ingest()
        let clip = try XCTUnwrap(r["M003/front/angry/level_3/002"]?.record)
        XCTAssertEqual(clip.path, "M003/video/front/angry/level_3/002.mp4")
        XCTAssertEqual(clip.labels.emotion, "anger")
        XCTAssertEqual(clip.labels.intensity, "level_3")
        XCTAssertEqual(clip.labels.facts, ["view": "front", "gender": "male"])
        XCTAssertEqual(clip.nativeLabels,
                       ["actor": "M003", "view": "front", "emotion": "angry", "level": "level_3", "clip": "002"])
        XCTAssertEqual(clip.identity, "M003")
        XCTAssertEqual(clip.labelOrigin, SourceLocation(file: "M003/video/front/angry/level_3/002.mp4"))
        XCTAssertEqual(clip.labelProblems, [])
        XCTAssertNil(clip.split)
        XCTAssertNil(clip.nativeSplit)
    }

    func test_mead_every_emotion_folder_maps_to_the_canonical_noun() throws {
        let r = try ingest()
        let expected = [
            "M003/down/happy/level_2/007": "happiness", "M003/right_60/surprised/level_2/003": "surprise",
            "W011/top/disgusted/level_2/001": "disgust", "W011/right_30/sad/level_3/014": "sadness",
            "W011/front/contempt/level_1/001": "contempt", "W011/back/fear/level_1/002": "fear",
            "M003/left_30/neutral/level_1/001": "neutral",
        ]
        for (key, emotion) in expected { XCTAssertEqual(r[key]?.record.labels.emotion, emotion, key) }
    }

    func test_mead_w_actors_are_female_and_m_actors_male() throws {
        let r = try ingest()
        XCTAssertEqual(r["W011/front/contempt/level_1/001"]?.record.labels.facts["gender"], "female")
        XCTAssertEqual(r["W011/front/contempt/level_1/001"]?.record.identity, "W011")
        XCTAssertEqual(r["M003/left_30/neutral/level_1/001"]?.record.labels.facts["gender"], "male")
    }

    func test_mead_neutral_at_level_1_is_clean() throws {
        let r = try ingest()
        let clip = try XCTUnwrap(r["M003/left_30/neutral/level_1/001"]?.record)
        XCTAssertEqual(clip.labels.intensity, "level_1")
        XCTAssertEqual(clip.labels.facts["view"], "left_30")
        XCTAssertEqual(clip.labelProblems, [])
    }

    func test_mead_nested_tar_layout_reads_like_the_plain_one() throws {
        let r = try ingest()
        let clip = try XCTUnwrap(r["W011/top/disgusted/level_2/001"]?.record)
        XCTAssertEqual(clip.path, "W011/video/1/top/disgusted/level_2/001.mp4")
        XCTAssertEqual(clip.labels.facts["view"], "top")
        XCTAssertEqual(clip.labels.intensity, "level_2")
        XCTAssertEqual(clip.identity, "W011")
        XCTAssertEqual(clip.labelProblems, [])
        XCTAssertEqual(r["W011/right_30/sad/level_3/014"]?.record.path, "W011/video/1/right_30/sad/level_3/014.mp4")
    }

    func test_mead_second_tar_part_folder_belongs_to_the_same_actor() throws {
        let r = try ingest()
        let clip = try XCTUnwrap(r["M003/right_60/surprised/level_2/003"]?.record)
        XCTAssertEqual(clip.path, "M003_part2/video/right_60/surprised/level_2/003.mp4")
        XCTAssertEqual(clip.identity, "M003")
        XCTAssertEqual(clip.nativeLabels["actor"], "M003")
        XCTAssertEqual(clip.labels.facts["gender"], "male")
    }

    func test_mead_a_clip_unpacked_from_two_parts_keeps_the_first_copy_and_reports_the_other() throws {
        let r = try ingest()
        XCTAssertEqual(r["M003/front/angry/level_1/001"]?.record.path, "M003/video/front/angry/level_1/001.mp4")
        let dup = r.problems(.strayFile).filter { $0.location?.file == "M003_part2/video/front/angry/level_1/001.mp4" }
        XCTAssertEqual(dup.count, 1)
        XCTAssertTrue(dup.first?.message.contains("M003/video/front/angry/level_1/001.mp4") ?? false)
    }

    func test_mead_unknown_view_keeps_the_clip_and_names_the_view() throws {
        let r = try ingest()
        let clip = try XCTUnwrap(r["W011/back/fear/level_1/002"]?.record)
        XCTAssertNil(clip.labels.facts["view"])
        XCTAssertEqual(clip.nativeLabels["view"], "back")
        XCTAssertEqual(clip.labels.emotion, "fear")
        XCTAssertEqual(clip.labelProblems.count, 1)
        let message = try XCTUnwrap(clip.labelProblems.first)
        XCTAssertTrue(message.contains("'back'"), message)
        XCTAssertTrue(message.contains("W011/video/back/fear/level_1/002.mp4"), message)
        XCTAssertTrue(message.contains("left_30"), message)
    }

    func test_mead_unknown_emotion_folder_keeps_the_clip_without_an_emotion() throws {
        let r = try ingest()
        let clip = try XCTUnwrap(r["W011/front/bored/level_2/001"]?.record)
        XCTAssertNil(clip.labels.emotion)
        XCTAssertEqual(clip.nativeLabels["emotion"], "bored")
        XCTAssertEqual(clip.labels.facts["view"], "front")
        let message = try XCTUnwrap(clip.labelProblems.first)
        XCTAssertTrue(message.contains("'bored'"), message)
        XCTAssertTrue(message.contains("W011/video/front/bored/level_2/001.mp4"), message)
        XCTAssertTrue(message.contains("disgusted"), message)
    }

    func test_mead_neutral_above_level_1_is_a_label_problem() throws {
        let r = try ingest()
        let clip = try XCTUnwrap(r["W011/left_60/neutral/level_2/001"]?.record)
        XCTAssertEqual(clip.labels.emotion, "neutral")
        XCTAssertEqual(clip.labelProblems.count, 1)
        XCTAssertTrue(clip.labelProblems[0].contains("level_2"), clip.labelProblems[0])
    }

    func test_mead_audio_and_files_outside_the_layout_are_not_clips() throws {
        let r = try ingest()
        XCTAssertFalse(r.clips.values.contains { $0.record.path.contains("audio") })
        XCTAssertEqual(Set(r.problems(.strayFile).map { $0.location?.file }),
                       ["W011/video/front/001.mp4", "M003_part2/video/front/angry/level_1/001.mp4"])
        let outside = r.problems(.strayFile).first { $0.location?.file == "W011/video/front/001.mp4" }
        XCTAssertTrue(outside?.message.contains("level_<n>") ?? false)
    }

    func test_mead_a_root_without_actor_folders_fails_the_source() throws {
        let empty = FileManager.default.temporaryDirectory.appendingPathComponent("mead-empty-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: empty.appendingPathComponent("video"), withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: empty) }
        let r = try ingestReplica("MEAD", adapter: "mead", root: empty)
        XCTAssertEqual(r.summary.outcome, .failed)
        XCTAssertTrue(r.summary.note?.contains("no actor folders") ?? false, r.summary.note ?? "")
        XCTAssertTrue(r.clips.isEmpty)
    }
}
