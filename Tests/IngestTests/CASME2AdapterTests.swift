import EmoCFG
import Foundation
import Ingest
import XCTest

/// The CASME II replica: `CASME2_RAW_selected/sub<NN>/<Filename>/img<N>.jpg`, two AVIs under
/// `CASME2_compressed/`, and `CASME2-coding-20140508.xlsx` written by openpyxl
/// (`scripts/make-casme-fixtures.py`) with every quirk of the real sheet.
final class CASME2AdapterTests: XCTestCase {
    static let sheet = "CASME2-coding-20140508.xlsx"

    func ingest(_ options: String = "", root: URL? = nil) throws -> IngestedReplica {
        try ingestReplica("CASME2", adapter: "casme2", options: options, root: root)
    }

    func test_casme2_one_clip_per_coded_row_plus_each_folder_no_row_names() throws {
        let r = try ingest()
        XCTAssertEqual(Set(r.clips.keys), [
            "sub01/EP02_01f", "sub01/EP03_02", "sub01/EP19_05f", "sub02/EP01_11f", "sub26/EP07_04",
            "sub26/EP13_O2", "sub02/EP04_04",  // coded rows
            "sub02/EP09_03", "sub26/EP13_02",  // folders without a row
        ])
        XCTAssertEqual(r.summary.outcome, .done)
        XCTAssertEqual(r.summary.labelled, 7)
        XCTAssertNil(r["sub02/EP09_03"]?.record.labelOrigin)
        XCTAssertTrue(r["sub02/EP09_03"]?.record.labels.isEmpty == true)
        XCTAssertEqual(r["sub02/EP09_03"]?.record.identity, "sub02")
    }

    func test_casme2_subject_written_1_or_01_finds_the_zero_padded_sub01_folder() throws {
        let r = try ingest()
        let a = try XCTUnwrap(r["sub01/EP02_01f"]?.record)
        XCTAssertEqual(a.nativeLabels["Subject"], "1")
        XCTAssertEqual(a.path, "CASME2_RAW_selected/sub01/EP02_01f")
        XCTAssertEqual(a.identity, "sub01")
        let b = try XCTUnwrap(r["sub01/EP03_02"]?.record)
        XCTAssertEqual(b.nativeLabels["Subject"], "01")
        XCTAssertEqual(b.path, "CASME2_RAW_selected/sub01/EP03_02")
        XCTAssertEqual(b.identity, "sub01")
        XCTAssertNil(a.split, "CASME II has no split: exports group by subject")
    }

    func test_casme2_frame_folders_are_clips_at_200_fps() throws {
        let r = try ingest()
        let c = try XCTUnwrap(r["sub01/EP03_02"])
        XCTAssertEqual(c.record.kind, .frames)
        XCTAssertEqual(c.probe?.fps, 200, "the store keeps the rate as the probe's fps")
        XCTAssertEqual(c.status, "ok")
        XCTAssertEqual(c.probe?.frameCount, 3, "img99, img100, img101")
        XCTAssertEqual(c.probe?.duration ?? 0, 3.0 / 200, accuracy: 1e-9)
        XCTAssertEqual(c.probe?.width, 32)
        XCTAssertEqual(c.probe?.height, 24)
    }

    func test_casme2_fps_option_sets_the_frame_rate() throws {
        let r = try ingest("fps: 100")
        XCTAssertEqual(r["sub01/EP03_02"]?.probe?.fps, 100)
        XCTAssertEqual(r["sub01/EP03_02"]?.probe?.duration ?? 0, 0.03, accuracy: 1e-9)
        XCTAssertThrowsError(try ingest("fps: 0")) { XCTAssertTrue("\($0)".contains("fps"), "\($0)") }
    }

    func test_casme2_row_labels_native_and_normalised() throws {
        let r = try ingest()
        let c = try XCTUnwrap(r["sub01/EP02_01f"]?.record)
        XCTAssertEqual(c.nativeLabels, ["Subject": "1", "Filename": "EP02_01f", "OnsetFrame": "46", "ApexFrame": "47",
                                        "OffsetFrame": "48", "Action Units": "12", "Estimated Emotion": "happiness"])
        XCTAssertEqual(c.labels.emotion, "happiness")
        XCTAssertEqual(c.labels.facts, ["onset_frame": "46", "apex_frame": "47", "offset_frame": "48"])
        XCTAssertEqual(c.labels.attributes["action_units"], ["AU12"])
        XCTAssertEqual(c.labelOrigin, SourceLocation(file: Self.sheet, line: 2))
        XCTAssertEqual(c.labelProblems, [])
        XCTAssertEqual(r["sub01/EP03_02"]?.record.labels.emotion, "repression")
        XCTAssertEqual(r["sub01/EP19_05f"]?.record.labels.emotion, "other", "others is emocfg's other")
        XCTAssertEqual(r["sub26/EP07_04"]?.record.labels.emotion, "surprise")
    }

