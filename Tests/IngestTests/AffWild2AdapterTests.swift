import EmoCFG
import Foundation
import Ingest
import XCTest

/// The AffWild2 replica (`scripts/make-affwild2-fixtures.py`): videos with irregular names in
/// `batch1/`, `batch2/`, `new_vids/`; `AU_Set`/`EXPR_Set`/`VA_Set` annotations with headers and
/// invalid markers; a two-person video; an annotation shorter than its video; an annotation whose
/// video is missing; an unannotated video; `cropped_aligned/`. Most tests cut 0.3 s windows (3 frames
/// of the 10 fps videos).
final class AffWild2AdapterTests: XCTestCase {
    func ingest(_ options: String = "window: 0.3", root: URL? = nil, store: Store? = nil) throws -> IngestedReplica {
        try ingestReplica("AffWild2", adapter: "affwild2", options: options, root: root, store: store)
    }

    func test_affwild2_each_annotated_video_and_person_is_cut_into_windows_keyed_by_frames() throws {
        let r = try ingest()
        XCTAssertEqual(Set(r.clips.keys), [
            "1-30-1280x720/0-3", "1-30-1280x720/3-6",
            "122-60-1920x1080-1/0-3", "122-60-1920x1080-1/3-6",
            "video10_1_left/0-3", "video10_1_left/3-6", "video10_1_right/0-3", "video10_1_right/3-6",
            "46/0-4", "77-25-640x480/0-6", "200/0-9", "200/9-15",
        ])
    }

    func test_affwild2_window_clip_points_into_its_video_with_its_span_in_seconds() throws {
        let r = try ingest()
        let clip = try XCTUnwrap(r["1-30-1280x720/3-6"])
        XCTAssertEqual(clip.record.kind, .window)
        XCTAssertEqual(clip.record.path, "batch1/1-30-1280x720.mp4")
        XCTAssertEqual(try XCTUnwrap(clip.record.window?.start), 0.3, accuracy: 1e-9)
        XCTAssertEqual(try XCTUnwrap(clip.record.window?.end), 0.6, accuracy: 1e-9)
        XCTAssertEqual(clip.record.identity, "video:1-30-1280x720")
        XCTAssertEqual(clip.status, "ok")
        XCTAssertEqual(try XCTUnwrap(clip.probe?.duration), 0.3, accuracy: 1e-9)
        XCTAssertEqual(clip.probe?.width, 64)
    }

    func test_affwild2_irregular_video_names_in_every_video_folder_are_matched() throws {
        let r = try ingest()
        XCTAssertEqual(r["122-60-1920x1080-1/0-3"]?.record.path, "batch2/122-60-1920x1080-1.mp4")
        XCTAssertEqual(r["46/0-4"]?.record.path, "batch1/46.avi")
        XCTAssertEqual(r["video10_1_left/0-3"]?.record.path, "new_vids/video10_1.mp4")
        for key in ["122-60-1920x1080-1/0-3", "46/0-4", "video10_1_left/0-3"] {
            XCTAssertEqual(r[key]?.status, "ok", key)
        }
    }

    func test_affwild2_expression_is_the_majority_of_valid_frames() throws {
        let r = try ingest()
        let first = try XCTUnwrap(r["1-30-1280x720/0-3"]?.record)
        XCTAssertEqual(first.labels.emotion, "happiness")  // 4, 4, -1
        XCTAssertEqual(first.labels.emotions, [])
        XCTAssertEqual(first.nativeLabels["EXPR"], "4*2 -1")
        XCTAssertEqual(first.nativeLabels["EXPR_rows"], "EXPR_Set/Train_Set/1-30-1280x720.txt:2-4")
        let second = try XCTUnwrap(r["1-30-1280x720/3-6"]?.record)
        XCTAssertEqual(second.labels.emotion, "neutral")  // 4, 0, 0
        XCTAssertEqual(second.nativeLabels["EXPR_rows"], "EXPR_Set/Train_Set/1-30-1280x720.txt:5-7")
    }

    func test_affwild2_any_frame_aggregation_lists_every_expression_present() throws {
        let r = try ingest("window: 0.3\naggregate: any")
        let clip = try XCTUnwrap(r["1-30-1280x720/3-6"]?.record)
        XCTAssertEqual(clip.labels.emotions, ["happiness", "neutral"])
        XCTAssertEqual(clip.labels.emotion, "neutral")
        XCTAssertEqual(r["1-30-1280x720/0-3"]?.record.labels.emotions, ["happiness"])
    }

