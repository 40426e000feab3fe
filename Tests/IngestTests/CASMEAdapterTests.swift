import EmoCFG
import Foundation
import Ingest
import XCTest

/// The CASME replica: `CASME_raw_selected/sub<NN>/<Filename>/<Filename>-<n>.jpg` and a coding
/// spreadsheet written by openpyxl (`scripts/make-casme-fixtures.py`).
final class CASMEAdapterTests: XCTestCase {
    static let sheet = "CASME-coding.xlsx"

    func ingest(_ options: String = "", root: URL? = nil) throws -> IngestedReplica {
        try ingestReplica("CASME", adapter: "casme", options: options, root: root)
    }

    func test_casme_one_clip_per_coded_row_plus_each_folder_no_row_names() throws {
        let r = try ingest()
        XCTAssertEqual(Set(r.clips.keys), ["sub01/EP01_5", "sub01/EP03_2", "sub04/EP12_01", "sub04/EP12_02", "sub07/EP02_6"])
        XCTAssertEqual(r.summary.labelled, 4)
        XCTAssertTrue(r["sub07/EP02_6"]?.record.labels.isEmpty == true)
        XCTAssertEqual(r["sub07/EP02_6"]?.record.identity, "sub07")
        XCTAssertEqual(r["sub07/EP02_6"]?.status, "ok")
    }

    func test_casme_the_coding_spreadsheet_is_found_by_name_and_subject_1_is_folder_sub01() throws {
        let r = try ingest()
        let c = try XCTUnwrap(r["sub01/EP01_5"]?.record)
        XCTAssertEqual(c.labelOrigin, SourceLocation(file: Self.sheet, line: 2))
        XCTAssertEqual(c.nativeLabels["Subject"], "1")
        XCTAssertEqual(c.path, "CASME_raw_selected/sub01/EP01_5")
        XCTAssertEqual(c.identity, "sub01")
        XCTAssertNil(c.split)
    }

    func test_casme_frame_folders_are_clips_at_60_fps_in_natural_order() throws {
        let r = try ingest()
        let c = try XCTUnwrap(r["sub01/EP01_5"])
        XCTAssertEqual(c.record.kind, .frames)
        XCTAssertEqual(c.probe?.fps, 60)
        XCTAssertEqual(c.probe?.frameCount, 3, "EP01_5-1, -2, -10")
        XCTAssertEqual(c.probe?.duration ?? 0, 3.0 / 60, accuracy: 1e-9)
        XCTAssertEqual(r["sub01/EP03_2"]?.probe?.frameCount, 2, "zero-padded frame numbers (EP03_2-0045.jpg)")
    }

    func test_casme_row_labels_native_and_normalised() throws {
        let r = try ingest()
        let c = try XCTUnwrap(r["sub01/EP01_5"]?.record)
        XCTAssertEqual(c.nativeLabels, ["Subject": "1", "Filename": "EP01_5", "OnsetF": "1", "ApexF1": "2", "OffsetF": "10",
                                        "Emotion": "tense", "Action Units": "4+L10"])
        XCTAssertEqual(c.labels.emotion, "tense", "CASME's tense is kept as its own class")
        XCTAssertEqual(c.labels.facts, ["onset_frame": "1", "apex_frame": "2", "offset_frame": "10"])
        XCTAssertEqual(c.labels.attributes["action_units"], ["AU4", "L-AU10"])
        XCTAssertEqual(c.labelProblems, [])
    }

    func test_casme_second_apex_column_fills_apex_frame_2() throws {
        let r = try ingest()
        let c = try XCTUnwrap(r["sub01/EP03_2"]?.record)
        XCTAssertEqual(c.labels.facts, ["onset_frame": "45", "apex_frame": "45", "apex_frame_2": "46", "offset_frame": "46"])
        XCTAssertEqual(c.labels.emotion, "repression")
    }

    func test_casme_capitalised_emotion_and_slash_apex() throws {
        let r = try ingest()
        let c = try XCTUnwrap(r["sub04/EP12_01"]?.record)
        XCTAssertEqual(c.labels.emotion, "disgust")
        XCTAssertEqual(c.nativeLabels["ApexF1"], "/")
        XCTAssertNil(c.labels.facts["apex_frame"])
        XCTAssertEqual(c.labels.attributes["action_units"], ["AU9", "R-AU14"])
        XCTAssertEqual(c.labelProblems, [])
    }

    func test_casme_row_without_a_folder_is_missing_and_its_bad_values_are_named() throws {
        let r = try ingest()
        let c = try XCTUnwrap(r["sub04/EP12_02"])
        XCTAssertEqual(c.status, "missing")
        XCTAssertEqual(c.record.path, "CASME_raw_selected/sub04/EP12_02")
        XCTAssertEqual(r.problems(.missingFile).map(\.location), [SourceLocation(file: Self.sheet, line: 5)])
        XCTAssertNil(c.record.labels.emotion)
        XCTAssertEqual(c.record.labels.attributes["action_units"], ["AU4"], "the good unit is kept")
        XCTAssertEqual(Set(c.record.labelProblems), [
            "onset frame 9 is after offset frame 5 (\(Self.sheet):5)",
            "Action Units '4+X' (\(Self.sheet):5): 'X' is not a FACS action unit like 4, L10 or R12",
            "Emotion 'joy' (\(Self.sheet):5) is not one of: happiness, disgust, sadness, surprise, contempt, fear, repression, tense",
        ])
    }

    func test_casme_labels_option_names_the_spreadsheet_and_a_missing_one_is_recorded() throws {
        let r = try ingest("labels: coding/absent.xlsx")
        XCTAssertEqual(r.clips.count, 4, "the four folders, unlabelled")
        XCTAssertEqual(r.summary.labelled, 0)
        let unreadable = r.problems(.unreadableLabelFile)
        XCTAssertEqual(unreadable.map { $0.location?.file }, ["coding/absent.xlsx"])
        XCTAssertTrue(unreadable.first?.message.contains("cannot read the coding spreadsheet coding/absent.xlsx") == true, "\(unreadable)")
    }

    func test_casme_a_corrupt_spreadsheet_leaves_the_folders_as_unlabelled_clips() throws {
        let root = try casmeReplicaCopy("CASME")
        try Data("PK\u{3}\u{4} not really a zip".utf8).write(to: root.appendingPathComponent(Self.sheet))
        let r = try ingest(root: root)
        XCTAssertEqual(r.summary.outcome, .done)
        XCTAssertEqual(Set(r.clips.keys), ["sub01/EP01_5", "sub01/EP03_2", "sub04/EP12_01", "sub07/EP02_6"])
        XCTAssertEqual(r.problems(.unreadableLabelFile).map { $0.location?.file }, [Self.sheet])
    }
}
