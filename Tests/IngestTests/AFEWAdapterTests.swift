import EmoCFG
import Foundation
import Ingest
import XCTest

/// The AFEW replica: `Train_AFEW`/`Val_AFEW` class folders, a `Test_AFEW` without classes, aligned faces.
final class AFEWAdapterTests: XCTestCase {
    func ingest() throws -> IngestedReplica { try ingestReplica("AFEW", adapter: "afew") }

    func test_afew_keys_are_split_and_nine_digit_id() throws {
        let r = try ingest()
        XCTAssertEqual(Set(r.clips.keys), [
            "Train/000149120", "Train/000245600", "Train/001234567",
            "Val/000149120", "Val/002000301", "Val/002000999",
            "Test/003000100", "Test/003000200",
        ])
    }

    func test_afew_same_id_in_train_and_val_are_two_clips() throws {
        let r = try ingest()
        let train = try XCTUnwrap(r["Train/000149120"]?.record)
        let val = try XCTUnwrap(r["Val/000149120"]?.record)
        XCTAssertEqual(train.path, "Train_AFEW/Angry/000149120.avi")
        XCTAssertEqual(train.labels.emotion, "anger")
        XCTAssertEqual(val.path, "Val_AFEW/Sad/000149120.avi")
        XCTAssertEqual(val.labels.emotion, "sadness")
    }

    func test_afew_label_and_split_come_from_the_folders() throws {
        let r = try ingest()
        let happy = try XCTUnwrap(r["Train/000245600"]?.record)
        XCTAssertEqual(happy.nativeLabels, ["class": "Happy"])
        XCTAssertEqual(happy.labels.emotion, "happiness")
        XCTAssertEqual(happy.nativeSplit, "Train_AFEW")
        XCTAssertEqual(happy.split, "train")
        XCTAssertEqual(happy.labelOrigin, SourceLocation(file: "Train_AFEW/Happy"))
        XCTAssertEqual(r["Val/002000301"]?.record.nativeSplit, "Val_AFEW")
        XCTAssertEqual(r["Val/002000301"]?.record.split, "val")
        XCTAssertEqual(r["Val/002000301"]?.record.labels.emotion, "surprise")
        XCTAssertEqual(r["Train/001234567"]?.record.labels.emotion, "neutral")
    }

    func test_afew_test_clips_without_class_folders_are_unlabelled() throws {
        let r = try ingest()
        let t = try XCTUnwrap(r["Test/003000100"]?.record)
        XCTAssertEqual(t.path, "Test_AFEW/003000100.avi")
        XCTAssertEqual(t.nativeSplit, "Test_AFEW")
        XCTAssertEqual(t.split, "test")
        XCTAssertTrue(t.labels.isEmpty)
        XCTAssertEqual(t.nativeLabels, [:])
        XCTAssertNil(t.labelOrigin)
    }

    func test_afew_identity_is_the_clip_id_shared_across_splits() throws {
        let r = try ingest()
        XCTAssertEqual(r["Train/000149120"]?.record.identity, "clip:000149120")
        XCTAssertEqual(r["Val/000149120"]?.record.identity, "clip:000149120")
        XCTAssertEqual(r["Test/003000200"]?.record.identity, "clip:003000200")
    }

    func test_afew_aligned_faces_and_xml_metadata_are_not_clips() throws {
        let r = try ingest()
        XCTAssertFalse(r.clips.values.contains { $0.record.path.contains("AlignedFaces") })
        XCTAssertFalse(r.clips.keys.contains { $0.contains("AlignedFaces") || $0.contains("Faces") })
        XCTAssertEqual(r.problems.map(\.kind), [.badLabel], "\(r.problems)")  // only the Confused folder
        XCTAssertEqual(r["Train/000149120"]?.status, "ok")
    }

    func test_afew_unknown_class_folder_keeps_the_clip_with_a_label_problem() throws {
        let r = try ingest()
        let rec = try XCTUnwrap(r["Val/002000999"]?.record)
        XCTAssertNil(rec.labels.emotion)
        XCTAssertEqual(rec.nativeLabels, ["class": "Confused"])
        let message = rec.labelProblems.first ?? ""
        XCTAssertTrue(message.contains("'Confused'"), message)
        XCTAssertTrue(message.contains("Val_AFEW/Confused"), message)
        XCTAssertTrue(message.contains("Angry, Disgust, Fear, Happy, Neutral, Sad, Surprise"), message)
    }

    func test_afew_root_without_split_folders_fails() throws {
        let r = try ingestReplica("AFEW", adapter: "afew", root: fixturesRoot.appendingPathComponent("AFEW/Train_AFEW"))
        XCTAssertEqual(r.summary.outcome, .failed)
        XCTAssertTrue(r.summary.note?.contains("Train_AFEW, Val_AFEW or Test_AFEW") == true, "\(String(describing: r.summary.note))")
    }
}
