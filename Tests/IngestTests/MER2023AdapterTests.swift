import EmoCFG
import Foundation
import Ingest
import XCTest

/// The MER2023 replica: `train/ test1/ test2/ test3/` of mixed `.avi`/`.mp4` samples, label CSVs at
/// the root (test3's without valence), a transcript CSV with blanks, and the bad cases: an unknown
/// class, a short row, an unparsable valence, a row without media, a clip without a row, and a name
/// labelled in two sets.
final class MER2023AdapterTests: XCTestCase {
    func ingest() throws -> IngestedReplica {
        try ingestReplica("MER2023", adapter: "mer2023")
    }

    func test_mer2023_every_sample_file_and_every_labelled_name_becomes_one_record() throws {
        let r = try ingest()
        XCTAssertEqual(Set(r.clips.keys), [
            "sample_00000001", "sample_00000002", "sample_00000003", "sample_00000004", "sample_00000006",
            "sample_00000009", "sample_00001001", "sample_00001002", "sample_00002001", "sample_00003001",
            "sample_00003002",
        ])
    }

    func test_mer2023_rows_without_extension_find_the_avi_or_the_mp4() throws {
        let r = try ingest()
        XCTAssertEqual(r["sample_00000001"]?.record.path, "train/sample_00000001.avi")
        XCTAssertEqual(r["sample_00000002"]?.record.path, "train/sample_00000002.mp4")
        XCTAssertEqual(r["sample_00001002"]?.record.path, "test1/sample_00001002.avi")
        XCTAssertEqual(r["sample_00003001"]?.record.path, "test3/sample_00003001.mp4")
        for key in ["sample_00000001", "sample_00000002", "sample_00001002", "sample_00003001"] {
            XCTAssertEqual(r[key]?.status, "ok", key)
        }
    }

    func test_mer2023_label_row_gives_emotion_valence_and_origin() throws {
        let r = try ingest()
        let clip = try XCTUnwrap(r["sample_00000001"]?.record)
        XCTAssertEqual(clip.nativeLabels, ["name": "sample_00000001", "discrete": "angry", "valence": "-2.5"])
        XCTAssertEqual(clip.labels.emotion, "anger")
        XCTAssertEqual(clip.labels.valence, -2.5)
        XCTAssertEqual(clip.labelOrigin, SourceLocation(file: "train-label.csv", line: 2))
        XCTAssertEqual(clip.identity, "sample_00000001")
        XCTAssertEqual(clip.labelProblems, [])
    }

    func test_mer2023_worried_is_canonical_worry_and_every_class_maps() throws {
        let r = try ingest()
        let expected = ["sample_00000002": "worry", "sample_00001001": "surprise", "sample_00001002": "neutral",
                        "sample_00002001": "sadness", "sample_00003001": "happiness", "sample_00003002": "worry"]
        for (key, emotion) in expected { XCTAssertEqual(r[key]?.record.labels.emotion, emotion, key) }
        XCTAssertEqual(r["sample_00000002"]?.record.nativeLabels["discrete"], "worried")
        XCTAssertEqual(r["sample_00001002"]?.record.labels.valence, 0)
    }

    func test_mer2023_native_split_is_the_set_folder() throws {
        let r = try ingest()
        let expected = ["sample_00000001": "train", "sample_00001001": "test1", "sample_00002001": "test2",
                        "sample_00003002": "test3"]
        for (key, set) in expected {
            XCTAssertEqual(r[key]?.record.nativeSplit, set, key)
            XCTAssertEqual(r[key]?.record.split, set == "train" ? "train" : "test", key)
        }
        XCTAssertEqual(r["sample_00002001"]?.record.labelOrigin, SourceLocation(file: "test2-label.csv", line: 2))
    }

    func test_mer2023_test3_has_no_valence_column_and_that_is_not_a_problem() throws {
        let r = try ingest()
        let clip = try XCTUnwrap(r["sample_00003002"]?.record)
        XCTAssertNil(clip.labels.valence)
        XCTAssertEqual(clip.nativeLabels, ["name": "sample_00003002", "discrete": "worried"])
        XCTAssertEqual(clip.labelProblems, [])
        XCTAssertFalse(r.problems.contains { $0.location?.file == "test3-label.csv" })
    }

    func test_mer2023_transcripts_fill_texts_and_blanks_are_left_out() throws {
        let r = try ingest()
        XCTAssertEqual(r["sample_00000001"]?.record.texts,
                       ["chinese": "我不想再等了。", "english": "I don't want to wait, not anymore."])
        XCTAssertEqual(r["sample_00000002"]?.record.texts, ["chinese": "你真的要走吗？"])
        XCTAssertEqual(r["sample_00001001"]?.record.texts, ["english": "What a surprise!"])
        XCTAssertEqual(r["sample_00001002"]?.record.texts, [:])
    }

