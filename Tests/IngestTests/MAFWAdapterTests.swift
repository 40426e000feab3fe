import EmoCFG
import Foundation
import Ingest
import XCTest

/// The MAFW replica (made by `scripts/make-mafw-fixtures.py`): 11 clip files, the four label
/// workbooks, `Labels(auto)/gender.txt` and the single and compound split files, the captioned ones
/// in GBK.
final class MAFWAdapterTests: XCTestCase {
    static let annotation = "Labels/annotation.xlsx"
    static let single = "Labels/single-set.xlsx"
    static let multi = "Labels/multi-set.xlsx"
    static let gender = "Labels(auto)/gender.txt"
    static let splits = "Train & Test Set"

    func ingest(_ options: String = "") throws -> IngestedReplica {
        try ingestReplica("MAFW", adapter: "mafw", options: options)
    }

    /// A copy of parts of the replica in a temporary root, with files replaced.
    func root(copying parts: [String], replacing: [String: URL] = [:]) throws -> URL {
        let fm = FileManager.default
        let dir = fm.temporaryDirectory.appendingPathComponent("mafw-\(UUID().uuidString)")
        for part in parts {
            let to = dir.appendingPathComponent(part)
            try fm.createDirectory(at: to.deletingLastPathComponent(), withIntermediateDirectories: true)
            try fm.copyItem(at: fixturesRoot.appendingPathComponent("MAFW").appendingPathComponent(part), to: to)
        }
        for (relative, source) in replacing {
            let to = dir.appendingPathComponent(relative)
            try fm.createDirectory(at: to.deletingLastPathComponent(), withIntermediateDirectories: true)
            try? fm.removeItem(at: to)
            try fm.copyItem(at: source, to: to)
        }
        addTeardownBlock { try? fm.removeItem(at: dir) }
        return dir
    }

    func test_mafw_every_clip_file_and_every_labelled_id_becomes_one_record() throws {
        let r = try ingest()
        XCTAssertEqual(Set(r.clips.keys), Set((1...12).map { String(format: "%05d", $0) }))
        XCTAssertEqual(r["00001"]?.record.path, "data/clips/00001.mp4")
        XCTAssertEqual(r["00001"]?.status, "ok")
        XCTAssertEqual(r["00001"]?.record.kind, .video)
    }

    func test_mafw_clip_ids_stored_as_numbers_or_file_names_get_the_five_digit_key() throws {
        let r = try ingest()
        // annotation/single-set store 00010 as the number 10 and 00011 as "00011.mp4".
        XCTAssertEqual(r["00010"]?.record.labels.emotion, "contempt")
        XCTAssertEqual(r["00010"]?.record.nativeLabels["single_label"], "8")
        XCTAssertEqual(r["00010"]?.record.nativeLabels["contempt"], "9")
        XCTAssertEqual(r["00011"]?.record.labels.emotion, "disappointment")
        XCTAssertEqual(r["00011"]?.record.labelOrigin, SourceLocation(file: Self.single, line: 9))
        XCTAssertNil(r["10"])
    }

    func test_mafw_annotation_votes_are_native_labels_and_vote_facts() throws {
        let r = try ingest()
        let one = try XCTUnwrap(r["00001"]?.record)
        XCTAssertEqual(one.nativeLabels["anger"], "8")
        XCTAssertEqual(one.nativeLabels["disgust"], "2")
        XCTAssertEqual(one.nativeLabels["helplessness"], "0")
        XCTAssertEqual(one.nativeLabels["invalid"], "0")
        XCTAssertNil(one.nativeLabels["clip"])
        XCTAssertEqual(one.labels.facts["votes_anger"], "8")
        XCTAssertEqual(one.labels.facts["votes_contempt"], "1")
        XCTAssertEqual(one.labels.facts["votes_fear"], "0")
        XCTAssertEqual(one.labels.facts["invalid"], "0")
        XCTAssertEqual(one.labels.facts.keys.filter { $0.hasPrefix("votes_") }.count, 11)
        XCTAssertEqual(one.labels.attributes["voted_emotions"], ["anger", "disgust", "contempt"])
        XCTAssertEqual(r["00007"]?.record.labels.facts["invalid"], "2")
    }

