import EmoCFG
import Foundation
import Ingest
import XCTest

/// The CAS(ME)^2 replica: `rawpic/s<NN>/<NN>_<code><title>/img<N>.jpg`, `rawvideo/s<NN>/*.avi` and
/// `CAS(ME)^2code_final.xlsx` (header-less main sheet, `naming rule1`, `naming rule2`) written by
/// openpyxl (`scripts/make-casme-fixtures.py`).
final class CASMESquaredAdapterTests: XCTestCase {
    static let sheet = "CAS(ME)^2code_final.xlsx"

    func ingest(_ options: String = "", root: URL? = nil) throws -> IngestedReplica {
        try ingestReplica("CASME_sq", adapter: "casme_sq", options: options, root: root)
    }

    func test_casme_sq_one_clip_per_coded_expression_plus_each_video_no_row_names() throws {
        let r = try ingest()
        XCTAssertEqual(Set(r.clips.keys), [
            "s15/disgust1_1", "s15/disgust1_2", "s15/anger1_1", "s15/anger9_1", "s16/disgust1_1",
            "s16/anger2_1", "s16/happy2_1", "s15/15_0102wormdinner",
        ])
        XCTAssertEqual(r.summary.outcome, .done)
        let unlabelled = try XCTUnwrap(r["s15/15_0102wormdinner"])
        XCTAssertTrue(unlabelled.record.labels.isEmpty)
        XCTAssertEqual(unlabelled.record.identity, "s15")
        XCTAssertEqual(unlabelled.status, "ok")
    }

    func test_casme_sq_main_sheet_has_no_header_and_is_read_by_position() throws {
        let r = try ingest()
        let c = try XCTUnwrap(r["s15/disgust1_1"]?.record)
        XCTAssertEqual(c.labelOrigin, SourceLocation(file: Self.sheet, line: 1), "row 1 is data")
        XCTAssertEqual(c.nativeLabels, [
            "subject": "1", "expression": "disgust1_1", "onset": "2", "apex": "4", "offset": "6", "action_units": "4+L10",
            "emotion": "negative", "type": "micro-expression", "self_report": "disgust",
        ])
        XCTAssertEqual(c.labels.facts["onset_frame"], "2")
        XCTAssertEqual(c.labels.facts["apex_frame"], "4")
        XCTAssertEqual(c.labels.facts["offset_frame"], "6")
        XCTAssertEqual(c.labels.attributes["action_units"], ["AU4", "L-AU10"])
        XCTAssertEqual(c.labelProblems, [])
    }

    func test_casme_sq_naming_rules_lead_from_subject_serial_and_video_word_to_the_folder() throws {
        let r = try ingest()
        let a = try XCTUnwrap(r["s15/disgust1_1"]?.record)
        XCTAssertEqual(a.path, "rawpic/s15/15_0101disgustingteeth")
        XCTAssertEqual(a.identity, "s15")
        XCTAssertEqual(a.kind, .frames)
        XCTAssertEqual(r["s15/disgust1_1"]?.probe?.fps, 30)
        let b = try XCTUnwrap(r["s16/disgust1_1"]?.record)
        XCTAssertEqual(b.nativeLabels["subject"], "2")
        XCTAssertEqual(b.path, "rawpic/s16/16_0101disgustingteeth")
        XCTAssertEqual(b.identity, "s16")
        XCTAssertEqual(r["s15/disgust1_2"]?.record.path, a.path, "two expressions of one video share its frames")
        XCTAssertEqual(r["s16/anger2_1"]?.record.path, "rawpic/s16/16_0402shoutingmatch")
        XCTAssertNil(a.split)
    }

    func test_casme_sq_a_typo_in_the_folder_title_still_matches_on_the_code_and_a_text_code_is_padded() throws {
        let r = try ingest()
        XCTAssertEqual(r["s15/anger1_1"]?.record.path, "rawpic/s15/15_0401carcrahs", "naming rule2 stores 0401 as text")
        XCTAssertEqual(r["s15/anger1_1"]?.status, "ok")
    }

    func test_casme_sq_frame_folders_are_probed_at_30_fps() throws {
        let r = try ingest()
        let c = try XCTUnwrap(r["s15/15_0102wormdinner"])
        XCTAssertEqual(c.probe?.frameCount, 2)
        XCTAssertEqual(c.probe?.fps, 30)
        XCTAssertEqual(c.probe?.duration ?? 0, 2.0 / 30, accuracy: 1e-9)
        XCTAssertEqual(c.status, "ok")
    }

