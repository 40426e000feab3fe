import EmoCFG
import Foundation
import Ingest
import XCTest

/// CMU-MOSI, CMU-MOSEI and CH-SIMS in the MMSA layout, and CMU-MOSI in its own raw layout.
final class MMSAAdapterTests: XCTestCase {
    // MARK: - CMU-MOSI, MMSA layout

    func test_mosi_lists_every_labelled_row_and_every_video_without_a_row() throws {
        let mosi = try ingestReplica("MOSI", adapter: "mmsa")
        XCTAssertEqual(Set(mosi.clips.keys), [
            "03bSnISJMiM/1", "03bSnISJMiM/2", "03bSnISJMiM/7", "_dI--eQ6qVU/12", "_dI--eQ6qVU/3",
            "Zq_8x-Lm0Tw/1", "Zq_8x-Lm0Tw/2", "Zq_8x-Lm0Tw/4", "k7Lp2-mWq0A/1", "k7Lp2-mWq0A/5",
        ])
    }

    func test_mosi_score_annotation_split_text_and_identity_come_from_the_row() throws {
        let r = try XCTUnwrap(try ingestReplica("MOSI", adapter: "mmsa")["03bSnISJMiM/2"]).record
        XCTAssertEqual(r.path, "Raw/03bSnISJMiM/2.mp4")
        XCTAssertEqual(r.labels.sentimentScore, 1.6666666)
        XCTAssertEqual(r.labels.sentiment, "positive")
        XCTAssertEqual(r.nativeLabels, ["label": "1.6666666", "annotation": "Positive"])
        XCTAssertEqual(r.texts["transcript"], "and i thought, \"wow\", that was good")
        XCTAssertEqual(r.nativeSplit, "train")
        XCTAssertEqual(r.split, "train")
        XCTAssertEqual(r.identity, "video:03bSnISJMiM")
        XCTAssertEqual(r.labelOrigin, SourceLocation(file: "label.csv", line: 3))
        XCTAssertEqual(r.labelProblems, [])
    }

    func test_mosi_annotation_that_disagrees_with_the_score_sign_is_kept_as_given() throws {
        let r = try XCTUnwrap(try ingestReplica("MOSI", adapter: "mmsa")["_dI--eQ6qVU/12"]).record
        XCTAssertEqual(r.labels.sentimentScore, 0.6)
        XCTAssertEqual(r.labels.sentiment, "negative")
        XCTAssertEqual(r.labels.facts["sentiment_from_score"], "positive")
        XCTAssertEqual(r.identity, "video:_dI--eQ6qVU")
        XCTAssertEqual(r.nativeSplit, "valid")
        XCTAssertEqual(r.split, "val")
        XCTAssertEqual(r.labelProblems, [])
    }

    func test_mosi_zero_score_is_neutral_by_sign() throws {
        let r = try XCTUnwrap(try ingestReplica("MOSI", adapter: "mmsa")["Zq_8x-Lm0Tw/1"]).record
        XCTAssertEqual(r.labels.sentimentScore, 0)
        XCTAssertEqual(r.labels.facts["sentiment_from_score"], "neutral")
        XCTAssertEqual(r.split, "test")
    }

    func test_mosi_score_outside_minus_3_to_3_is_a_label_problem_and_the_clip_stays() throws {
        let r = try XCTUnwrap(try ingestReplica("MOSI", adapter: "mmsa")["Zq_8x-Lm0Tw/2"]).record
        XCTAssertNil(r.labels.sentimentScore)
        XCTAssertNil(r.labels.facts["sentiment_from_score"])
        XCTAssertEqual(r.nativeLabels["label"], "3.4")
        XCTAssertEqual(r.labels.sentiment, "positive")
        XCTAssertEqual(r.labelProblems.count, 1)
        let message = try XCTUnwrap(r.labelProblems.first)
        for part in ["'3.4'", "label.csv:7", "[-3, 3]", "CMU-MOSI"] {
            XCTAssertTrue(message.contains(part), "\(message) lacks \(part)")
        }
    }

