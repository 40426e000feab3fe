import EmoCFG
import Foundation
import Ingest
import XCTest

/// The DFEW replica: `Clip/original/` with padded and unpadded names, five folds of split CSVs.
final class DFEWAdapterTests: XCTestCase {
    static let trainSet1 = "EmoLabel_DataSplit/train(single-labeled)/set_1.csv"
    static let testSet1 = "EmoLabel_DataSplit/test(single-labeled)/set_1.csv"

    func ingest(_ options: String = "") throws -> IngestedReplica {
        try ingestReplica("DFEW", adapter: "dfew", options: options)
    }

    func test_dfew_every_clip_file_and_every_labelled_id_becomes_one_record() throws {
        let r = try ingest()
        XCTAssertEqual(
            Set(r.clips.keys),
            ["00001", "00002", "00003", "00004", "00005", "00006", "00007", "00008", "00010", "00012"])
    }

    func test_dfew_unpadded_file_names_get_the_five_digit_key_and_keep_their_file_name() throws {
        let r = try ingest()
        XCTAssertEqual(r["00003"]?.record.path, "Clip/original/3.mp4")
        XCTAssertEqual(r["00012"]?.record.path, "Clip/original/12.mp4")
        XCTAssertEqual(r["00001"]?.record.path, "Clip/original/00001.mp4")
        XCTAssertEqual(r["00012"]?.record.labels.emotion, "fear")
        XCTAssertEqual(r["00003"]?.record.labels.emotion, "neutral")
    }

    func test_dfew_padded_and_unpadded_copies_of_one_clip_keep_the_padded_one() throws {
        let r = try ingest()
        XCTAssertEqual(r["00004"]?.record.path, "Clip/original/00004.mp4")
        let stray = r.problems(.strayFile)
        XCTAssertEqual(stray.map { $0.location?.file }, ["Clip/original/4.mp4"])
        XCTAssertTrue(stray.first?.message.contains("kept Clip/original/00004.mp4") == true, "\(stray)")
    }

    func test_dfew_codes_map_to_the_seven_emotions() throws {
        let r = try ingest()
        let expected = ["00001": "happiness", "00002": "sadness", "00003": "neutral", "00004": "anger",
                        "00005": "surprise", "00010": "disgust", "00012": "fear"]
        for (key, emotion) in expected {
            XCTAssertEqual(r[key]?.record.labels.emotion, emotion, key)
            XCTAssertEqual(r[key]?.record.labelProblems, [], key)
        }
        XCTAssertEqual(r["00001"]?.record.nativeLabels, ["label": "1"])
        XCTAssertEqual(r["00010"]?.record.nativeLabels, ["label": "6"])
    }

    func test_dfew_fold_one_is_the_default_split_and_every_fold_side_is_kept() throws {
        let r = try ingest()
        let one = try XCTUnwrap(r["00001"]?.record)
        XCTAssertEqual(one.nativeSplit, "set_1:test")
        XCTAssertEqual(one.split, "test")
        XCTAssertEqual(one.folds, ["1": "test", "2": "train", "3": "train", "4": "train", "5": "train"])
        XCTAssertEqual(one.labelOrigin, SourceLocation(file: Self.testSet1, line: 2))
        let two = try XCTUnwrap(r["00002"]?.record)
        XCTAssertEqual(two.nativeSplit, "set_1:train")
        XCTAssertEqual(two.split, "train")
        XCTAssertEqual(two.folds["2"], "test")
        XCTAssertEqual(two.labelOrigin, SourceLocation(file: Self.trainSet1, line: 2))
    }

    func test_dfew_fold_option_chooses_the_split() throws {
        let r = try ingest("fold: 3")
        XCTAssertEqual(r["00003"]?.record.nativeSplit, "set_3:test")
        XCTAssertEqual(r["00003"]?.record.split, "test")
        XCTAssertEqual(r["00003"]?.record.labelOrigin?.file, "EmoLabel_DataSplit/test(single-labeled)/set_3.csv")
        XCTAssertEqual(r["00001"]?.record.nativeSplit, "set_3:train")
        XCTAssertEqual(r["00010"]?.record.split, "test")
    }

    func test_dfew_fold_outside_one_to_five_is_a_config_error() {
        XCTAssertThrowsError(try ingest("fold: 6")) { error in
            XCTAssertTrue("\(error)".contains("1...5"), "\(error)")
        }
    }

