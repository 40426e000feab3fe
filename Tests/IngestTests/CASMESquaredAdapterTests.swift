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
            "s15/disgust1_1", "s15/disgust1_2", "s15/anger1_1", "s15/anger9_1", "s16/disgust1_1", "s16/anger2_1",
            "s16/happy2_1", "s15/15_0102wormdinner",
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
            "subject": "1", "expression": "disgust1_1", "onset": "5", "apex": "8", "offset": "12", "action_units": "4+L10",
            "emotion": "negative", "type": "micro-expression", "self_report": "disgust",
        ])
        XCTAssertEqual(c.labels.facts["onset_frame"], "5")
        XCTAssertEqual(c.labels.facts["apex_frame"], "8")
        XCTAssertEqual(c.labels.facts["offset_frame"], "12")
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
        let c = try XCTUnwrap(r["s15/disgust1_1"])
        XCTAssertEqual(c.probe?.frameCount, 3)
        XCTAssertEqual(c.probe?.duration ?? 0, 0.1, accuracy: 1e-9)
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
        XCTAssertEqual(c.labels.facts["onset_frame"], "20")
        XCTAssertEqual(c.labelProblems, [])
        let apex = try XCTUnwrap(r["s15/anger1_1"]?.record)
        XCTAssertEqual(apex.nativeLabels["apex"], "0")
        XCTAssertNil(apex.labels.facts["apex_frame"])
    }

    func test_casme_sq_a_video_without_frames_falls_back_to_its_avi_and_media_video_prefers_avis() throws {
        let r = try ingest()
        let c = try XCTUnwrap(r["s16/happy2_1"])
        XCTAssertEqual(c.record.path, "rawvideo/s16/16_0502funnypets.avi")
        XCTAssertEqual(c.record.kind, .video)
        XCTAssertEqual(c.status, "ok")
        let v = try ingest("media: video")
        XCTAssertEqual(v["s15/disgust1_1"]?.record.path, "rawvideo/s15/15_0101disgustingteeth.avi")
        XCTAssertEqual(v["s15/disgust1_1"]?.record.kind, .video)
        XCTAssertEqual(v["s15/disgust1_1"]?.probe?.fps ?? 0, 25, accuracy: 0.01, "the AVI's own rate")
        XCTAssertEqual(v["s16/disgust1_1"]?.record.path, "rawpic/s16/16_0101disgustingteeth", "no AVI: the frames")
        XCTAssertEqual(Set(v.clips.keys), Set(r.clips.keys))
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
        let bad = r.problems(.badRow)
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