    func test_mosi_unparsable_score_is_a_bad_row_and_an_unknown_annotation_a_label_problem() throws {
        let mosi = try ingestReplica("MOSI", adapter: "mmsa")
        let r = try XCTUnwrap(mosi["Zq_8x-Lm0Tw/4"]).record
        XCTAssertNil(r.labels.sentimentScore)
        XCTAssertNil(r.labels.sentiment)
        XCTAssertEqual(r.nativeLabels, ["label": "abc", "annotation": "Mixed"])
        XCTAssertEqual(r.texts["transcript"], "i cannot say")
        let bad = mosi.problems(.badRow).filter { $0.location == SourceLocation(file: "label.csv", line: 8) }
        XCTAssertEqual(bad.count, 1)
        XCTAssertEqual(bad.first?.clipKey, "Zq_8x-Lm0Tw/4")
        XCTAssertTrue(bad.first?.message.contains("'abc'") ?? false, "\(bad)")
        XCTAssertEqual(r.labelProblems.count, 1)
        let message = try XCTUnwrap(r.labelProblems.first)
        for part in ["'Mixed'", "label.csv:8", "Positive, Neutral, Negative"] {
            XCTAssertTrue(message.contains(part), "\(message) lacks \(part)")
        }
    }

    func test_mosi_row_with_a_missing_field_is_a_bad_row_and_its_video_stays_unlabelled() throws {
        let mosi = try ingestReplica("MOSI", adapter: "mmsa")
        let bad = mosi.problems(.badRow).filter { $0.location == SourceLocation(file: "label.csv", line: 9) }
        XCTAssertEqual(bad.count, 1)
        XCTAssertTrue(bad.first?.message.contains("expected 9 fields") ?? false, "\(bad)")
        XCTAssertTrue(bad.first?.message.contains("found 8") ?? false, "\(bad)")
        let r = try XCTUnwrap(mosi["k7Lp2-mWq0A/1"]).record
        XCTAssertTrue(r.labels.isEmpty)
        XCTAssertNil(r.labelOrigin)
        XCTAssertEqual(r.identity, "video:k7Lp2-mWq0A")
        XCTAssertEqual(mosi.problems(.badRow).count, 2)
    }

    func test_mosi_row_whose_video_is_missing_is_still_a_clip() throws {
        XCTAssertFalse(FileManager.default.fileExists(
            atPath: fixturesRoot.appendingPathComponent("MOSI/Raw/k7Lp2-mWq0A/5.mp4").path))
        let mosi = try ingestReplica("MOSI", adapter: "mmsa")
        let r = try XCTUnwrap(mosi["k7Lp2-mWq0A/5"]).record
        XCTAssertEqual(r.path, "Raw/k7Lp2-mWq0A/5.mp4")
        XCTAssertEqual(r.labels.sentimentScore, -2.2)
        XCTAssertEqual(r.labelOrigin, SourceLocation(file: "label.csv", line: 10))
        XCTAssertEqual(mosi.problems(.missingFile).map(\.location), [SourceLocation(file: "label.csv", line: 10)])
    }

    func test_mosi_video_without_a_row_is_an_unlabelled_clip() throws {
        let r = try XCTUnwrap(try ingestReplica("MOSI", adapter: "mmsa")["03bSnISJMiM/7"]).record
        XCTAssertEqual(r.path, "Raw/03bSnISJMiM/7.mp4")
        XCTAssertEqual(r.identity, "video:03bSnISJMiM")
        XCTAssertTrue(r.labels.isEmpty)
        XCTAssertNil(r.split)
        XCTAssertEqual(r.nativeLabels, [:])
    }

    // MARK: - CMU-MOSI, raw layout

