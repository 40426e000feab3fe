import EmoCFG
import Foundation
import Ingest
import XCTest

/// The generic manifest adapter, on an invented PERR layout: `videos/*.mp4` listed by a CSV or a JSONL.
final class ManifestAdapterTests: XCTestCase {
    static let csvOptions = """
        file: perr_manifest.csv
        columns:
          path: path
          emotion: label
          identity: speaker
          split: split
        """

    static let jsonlOptions = """
        file: perr_manifest.jsonl
        separator: "|"
        columns:
          path: video
          key: id
          emotions: emotions
          identity: speaker
          split: split
          valence: valence
          text: utterance
        """

    func perr(_ options: String = csvOptions) throws -> IngestedReplica {
        try ingestReplica("PERR", adapter: "manifest", options: options)
    }

    // MARK: - CSV

    func test_csv_rows_become_clips_keyed_by_path_without_extension() throws {
        XCTAssertEqual(Set(try perr().clips.keys), [
            "videos/dia01_utt01", "videos/dia01_utt02", "videos/dia02_utt01", "videos/dia03_utt01",
            "videos/dia03_utt02", "videos/dia04_utt01", "videos/dia06_utt01",
        ])
    }

    func test_csv_emotion_speaker_and_split_map_through_columns() throws {
        let r = try XCTUnwrap(try perr()["videos/dia01_utt02"]).record
        XCTAssertEqual(r.path, "videos/dia01_utt02.mp4")
        XCTAssertEqual(r.labels.emotion, "happiness")
        XCTAssertEqual(r.nativeLabels, ["label": "joy", "speaker": "spk_B"])
        XCTAssertEqual(r.identity, "speaker:spk_B")
        XCTAssertEqual(r.nativeSplit, "train")
        XCTAssertEqual(r.split, "train")
        XCTAssertEqual(r.labelOrigin, SourceLocation(file: "perr_manifest.csv", line: 3))
        XCTAssertEqual(r.labelProblems, [])
    }

    func test_csv_dev_split_normalises_to_val() throws {
        let r = try XCTUnwrap(try perr()["videos/dia02_utt01"]).record
        XCTAssertEqual(r.nativeSplit, "dev")
        XCTAssertEqual(r.split, "val")
        XCTAssertEqual(r.labels.emotion, "anger")
    }

    func test_emotion_word_emocfg_cannot_canonicalise_is_a_label_problem() throws {
        let r = try XCTUnwrap(try perr()["videos/dia03_utt02"]).record
        XCTAssertNil(r.labels.emotion)
        XCTAssertEqual(r.nativeLabels["label"], "frustration")
        XCTAssertEqual(r.labelProblems.count, 1)
        let message = try XCTUnwrap(r.labelProblems.first)
        for part in ["'frustration'", "perr_manifest.csv:6", "happiness", "label_map"] {
            XCTAssertTrue(message.contains(part), "\(message) lacks \(part)")
        }
    }

    func test_label_map_turns_a_numeric_code_into_an_emotion() throws {
        let unmapped = try XCTUnwrap(try perr()["videos/dia04_utt01"]).record
        XCTAssertNil(unmapped.labels.emotion)
        XCTAssertTrue(unmapped.labelProblems.first?.contains("'0'") ?? false, "\(unmapped.labelProblems)")

        let mapped = try XCTUnwrap(try perr(Self.csvOptions + "\nlabel_map: {\"0\": neutral}")["videos/dia04_utt01"]).record
        XCTAssertEqual(mapped.labels.emotion, "neutral")
        XCTAssertEqual(mapped.nativeLabels["label"], "0")
        XCTAssertEqual(mapped.labelProblems, [])
    }

    func test_word_outside_the_configured_vocabulary_is_a_label_problem() throws {
        let replica = try perr(Self.csvOptions + "\nvocabulary: [neutral, joy, sadness, surprise]")
        let anger = try XCTUnwrap(replica["videos/dia02_utt01"]).record
        XCTAssertNil(anger.labels.emotion)
        let message = try XCTUnwrap(anger.labelProblems.first)
        for part in ["'anger'", "perr_manifest.csv:4", "neutral, joy, sadness, surprise"] {
            XCTAssertTrue(message.contains(part), "\(message) lacks \(part)")
        }
        XCTAssertEqual(replica["videos/dia01_utt02"]?.record.labels.emotion, "happiness")
    }

    func test_row_whose_video_is_missing_is_still_a_clip() throws {
        XCTAssertFalse(FileManager.default.fileExists(
            atPath: fixturesRoot.appendingPathComponent("PERR/videos/dia06_utt01.mp4").path))
        let replica = try perr()
        let r = try XCTUnwrap(replica["videos/dia06_utt01"]).record
        XCTAssertEqual(r.path, "videos/dia06_utt01.mp4")
        XCTAssertEqual(r.labels.emotion, "surprise")
        XCTAssertEqual(replica["videos/dia06_utt01"]?.status, "missing")
        XCTAssertEqual(replica.problems(.missingFile).map(\.location), [SourceLocation(file: "perr_manifest.csv", line: 8)])
    }

    func test_csv_row_with_a_missing_field_is_a_bad_row() throws {
        let replica = try perr()
        XCTAssertNil(replica["videos/dia05_utt01"])
        let bad = replica.problems(.badRow)
        XCTAssertEqual(bad.map(\.location), [SourceLocation(file: "perr_manifest.csv", line: 9)])
        XCTAssertTrue(bad.first?.message.contains("expected 4 fields") ?? false, "\(bad)")
    }

