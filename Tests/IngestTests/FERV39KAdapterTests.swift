import EmoCFG
import Foundation
import Ingest
import XCTest

/// The FERV39K replica (`scripts/make-ferv39k-fixtures.py`): face-crop frame folders nested twice
/// (`2_ClipsforFaceCrop/2_ClipsforFaceCrop/`), scene frames for one clip, `train_All.csv` without a
/// header and `test_All.csv` with one (CRLF), space-separated; a malformed row, an out-of-vocabulary
/// label, a label that disagrees with its folder, a row without its folder, a folder without a row
/// and a stray file in a frame folder.
final class FERV39KAdapterTests: XCTestCase {
    static let faces = "2_ClipsforFaceCrop/2_ClipsforFaceCrop"
    static let train = "4_setups/All_scenes/train_All.csv"
    static let test = "4_setups/All_scenes/test_All.csv"

    func ingest(options: String = "", root: URL? = nil) throws -> IngestedReplica {
        try ingestReplica("FERV39K", adapter: "ferv39k", options: options, root: root)
    }

    /// A copy of the replica in a temporary folder, for rearranging its layout.
    func copyOfReplica() throws -> URL {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("ferv39k-\(UUID().uuidString)")
        try FileManager.default.copyItem(at: fixturesRoot.appendingPathComponent("FERV39K"), to: dir)
        addTeardownBlock { try? FileManager.default.removeItem(at: dir) }
        return dir
    }

    func test_ferv39k_every_frame_folder_and_every_split_row_is_one_clip_keyed_scene_emotion_clip() throws {
        let r = try ingest()
        XCTAssertEqual(Set(r.clips.keys), [
            "Action/Sad/0010", "Action/Sad/0012", "Action/Happy/0011", "Interview/Neutral/0203", "DailyLife/Angry/0042",
            "Talkshow/Surprise/0007", "School/Happy/0300", "War/Fear/0150", "Crime/Fear/0099",
        ])
        XCTAssertEqual(r.summary.found, 9)
    }

    func test_ferv39k_clip_is_a_frame_folder_with_the_emotion_and_scene_from_its_folders() throws {
        let r = try ingest()
        let clip = try XCTUnwrap(r["Action/Sad/0010"])
        XCTAssertEqual(clip.record.kind, .frames)
        XCTAssertEqual(clip.record.path, "\(Self.faces)/Action/Sad/0010")
        XCTAssertEqual(clip.record.labels.emotion, "sadness")
        XCTAssertEqual(clip.record.labels.facts["scene"], "Action")
        XCTAssertEqual(clip.record.nativeLabels, ["scene": "Action", "emotion": "Sad", "label": "Sad"])
        XCTAssertEqual(clip.record.identity, "clip:Action/Sad/0010")
        XCTAssertEqual(clip.record.labelProblems, [])
        XCTAssertEqual(clip.status, "ok")
        XCTAssertEqual(clip.probe?.frameCount, 3)
        XCTAssertEqual(clip.probe?.width, 32)
        XCTAssertEqual(clip.probe?.height, 24)
        XCTAssertEqual(clip.probe?.fps, 30)
        XCTAssertEqual(try XCTUnwrap(clip.probe?.duration), 0.1, accuracy: 1e-9)
        XCTAssertEqual(r["Interview/Neutral/0203"]?.record.labels.emotion, "neutral")
        XCTAssertEqual(r["DailyLife/Angry/0042"]?.record.labels.emotion, "anger")
        XCTAssertEqual(r["DailyLife/Angry/0042"]?.record.labels.facts["scene"], "DailyLife")
    }

    func test_ferv39k_clip_numbers_keep_their_leading_zeros() throws {
        let r = try ingest()
        XCTAssertNotNil(r["Talkshow/Surprise/0007"])
        XCTAssertNil(r["Talkshow/Surprise/7"])
    }