    func test_casme_sq_negative_and_positive_are_sentiments_surprise_and_others_are_emotions() throws {
        let r = try ingest()
        let neg = try XCTUnwrap(r["s15/disgust1_1"]?.record.labels)
        XCTAssertNil(neg.emotion)
        XCTAssertEqual(neg.sentiment, "negative")
        XCTAssertEqual(neg.facts["emotion_class"], "negative")
        XCTAssertEqual(neg.facts["expression_type"], "micro")
        XCTAssertEqual(neg.facts["self_report"], "disgust")
        let pos = try XCTUnwrap(r["s16/happy2_1"]?.record.labels)
        XCTAssertEqual(pos.sentiment, "positive")
        XCTAssertNil(pos.emotion)
        XCTAssertEqual(pos.facts["expression_type"], "macro")
        XCTAssertEqual(pos.facts["self_report"], "happiness")
        let surprise = try XCTUnwrap(r["s16/disgust1_1"]?.record.labels)
        XCTAssertEqual(surprise.emotion, "surprise")
        XCTAssertNil(surprise.sentiment)
        XCTAssertEqual(surprise.facts["emotion_class"], "surprise")
        let others = try XCTUnwrap(r["s16/anger2_1"]?.record.labels)
        XCTAssertEqual(others.emotion, "other")
        XCTAssertEqual(others.facts["emotion_class"], "others")
    }

    func test_casme_sq_offset_or_apex_zero_is_not_coded_and_left_out() throws {
        let r = try ingest()
        let c = try XCTUnwrap(r["s15/disgust1_2"]?.record)
        XCTAssertEqual(c.nativeLabels["offset"], "0")
        XCTAssertNil(c.labels.facts["offset_frame"])
        XCTAssertEqual(c.labels.facts["onset_frame"], "7")
        XCTAssertEqual(c.labelProblems, [])
        let apex = try XCTUnwrap(r["s15/anger1_1"]?.record)
        XCTAssertEqual(apex.nativeLabels["apex"], "0")
        XCTAssertNil(apex.labels.facts["apex_frame"])
    }

    func test_casme_sq_a_video_without_frames_falls_back_to_its_avi_and_media_video_prefers_avis() throws {
        let r = try ingest()
        let c = try XCTUnwrap(r["s16/happy2_1"])
        XCTAssertEqual(c.record.path, "rawvideo/s16/16_0502funnypets.avi")
        XCTAssertEqual(c.record.kind, .window, "an expression of the AVI is a window of it")
        XCTAssertEqual(c.status, "ok")
        let v = try ingest("media: video")
        XCTAssertEqual(v["s15/disgust1_1"]?.record.path, "rawvideo/s15/15_0101disgustingteeth.avi")
        XCTAssertEqual(v["s15/disgust1_1"]?.record.kind, .window)
        XCTAssertEqual(v["s15/disgust1_1"]?.probe?.fps ?? 0, 25, accuracy: 0.01, "the AVI's own rate")
        XCTAssertEqual(v["s16/disgust1_1"]?.record.path, "rawpic/s16/16_0101disgustingteeth", "no AVI: the frames")
        XCTAssertEqual(v["s16/disgust1_1"]?.record.frameRange, FrameRange(first: 1, last: 2))
        XCTAssertEqual(Set(v.clips.keys), Set(r.clips.keys))
    }

    // MARK: - Each coded expression is its own span of the recording

    static let recording = "rawpic/s15/15_0101disgustingteeth"

    func test_casme_sq_expressions_of_one_recording_are_frame_ranges_of_its_folder_onset_to_offset_or_to_apex() throws {
        let r = try ingest()
        let micro = try XCTUnwrap(r["s15/disgust1_1"])
        XCTAssertEqual(micro.record.kind, .frames)
        XCTAssertEqual(micro.record.path, Self.recording)
        XCTAssertEqual(micro.record.frameRange, FrameRange(first: 2, last: 6), "onset..offset")
        XCTAssertEqual(micro.record.labels.facts["expression_type"], "micro")
        let macro = try XCTUnwrap(r["s15/disgust1_2"])
        XCTAssertEqual(macro.record.path, Self.recording)
        XCTAssertEqual(macro.record.frameRange, FrameRange(first: 7, last: 9), "offset 0: onset..apex")
        XCTAssertEqual(macro.record.labels.facts["expression_type"], "macro")
        XCTAssertEqual(r["s15/anger1_1"]?.record.frameRange, FrameRange(first: 2, last: 9), "apex 0, offset coded")
        XCTAssertEqual(r["s15/15_0102wormdinner"]?.record.frameRange, nil, "a video no row names stays whole")
    }