    func test_mafw_a_vote_that_is_not_a_number_is_a_bad_row_and_the_other_votes_stay() throws {
        let r = try ingest()
        let bad = r.problems(.badRow).filter { $0.location?.file == Self.annotation }
        XCTAssertEqual(bad.map(\.location), [SourceLocation(file: Self.annotation, line: 11)])
        XCTAssertTrue(bad.first?.message.contains("disappointment '?'") == true, "\(bad)")
        let eleven = try XCTUnwrap(r["00011"]?.record)
        XCTAssertEqual(eleven.nativeLabels["disappointment"], "?")
        XCTAssertNil(eleven.labels.facts["votes_disappointment"])
        XCTAssertEqual(eleven.labels.facts["votes_sadness"], "2")
    }

    func test_mafw_single_label_ids_map_to_the_eleven_classes() throws {
        let r = try ingest()
        let expected = ["00001": "anger", "00002": "happiness", "00003": "neutral", "00005": "sadness",
                        "00008": "surprise", "00010": "contempt", "00011": "disappointment", "00012": "anxiety"]
        for (key, emotion) in expected {
            XCTAssertEqual(r[key]?.record.labels.emotion, emotion, key)
        }
        XCTAssertEqual(r["00001"]?.record.nativeLabels["single_label"], "1")
        XCTAssertEqual(r["00001"]?.record.labelOrigin, SourceLocation(file: Self.single, line: 2))
        XCTAssertEqual(r["00001"]?.record.labelProblems, [])
    }

    func test_mafw_multi_labels_become_emotions_in_class_order() throws {
        let r = try ingest()
        let four = try XCTUnwrap(r["00004"]?.record)
        XCTAssertEqual(four.nativeLabels["multi_label"], "1,2")
        XCTAssertEqual(four.labels.emotions, ["anger", "disgust"])
        XCTAssertNil(four.labels.emotion)
        XCTAssertEqual(four.labelOrigin, SourceLocation(file: Self.multi, line: 2))
        // Written "7,3": fear (3) comes before surprise (7).
        XCTAssertEqual(r["00006"]?.record.nativeLabels["multi_label"], "7,3")
        XCTAssertEqual(r["00006"]?.record.labels.emotions, ["fear", "surprise"])
        XCTAssertEqual(r["00006"]?.record.labelProblems, [])
    }

    func test_mafw_ids_outside_one_to_eleven_are_label_problems_naming_value_and_row() throws {
        let r = try ingest()
        let seven = try XCTUnwrap(r["00007"]?.record)
        XCTAssertNil(seven.labels.emotion)
        XCTAssertEqual(seven.labels.emotions, [])
        XCTAssertEqual(seven.nativeLabels["single_label"], "12")
        XCTAssertEqual(seven.nativeLabels["multi_label"], "4,13")
        XCTAssertEqual(seven.labelProblems.count, 2, "\(seven.labelProblems)")
        let singleProblem = seven.labelProblems.first { $0.contains("single_label") } ?? ""
        XCTAssertTrue(singleProblem.contains("'12' (\(Self.single):6)"), singleProblem)
        XCTAssertTrue(singleProblem.contains("11 (disappointment)"), singleProblem)
        let multiProblem = seven.labelProblems.first { $0.contains("multi_label") } ?? ""
        XCTAssertTrue(multiProblem.contains("'13' (\(Self.multi):4)"), multiProblem)
        XCTAssertEqual(r["00007"]?.status, "ok")
    }

    func test_mafw_descriptive_texts_are_kept_and_neutral_clips_have_none() throws {
        let r = try ingest()
        XCTAssertEqual(r["00001"]?.record.texts, [
            "description_zh": "男人皱着眉头，对着电话大声喊叫。",
            "description_en": "A man frowns and shouts into the phone.",
        ])
        XCTAssertEqual(r["00003"]?.record.labels.emotion, "neutral")
        XCTAssertEqual(r["00003"]?.record.texts, [:])
        XCTAssertEqual(r["00009"]?.record.texts, [:])
    }