    func test_column_missing_from_the_csv_header_names_file_column_and_header() throws {
        let options = "file: perr_manifest.csv\ncolumns:\n  path: path\n  emotion: emotion"
        let r = try perr(options)
        XCTAssertEqual(r.summary.outcome, .failed)
        XCTAssertEqual(r.clips.count, 0)
        let note = r.summary.note ?? ""
        for part in ["perr_manifest.csv", "'emotion'", "path,label,speaker,split"] {
            XCTAssertTrue(note.contains(part), "\(note) lacks \(part)")
        }
    }

    // MARK: - Configuration errors

    func test_unknown_columns_key_is_a_config_error_naming_its_line_and_the_allowed_keys() throws {
        let options = "file: perr_manifest.csv\ncolumns:\n  path: path\n  emotino: label"
        XCTAssertThrowsError(try perr(options)) { error in
            let e = error as? ConfigError
            XCTAssertEqual(e?.line, 9)
            XCTAssertEqual(e?.key, "sources.PERR.options.columns.emotino")
            XCTAssertTrue(e?.message.contains("path, key, emotion, emotions") ?? false, "\(error)")
        }
    }

    func test_unknown_option_key_is_a_config_error_naming_its_line() throws {
        XCTAssertThrowsError(try perr("file: perr_manifest.csv\ncolums:\n  path: path")) { error in
            let e = error as? ConfigError
            XCTAssertEqual(e?.line, 7)
            XCTAssertEqual(e?.key, "sources.PERR.options.colums")
            XCTAssertTrue(e?.message.contains("file, format, columns") ?? false, "\(error)")
        }
    }

    func test_columns_without_path_and_unknown_extension_are_config_errors() throws {
        XCTAssertThrowsError(try perr("file: perr_manifest.csv\ncolumns:\n  emotion: label")) { error in
            XCTAssertEqual((error as? ConfigError)?.key, "sources.PERR.options.columns.path", "\(error)")
        }
        XCTAssertThrowsError(try perr("file: perr_manifest.txt\ncolumns:\n  path: path")) { error in
            XCTAssertEqual((error as? ConfigError)?.key, "sources.PERR.options.format", "\(error)")
            XCTAssertTrue("\(error)".contains("csv or jsonl"), "\(error)")
        }
    }

    // MARK: - JSONL

    func test_jsonl_keys_come_from_the_key_column_as_strings() throws {
        XCTAssertEqual(Set(try perr(Self.jsonlOptions).clips.keys), ["0001", "0002", "0003", "0004", "0005"])
    }

    func test_jsonl_multi_label_emotions_from_a_list_or_a_separated_string() throws {
        let replica = try perr(Self.jsonlOptions)
        let joined = try XCTUnwrap(replica["0002"]).record
        XCTAssertEqual(joined.labels.emotions, ["happiness", "surprise"])
        XCTAssertEqual(joined.nativeLabels["emotions"], "joy|surprise")
        XCTAssertEqual(joined.path, "videos/dia01_utt02.mp4")
        XCTAssertEqual(joined.labels.valence, 0.75)
        XCTAssertEqual(joined.texts["transcript"], "You got the job? That's great!")
        XCTAssertEqual(joined.identity, "speaker:spk_B")
        XCTAssertEqual(joined.labelOrigin, SourceLocation(file: "perr_manifest.jsonl", line: 2))
        let listed = try XCTUnwrap(replica["0003"]).record
        XCTAssertEqual(listed.labels.emotions, ["anger", "disgust"])
        XCTAssertEqual(listed.nativeLabels["emotions"], "anger|disgust")
        XCTAssertEqual(listed.split, "val")
        XCTAssertEqual(listed.labelOrigin?.line, 4)
    }

    func test_jsonl_set_with_an_unknown_emotion_keeps_none_and_reports_the_word() throws {
        let r = try XCTUnwrap(try perr(Self.jsonlOptions)["0004"]).record
        XCTAssertEqual(r.labels.emotions, [])
        XCTAssertEqual(r.labelProblems.count, 1)
        XCTAssertTrue(r.labelProblems[0].contains("'boredom'"), r.labelProblems[0])
        XCTAssertTrue(r.labelProblems[0].contains("perr_manifest.jsonl:5"), r.labelProblems[0])
    }

    func test_jsonl_bad_json_missing_path_and_non_numeric_valence_are_bad_rows() throws {
        let replica = try perr(Self.jsonlOptions)
        let bad = replica.problems(.badRow).sorted { ($0.location?.line ?? 0) < ($1.location?.line ?? 0) }
        XCTAssertEqual(bad.compactMap(\.location?.line), [6, 7, 8])
        XCTAssertTrue(bad[0].message.contains("'high'"), bad[0].message)
        XCTAssertTrue(bad[1].message.contains("JSON object"), bad[1].message)
        XCTAssertTrue(bad[2].message.contains("'video'"), bad[2].message)
        XCTAssertTrue(bad.allSatisfy { $0.location?.file == "perr_manifest.jsonl" })
        let kept = try XCTUnwrap(replica["0005"]).record
        XCTAssertNil(kept.labels.valence)
        XCTAssertEqual(kept.labels.emotions, [])
    }

    func test_jsonl_key_no_line_has_names_file_and_key() throws {
        let r = try perr(Self.jsonlOptions.replacingOccurrences(of: "text: utterance", with: "text: transcript"))
        XCTAssertEqual(r.summary.outcome, .failed)
        let note = r.summary.note ?? ""
        XCTAssertTrue(note.contains("perr_manifest.jsonl") && note.contains("'transcript'"), note)
    }
}