    func test_affwild2_action_units_on_in_most_valid_frames_are_named_in_header_order() throws {
        let r = try ingest()
        let first = try XCTUnwrap(r["1-30-1280x720/0-3"]?.record)
        // AU6 and AU12 on in both valid frames, AU25 in one of two; the third frame is all -1.
        XCTAssertEqual(first.labels.attributes["action_units"], ["AU6", "AU12"])
        XCTAssertEqual(first.nativeLabels["AU"],
                       "0,0,0,1,0,0,1,0,0,0,1,0 0,0,0,1,0,0,1,0,0,0,0,0 -1,-1,-1,-1,-1,-1,-1,-1,-1,-1,-1,-1")
        // Valid frames with no unit on: an empty list, not a missing label.
        XCTAssertEqual(r["1-30-1280x720/3-6"]?.record.labels.attributes["action_units"], [])
    }

    func test_affwild2_any_frame_aggregation_turns_on_units_seen_in_one_frame() throws {
        let r = try ingest("window: 0.3\naggregate: any")
        XCTAssertEqual(r["1-30-1280x720/0-3"]?.record.labels.attributes["action_units"], ["AU6", "AU12", "AU25"])
        XCTAssertEqual(r["1-30-1280x720/3-6"]?.record.labels.attributes["action_units"], ["AU1"])
    }

    func test_affwild2_valence_and_arousal_are_means_of_valid_frames_without_minus_five() throws {
        let r = try ingest()
        let first = try XCTUnwrap(r["1-30-1280x720/0-3"]?.record.labels)
        XCTAssertEqual(try XCTUnwrap(first.valence), 0.4, accuracy: 1e-9)   // 0.5, 0.3, -5
        XCTAssertEqual(try XCTUnwrap(first.arousal), 0.2, accuracy: 1e-9)   // 0.2, -5, -5
        let second = try XCTUnwrap(r["1-30-1280x720/3-6"]?.record.labels)
        XCTAssertEqual(try XCTUnwrap(second.valence), -0.2, accuracy: 1e-9)
        XCTAssertEqual(try XCTUnwrap(second.arousal), 0.5, accuracy: 1e-9)
    }

    func test_affwild2_video_validated_by_one_task_and_trained_by_another_is_held_out() throws {
        let r = try ingest()
        let clip = try XCTUnwrap(r["1-30-1280x720/0-3"]?.record)
        XCTAssertEqual(clip.nativeSplit, "AU:Train_Set EXPR:Train_Set VA:Validation_Set")
        XCTAssertEqual(clip.split, "val")
        XCTAssertEqual(r["122-60-1920x1080-1/0-3"]?.record.nativeSplit, "Train_Set")
        XCTAssertEqual(r["122-60-1920x1080-1/0-3"]?.record.split, "train")
    }

    func test_affwild2_two_person_video_gives_left_and_right_clips_of_one_video() throws {
        let r = try ingest()
        let left = try XCTUnwrap(r["video10_1_left/0-3"]?.record)
        let right = try XCTUnwrap(r["video10_1_right/0-3"]?.record)
        XCTAssertEqual(left.labels.facts["person"], "left")
        XCTAssertEqual(right.labels.facts["person"], "right")
        XCTAssertEqual(left.path, right.path)
        XCTAssertEqual(left.identity, "video:video10_1")
        XCTAssertEqual(right.identity, "video:video10_1")
        XCTAssertEqual(left.labels.emotion, "surprise")
        XCTAssertEqual(right.labels.emotion, "anger")
        XCTAssertEqual(r["video10_1_left/3-6"]?.record.labels.emotion, "sadness")
        XCTAssertEqual(r["video10_1_left/3-6"]?.record.labels.attributes["action_units"], ["AU26"])
        XCTAssertEqual(left.split, "val")
        XCTAssertNil(r["1-30-1280x720/0-3"]?.record.labels.facts["person"])
    }

    func test_affwild2_annotation_shorter_than_its_video_is_reported_and_windows_stop_at_its_end() throws {
        let r = try ingest()
        let short = try XCTUnwrap(r.problems(.badRow).first { $0.location?.file == "EXPR_Set/Train_Set/46.txt" })
        XCTAssertTrue(short.message.contains("4 frame lines") && short.message.contains("batch1/46.avi has 10 frames"),
                      short.message)
        XCTAssertEqual(r.clips.keys.filter { $0.hasPrefix("46/") }, ["46/0-4"])
        let clip = try XCTUnwrap(r["46/0-4"])
        XCTAssertEqual(try XCTUnwrap(clip.record.window?.end), 4.0 / 25, accuracy: 1e-9)  // clip.avi is 25 fps
        XCTAssertEqual(clip.record.labels.emotion, "disgust")  // 2, 2, 3, -1
        XCTAssertEqual(clip.status, "ok")
        XCTAssertEqual(r.summary.outcome, .done)
    }