    func test_casme2_blank_header_columns_are_skipped_and_columns_found_by_name() throws {
        let r = try ingest()
        for clip in r.clips.values {
            XCTAssertFalse(clip.record.nativeLabels.keys.contains { $0.isEmpty || $0.hasPrefix("column ") }, clip.record.key)
        }
        XCTAssertEqual(r["sub02/EP01_11f"]?.record.labels.facts["onset_frame"], "5", "OnsetFrame sits after the first blank column")
        XCTAssertEqual(r["sub02/EP01_11f"]?.record.labels.emotion, "disgust", "Estimated Emotion sits after the second")
    }

    func test_casme2_side_prefixed_action_units_keep_their_side() throws {
        let r = try ingest()
        XCTAssertEqual(r["sub01/EP03_02"]?.record.nativeLabels["Action Units"], "4+L10")
        XCTAssertEqual(r["sub01/EP03_02"]?.record.labels.attributes["action_units"], ["AU4", "L-AU10"])
        XCTAssertEqual(r["sub01/EP19_05f"]?.record.labels.attributes["action_units"], ["R-AU12"])
        XCTAssertEqual(r["sub02/EP01_11f"]?.record.labels.attributes["action_units"], ["L-AU1", "L-AU2", "AU4"])
    }

    func test_casme2_non_numeric_apex_stays_native_with_no_apex_frame_and_no_problem() throws {
        let r = try ingest()
        let c = try XCTUnwrap(r["sub01/EP19_05f"]?.record)
        XCTAssertEqual(c.nativeLabels["ApexFrame"], "/")
        XCTAssertNil(c.labels.facts["apex_frame"])
        XCTAssertEqual(c.labels.facts["onset_frame"], "1")
        XCTAssertEqual(c.labels.facts["offset_frame"], "2")
        XCTAssertEqual(c.labelProblems, [])
        XCTAssertFalse(r.problems.contains { $0.location?.line == 4 && $0.location?.file == Self.sheet }, "\(r.problems)")
    }

    func test_casme2_offset_zero_is_not_coded_and_left_out_of_the_facts() throws {
        let r = try ingest()
        let c = try XCTUnwrap(r["sub02/EP01_11f"]?.record)
        XCTAssertEqual(c.nativeLabels["OffsetFrame"], "0")
        XCTAssertNil(c.labels.facts["offset_frame"])
        XCTAssertEqual(c.labels.facts["apex_frame"], "6")
        XCTAssertEqual(c.labelProblems, [])
    }

    func test_casme2_a_sample_without_frames_falls_back_to_its_avi() throws {
        let r = try ingest()
        let c = try XCTUnwrap(r["sub26/EP07_04"])
        XCTAssertEqual(c.record.path, "CASME2_compressed/sub26/EP07_04.avi")
        XCTAssertEqual(c.record.kind, .video)
        XCTAssertEqual(c.status, "ok")
        XCTAssertEqual(c.probe?.fps ?? 0, 25, accuracy: 0.01)
        XCTAssertEqual(r["sub01/EP02_01f"]?.record.kind, .frames, "frames win when both are shipped")
    }

    func test_casme2_media_video_prefers_the_avi_where_one_is_shipped() throws {
        let r = try ingest("media: video")
        XCTAssertEqual(r["sub01/EP02_01f"]?.record.path, "CASME2_compressed/sub01/EP02_01f.avi")
        XCTAssertEqual(r["sub01/EP02_01f"]?.record.kind, .video)
        XCTAssertEqual(r["sub01/EP03_02"]?.record.path, "CASME2_RAW_selected/sub01/EP03_02", "no AVI: the frames")
        XCTAssertEqual(r.clips.count, 9)
        XCTAssertThrowsError(try ingest("media: cropped")) { XCTAssertTrue("\($0)".contains("frames, video"), "\($0)") }
    }

    func test_casme2_a_misspelt_filename_is_a_missing_clip_with_its_row_and_the_folder_stays_unlabelled() throws {
        let r = try ingest()
        let typo = try XCTUnwrap(r["sub26/EP13_O2"])
        XCTAssertEqual(typo.status, "missing")
        XCTAssertEqual(typo.record.path, "CASME2_RAW_selected/sub26/EP13_O2")
        XCTAssertEqual(typo.record.labels.emotion, "fear")
        let missing = r.problems(.missingFile)
        XCTAssertEqual(missing.map(\.location), [SourceLocation(file: Self.sheet, line: 7)])
        XCTAssertTrue(missing.first?.message.contains("CASME2_RAW_selected/sub26/EP13_O2") == true, "\(missing)")
        XCTAssertEqual(r["sub26/EP13_02"]?.status, "ok")
        XCTAssertTrue(r["sub26/EP13_02"]?.record.labels.isEmpty == true)
    }