    func test_mosi_raw_segment_names_split_on_the_last_underscore() throws {
        let raw = try ingestReplica("MOSI_raw", adapter: "mmsa", options: "layout: mosi_raw")
        XCTAssertEqual(Set(raw.clips.keys), [
            "c5xsKMxpXnc/1", "c5xsKMxpXnc/2", "c5xsKMxpXnc/9", "_dI--eQ6qVU/12", "_dI--eQ6qVU/13",
            "Zq_8x-Lm0Tw/1", "Zq_8x-Lm0Tw/2", "Zq_8x-Lm0Tw/3",
        ])
        let unlabelled = try XCTUnwrap(raw["Zq_8x-Lm0Tw/3"]).record
        XCTAssertEqual(unlabelled.path, "Raw/Video/Segmented/Zq_8x-Lm0Tw_3.mp4")
        XCTAssertEqual(unlabelled.identity, "video:Zq_8x-Lm0Tw")
        XCTAssertTrue(unlabelled.labels.isEmpty)
        let labelled = try XCTUnwrap(raw["_dI--eQ6qVU/12"]).record
        XCTAssertEqual(labelled.path, "Raw/Video/Segmented/_dI--eQ6qVU_12.mp4")
        XCTAssertEqual(labelled.identity, "video:_dI--eQ6qVU")
        XCTAssertEqual(labelled.labels.sentimentScore, -2.4)
    }

    func test_mosi_raw_headerless_rows_give_score_and_segment_times_but_no_split() throws {
        let raw = try ingestReplica("MOSI_raw", adapter: "mmsa", options: "layout: mosi_raw")
        let r = try XCTUnwrap(raw["c5xsKMxpXnc/1"]).record
        XCTAssertEqual(r.labels.sentimentScore, 1.8)
        XCTAssertEqual(r.labels.facts["sentiment_from_score"], "positive")
        XCTAssertNil(r.labels.sentiment)
        XCTAssertEqual(r.labels.facts["source_start"], "12.33")
        XCTAssertEqual(r.labels.facts["source_end"], "17.9")
        XCTAssertEqual(r.nativeLabels["label"], "1.8")
        XCTAssertEqual(r.labelOrigin, SourceLocation(file: "Raw/Labels/OpinionLevelSentiment.csv", line: 1))
        XCTAssertTrue(raw.clips.values.allSatisfy { $0.record.split == nil && $0.record.nativeSplit == nil })
    }

    func test_mosi_raw_bad_rows_out_of_range_scores_missing_media_and_stray_files_are_reported() throws {
        let raw = try ingestReplica("MOSI_raw", adapter: "mmsa", options: "layout: mosi_raw")
        let file = "Raw/Labels/OpinionLevelSentiment.csv"
        let bad = raw.problems(.badRow)
        XCTAssertEqual(bad.map(\.location), [SourceLocation(file: file, line: 4), SourceLocation(file: file, line: 6)])
        XCTAssertTrue(bad[0].message.contains("'n/a'"), bad[0].message)
        XCTAssertEqual(bad[0].clipKey, "_dI--eQ6qVU/13")
        XCTAssertTrue(bad[1].message.contains("expected 5 fields"), bad[1].message)
        XCTAssertTrue(try XCTUnwrap(raw["Zq_8x-Lm0Tw/2"]).record.labels.isEmpty)

        let outOfRange = try XCTUnwrap(raw["Zq_8x-Lm0Tw/1"]).record
        XCTAssertNil(outOfRange.labels.sentimentScore)
        XCTAssertEqual(outOfRange.labelProblems.count, 1)
        XCTAssertTrue(outOfRange.labelProblems[0].contains("'3.6'"), outOfRange.labelProblems[0])
        XCTAssertTrue(outOfRange.labelProblems[0].contains("\(file):5"), outOfRange.labelProblems[0])

        XCTAssertEqual(try XCTUnwrap(raw["c5xsKMxpXnc/9"]).record.path, "Raw/Video/Segmented/c5xsKMxpXnc_9.mp4")
        XCTAssertEqual(raw.problems(.missingFile).map(\.location), [SourceLocation(file: file, line: 7)])
        XCTAssertEqual(raw.problems(.strayFile).map(\.location?.file), ["Raw/Video/Segmented/c5xsKMxpXnc.mp4"])
    }