    func test_mer2023_unknown_class_keeps_the_clip_and_names_value_file_line_and_classes() throws {
        let r = try ingest()
        let clip = try XCTUnwrap(r["sample_00000004"]?.record)
        XCTAssertNil(clip.labels.emotion)
        XCTAssertEqual(clip.nativeLabels["discrete"], "bored")
        XCTAssertEqual(clip.labels.valence, 0.5)
        let message = try XCTUnwrap(clip.labelProblems.first)
        XCTAssertEqual(clip.labelProblems.count, 1)
        XCTAssertTrue(message.contains("'bored'"), message)
        XCTAssertTrue(message.contains("train-label.csv:5"), message)
        XCTAssertTrue(message.contains("worried"), message)
    }

    func test_mer2023_short_row_is_a_bad_row_and_skipped() throws {
        let r = try ingest()
        XCTAssertNil(r["sample_00000005"])
        let bad = r.problems(.badRow).filter { $0.location == SourceLocation(file: "train-label.csv", line: 6) }
        XCTAssertEqual(bad.count, 1)
        XCTAssertTrue(bad.first?.message.contains("expected 3 fields") ?? false, bad.first?.message ?? "")
    }

    func test_mer2023_unparsable_valence_is_a_bad_row_but_the_emotion_is_kept() throws {
        let r = try ingest()
        let clip = try XCTUnwrap(r["sample_00000006"]?.record)
        XCTAssertNil(clip.labels.valence)
        XCTAssertEqual(clip.labels.emotion, "sadness")
        XCTAssertEqual(clip.nativeLabels["valence"], "abc")
        let bad = r.problems(.badRow).filter { $0.location == SourceLocation(file: "train-label.csv", line: 7) }
        XCTAssertEqual(bad.count, 1)
        XCTAssertTrue(bad.first?.message.contains("'abc'") ?? false, bad.first?.message ?? "")
    }

    func test_mer2023_label_row_without_media_is_a_record_the_runner_reports_missing() throws {
        let r = try ingest()
        let clip = try XCTUnwrap(r["sample_00000009"])
        XCTAssertEqual(clip.status, "missing")
        XCTAssertEqual(clip.record.path, "train/sample_00000009.mp4")
        XCTAssertEqual(clip.record.labels.emotion, "happiness")
        let missing = r.problems(.missingFile)
        XCTAssertEqual(missing.map { $0.location }, [SourceLocation(file: "train-label.csv", line: 4)])
    }

    func test_mer2023_clip_without_a_label_row_is_an_unlabelled_clip_of_its_set() throws {
        let r = try ingest()
        let clip = try XCTUnwrap(r["sample_00000003"])
        XCTAssertEqual(clip.record.path, "train/sample_00000003.mp4")
        XCTAssertEqual(clip.record.nativeSplit, "train")
        XCTAssertEqual(clip.record.split, "train")
        XCTAssertEqual(clip.record.identity, "sample_00000003")
        XCTAssertTrue(clip.record.labels.isEmpty)
        XCTAssertNil(clip.record.labelOrigin)
        XCTAssertEqual(clip.status, "ok")
    }

    func test_mer2023_a_name_labelled_in_two_sets_keeps_the_train_row_and_reports_the_other() throws {
        let r = try ingest()
        let clip = try XCTUnwrap(r["sample_00000001"]?.record)
        XCTAssertEqual(clip.nativeSplit, "train")
        XCTAssertEqual(clip.labels.emotion, "anger")
        let dup = r.problems(.badRow).filter { $0.location == SourceLocation(file: "test2-label.csv", line: 3) }
        XCTAssertEqual(dup.count, 1)
        let message = dup.first?.message ?? ""
        XCTAssertTrue(message.contains("sample_00000001"), message)
        XCTAssertTrue(message.contains("train-label.csv:2"), message)
        XCTAssertTrue(message.contains("unique across the sets"), message)
    }

    func test_mer2023_no_sets_and_no_label_files_fails_the_source() throws {
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("mer2023-empty-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: root.appendingPathComponent("misc"), withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: root) }
        let r = try ingestReplica("MER2023", adapter: "mer2023", root: root)
        XCTAssertEqual(r.summary.outcome, .failed)
        XCTAssertTrue(r.summary.note?.contains("train/") ?? false, r.summary.note ?? "")
    }
}