    func test_dfew_clip_in_no_fold_is_an_unlabelled_clip() throws {
        let r = try ingest()
        let six = try XCTUnwrap(r["00006"]?.record)
        XCTAssertEqual(six.path, "Clip/original/00006.mp4")
        XCTAssertNil(six.labels.emotion)
        XCTAssertTrue(six.labels.isEmpty)
        XCTAssertEqual(six.nativeLabels, [:])
        XCTAssertNil(six.split)
        XCTAssertEqual(six.folds, [:])
        XCTAssertNil(six.labelOrigin)
    }

    func test_dfew_code_outside_one_to_seven_is_a_label_problem_naming_value_and_row() throws {
        let r = try ingest()
        let seven = try XCTUnwrap(r["00007"]?.record)
        XCTAssertNil(seven.labels.emotion)
        XCTAssertEqual(seven.nativeLabels, ["label": "9"])
        XCTAssertEqual(seven.labelProblems.count, 1)
        let message = seven.labelProblems.first ?? ""
        XCTAssertTrue(message.contains("'9'"), message)
        XCTAssertTrue(message.contains("\(Self.testSet1):3"), message)
        XCTAssertTrue(message.contains("7 (Fear)"), message)

        let eight = try XCTUnwrap(r["00008"]?.record)
        XCTAssertNil(eight.labels.emotion)
        XCTAssertEqual(eight.nativeLabels, ["label": "x"])
        XCTAssertTrue(eight.labelProblems.first?.contains("'x' (\(Self.trainSet1):6)") == true, "\(eight.labelProblems)")
        XCTAssertEqual(eight.split, "train")
    }

    func test_dfew_label_row_without_a_clip_file_is_still_a_record_at_the_padded_path() throws {
        let r = try ingest()
        let ten = try XCTUnwrap(r["00010"]?.record)
        XCTAssertEqual(ten.path, "Clip/original/00010.mp4")
        XCTAssertEqual(ten.labels.emotion, "disgust")
        XCTAssertEqual(ten.split, "train")
        XCTAssertEqual(ten.folds["3"], "test")
        let missing = r.problems(.missingFile)
        XCTAssertEqual(missing.map { $0.location }, [SourceLocation(file: Self.trainSet1, line: 7)])
        XCTAssertTrue(missing.first?.message.contains("Clip/original/00010.mp4") == true, "\(missing)")
        XCTAssertEqual(r["00010"]?.status, "missing")
        XCTAssertEqual(r["00001"]?.status, "ok")
    }

    func test_dfew_malformed_rows_are_reported_with_file_and_line() throws {
        let r = try ingest()
        let bad = r.problems(.badRow)
        let set5 = "EmoLabel_DataSplit/train(single-labeled)/set_5.csv"
        XCTAssertEqual(bad.map { $0.location }, [SourceLocation(file: set5, line: 10), SourceLocation(file: set5, line: 11)])
        XCTAssertTrue(bad[0].message.contains("'abc'"), bad[0].message)
        XCTAssertTrue(bad[1].message.contains("found 1"), bad[1].message)
        XCTAssertNil(r["00013"])
    }

    func test_dfew_crlf_fold_files_read_like_lf_ones() throws {
        // The fold-2 files of the replica end their lines with CRLF.
        let r = try ingest("fold: 2")
        XCTAssertEqual(r["00008"]?.record.nativeSplit, "set_2:test")
        XCTAssertEqual(r["00008"]?.record.nativeLabels, ["label": "x"])
        XCTAssertEqual(r["00002"]?.record.labels.emotion, "sadness")
    }

    func test_dfew_identity_is_the_clip_and_frame_folders_are_ignored() throws {
        let r = try ingest()
        XCTAssertEqual(r["00001"]?.record.identity, "clip:00001")
        XCTAssertEqual(r["00012"]?.record.identity, "clip:00012")
        XCTAssertFalse(r.clips.values.contains { $0.record.path.contains("clip_224x224") })
        // 4.mp4, two malformed rows, labels 9 and x, the absent 00010.mp4 — nothing about the frames.
        XCTAssertEqual(r.problems.map(\.kind).sorted { $0.rawValue < $1.rawValue },
                       [.badLabel, .badLabel, .badRow, .badRow, .missingFile, .strayFile], "\(r.problems)")
    }

    func test_dfew_folder_without_clips_or_labels_fails_with_the_expected_layout() throws {
        let empty = FileManager.default.temporaryDirectory.appendingPathComponent("dfew-empty-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: empty, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: empty) }
        let r = try ingestReplica("DFEW", adapter: "dfew", root: empty)
        XCTAssertEqual(r.summary.outcome, .failed)
        XCTAssertTrue(r.summary.note?.contains("Clip/original") == true, "\(String(describing: r.summary.note))")
        XCTAssertEqual(r.clips.count, 0)
    }
}