    func test_affwild2_annotation_whose_video_is_missing_gives_windows_reported_missing() throws {
        let r = try ingest()
        let clip = try XCTUnwrap(r["77-25-640x480/0-6"])
        XCTAssertEqual(clip.status, "missing")
        XCTAssertEqual(clip.record.path, "batch1/77-25-640x480.mp4")
        // Without the video the rate is the fps option's (30): 6 annotated frames are 0.2 s.
        XCTAssertEqual(try XCTUnwrap(clip.record.window?.end), 0.2, accuracy: 1e-9)
        XCTAssertEqual(clip.record.labels.emotion, "neutral")
        let missing = try XCTUnwrap(r.problems(.missingFile).first { $0.clipKey == "77-25-640x480/0-6" })
        XCTAssertTrue(missing.message.contains("EXPR_Set/Train_Set/77-25-640x480.txt:2"), missing.message)
    }

    func test_affwild2_video_without_annotations_is_cut_into_unlabelled_windows() throws {
        let r = try ingest()
        let first = try XCTUnwrap(r["200/0-9"])  // square_av.mp4: 15 frames at 30 fps
        XCTAssertEqual(first.record.path, "new_vids/200.mp4")
        XCTAssertTrue(first.record.labels.isEmpty)
        XCTAssertNil(first.record.split)
        XCTAssertEqual(first.record.identity, "video:200")
        XCTAssertEqual(try XCTUnwrap(r["200/9-15"]?.record.window?.end), 0.5, accuracy: 1e-9)
    }

    func test_affwild2_invalid_values_and_malformed_lines_are_reported_with_file_and_line() throws {
        let r = try ingest()
        let expr = try XCTUnwrap(r.problems(.badLabel).first {
            $0.location == SourceLocation(file: "EXPR_Set/Validation_Set/video10_1_left.txt", line: 7) })
        XCTAssertTrue(expr.message.contains("'9'") && expr.message.contains("7 Other"), expr.message)
        let va = try XCTUnwrap(r.problems(.badLabel).first {
            $0.location == SourceLocation(file: "VA_Set/Train_Set/122-60-1920x1080-1.txt", line: 5) })
        XCTAssertTrue(va.message.contains("'1.7'"), va.message)
        XCTAssertNotNil(r.problems(.badRow).first {
            $0.location == SourceLocation(file: "VA_Set/Train_Set/122-60-1920x1080-1.txt", line: 4) })
        let au = try XCTUnwrap(r.problems(.badRow).first {
            $0.location == SourceLocation(file: "AU_Set/Validation_Set/video10_1_left.txt", line: 3) })
        XCTAssertTrue(au.message.contains("expected 12") && au.message.contains("found 11"), au.message)
        // A bad frame is left out of its window; the others still count.
        let labels = try XCTUnwrap(r["122-60-1920x1080-1/3-6"]?.record.labels)
        XCTAssertEqual(try XCTUnwrap(labels.valence), 0.4, accuracy: 1e-9)  // 1.7 dropped; 0.6, 0.2
        XCTAssertEqual(try XCTUnwrap(r["122-60-1920x1080-1/0-3"]?.record.labels.valence), 0.15, accuracy: 1e-9)
    }

    func test_affwild2_cropped_aligned_frames_are_not_read() throws {
        let r = try ingest()
        XCTAssertFalse(r.clips.values.contains { $0.record.path.hasPrefix("cropped_aligned") })
        XCTAssertFalse(r.problems.contains { $0.location?.file.hasPrefix("cropped_aligned") ?? false })
    }

    func test_affwild2_challenge_edition_folder_names_read_the_same_annotations() throws {
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("affwild2-\(UUID().uuidString)")
        let fm = FileManager.default
        try fm.copyItem(at: fixturesRoot.appendingPathComponent("AffWild2"), to: root)
        addTeardownBlock { try? fm.removeItem(at: root) }
        try fm.moveItem(at: root.appendingPathComponent("AU_Set"), to: root.appendingPathComponent("AU_Detection_Challenge"))
        try fm.moveItem(at: root.appendingPathComponent("VA_Set"), to: root.appendingPathComponent("VA_Estimation_Challenge"))
        // One edition's annotations sit in a parent folder.
        let parent = root.appendingPathComponent("Third ABAW Annotations")
        try fm.createDirectory(at: parent, withIntermediateDirectories: true)
        try fm.moveItem(at: root.appendingPathComponent("EXPR_Set"), to: parent.appendingPathComponent("EXPR_Classification_Challenge"))

        let r = try ingest(root: root)
        XCTAssertEqual(r.clips.count, 12)
        let clip = try XCTUnwrap(r["1-30-1280x720/0-3"]?.record)
        XCTAssertEqual(clip.labels.emotion, "happiness")
        XCTAssertEqual(clip.labels.attributes["action_units"], ["AU6", "AU12"])
        XCTAssertEqual(try XCTUnwrap(clip.labels.valence), 0.4, accuracy: 1e-9)
        XCTAssertEqual(clip.nativeLabels["EXPR_rows"],
                       "Third ABAW Annotations/EXPR_Classification_Challenge/Train_Set/1-30-1280x720.txt:2-4")
        XCTAssertEqual(r["video10_1_right/0-3"]?.record.labels.emotion, "anger")
    }