    func test_mafw_gbk_caption_files_are_decoded_and_fill_missing_texts() throws {
        let r = try ingest()
        // 00005 has no descriptive_text.xlsx row; its texts come from single/with_caption/set_1/test.txt (GBK).
        XCTAssertEqual(r["00005"]?.record.texts["description_zh"], "老人独自坐在窗边，低头流泪。")
        XCTAssertEqual(r["00005"]?.record.texts["description_en"], "An old man sits alone by the window, crying quietly.")
    }

    func test_mafw_caption_line_that_is_neither_utf8_nor_gbk_keeps_clip_and_label_and_is_reported() throws {
        let r = try ingest()
        let file = "\(Self.splits)/single/with_caption/set_1/train.txt"
        let bad = r.problems(.badRow).filter { $0.location?.file == file }
        XCTAssertEqual(bad.map(\.location), [SourceLocation(file: file, line: 4)])
        XCTAssertTrue(bad.first?.message.contains("neither UTF-8 nor GBK") == true, "\(bad)")
        XCTAssertTrue(bad.first?.message.contains("00010") == true, "\(bad)")
        // The spreadsheet's texts are untouched.
        XCTAssertEqual(r["00010"]?.record.texts["description_en"], "She sneers and tosses the letter aside.")
        XCTAssertEqual(r["00010"]?.record.split, "train")
    }

    func test_mafw_caption_files_alone_give_the_folds_and_the_decoded_texts() throws {
        let dir = try root(copying: ["\(Self.splits)/single/with_caption", "data/clips/00005.mp4"])
        let r = try ingestReplica("MAFW", adapter: "mafw", root: dir)
        let five = try XCTUnwrap(r["00005"]?.record)
        XCTAssertEqual(five.folds, ["1": "test", "2": "train", "3": "train", "4": "train", "5": "train"])
        XCTAssertEqual(five.texts["description_zh"], "老人独自坐在窗边，低头流泪。")
        XCTAssertEqual(five.nativeLabels["split_label"], "sadness")
        XCTAssertEqual(five.labels.emotion, "sadness", "the split label gives the emotion when no spreadsheet does")
        XCTAssertEqual(r["00002"]?.record.texts["description_en"], "The girl laughs happily after opening the gift.")
        // The undecodable line of 00010 is reported once per fold (all five folds are read here).
        let undecodable = r.problems(.badRow).filter { $0.message.contains("neither UTF-8 nor GBK") }
        XCTAssertEqual(undecodable.count, 5, "\(undecodable)")
        XCTAssertEqual(r["00010"]?.record.labels.emotion, "contempt")
        XCTAssertEqual(r["00010"]?.record.texts, [:])
    }

    func test_mafw_gender_codes_are_kept_as_given() throws {
        let r = try ingest()
        XCTAssertEqual(r["00001"]?.record.nativeLabels["gender"], "1")
        XCTAssertEqual(r["00001"]?.record.labels.facts["gender"], "1")
        XCTAssertEqual(r["00002"]?.record.labels.facts["gender"], "0")
        XCTAssertNil(r["00004"]?.record.labels.facts["gender"])
        let bad = r.problems(.badRow).filter { $0.location?.file == Self.gender }
        XCTAssertEqual(bad.map(\.location), [SourceLocation(file: Self.gender, line: 5)])
        XCTAssertTrue(bad.first?.message.contains("'00011 1'") == true, "\(bad)")
        XCTAssertNil(r["00011"]?.record.labels.facts["gender"])
    }

    func test_mafw_single_set_fold_one_is_the_default_split_and_every_fold_is_kept() throws {
        let r = try ingest()
        let one = try XCTUnwrap(r["00001"]?.record)
        XCTAssertEqual(one.nativeSplit, "single/set_1:test")
        XCTAssertEqual(one.split, "test")
        XCTAssertEqual(one.folds, ["1": "test", "2": "train", "3": "train", "4": "train", "5": "train"])
        XCTAssertEqual(one.nativeLabels["split_label"], "anger")
        XCTAssertEqual(r["00002"]?.record.split, "train")
        XCTAssertEqual(r["00002"]?.record.folds["2"], "test")
        // Compound clips are in no single-set fold.
        XCTAssertNil(r["00004"]?.record.split)
        XCTAssertEqual(r["00004"]?.record.folds, [:])
    }

