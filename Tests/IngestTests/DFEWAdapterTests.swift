import EmoCFG
import Foundation
import Ingest
import XCTest

/// The DFEW replica: `Clip/original/` with padded and unpadded names, five folds of split CSVs, the
/// two frame variants and `Annotation/annotation.xlsx` (frames and workbooks made by
/// `scripts/make-dfew-fixtures.py`).
final class DFEWAdapterTests: XCTestCase {
    static let trainSet1 = "EmoLabel_DataSplit/train(single-labeled)/set_1.csv"
    static let testSet1 = "EmoLabel_DataSplit/test(single-labeled)/set_1.csv"
    static let annotation = "Annotation/annotation.xlsx"

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

    func test_dfew_clip_in_no_fold_has_no_emotion_and_no_split() throws {
        // 00006 is in no fold CSV (multi-labelled); only its annotation.xlsx row speaks of it.
        let r = try ingest()
        let six = try XCTUnwrap(r["00006"]?.record)
        XCTAssertEqual(six.path, "Clip/original/00006.mp4")
        XCTAssertNil(six.labels.emotion)
        XCTAssertEqual(six.labels.emotions, [])
        XCTAssertNil(six.nativeLabels["label"])
        XCTAssertEqual(six.nativeLabels.keys.filter { !$0.hasPrefix("annotation:") }, [])
        XCTAssertNil(six.split)
        XCTAssertEqual(six.folds, [:])
        XCTAssertEqual(six.labelOrigin?.file, Self.annotation)
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

    // MARK: - annotation.xlsx

    func test_dfew_annotation_votes_become_native_labels_and_vote_facts() throws {
        let r = try ingest()
        let two = try XCTUnwrap(r["00002"]?.record)
        XCTAssertEqual(two.nativeLabels, [
            "label": "2", "annotation:Happy": "0", "annotation:Sad": "9", "annotation:Neutral": "1",
            "annotation:Angry": "0", "annotation:Surprise": "0", "annotation:Disgust": "0", "annotation:Fear": "0",
            "annotation:Single Label": "2",
        ])
        XCTAssertEqual(two.labels.facts, [
            "votes_happiness": "0", "votes_sadness": "9", "votes_neutral": "1", "votes_anger": "0",
            "votes_surprise": "0", "votes_disgust": "0", "votes_fear": "0", "single_labelled": "true",
        ])
        XCTAssertEqual(two.labels.attributes["voted_emotions"], ["sadness", "neutral"])
        XCTAssertEqual(two.labels.emotion, "sadness")
        XCTAssertEqual(two.labelOrigin, SourceLocation(file: Self.trainSet1, line: 2), "the fold row stays the origin")
        XCTAssertEqual(two.labelProblems, [])
    }

    func test_dfew_annotation_single_label_zero_marks_the_clip_not_single_labelled() throws {
        let r = try ingest()
        let six = try XCTUnwrap(r["00006"]?.record)
        XCTAssertEqual(six.labels.facts["single_labelled"], "false")
        XCTAssertEqual(six.nativeLabels["annotation:Single Label"], "0")
        XCTAssertNil(six.labels.emotion)
        XCTAssertEqual(six.labels.attributes["voted_emotions"], ["happiness", "neutral", "surprise"])
        XCTAssertEqual(six.labels.facts["votes_surprise"], "4")
        XCTAssertEqual(six.labelOrigin, SourceLocation(file: Self.annotation, line: 6))
        XCTAssertEqual(six.labelProblems, [])
    }

    func test_dfew_annotation_clip_names_stored_as_numbers_match_the_padded_keys() throws {
        let r = try ingest()
        // Row 3 stores the clip as the number 3, row 7 as the text "12".
        XCTAssertEqual(r["00003"]?.record.nativeLabels["annotation:Neutral"], "8")
        XCTAssertEqual(r["00003"]?.record.labels.facts["single_labelled"], "true")
        XCTAssertEqual(r["00012"]?.record.labels.facts["votes_fear"], "9")
        XCTAssertEqual(r["00012"]?.record.labels.emotion, "fear")
        XCTAssertNil(r["00001"]?.record.labels.facts["single_labelled"], "00001 has no annotation row")
    }

    /// A root with the replica's fold CSVs and `annotation.xlsx` replaced by `workbook`.
    func rootWithAnnotation(_ workbook: URL) throws -> URL {
        let fm = FileManager.default
        let dir = fm.temporaryDirectory.appendingPathComponent("dfew-\(UUID().uuidString)")
        try fm.createDirectory(at: dir.appendingPathComponent("Annotation"), withIntermediateDirectories: true)
        try fm.copyItem(at: fixturesRoot.appendingPathComponent("DFEW/EmoLabel_DataSplit"),
                        to: dir.appendingPathComponent("EmoLabel_DataSplit"))
        try fm.copyItem(at: workbook, to: dir.appendingPathComponent(Self.annotation))
        addTeardownBlock { try? fm.removeItem(at: dir) }
        return dir
    }

    static let variants = fixturesRoot.appendingPathComponent("_xlsx/dfew")

    func test_dfew_annotation_columns_are_found_by_other_header_spellings_on_a_later_sheet() throws {
        let dir = try rootWithAnnotation(Self.variants.appendingPathComponent("annotation_other_headers.xlsx"))
        let r = try ingestReplica("DFEW", adapter: "dfew", root: dir)
        // Sheet "votes" (after a notes sheet): video_name, happiness … fearful, label.
        let twenty = try XCTUnwrap(r["00020"])
        XCTAssertEqual(twenty.record.path, "Clip/original/00020.mp4")
        XCTAssertEqual(twenty.status, "missing")
        XCTAssertEqual(twenty.record.labels.emotion, "happiness", "no fold row: the annotation's single label")
        XCTAssertEqual(twenty.record.labelOrigin, SourceLocation(file: Self.annotation, line: 2))
        XCTAssertEqual(twenty.record.nativeLabels["annotation:neutrality"], "2")
        XCTAssertEqual(twenty.record.labels.facts["votes_neutral"], "2")
        XCTAssertEqual(twenty.record.labels.attributes["voted_emotions"], ["happiness", "neutral"])
        XCTAssertEqual(r["00006"]?.record.labels.attributes["voted_emotions"], ["neutral", "anger"])
        XCTAssertEqual(r["00006"]?.record.labels.facts["single_labelled"], "false")
    }

    func test_dfew_annotation_bad_rows_and_contradictions_are_reported_with_their_rows() throws {
        let dir = try rootWithAnnotation(Self.variants.appendingPathComponent("annotation_other_headers.xlsx"))
        let r = try ingestReplica("DFEW", adapter: "dfew", root: dir)

        let rows = r.problems(.badRow).filter { $0.location?.file == Self.annotation }
        XCTAssertEqual(rows.map(\.location), [SourceLocation(file: Self.annotation, line: 4), SourceLocation(file: Self.annotation, line: 5)])
        XCTAssertTrue(rows[0].message.contains("sadness 'x'"), rows[0].message)
        XCTAssertTrue(rows[1].message.contains("'abc'"), rows[1].message)
        XCTAssertNil(r["00022"]?.record.labels.facts["votes_sadness"])
        XCTAssertEqual(r["00022"]?.record.labels.facts["votes_neutral"], "10")

        let outside = r["00021"]?.record.labelProblems.first ?? ""
        XCTAssertTrue(outside.contains("'8' (\(Self.annotation):3)"), outside)
        XCTAssertTrue(outside.contains("7 (Fear)"), outside)
        XCTAssertNil(r["00021"]?.record.labels.emotion)

        let one = try XCTUnwrap(r["00001"]?.record)
        XCTAssertEqual(one.labels.emotion, "happiness", "the fold CSVs' label stays")
        XCTAssertEqual(one.labelProblems, [
            "annotation single label '2' (\(Self.annotation):6) disagrees with '1' (\(Self.testSet1):2)",
        ])
        let two = r["00002"]?.record.labelProblems.first ?? ""
        XCTAssertTrue(two.contains("not single-labelled") && two.contains("'2' (\(Self.trainSet1):2)"), two)
    }

    func test_dfew_annotation_without_a_clip_column_is_reported_and_the_folds_still_read() throws {
        let dir = try rootWithAnnotation(Self.variants.appendingPathComponent("annotation_no_clip_column.xlsx"))
        let r = try ingestReplica("DFEW", adapter: "dfew", root: dir)
        let unreadable = r.problems(.unreadableLabelFile)
        XCTAssertEqual(unreadable.map { $0.location?.file }, [Self.annotation])
        XCTAssertTrue(unreadable.first?.message.contains("clip column") == true, "\(unreadable)")
        XCTAssertTrue(unreadable.first?.message.contains("order, Happy") == true, "\(unreadable)")
        XCTAssertEqual(r["00001"]?.record.nativeLabels, ["label": "1"])
        XCTAssertEqual(r.summary.outcome, .done)
    }

    func test_dfew_annotation_header_missing_a_vote_column_is_reported_and_the_rows_read() throws {
        let dir = try rootWithAnnotation(Self.variants.appendingPathComponent("annotation_six_votes.xlsx"))
        let r = try ingestReplica("DFEW", adapter: "dfew", root: dir)
        let header = r.problems(.badRow).filter { $0.location?.file == Self.annotation }
        XCTAssertEqual(header.map(\.location), [SourceLocation(file: Self.annotation, line: 1)])
        XCTAssertTrue(header.first?.message.contains("vote columns for Fear") == true, "\(header)")
        let thirty = try XCTUnwrap(r["00030"]?.record)
        XCTAssertEqual(thirty.labels.facts["votes_anger"], "10")
        XCTAssertNil(thirty.labels.facts["votes_fear"])
        XCTAssertEqual(thirty.labels.emotion, "anger")
    }

    func test_dfew_corrupt_annotation_is_reported_and_the_scan_goes_on() throws {
        let dir = try rootWithAnnotation(fixturesRoot.appendingPathComponent("_xlsx/corrupt.xlsx"))
        let r = try ingestReplica("DFEW", adapter: "dfew", root: dir)
        let unreadable = r.problems(.unreadableLabelFile)
        XCTAssertEqual(unreadable.map { $0.location?.file }, [Self.annotation])
        XCTAssertTrue(unreadable.first?.message.contains("annotation.xlsx") == true, "\(unreadable)")
        XCTAssertEqual(r.summary.outcome, .done)
        XCTAssertEqual(r["00001"]?.record.labels.emotion, "happiness")
    }

    // MARK: - Frame variants

    func test_dfew_clip_224x224_folders_are_frame_clips_at_25_fps() throws {
        let r = try ingest("clips: clip_224x224")
        XCTAssertEqual(
            Set(r.clips.keys),
            ["00001", "00002", "00003", "00004", "00005", "00006", "00007", "00008", "00010", "00012"])
        let one = try XCTUnwrap(r["00001"])
        XCTAssertEqual(one.record.kind, .frames)
        XCTAssertEqual(one.record.path, "Clip/clip_224x224/00001")
        XCTAssertEqual(one.probe?.fps, 25)
        XCTAssertEqual(one.status, "ok")
        XCTAssertEqual(one.probe?.frameCount, 3)
        XCTAssertEqual(one.probe?.width, 32)
        XCTAssertEqual(one.probe?.height, 24)
        XCTAssertEqual(one.probe?.duration ?? 0, 0.12, accuracy: 1e-9)
        XCTAssertEqual(one.record.labels.emotion, "happiness")
        XCTAssertEqual(one.record.split, "test")
        XCTAssertEqual(r["00006"]?.probe?.frameCount, 4)
        XCTAssertEqual(r["00006"]?.record.labels.facts["single_labelled"], "false")
        XCTAssertFalse(r.clips.values.contains { $0.record.path.hasPrefix("Clip/original") })
    }

    func test_dfew_frame_variant_labelled_clip_without_a_folder_is_missing_at_the_padded_folder() throws {
        let r = try ingest("clips: clip_224x224")
        let three = try XCTUnwrap(r["00003"])
        XCTAssertEqual(three.record.path, "Clip/clip_224x224/00003")
        XCTAssertEqual(three.record.kind, .frames)
        XCTAssertEqual(three.status, "missing")
        XCTAssertEqual(r.problems(.missingFile).count, 7, "00003 00004 00005 00007 00008 00010 00012")
    }

    func test_dfew_frame_folder_with_a_stray_file_is_reported_and_still_usable() throws {
        let r = try ingest("clips: clip_224x224")
        let stray = r.problems(.strayFile)
        XCTAssertEqual(stray.map { $0.location?.file }, ["Clip/clip_224x224/00002/Thumbs.db"])
        XCTAssertEqual(r["00002"]?.status, "ok")
        XCTAssertEqual(r["00002"]?.probe?.frameCount, 2)
    }

    func test_dfew_16f_folders_unpadded_names_and_the_nominal_rate() throws {
        let r = try ingest("clips: clip_224x224_16f")
        let three = try XCTUnwrap(r["00003"])
        XCTAssertEqual(three.record.path, "Clip/clip_224x224_16f/3")
        XCTAssertEqual(three.status, "ok")
        XCTAssertEqual(three.probe?.frameCount, 3, "1.jpg 2.jpg 10.jpg")
        XCTAssertEqual(three.probe?.fps, 5)
        XCTAssertEqual(three.probe?.duration ?? 0, 0.6, accuracy: 1e-9)
        XCTAssertEqual(three.record.labels.emotion, "neutral")
        XCTAssertEqual(r["00001"]?.probe?.frameCount, 5)
        XCTAssertEqual(r["00012"]?.record.path, "Clip/clip_224x224_16f/00012")
        XCTAssertEqual(r["00002"]?.record.path, "Clip/clip_224x224_16f/00002")
        XCTAssertEqual(r["00002"]?.status, "missing")
    }

    func test_dfew_fps_option_sets_the_frame_rate_of_the_variant() throws {
        let r = try ingest("clips: clip_224x224_16f\nfps: 16")
        XCTAssertEqual(r["00001"]?.probe?.fps, 16)
        XCTAssertEqual(r["00001"]?.probe?.duration ?? 0, 5.0 / 16, accuracy: 1e-9)
        // The original mp4s keep the rate the runner probes.
        let original = try ingest("fps: 16")
        XCTAssertEqual(original["00001"]?.probe?.fps ?? 0, 10, accuracy: 0.01)
    }

    func test_dfew_unknown_variant_or_rate_below_zero_is_a_config_error() {
        XCTAssertThrowsError(try ingest("clips: clip_112x112")) { error in
            XCTAssertTrue("\(error)".contains("original, clip_224x224, clip_224x224_16f"), "\(error)")
        }
        XCTAssertThrowsError(try ingest("clips: clip_224x224\nfps: 0")) { error in
            XCTAssertTrue("\(error)".contains("above 0"), "\(error)")
        }
    }
}
