import EmoCFG
import Foundation
import Ingest
import XCTest

/// The CAER replica: `CAER/{train,validation,test}/<Class>/<NNNN>.avi`.
final class CAERAdapterTests: XCTestCase {
    static let keys: Set<String> = [
        "train/Anger/0001", "train/Anger/0002", "train/Happy/0001", "train/Disgust/0001",
        "validation/Sad/0001", "validation/Contempt/0001",
        "test/Surprise/0001", "test/Neutral/0001", "test/Fear/0001",
    ]

    func ingest() throws -> IngestedReplica { try ingestReplica("CAER", adapter: "caer") }

    func test_caer_numbers_restart_per_class_so_keys_hold_split_class_and_number() throws {
        let r = try ingest()
        XCTAssertEqual(Set(r.clips.keys), Self.keys)
        XCTAssertEqual(r["train/Anger/0001"]?.record.path, "CAER/train/Anger/0001.avi")
        XCTAssertEqual(r["train/Happy/0001"]?.record.path, "CAER/train/Happy/0001.avi")
    }

    func test_caer_label_comes_from_the_class_folder() throws {
        let r = try ingest()
        let expected = ["train/Anger/0002": "anger", "train/Happy/0001": "happiness", "train/Disgust/0001": "disgust",
                        "validation/Sad/0001": "sadness", "test/Surprise/0001": "surprise",
                        "test/Neutral/0001": "neutral", "test/Fear/0001": "fear"]
        for (key, emotion) in expected {
            XCTAssertEqual(r[key]?.record.labels.emotion, emotion, key)
            XCTAssertEqual(r[key]?.record.labelProblems, [], key)
        }
        XCTAssertEqual(r["train/Anger/0002"]?.record.nativeLabels, ["class": "Anger"])
        XCTAssertEqual(r["train/Anger/0002"]?.record.labelOrigin, SourceLocation(file: "CAER/train/Anger"))
    }

    func test_caer_native_split_is_kept_and_validation_normalises_to_val() throws {
        let r = try ingest()
        XCTAssertEqual(r["validation/Sad/0001"]?.record.nativeSplit, "validation")
        XCTAssertEqual(r["validation/Sad/0001"]?.record.split, "val")
        XCTAssertEqual(r["train/Anger/0001"]?.record.split, "train")
        XCTAssertEqual(r["test/Fear/0001"]?.record.nativeSplit, "test")
        XCTAssertEqual(r["test/Fear/0001"]?.record.split, "test")
    }

    func test_caer_identity_is_the_clip_key() throws {
        let r = try ingest()
        XCTAssertEqual(r["train/Anger/0001"]?.record.identity, "clip:train/Anger/0001")
        XCTAssertEqual(r["test/Fear/0001"]?.record.identity, "clip:test/Fear/0001")
    }

    func test_caer_root_may_be_the_caer_folder_itself() throws {
        let r = try ingestReplica("CAER", adapter: "caer", root: fixturesRoot.appendingPathComponent("CAER/CAER"))
        XCTAssertEqual(Set(r.clips.keys), Self.keys)
        XCTAssertEqual(r["train/Anger/0001"]?.record.path, "train/Anger/0001.avi")
        XCTAssertEqual(r["validation/Sad/0001"]?.record.labels.emotion, "sadness")
    }

    func test_caer_unknown_class_folder_keeps_the_clip_with_a_label_problem() throws {
        let r = try ingest()
        let rec = try XCTUnwrap(r["validation/Contempt/0001"]?.record)
        XCTAssertNil(rec.labels.emotion)
        XCTAssertEqual(rec.nativeLabels, ["class": "Contempt"])
        let message = rec.labelProblems.first ?? ""
        XCTAssertTrue(message.contains("'Contempt'"), message)
        XCTAssertTrue(message.contains("CAER/validation/Contempt"), message)
        XCTAssertTrue(message.contains("Anger, Disgust, Fear, Happy, Neutral, Sad, Surprise"), message)
        XCTAssertEqual(r.problems.map(\.kind), [.badLabel], "\(r.problems)")  // only the Contempt folder
        XCTAssertEqual(r["validation/Contempt/0001"]?.status, "ok")
    }

    func test_caer_root_without_split_folders_fails() throws {
        let r = try ingestReplica("CAER", adapter: "caer", root: fixturesRoot.appendingPathComponent("CAER/CAER/train"))
        XCTAssertEqual(r.summary.outcome, .failed)
        XCTAssertTrue(r.summary.note?.contains("train, validation or test") == true, "\(String(describing: r.summary.note))")
    }
}
