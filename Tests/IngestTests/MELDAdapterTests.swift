import EmoCFG
import Foundation
import Ingest
import XCTest

/// The MELD replica: `MELD.Raw/` with the three split folders and CRLF `*_sent_emo.csv` files.
final class MELDAdapterTests: XCTestCase {
    static let trainCSV = "MELD.Raw/train_sent_emo.csv"

    func ingest() throws -> IngestedReplica { try ingestReplica("MELD", adapter: "meld") }

    func test_meld_keys_carry_the_split_because_dialogue_ids_repeat() throws {
        let r = try ingest()
        XCTAssertEqual(Set(r.clips.keys), [
            "train/dia0_utt0", "train/dia0_utt1", "train/dia1_utt0", "train/dia1_utt1",
            "dev/dia0_utt0", "dev/dia0_utt1", "test/dia0_utt0", "test/dia2_utt0", "test/dia3_utt0",
        ])
        XCTAssertEqual(r["train/dia0_utt0"]?.record.path, "MELD.Raw/train_splits/dia0_utt0.mp4")
        XCTAssertEqual(r["dev/dia0_utt0"]?.record.path, "MELD.Raw/dev_splits_complete/dia0_utt0.mp4")
        XCTAssertEqual(r["dev/dia0_utt0"]?.record.nativeSplit, "dev")
        XCTAssertEqual(r["dev/dia0_utt0"]?.record.split, "val")
        XCTAssertEqual(r["train/dia0_utt0"]?.record.split, "train")
        XCTAssertEqual(r["test/dia0_utt0"]?.record.split, "test")
    }

    func test_meld_final_videos_test_recuts_are_not_clips() throws {
        let r = try ingest()
        XCTAssertEqual(r["test/dia0_utt0"]?.record.path, "MELD.Raw/output_repeated_splits_test/dia0_utt0.mp4")
        XCTAssertFalse(r.clips.values.contains { $0.record.path.contains("final_videos_test") })
        XCTAssertEqual(r.problems(.strayFile), [])
    }

    func test_meld_emotion_and_sentiment_are_normalised_and_native_values_kept() throws {
        let r = try ingest()
        let rachel = try XCTUnwrap(r["train/dia0_utt1"]?.record)
        XCTAssertEqual(rachel.labels.emotion, "happiness")
        XCTAssertEqual(rachel.labels.sentiment, "positive")
        XCTAssertEqual(rachel.nativeLabels["Emotion"], "joy")
        XCTAssertEqual(rachel.nativeLabels["Sentiment"], "positive")
        XCTAssertEqual(rachel.labels.facts["speaker"], "Rachel")
        XCTAssertEqual(rachel.labels.facts["season"], "8")
        XCTAssertEqual(rachel.labels.facts["episode"], "21")
        XCTAssertEqual(rachel.labelOrigin, SourceLocation(file: Self.trainCSV, line: 3))
        XCTAssertEqual(rachel.labelProblems, [])
        XCTAssertEqual(r["train/dia0_utt0"]?.record.labels.emotion, "surprise")
        XCTAssertEqual(r["train/dia1_utt1"]?.record.labels.emotion, "anger")
        XCTAssertEqual(r["dev/dia0_utt0"]?.record.labels.emotion, "sadness")
        XCTAssertEqual(r["test/dia0_utt0"]?.record.labels.emotion, "fear")
    }

    func test_meld_quoted_utterances_keep_commas_doubled_quotes_curly_quotes_and_accents() throws {
        let r = try ingest()
        XCTAssertEqual(r["train/dia0_utt0"]?.record.texts["utterance"], "Well, he said \"no way\", so we left.")
        XCTAssertEqual(r["train/dia0_utt1"]?.record.texts["utterance"], "I’m at the café with Zoë — naïve, right?")
        XCTAssertEqual(r["train/dia1_utt0"]?.record.texts["utterance"], "It’s fine.")
        XCTAssertEqual(r["train/dia1_utt1"]?.record.texts["utterance"], "“Pivot,” he yelled.")
        XCTAssertNil(r["train/dia0_utt0"]?.record.nativeLabels["Utterance"])
    }