    func test_mosi_segment_has_the_same_key_in_both_layouts() throws {
        let mmsa = try ingestReplica("MOSI", adapter: "mmsa")
        let raw = try ingestReplica("MOSI_raw", adapter: "mmsa", options: "layout: mosi_raw")
        XCTAssertNotNil(mmsa["_dI--eQ6qVU/12"])
        XCTAssertNotNil(raw["_dI--eQ6qVU/12"])
    }

    func test_mmsa_layout_on_a_raw_mosi_root_fails_and_suggests_mosi_raw() throws {
        let r = try ingestReplica("MOSI_raw", adapter: "mmsa")
        XCTAssertEqual(r.summary.outcome, .failed)
        let note = r.summary.note ?? ""
        XCTAssertTrue(note.contains("label.csv") && note.contains("layout to mosi_raw"), note)
    }

    // MARK: - CMU-MOSEI

    func test_mosei_reordered_columns_are_read_by_header_name() throws {
        let mosei = try ingestReplica("MOSEI", adapter: "mmsa")
        XCTAssertEqual(Set(mosei.clips.keys), ["-3g5yACwYnA/0", "-3g5yACwYnA/1", "257534/0", "257534/2", "--qXJuDtHPw/0"])
        XCTAssertEqual(mosei.problems, [])
        let r = try XCTUnwrap(mosei["257534/0"]).record
        XCTAssertEqual(r.path, "Raw/257534/0.mp4")
        XCTAssertEqual(r.labels.sentimentScore, 0.3333333)
        XCTAssertEqual(r.labels.sentiment, "neutral")
        XCTAssertEqual(r.labels.facts["sentiment_from_score"], "positive")
        XCTAssertEqual(r.texts["transcript"], "so that's, you know, my take")
        XCTAssertEqual(r.split, "val")
        XCTAssertEqual(r.identity, "video:257534")
        XCTAssertEqual(r.labelOrigin, SourceLocation(file: "label.csv", line: 4))
        // MOSEI leaves the unimodal columns empty: no facts invented for them.
        XCTAssertNil(r.labels.facts["label_T"])
        XCTAssertEqual(r.nativeLabels, ["label": "0.3333333", "annotation": "Neutral"])
    }

    func test_mosei_keeps_leading_dashes_and_accepts_minus_3() throws {
        let mosei = try ingestReplica("MOSEI", adapter: "mmsa")
        let dashed = try XCTUnwrap(mosei["--qXJuDtHPw/0"]).record
        XCTAssertEqual(dashed.identity, "video:--qXJuDtHPw")
        XCTAssertEqual(dashed.texts["transcript"], "i loved the \"director's cut\"")
        let lowest = try XCTUnwrap(mosei["257534/2"]).record
        XCTAssertEqual(lowest.labels.sentimentScore, -3)
        XCTAssertEqual(lowest.labelProblems, [])
    }

    // MARK: - CH-SIMS

    func test_sims_keys_keep_four_digit_clip_ids() throws {
        let sims = try ingestReplica("CH-SIMS", adapter: "mmsa")
        XCTAssertEqual(Set(sims.clips.keys),
                       ["video_0001/0001", "video_0001/0002", "video_0002/0001", "video_0002/0010", "video_0003/0001"])
        let r = try XCTUnwrap(sims["video_0002/0010"]).record
        XCTAssertEqual(r.path, "Raw/video_0002/0010.mp4")
        XCTAssertEqual(r.identity, "video:video_0002")
        XCTAssertEqual(sims.problems.map(\.kind), [.badLabel], "\(sims.problems)")
    }

    func test_sims_chinese_text_with_commas_inside_quotes_is_one_field() throws {
        let sims = try ingestReplica("CH-SIMS", adapter: "mmsa")
        XCTAssertEqual(sims["video_0001/0001"]?.record.texts["transcript"], "我觉得,这个还挺好的")
        XCTAssertEqual(sims["video_0001/0002"]?.record.texts["transcript"], "不是，你听我说, 事情不是这样的")
        XCTAssertEqual(sims["video_0002/0010"]?.record.texts["transcript"], "他说：\"好的\"，然后走了")
        XCTAssertEqual(sims["video_0001/0002"]?.record.labels.sentimentScore, -0.6)
    }