    func test_mafw_set_and_fold_options_choose_the_split_files() throws {
        let three = try ingest("fold: 3")
        XCTAssertEqual(three["00003"]?.record.nativeSplit, "single/set_3:test")
        XCTAssertEqual(three["00001"]?.record.split, "train")

        let compound = try ingest("set: compound\nfold: 2")
        let four = try XCTUnwrap(compound["00004"]?.record)
        XCTAssertEqual(four.nativeSplit, "compound/set_2:test")
        XCTAssertEqual(four.folds, ["1": "train", "2": "test", "3": "test", "4": "train", "5": "test"])
        XCTAssertEqual(four.nativeLabels["split_label"], "anger_disgust")
        XCTAssertEqual(four.labels.emotions, ["anger", "disgust"])
        XCTAssertEqual(four.labelProblems, [])
        XCTAssertEqual(compound["00006"]?.record.nativeLabels["split_label"], "fear_surprise")
        XCTAssertEqual(compound["00006"]?.record.split, "train")
        XCTAssertNil(compound["00001"]?.record.split, "single-label clips are in no compound fold")
        XCTAssertEqual(compound["00001"]?.record.labels.emotion, "anger", "labels do not depend on the set")
    }

    func test_mafw_bad_options_are_config_errors() {
        XCTAssertThrowsError(try ingest("set: multi")) { XCTAssertTrue("\($0)".contains("single, compound"), "\($0)") }
        XCTAssertThrowsError(try ingest("fold: 0")) { XCTAssertTrue("\($0)".contains("1...5"), "\($0)") }
    }

    func test_mafw_split_label_that_contradicts_the_single_label_is_a_label_problem() throws {
        let r = try ingest()
        let twelve = try XCTUnwrap(r["00012"]?.record)
        XCTAssertEqual(twelve.labels.emotion, "anxiety", "the spreadsheet's label stays")
        XCTAssertEqual(twelve.nativeLabels["split_label"], "helplessness")
        XCTAssertEqual(twelve.labelProblems.count, 1)
        let message = twelve.labelProblems.first ?? ""
        XCTAssertTrue(message.contains("'helplessness' (\(Self.splits)/single/no_caption/set_1/train.txt:6)"), message)
        XCTAssertTrue(message.contains("single_label '9'"), message)
    }

    func test_mafw_split_line_with_one_field_is_a_bad_row() throws {
        let r = try ingest()
        let file = "\(Self.splits)/single/no_caption/set_5/train.txt"
        let bad = r.problems(.badRow).filter { $0.location?.file == file }
        XCTAssertEqual(bad.map(\.location), [SourceLocation(file: file, line: 8)])
        XCTAssertTrue(bad.first?.message.contains("'00013.mp4'") == true, "\(bad)")
        XCTAssertNil(r["00013"])
    }

    func test_mafw_label_rows_without_a_clip_file_are_records_with_status_missing() throws {
        let r = try ingest()
        let eight = try XCTUnwrap(r["00008"])
        XCTAssertEqual(eight.record.path, "data/clips/00008.mp4")
        XCTAssertEqual(eight.status, "missing")
        XCTAssertEqual(eight.record.labels.emotion, "surprise")
        let missing = r.problems(.missingFile)
        XCTAssertEqual(missing.map(\.location), [SourceLocation(file: Self.single, line: 7)])
        XCTAssertTrue(missing.first?.message.contains("data/clips/00008.mp4") == true, "\(missing)")
    }

    func test_mafw_clip_without_labels_is_unlabelled_and_each_clip_is_its_own_identity() throws {
        let r = try ingest()
        let nine = try XCTUnwrap(r["00009"])
        XCTAssertEqual(nine.status, "ok")
        XCTAssertTrue(nine.record.labels.isEmpty)
        XCTAssertEqual(nine.record.nativeLabels, [:])
        XCTAssertNil(nine.record.split)
        XCTAssertNil(nine.record.labelOrigin)
        XCTAssertEqual(nine.record.identity, "clip:00009")
        XCTAssertEqual(r["00001"]?.record.identity, "clip:00001")
    }