    func test_ferv39k_space_separated_train_file_without_header_gives_train_rows_from_line_one() throws {
        let r = try ingest()
        let clip = try XCTUnwrap(r["Action/Sad/0010"]?.record)
        XCTAssertEqual(clip.split, "train")
        XCTAssertEqual(clip.nativeSplit, "train_All")
        XCTAssertEqual(clip.labelOrigin, SourceLocation(file: Self.train, line: 1))
        XCTAssertEqual(r["Action/Happy/0011"]?.record.labelOrigin, SourceLocation(file: Self.train, line: 2))
    }

    func test_ferv39k_test_file_header_line_is_skipped_and_crlf_is_read() throws {
        let r = try ingest()
        let clip = try XCTUnwrap(r["Interview/Neutral/0203"]?.record)
        XCTAssertEqual(clip.split, "test")
        XCTAssertEqual(clip.nativeSplit, "test_All")
        XCTAssertEqual(clip.labelOrigin, SourceLocation(file: Self.test, line: 2))
        XCTAssertEqual(clip.nativeLabels["label"], "Neutral")
        XCTAssertEqual(r["Interview/Neutral/0203"]?.probe?.frameCount, 4)
        XCTAssertFalse(r.problems.contains { $0.location?.file == Self.test && $0.location?.line == 1 },
                       "the header line must not be reported as a row")
    }

    func test_ferv39k_doubly_nested_face_folder_is_followed() throws {
        let r = try ingest()
        XCTAssertEqual(r["War/Fear/0150"]?.record.path, "\(Self.faces)/War/Fear/0150")
        XCTAssertEqual(r["War/Fear/0150"]?.status, "ok")
    }

    func test_ferv39k_singly_nested_layout_reads_the_same_clips() throws {
        let root = try copyOfReplica()
        let fm = FileManager.default
        let outer = root.appendingPathComponent("2_ClipsforFaceCrop")
        let flat = root.appendingPathComponent("faces-flat")
        try fm.moveItem(at: outer.appendingPathComponent("2_ClipsforFaceCrop"), to: flat)
        try fm.removeItem(at: outer)
        try fm.moveItem(at: flat, to: outer)
        let r = try ingest(root: root)
        XCTAssertEqual(r.clips.count, 9)
        XCTAssertEqual(r["Action/Sad/0010"]?.record.path, "2_ClipsforFaceCrop/Action/Sad/0010")
        XCTAssertEqual(r["Action/Sad/0010"]?.status, "ok")
        XCTAssertEqual(r["Action/Sad/0010"]?.record.split, "train")
    }