    func test_affwild2_later_abaw_layout_finds_videos_in_a_nested_videos_folder_and_challenge_annotations() throws {
        // Tests/Fixtures/AffWild2_ABAW: videos/videos/, videos/both_batches/, *_Challenge folders.
        let r = try ingestReplica("AffWild2_ABAW", adapter: "affwild2", options: "window: 0.3")
        XCTAssertEqual(r.summary.outcome, .done)
        XCTAssertEqual(Set(r.clips.keys), [
            "1-30-1280x720/0-3", "1-30-1280x720/3-6", "video10_1_left/0-3", "video10_1_left/3-6",
            "video10_1_right/0-3", "video10_1_right/3-6", "46/0-8", "46/8-10",
        ])
        XCTAssertEqual(r["1-30-1280x720/0-3"]?.record.path, "videos/videos/1-30-1280x720.mp4")
        XCTAssertEqual(r["1-30-1280x720/0-3"]?.record.labels.emotion, "happiness")
        XCTAssertEqual(r["video10_1_left/0-3"]?.record.path, "videos/both_batches/video10_1.mp4")
        XCTAssertEqual(r["video10_1_left/0-3"]?.record.labels.attributes["action_units"], ["AU6", "AU12"])
        XCTAssertEqual(try XCTUnwrap(r["video10_1_right/3-6"]?.record.labels.valence), 0.5, accuracy: 1e-9)
        XCTAssertEqual(r["46/0-8"]?.record.path, "videos/both_batches/46.avi")
        XCTAssertTrue(r["46/0-8"]?.record.labels.isEmpty ?? false, "no annotation: unlabelled windows")
        XCTAssertEqual(r.clips.values.filter { $0.status != "ok" }.map(\.record.key), [])
        XCTAssertEqual(r.problems.map(\.message), [])
    }

    func test_affwild2_two_symlink_loops_in_the_videos_folder_end_the_walk_and_are_reported() throws {
        let fm = FileManager.default
        let root = fm.temporaryDirectory.appendingPathComponent("emocfg-loops-\(UUID().uuidString)")
        defer { try? fm.removeItem(at: root) }
        try fm.copyItem(at: fixturesRoot.appendingPathComponent("AffWild2_ABAW"), to: root)
        // Two loops: one back to videos/, one from a nested folder back to the root's videos/videos.
        try fm.createSymbolicLink(atPath: root.appendingPathComponent("videos/again").path, withDestinationPath: ".")
        try fm.createDirectory(at: root.appendingPathComponent("videos/both_batches/deeper"), withIntermediateDirectories: true)
        try fm.createSymbolicLink(atPath: root.appendingPathComponent("videos/both_batches/deeper/up").path, withDestinationPath: "../..")
        let r = try ingestReplica("AffWild2_ABAW", adapter: "affwild2", options: "window: 0.3", root: root)
        XCTAssertEqual(r.summary.outcome, .done)
        XCTAssertEqual(r["1-30-1280x720/0-3"]?.record.path, "videos/videos/1-30-1280x720.mp4", "each video found once, by its first path")
        XCTAssertEqual(r.clips.count, 8)
        let loops = r.problems.filter { $0.message.contains("already searched") }
        XCTAssertEqual(loops.count, 2, "\(r.problems.map(\.message))")
    }

    func test_affwild2_default_four_second_windows_cover_each_short_video_once() throws {
        let r = try ingest("")
        XCTAssertEqual(r.clips.keys.filter { $0.hasPrefix("1-30-1280x720/") }, ["1-30-1280x720/0-6"])
        XCTAssertEqual(r.clips.count, 7)
    }

    func test_affwild2_stride_shorter_than_the_window_overlaps_windows() throws {
        let r = try ingest("window: 0.4\nstride: 0.2")
        XCTAssertEqual(Set(r.clips.keys.filter { $0.hasPrefix("1-30-1280x720/") }),
                       ["1-30-1280x720/0-4", "1-30-1280x720/2-6"])
    }

    func test_affwild2_rerun_probes_nothing_and_writes_nothing() throws {
        let store = try temporaryStore()
        _ = try ingest(store: store)
        let again = try ingest(store: store)
        XCTAssertEqual(again.summary.probed, 0)
        XCTAssertEqual(again.summary.written, 0)
        XCTAssertEqual(again.clips.count, 12)
    }

    func test_affwild2_window_option_must_be_positive() {
        XCTAssertThrowsError(try ingest("window: 0")) { error in
            XCTAssertTrue("\(error)".contains("window"), "\(error)")
        }
        XCTAssertThrowsError(try ingest("aggregate: mode"))
    }
}