    func test_mafw_replica_reports_exactly_its_planted_problems() throws {
        let r = try ingest()
        // 00007's two ids, 00012's split label; the "?" vote, the gender line, the one-field split
        // line, the undecodable caption line; the absent 00008.mp4.
        XCTAssertEqual(r.problems.map(\.kind.rawValue).sorted(),
                       ["bad_label", "bad_label", "bad_label", "bad_row", "bad_row", "bad_row", "bad_row", "missing_file"],
                       "\(r.problems)")
        XCTAssertEqual(r.summary.outcome, .done)
    }

    func test_mafw_corrupt_workbook_and_missing_sheet_are_reported_and_the_rest_is_read() throws {
        let xlsx = fixturesRoot.appendingPathComponent("_xlsx")
        let dir = try root(
            copying: ["data/clips", "Labels/multi-set.xlsx", "Labels/descriptive_text.xlsx", "Labels(auto)"],
            replacing: [Self.annotation: xlsx.appendingPathComponent("corrupt.xlsx"),
                        Self.single: xlsx.appendingPathComponent("dfew/annotation_other_headers.xlsx")])
        let r = try ingestReplica("MAFW", adapter: "mafw", root: dir)
        let unreadable = r.problems(.unreadableLabelFile)
        XCTAssertEqual(Set(unreadable.compactMap { $0.location?.file }), [Self.annotation, Self.single])
        let sheet = unreadable.first { $0.location?.file == Self.single }?.message ?? ""
        XCTAssertTrue(sheet.contains("no sheet 'Sheet1'; its sheets: 说明, votes"), sheet)
        XCTAssertEqual(r.summary.outcome, .done)
        XCTAssertEqual(r["00004"]?.record.labels.emotions, ["anger", "disgust"])
        XCTAssertEqual(r["00001"]?.record.texts["description_en"], "A man frowns and shouts into the phone.")
        XCTAssertNil(r["00001"]?.record.labels.emotion)
    }

    func test_mafw_underscore_label_file_names_of_the_official_readme_are_read_like_the_hyphenated_ones() throws {
        let labels = fixturesRoot.appendingPathComponent("MAFW/Labels")
        let dir = try root(
            copying: ["data/clips", Self.annotation, "Labels/descriptive_text.xlsx"],
            replacing: ["Labels/single_set.xlsx": labels.appendingPathComponent("single-set.xlsx"),
                        "Labels/multi_set.xlsx": labels.appendingPathComponent("multi-set.xlsx")])
        let r = try ingestReplica("MAFW", adapter: "mafw", root: dir)
        XCTAssertEqual(r.summary.outcome, .done)
        XCTAssertEqual(r.problems(.unreadableLabelFile).map(\.message), [])
        XCTAssertEqual(r["00010"]?.record.labels.emotion, "contempt")
        XCTAssertEqual(r["00011"]?.record.labelOrigin, SourceLocation(file: "Labels/single_set.xlsx", line: 9))
        XCTAssertEqual(r["00004"]?.record.labels.emotions, ["anger", "disgust"])
        XCTAssertEqual(r["00004"]?.record.nativeLabels["multi_label"], try ingest()["00004"]?.record.nativeLabels["multi_label"])
    }

    func test_mafw_a_missing_single_set_names_both_spellings() throws {
        let dir = try root(copying: ["data/clips", Self.multi])
        let r = try ingestReplica("MAFW", adapter: "mafw", root: dir)
        let missing = r.problems(.unreadableLabelFile).first { $0.location?.file == Self.single }
        XCTAssertEqual(missing?.message, "the label file is missing (nor Labels/single_set.xlsx)")
    }

    func test_mafw_folder_without_clips_or_labels_fails_with_the_expected_layout() throws {
        let empty = FileManager.default.temporaryDirectory.appendingPathComponent("mafw-empty-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: empty, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: empty) }
        let r = try ingestReplica("MAFW", adapter: "mafw", root: empty)
        XCTAssertEqual(r.summary.outcome, .failed)
        XCTAssertTrue(r.summary.note?.contains("data/clips") == true, "\(String(describing: r.summary.note))")
    }
}