    func test_casme_sq_an_expression_counts_only_the_readable_frames_in_its_range() throws {
        let r = try ingest()
        // img2..img6, of which img3 is zero bytes and img5 is not an image.
        let micro = try XCTUnwrap(r["s15/disgust1_1"])
        XCTAssertEqual(micro.status, "ok")
        XCTAssertEqual(micro.probe?.frameCount, 3)
        XCTAssertEqual(micro.probe?.duration ?? 0, 3.0 / 30, accuracy: 1e-9, "duration = count / fps")
        XCTAssertEqual(micro.probe?.width, 32)
        let macro = try XCTUnwrap(r["s15/disgust1_2"])
        XCTAssertEqual(macro.probe?.frameCount, 3, "img7..img9: one range's count is not another's")
        XCTAssertEqual(macro.probe?.duration ?? 0, 0.1, accuracy: 1e-9)
        let root = fixturesRoot.appendingPathComponent("CASME_sq/" + Self.recording).path
        XCTAssertEqual(try FrameFolder.probe(path: root, fps: 30).probe.frameCount, 8, "10 images, 2 unreadable")
        XCTAssertEqual(try FrameFolder.readableFrames(in: root, range: micro.record.frameRange),
                       ["img2.jpg", "img4.jpg", "img6.jpg"], "what the export renders is what was counted")
    }

    func test_casme_sq_unreadable_frames_in_a_range_are_reported_naming_folder_frame_and_why() throws {
        let r = try ingest()
        let uid = "CASME_sq/s15/disgust1_1"
        let stored = try r.store.problems(source: "CASME_sq").filter { $0.clipUID == uid && $0.problem.kind == .unreadableMedia }
        XCTAssertEqual(stored.map { $0.problem.location?.file }, [Self.recording + "/img3.jpg", Self.recording + "/img5.jpg"])
        let messages = stored.map(\.problem.message)
        XCTAssertTrue(messages[0].contains("img3.jpg") && messages[0].contains(Self.recording) && messages[0].contains("zero bytes"), messages[0])
        XCTAssertTrue(messages[1].contains("img5.jpg") && messages[1].contains("not a JPEG"), messages[1])
        let other = try r.store.problems(source: "CASME_sq").filter { $0.clipUID == "CASME_sq/s15/disgust1_2" && $0.problem.kind == .unreadableMedia }
        XCTAssertEqual(other.count, 0, "frames outside the range are not this clip's problem")
    }

    func test_casme_sq_an_expression_with_neither_offset_nor_apex_is_left_out_and_named_with_its_row() throws {
        let r = try ingest()
        XCTAssertNil(r["s15/disgust1_3"], "without a span it would answer for the whole recording")
        let problems = try r.store.problems(source: "CASME_sq").map(\.problem)
        let p = try XCTUnwrap(problems.first { $0.message.contains("neither the offset nor the apex frame is coded") })
        XCTAssertEqual(p.kind, .badRow)
        XCTAssertEqual(p.location?.line, 9)
        XCTAssertTrue(p.message.contains("\(Self.sheet):9") && p.message.contains("left out"), p.message)
    }

    func test_casme_sq_expressions_of_an_avi_are_windows_from_onset_minus_one_to_last_frame_over_fps() throws {
        let v = try ingest("media: video")
        // The AVI: 10 frames at 25 fps. Frame N shows during [(N-1)/25, N/25).
        let micro = try XCTUnwrap(v["s15/disgust1_1"])
        XCTAssertEqual(micro.record.kind, .window)
        XCTAssertNil(micro.record.frameRange)
        let w = try XCTUnwrap(micro.record.window)
        XCTAssertEqual(w.start, 1.0 / 25, accuracy: 1e-9)
        XCTAssertEqual(w.end, 6.0 / 25, accuracy: 1e-9)
        XCTAssertEqual(micro.probe?.frameCount, 5, "frames 2..6")
        XCTAssertEqual(micro.probe?.duration ?? 0, 0.2, accuracy: 1e-9)
        let macro = try XCTUnwrap(v["s15/disgust1_2"]?.record.window)
        XCTAssertEqual(macro.start, 6.0 / 25, accuracy: 1e-9)
        XCTAssertEqual(macro.end, 9.0 / 25, accuracy: 1e-9, "offset 0: to the apex")
        XCTAssertNil(v["s15/disgust1_3"], "no span: left out, not the whole AVI")
        let funny = try XCTUnwrap(v["s16/happy2_1"]?.record.window)
        XCTAssertEqual(funny.start, 3.0 / 25, accuracy: 1e-9)
        XCTAssertEqual(funny.end, 8.0 / 25, accuracy: 1e-9)
    }