    func test_casme2_an_emotion_outside_the_vocabulary_keeps_the_clip_and_names_value_row_and_words() throws {
        let r = try ingest()
        let c = try XCTUnwrap(r["sub02/EP04_04"]?.record)
        XCTAssertNil(c.labels.emotion)
        XCTAssertEqual(c.nativeLabels["Estimated Emotion"], "anger")
        XCTAssertEqual(c.labelProblems, [
            "Estimated Emotion 'anger' (\(Self.sheet):8) is not one of: happiness, disgust, repression, surprise, fear, sadness, others",
        ])
    }

    func test_casme2_a_row_without_a_filename_is_a_bad_row() throws {
        let r = try ingest()
        let bad = r.problems(.badRow)
        XCTAssertEqual(bad.map(\.location), [SourceLocation(file: Self.sheet, line: 9)])
        XCTAssertTrue(bad.first?.message.contains("Filename is empty") == true, "\(bad)")
    }

    func test_casme2_a_stray_file_beside_the_sample_folders_is_reported_not_a_clip() throws {
        let r = try ingest()
        let stray = r.problems(.strayFile).map { $0.location?.file }
        XCTAssertTrue(stray.contains("CASME2_RAW_selected/sub01/Desktop - Shortcut.lnk"), "\(stray)")
        XCTAssertFalse(r.clips.keys.contains { $0.contains("Desktop") })
    }

    func test_casme2_a_non_image_file_in_a_frame_folder_is_stray_and_the_clip_stays_usable() throws {
        let r = try ingest()
        let stray = r.problems(.strayFile).filter { $0.location?.file == "CASME2_RAW_selected/sub01/EP19_05f/Thumbs.db" }
        XCTAssertEqual(stray.count, 1, "\(r.problems(.strayFile))")
        XCTAssertEqual(stray.first?.clipKey, "sub01/EP19_05f")
        XCTAssertEqual(r["sub01/EP19_05f"]?.status, "ok")
        XCTAssertEqual(r["sub01/EP19_05f"]?.probe?.frameCount, 2)
    }

    func test_casme2_a_corrupt_spreadsheet_is_recorded_and_the_folders_still_become_unlabelled_clips() throws {
        let root = try casmeReplicaCopy("CASME2")
        let sheetURL = root.appendingPathComponent(Self.sheet)
        let bytes = try Data(contentsOf: sheetURL)
        try bytes.prefix(bytes.count / 2).write(to: sheetURL)
        let r = try ingest(root: root)
        XCTAssertEqual(r.summary.outcome, .done)
        XCTAssertEqual(Set(r.clips.keys), [
            "sub01/EP02_01f", "sub01/EP03_02", "sub01/EP19_05f", "sub02/EP01_11f", "sub02/EP04_04", "sub02/EP09_03",
            "sub26/EP13_02", "sub26/EP07_04",
        ])
        XCTAssertTrue(r.clips.values.allSatisfy { $0.record.labels.isEmpty && $0.record.labelOrigin == nil })
        XCTAssertEqual(r.summary.labelled, 0)
        let unreadable = r.problems(.unreadableLabelFile)
        XCTAssertEqual(unreadable.map { $0.location?.file }, [Self.sheet])
        XCTAssertTrue(unreadable.first?.message.contains("cannot read the coding spreadsheet \(Self.sheet)") == true, "\(unreadable)")
        XCTAssertTrue(unreadable.first?.message.contains("not an .xlsx file") == true, "\(unreadable)")
    }

    func test_casme2_a_missing_sheet_is_recorded_with_the_sheets_the_file_has() throws {
        let r = try ingest("sheet: Coding")
        XCTAssertEqual(r.summary.outcome, .done)
        XCTAssertEqual(r.clips.count, 8, "the on-disk samples, unlabelled")
        let unreadable = r.problems(.unreadableLabelFile)
        XCTAssertEqual(unreadable.map { $0.location?.file }, [Self.sheet])
        XCTAssertTrue(unreadable.first?.message.contains("has no sheet 'Coding'; its sheets: Sheet1") == true, "\(unreadable)")
    }

    func test_casme2_nothing_to_read_fails_the_source() throws {
        let empty = FileManager.default.temporaryDirectory.appendingPathComponent("casme2-empty-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: empty, withIntermediateDirectories: true)
        let r = try ingest(root: empty)
        XCTAssertEqual(r.summary.outcome, .failed)
        XCTAssertTrue(r.summary.note?.contains("CASME2_RAW_selected") == true, r.summary.note ?? "")
    }
}

/// A copy of `Tests/Fixtures/<fixture>` in a temporary folder, for tests that damage a file.
func casmeReplicaCopy(_ fixture: String) throws -> URL {
    let dir = FileManager.default.temporaryDirectory.appendingPathComponent("emocfg-\(fixture)-\(UUID().uuidString)")
    try FileManager.default.copyItem(at: fixturesRoot.appendingPathComponent(fixture), to: dir)
    return dir
}