    func test_meld_times_with_one_digit_hour_parse() throws {
        let r = try ingest()
        let rec = try XCTUnwrap(r["train/dia0_utt1"]?.record)
        XCTAssertEqual(rec.nativeLabels["StartTime"], "0:10:44,769")
        XCTAssertEqual(rec.labels.facts["start_seconds"], "644.769")
        XCTAssertEqual(rec.labels.facts["end_seconds"], "646.800")
        XCTAssertEqual(r["train/dia0_utt0"]?.record.labels.facts["start_seconds"], "976.059")
    }

    func test_meld_times_with_two_digit_fraction_read_as_a_decimal_fraction() throws {
        let r = try ingest()
        let rec = try XCTUnwrap(r["train/dia1_utt0"]?.record)
        XCTAssertEqual(rec.nativeLabels["StartTime"], "00:06:47,28")
        XCTAssertEqual(rec.labels.facts["start_seconds"], "407.280")
        XCTAssertEqual(rec.nativeLabels["EndTime"], "00:06:49,5")
        XCTAssertEqual(rec.labels.facts["end_seconds"], "409.500")
    }

    func test_meld_unparsable_time_is_a_bad_row_but_the_clip_stays() throws {
        let r = try ingest()
        let rec = try XCTUnwrap(r["test/dia3_utt0"]?.record)
        XCTAssertEqual(rec.labels.facts["start_seconds"], "8.000")
        XCTAssertNil(rec.labels.facts["end_seconds"])
        XCTAssertEqual(rec.nativeLabels["EndTime"], "soon")
        let bad = r.problems(.badRow).filter { $0.location?.file == "MELD.Raw/test_sent_emo.csv" }
        XCTAssertEqual(bad.map { $0.location }, [SourceLocation(file: "MELD.Raw/test_sent_emo.csv", line: 3)])
        XCTAssertTrue(bad.first?.message.contains("'soon'") == true, "\(bad)")
    }

    func test_meld_sr_no_repeats_without_merging_rows() throws {
        let r = try ingest()
        XCTAssertEqual(r["train/dia0_utt0"]?.record.nativeLabels["Sr No."], "1")
        XCTAssertEqual(r["train/dia1_utt0"]?.record.nativeLabels["Sr No."], "1")
        XCTAssertEqual(r["train/dia1_utt0"]?.record.labels.facts["speaker"], "Monica")
        XCTAssertEqual(r["train/dia1_utt0"]?.record.labelOrigin?.line, 4)
    }

    func test_meld_identity_is_the_dialogue_within_its_split() throws {
        let r = try ingest()
        XCTAssertEqual(r["train/dia0_utt0"]?.record.identity, "train/dia0")
        XCTAssertEqual(r["train/dia0_utt1"]?.record.identity, "train/dia0")
        XCTAssertEqual(r["train/dia1_utt0"]?.record.identity, "train/dia1")
        XCTAssertEqual(r["dev/dia0_utt0"]?.record.identity, "dev/dia0")
    }

    func test_meld_emotion_outside_the_vocabulary_is_a_label_problem() throws {
        let r = try ingest()
        let rec = try XCTUnwrap(r["dev/dia0_utt1"]?.record)
        XCTAssertNil(rec.labels.emotion)
        XCTAssertEqual(rec.labels.sentiment, "negative")
        XCTAssertEqual(rec.nativeLabels["Emotion"], "frustration")
        XCTAssertEqual(rec.labelProblems.count, 1)
        let message = rec.labelProblems.first ?? ""
        XCTAssertTrue(message.contains("'frustration'"), message)
        XCTAssertTrue(message.contains("MELD.Raw/dev_sent_emo.csv:3"), message)
        XCTAssertTrue(message.contains("neutral, joy, sadness"), message)
    }