    func test_casme_sq_the_probe_cache_keeps_each_range_of_a_folder_apart() throws {
        let r = try ingest()
        let probes = try r.store.mediaProbes(source: "CASME_sq")
        XCTAssertNil(probes[Self.recording], "no clip is the whole folder, so no probe of it")
        XCTAssertEqual(probes[Self.recording + "#frames=2-6"]?.probe.frameCount, 3)
        XCTAssertEqual(probes[Self.recording + "#frames=7-9"]?.probe.frameCount, 3)
        // A rerun probes nothing and keeps every count.
        let again = try ingestReplica("CASME_sq", adapter: "casme_sq", store: r.store)
        XCTAssertEqual(again.summary.probed, 0)
        XCTAssertEqual(again["s15/disgust1_1"]?.probe?.frameCount, 3)
        XCTAssertEqual(again["s15/disgust1_2"]?.probe?.frameCount, 3)
    }

    func test_casme_sq_a_video_word_missing_from_naming_rule2_is_named_and_the_clip_reported_missing() throws {
        let r = try ingest()
        let c = try XCTUnwrap(r["s15/anger9_1"])
        XCTAssertEqual(c.status, "missing")
        XCTAssertEqual(c.record.path, "rawpic/s15/15_anger9")
        XCTAssertEqual(c.record.labels.emotion, "other")
        XCTAssertEqual(c.record.labelProblems, [
            "video 'anger9' of expression 'anger9_1' (\(Self.sheet):4) is not in 'naming rule2'; its folder is unknown",
        ])
        XCTAssertEqual(r.problems(.missingFile).map(\.location), [SourceLocation(file: Self.sheet, line: 4)])
    }

    func test_casme_sq_an_emotion_class_outside_the_four_is_named_with_its_row() throws {
        let r = try ingest()
        let c = try XCTUnwrap(r["s15/anger1_1"]?.record)
        XCTAssertNil(c.labels.emotion)
        XCTAssertNil(c.labels.sentiment)
        XCTAssertEqual(c.nativeLabels["emotion"], "neutral")
        XCTAssertEqual(c.labelProblems, ["emotion 'neutral' (\(Self.sheet):3) is not one of: negative, positive, surprise, others"])
    }

    func test_casme_sq_a_row_whose_subject_is_not_a_number_is_a_bad_row() throws {
        let r = try ingest()
        let bad = r.problems(.badRow).filter { !$0.message.contains("left out") }
        XCTAssertEqual(bad.map(\.location), [SourceLocation(file: Self.sheet, line: 8)])
        XCTAssertTrue(bad.first?.message.contains("subject 'x'") == true, "\(bad)")
        XCTAssertNil(r["s16/happy2_2"])
    }

    func test_casme_sq_a_corrupt_spreadsheet_leaves_every_video_as_an_unlabelled_clip() throws {
        let root = try casmeReplicaCopy("CASME_sq")
        try Data().write(to: root.appendingPathComponent(Self.sheet))
        let r = try ingest(root: root)
        XCTAssertEqual(r.summary.outcome, .done)
        XCTAssertEqual(Set(r.clips.keys), [
            "s15/15_0101disgustingteeth", "s15/15_0102wormdinner", "s15/15_0401carcrahs", "s16/16_0101disgustingteeth",
            "s16/16_0402shoutingmatch", "s16/16_0502funnypets",
        ])
        XCTAssertEqual(r["s16/16_0502funnypets"]?.record.kind, .video)
        XCTAssertEqual(r["s15/15_0101disgustingteeth"]?.record.kind, .frames, "the frame folder stands for its AVI")
        XCTAssertEqual(r.summary.labelled, 0)
        XCTAssertEqual(r.problems(.unreadableLabelFile).map { $0.location?.file }, [Self.sheet])
    }

    func test_casme_sq_a_missing_main_sheet_lists_the_sheets() throws {
        let r = try ingest("sheet: CASMEcode_final")
        let messages = r.problems(.unreadableLabelFile).map(\.message)
        XCTAssertEqual(messages.count, 1, "\(messages)")
        XCTAssertTrue(messages.first?.contains("its sheets: CASFEcode_final, naming rule1, naming rule2") == true, "\(messages)")
        XCTAssertEqual(r.clips.count, 6)
    }
}