    func test_sims_unimodal_labels_become_facts() throws {
        let r = try XCTUnwrap(try ingestReplica("CH-SIMS", adapter: "mmsa")["video_0001/0002"]).record
        XCTAssertEqual(r.labels.facts["label_T"], "-0.8")
        XCTAssertEqual(r.labels.facts["label_A"], "-0.4")
        XCTAssertEqual(r.labels.facts["label_V"], "-0.2")
        XCTAssertEqual(r.nativeLabels["label_V"], "-0.2")
        XCTAssertEqual(r.labels.sentiment, "negative")
        XCTAssertEqual(r.split, "train")
    }

    func test_sims_score_outside_minus_1_to_1_is_a_label_problem() throws {
        let r = try XCTUnwrap(try ingestReplica("CH-SIMS", adapter: "mmsa")["video_0003/0001"]).record
        XCTAssertNil(r.labels.sentimentScore)
        XCTAssertEqual(r.nativeLabels["label"], "1.2")
        XCTAssertEqual(r.labels.facts["label_T"], "1.0")
        XCTAssertEqual(r.labelProblems.count, 1)
        let message = try XCTUnwrap(r.labelProblems.first)
        for part in ["'1.2'", "label.csv:6", "[-1, 1]", "CH-SIMS"] {
            XCTAssertTrue(message.contains(part), "\(message) lacks \(part)")
        }
    }

    // MARK: - Options

    func test_explicit_variant_overrides_the_folder_name() throws {
        // Read as MOSI, the SIMS score 1.2 is inside [-3, 3].
        let r = try XCTUnwrap(try ingestReplica("CH-SIMS", adapter: "mmsa", options: "variant: mosi")["video_0003/0001"]).record
        XCTAssertEqual(r.labels.sentimentScore, 1.2)
        XCTAssertEqual(r.labelProblems, [])
    }

    func test_variant_is_required_when_the_folder_name_does_not_say_it() throws {
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("emocfg-h3-\(UUID().uuidString)/sentiment_set")
        try FileManager.default.createDirectory(at: root, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: root.deletingLastPathComponent()) }
        try FileManager.default.copyItem(
            at: fixturesRoot.appendingPathComponent("MOSEI/label.csv"), to: root.appendingPathComponent("label.csv"))
        let unnamed = try ingestReplica("MOSEI", adapter: "mmsa", root: root)
        XCTAssertEqual(unnamed.summary.outcome, .failed)
        let note = unnamed.summary.note ?? ""
        XCTAssertTrue(note.contains("sentiment_set") && note.contains("options.variant"), note)
        let named = try ingestReplica("MOSEI", adapter: "mmsa", options: "variant: mosei", root: root)
        XCTAssertEqual(named.summary.outcome, .done)
        XCTAssertEqual(named.clips.count, 5)
    }

    func test_unknown_variant_or_layout_is_a_config_error_naming_the_line_and_choices() throws {
        XCTAssertThrowsError(try ingestReplica("MOSI", adapter: "mmsa", options: "layout: mmsa\nvariant: mosi2")) { error in
            let e = error as? ConfigError
            XCTAssertEqual(e?.line, 7)
            XCTAssertEqual(e?.key, "sources.MOSI.options.variant")
            XCTAssertTrue(e?.message.contains("mosi, mosei, sims") ?? false, "\(error)")
        }
        XCTAssertThrowsError(try ingestReplica("MOSI", adapter: "mmsa", options: "layout: raw")) { error in
            XCTAssertTrue("\(error)".contains("mmsa, mosi_raw"), "\(error)")
        }
        XCTAssertThrowsError(try ingestReplica("MOSI_raw", adapter: "mmsa", options: "layout: mosi_raw\nvariant: sims")) { error in
            XCTAssertTrue(error is ConfigError, "\(error)")
            XCTAssertTrue("\(error)".contains("variant must be mosi"), "\(error)")
        }
    }
}