    func test_ferv39k_dataset_inside_a_FERV39K_folder_is_found() throws {
        let replica = try copyOfReplica()
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("ferv39k-outer-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: root, withIntermediateDirectories: true)
        addTeardownBlock { try? FileManager.default.removeItem(at: root) }
        try FileManager.default.moveItem(at: replica, to: root.appendingPathComponent("FERV39K"))
        let r = try ingest(root: root)
        XCTAssertEqual(r.clips.count, 9)
        XCTAssertEqual(r["Interview/Neutral/0203"]?.record.path, "FERV39K/\(Self.faces)/Interview/Neutral/0203")
        XCTAssertEqual(r["Interview/Neutral/0203"]?.record.split, "test")
        XCTAssertEqual(r["Interview/Neutral/0203"]?.status, "ok")
    }

    func test_ferv39k_scene_frames_folder_is_named_in_facts_when_present() throws {
        let r = try ingest()
        XCTAssertEqual(r["Action/Sad/0010"]?.record.labels.facts["scene_frames"], "3_ClipsforScenImages/Action/Sad/0010")
        XCTAssertNil(r["Action/Happy/0011"]?.record.labels.facts["scene_frames"])
    }

    func test_ferv39k_folder_without_a_split_row_is_a_labelled_clip_without_split() throws {
        let r = try ingest()
        let clip = try XCTUnwrap(r["Talkshow/Surprise/0007"])
        XCTAssertEqual(clip.record.labels.emotion, "surprise")
        XCTAssertNil(clip.record.split)
        XCTAssertNil(clip.record.nativeSplit)
        XCTAssertNil(clip.record.nativeLabels["label"])
        XCTAssertEqual(clip.status, "ok")
    }

    func test_ferv39k_row_without_its_frame_folder_is_kept_and_reported_missing() throws {
        let r = try ingest()
        let clip = try XCTUnwrap(r["Crime/Fear/0099"])
        XCTAssertEqual(clip.status, "missing")
        XCTAssertEqual(clip.record.split, "train")
        XCTAssertEqual(clip.record.labels.emotion, "fear")
        let missing = try XCTUnwrap(r.problems(.missingFile).first { $0.clipKey == "Crime/Fear/0099" })
        XCTAssertTrue(missing.message.contains("\(Self.train):5"), missing.message)
    }

    func test_ferv39k_malformed_row_is_reported_and_its_folder_still_a_clip() throws {
        let r = try ingest()
        let bad = try XCTUnwrap(r.problems(.badRow).first { $0.location == SourceLocation(file: Self.train, line: 3) })
        XCTAssertTrue(bad.message.contains("found 1"), bad.message)
        let clip = try XCTUnwrap(r["Action/Sad/0012"])
        XCTAssertNil(clip.record.split)
        XCTAssertEqual(clip.record.labels.emotion, "sadness")
    }

    func test_ferv39k_out_of_vocabulary_row_label_is_kept_and_reported() throws {
        let r = try ingest()
        let clip = try XCTUnwrap(r["School/Happy/0300"]?.record)
        XCTAssertEqual(clip.nativeLabels["label"], "Joyful")
        XCTAssertEqual(clip.labelProblems.count, 1)
        let message = try XCTUnwrap(clip.labelProblems.first)
        XCTAssertTrue(message.contains("'Joyful'") && message.contains("\(Self.train):4") && message.contains("Surprise"), message)
        // The folder still names a valid emotion.
        XCTAssertEqual(clip.labels.emotion, "happiness")
    }

    func test_ferv39k_row_label_disagreeing_with_its_folder_is_reported_and_the_folder_wins() throws {
        let r = try ingest()
        let clip = try XCTUnwrap(r["War/Fear/0150"]?.record)
        XCTAssertEqual(clip.labels.emotion, "fear")
        XCTAssertEqual(clip.nativeLabels["label"], "Sad")
        XCTAssertEqual(clip.labelProblems.count, 1)
        let message = try XCTUnwrap(clip.labelProblems.first)
        XCTAssertTrue(message.contains("'Sad'") && message.contains("'Fear'") && message.contains("\(Self.test):4"), message)
    }

    func test_ferv39k_stray_file_in_a_frame_folder_is_reported_and_the_clip_stays_usable() throws {
        let r = try ingest()
        let stray = try XCTUnwrap(r.problems(.strayFile).first)
        XCTAssertEqual(stray.location?.file, "\(Self.faces)/Action/Happy/0011/Thumbs.db")
        XCTAssertEqual(r["Action/Happy/0011"]?.status, "ok")
        XCTAssertEqual(r["Action/Happy/0011"]?.probe?.frameCount, 2)
    }

    func test_ferv39k_per_scene_split_files_are_not_read() throws {
        let r = try ingest()
        XCTAssertNil(r["Action/Other/9999"])
        XCTAssertFalse(r.problems.contains { $0.location?.file.hasPrefix("4_setups/Action/") ?? false })
    }

    func test_ferv39k_fps_option_sets_the_frame_folders_rate() throws {
        let r = try ingest(options: "fps: 25")
        let probe = try XCTUnwrap(r["Interview/Neutral/0203"]?.probe)
        XCTAssertEqual(probe.fps, 25)
        XCTAssertEqual(try XCTUnwrap(probe.duration), 4.0 / 25, accuracy: 1e-9)
    }

    func test_ferv39k_root_without_frames_or_split_files_fails_the_source() throws {
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("ferv39k-empty-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: root, withIntermediateDirectories: true)
        addTeardownBlock { try? FileManager.default.removeItem(at: root) }
        let r = try ingest(root: root)
        XCTAssertEqual(r.summary.outcome, .failed)
        XCTAssertTrue(r.summary.note?.contains("train_All.csv") ?? false, r.summary.note ?? "")
    }
}