    func test_meld_row_without_clip_is_still_a_record() throws {
        let r = try ingest()
        let rec = try XCTUnwrap(r["train/dia1_utt1"]?.record)
        XCTAssertEqual(rec.path, "MELD.Raw/train_splits/dia1_utt1.mp4")
        XCTAssertEqual(rec.labelOrigin, SourceLocation(file: Self.trainCSV, line: 5))
        XCTAssertEqual(r["train/dia1_utt1"]?.status, "missing")
        XCTAssertEqual(r["train/dia1_utt0"]?.status, "ok")
        let missing = r.problems(.missingFile).filter { $0.location?.file == Self.trainCSV }
        XCTAssertEqual(missing.map { $0.location?.line }, [5])
        XCTAssertTrue(missing.first?.message.contains("MELD.Raw/train_splits/dia1_utt1.mp4") == true, "\(missing)")
    }

    func test_meld_clip_without_row_is_an_unlabelled_clip_of_its_split() throws {
        let r = try ingest()
        let rec = try XCTUnwrap(r["test/dia2_utt0"]?.record)
        XCTAssertEqual(rec.path, "MELD.Raw/output_repeated_splits_test/dia2_utt0.mp4")
        XCTAssertEqual(rec.split, "test")
        XCTAssertEqual(rec.identity, "test/dia2")
        XCTAssertTrue(rec.labels.isEmpty)
        XCTAssertNil(rec.labelOrigin)
    }

    func test_meld_short_row_is_a_bad_row_with_its_line() throws {
        let r = try ingest()
        let bad = r.problems(.badRow).filter { $0.location?.file == "MELD.Raw/dev_sent_emo.csv" }
        XCTAssertEqual(bad.map { $0.location?.line }, [4])
        XCTAssertTrue(bad.first?.message.hasPrefix("expected 11 fields (Sr No.,Utterance,Speaker,") == true, "\(bad)")
        XCTAssertTrue(bad.first?.message.hasSuffix("found 4") == true, "\(bad)")
        // Besides: EndTime 'soon', the 'frustration' label, and the two rows whose clip is absent.
        XCTAssertEqual(r.problems.map(\.kind).sorted { $0.rawValue < $1.rawValue },
                       [.badLabel, .badRow, .badRow, .missingFile, .missingFile], "\(r.problems)")
    }

    func test_meld_csvs_at_the_root_next_to_meld_raw_are_accepted() throws {
        let fm = FileManager.default
        let root = fm.temporaryDirectory.appendingPathComponent("meld-root-\(UUID().uuidString)")
        defer { try? fm.removeItem(at: root) }
        let raw = fixturesRoot.appendingPathComponent("MELD/MELD.Raw")
        try fm.createDirectory(at: root.appendingPathComponent("MELD.Raw"), withIntermediateDirectories: true)
        try fm.copyItem(at: raw.appendingPathComponent("train_splits"),
                        to: root.appendingPathComponent("MELD.Raw/train_splits"))
        try fm.copyItem(at: raw.appendingPathComponent("train_sent_emo.csv"),
                        to: root.appendingPathComponent("train_sent_emo.csv"))
        let r = try ingestReplica("MELD", adapter: "meld", root: root)
        XCTAssertEqual(Set(r.clips.keys), ["train/dia0_utt0", "train/dia0_utt1", "train/dia1_utt0", "train/dia1_utt1"])
        XCTAssertEqual(r["train/dia0_utt1"]?.record.labelOrigin, SourceLocation(file: "train_sent_emo.csv", line: 3))
        XCTAssertEqual(r["train/dia0_utt1"]?.record.path, "MELD.Raw/train_splits/dia0_utt1.mp4")
    }

    func test_meld_root_may_be_meld_raw_itself() throws {
        let r = try ingestReplica("MELD", adapter: "meld", root: fixturesRoot.appendingPathComponent("MELD/MELD.Raw"))
        XCTAssertEqual(r.clips.count, 9)
        XCTAssertEqual(r["dev/dia0_utt0"]?.record.path, "dev_splits_complete/dia0_utt0.mp4")
        XCTAssertEqual(r["dev/dia0_utt0"]?.record.labelOrigin?.file, "dev_sent_emo.csv")
    }
}
