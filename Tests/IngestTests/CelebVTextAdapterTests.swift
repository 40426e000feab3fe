import EmoCFG
import Foundation
import Ingest
import XCTest

/// The CelebV-Text replica (`scripts/make-celebvtext-fixtures.py`): the flat `celebvtext_info.json`
/// with a key ending in `.mp4`, boxes in pixels and in fractions, clips in `videos/celebvtext_<N>/`,
/// the six text folders with the release's `light_colot_temp` spelling and a CRLF file, a listed clip
/// without its mp4, an mp4 the JSON does not list and a text for a clip nothing lists.
final class CelebVTextAdapterTests: XCTestCase {
    static let info = "celebvtext_info.json"

    func ingest(root: URL? = nil) throws -> IngestedReplica {
        try ingestReplica("CelebV-Text", adapter: "celebvtext", root: root)
    }

    /// A throwaway root: `json` as the info file, the replica's first video, and `texts` by relative path.
    func temporaryRoot(json: String, texts: [String: String] = [:]) throws -> URL {
        let fm = FileManager.default
        let root = fm.temporaryDirectory.appendingPathComponent("celebvtext-\(UUID().uuidString)")
        let videos = root.appendingPathComponent("videos/celebvtext_7")
        try fm.createDirectory(at: videos, withIntermediateDirectories: true)
        addTeardownBlock { try? fm.removeItem(at: root) }
        try Data(json.utf8).write(to: root.appendingPathComponent(Self.info))
        try fm.copyItem(at: fixturesRoot.appendingPathComponent("_media/av.mp4"),
                        to: videos.appendingPathComponent("zYeLz4c4qYc_15_0.mp4"))
        for (path, text) in texts {
            let url = root.appendingPathComponent(path)
            try fm.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
            try Data(text.utf8).write(to: url)
        }
        return root
    }

    func test_celebvtext_every_listed_clip_and_every_unlisted_mp4_is_one_record() throws {
        let r = try ingest()
        XCTAssertEqual(Set(r.clips.keys),
                       ["zYeLz4c4qYc_15_0", "-aB3dE5fG7h_2_1", "_Qw8Er7Ty6u_0_0", "Mn4Bv5Cx6Za_7_0", "Kx9Lm8Nb7Vc_3_2"])
    }

    func test_celebvtext_flat_json_key_ending_in_mp4_is_the_clip_id_without_it() throws {
        let r = try ingest()
        let clip = try XCTUnwrap(r["-aB3dE5fG7h_2_1"])
        XCTAssertNil(r["-aB3dE5fG7h_2_1.mp4"])
        XCTAssertEqual(clip.record.path, "videos/celebvtext_1/-aB3dE5fG7h_2_1.mp4")
        XCTAssertEqual(clip.record.identity, "ytb:-aB3dE5fG7h")
        XCTAssertEqual(clip.record.labelOrigin, SourceLocation(file: Self.info, line: 16))
        XCTAssertEqual(clip.status, "ok")
    }

    func test_celebvtext_clips_are_found_in_every_celebvtext_N_folder() throws {
        let r = try ingest()
        XCTAssertEqual(r["zYeLz4c4qYc_15_0"]?.record.path, "videos/celebvtext_1/zYeLz4c4qYc_15_0.mp4")
        XCTAssertEqual(r["_Qw8Er7Ty6u_0_0"]?.record.path, "videos/celebvtext_2/_Qw8Er7Ty6u_0_0.mp4")
        XCTAssertEqual(r["_Qw8Er7Ty6u_0_0"]?.record.identity, "ytb:_Qw8Er7Ty6u")
        XCTAssertEqual(r["_Qw8Er7Ty6u_0_0"]?.status, "ok")
    }

    func test_celebvtext_pixel_box_is_normalised_by_the_clips_frame_size() throws {
        let r = try ingest()
        let clip = try XCTUnwrap(r["zYeLz4c4qYc_15_0"]?.record)
        let box = try XCTUnwrap(clip.faceBox)  // top 12 bottom 36 left 16 right 48 in a 64x48 frame
        XCTAssertEqual(box.x, 0.25, accuracy: 1e-9)
        XCTAssertEqual(box.y, 0.25, accuracy: 1e-9)
        XCTAssertEqual(box.w, 0.5, accuracy: 1e-9)
        XCTAssertEqual(box.h, 0.5, accuracy: 1e-9)
        XCTAssertEqual(box.origin, .dataset)
        XCTAssertEqual(clip.labels.facts["bbox_units"], "pixels")
        XCTAssertEqual(clip.nativeLabels["bbox"], #"{"bottom":36,"left":16,"right":48,"top":12}"#)
        XCTAssertEqual(clip.labelProblems, [])
    }

    func test_celebvtext_normalised_box_is_used_as_given() throws {
        let r = try ingest()
        let clip = try XCTUnwrap(r["-aB3dE5fG7h_2_1"]?.record)
        let box = try XCTUnwrap(clip.faceBox)
        XCTAssertEqual(box.x, 0.2, accuracy: 1e-9)
        XCTAssertEqual(box.y, 0.1, accuracy: 1e-9)
        XCTAssertEqual(box.w, 0.6, accuracy: 1e-9)
        XCTAssertEqual(box.h, 0.8, accuracy: 1e-9)
        XCTAssertNil(clip.labels.facts["bbox_units"])
    }

    func test_celebvtext_span_version_and_youtube_id_are_kept() throws {
        let r = try ingest()
        let clip = try XCTUnwrap(r["zYeLz4c4qYc_15_0"]?.record)
        XCTAssertEqual(clip.labels.facts["start_sec"], "12.5")
        XCTAssertEqual(clip.labels.facts["end_sec"], "26")
        XCTAssertEqual(clip.nativeLabels["ytb_id"], "zYeLz4c4qYc")
        XCTAssertEqual(clip.nativeLabels["version"], "v0.1")
        XCTAssertEqual(clip.identity, "ytb:zYeLz4c4qYc")
        XCTAssertNil(clip.split)
        XCTAssertEqual(clip.labelOrigin, SourceLocation(file: Self.info, line: 2))
    }

    func test_celebvtext_texts_are_kept_per_folder_one_sentence_per_line() throws {
        let r = try ingest()
        let texts = try XCTUnwrap(r["zYeLz4c4qYc_15_0"]?.record.texts)
        XCTAssertEqual(Set(texts.keys),
                       ["action_dur", "emotion", "face40_details_new", "light_dir", "light_intensity", "light_color_temp"])
        // The emotion file has CRLF line ends.
        XCTAssertEqual(texts["emotion"], "He looks calm at first.\nThen he smiles warmly.")
        XCTAssertEqual(texts["action_dur"], "The man talks and then nods slowly.")
        XCTAssertEqual(r["_Qw8Er7Ty6u_0_0"]?.record.texts, [
            "face40_details_new": "An older woman wearing glasses.", "light_dir": "The light comes from above."])
    }

    func test_celebvtext_misspelled_light_colour_folder_is_read_as_light_color_temp() throws {
        let r = try ingest()
        let texts = try XCTUnwrap(r["zYeLz4c4qYc_15_0"]?.record.texts)
        XCTAssertEqual(texts["light_color_temp"], "The light is warm.")
        XCTAssertNil(texts["light_colot_temp"])
    }

    func test_celebvtext_listed_clip_without_mp4_is_missing_and_its_pixel_box_reported() throws {
        let r = try ingest()
        let clip = try XCTUnwrap(r["Mn4Bv5Cx6Za_7_0"])
        XCTAssertEqual(clip.status, "missing")
        XCTAssertEqual(clip.record.identity, "ytb:Mn4Bv5Cx6Za")
        XCTAssertNil(clip.record.faceBox)
        let message = try XCTUnwrap(clip.record.labelProblems.first)
        XCTAssertTrue(message.contains("pixels") && message.contains("\(Self.info):44"), message)
        let missing = try XCTUnwrap(r.problems(.missingFile).first { $0.clipKey == "Mn4Bv5Cx6Za_7_0" })
        XCTAssertTrue(missing.message.contains("\(Self.info):44"), missing.message)
    }

    func test_celebvtext_mp4_missing_from_the_json_is_kept_with_its_youtube_id() throws {
        let r = try ingest()
        let clip = try XCTUnwrap(r["Kx9Lm8Nb7Vc_3_2"])
        XCTAssertEqual(clip.record.identity, "ytb:Kx9Lm8Nb7Vc")
        XCTAssertEqual(clip.status, "ok")
        XCTAssertNil(clip.record.faceBox)
        XCTAssertTrue(r.problems(.strayFile).contains {
            $0.location?.file == "videos/celebvtext_2/Kx9Lm8Nb7Vc_3_2.mp4" && $0.message.contains("not listed") })
    }

    func test_celebvtext_text_for_an_unknown_clip_is_reported() throws {
        let r = try ingest()
        XCTAssertNil(r["Zz0Yy1Xx2Ww_9_9"])
        XCTAssertTrue(r.problems(.strayFile).contains { $0.location?.file == "texts/emotion/Zz0Yy1Xx2Ww_9_9.txt" })
    }

    func test_celebvtext_older_json_with_a_clips_object_and_the_correct_spelling_are_read() throws {
        let json = """
        {"clips": {
          "zYeLz4c4qYc_15_0": {"ytb_id": "zYeLz4c4qYc", "duration": {"start_sec": 1, "end_sec": 2},
                               "bbox": {"top": 0.2, "bottom": 0.6, "left": 0.1, "right": 0.5}, "version": "v0.1"}
        }}
        """
        let root = try temporaryRoot(json: json, texts: ["texts/light_color_temp/zYeLz4c4qYc_15_0.txt": "Cool light.\n"])
        let r = try ingest(root: root)
        XCTAssertEqual(Array(r.clips.keys), ["zYeLz4c4qYc_15_0"])
        let clip = try XCTUnwrap(r["zYeLz4c4qYc_15_0"])
        XCTAssertEqual(clip.record.path, "videos/celebvtext_7/zYeLz4c4qYc_15_0.mp4")
        XCTAssertEqual(clip.record.labelOrigin, SourceLocation(file: Self.info, line: 2))
        XCTAssertEqual(try XCTUnwrap(clip.record.faceBox?.w), 0.4, accuracy: 1e-9)
        XCTAssertEqual(clip.record.texts, ["light_color_temp": "Cool light."])
        XCTAssertEqual(r.problems, [])
    }

    func test_celebvtext_both_light_colour_spellings_for_one_clip_are_reported_and_one_kept() throws {
        let json = #"{"zYeLz4c4qYc_15_0.mp4": {"ytb_id": "zYeLz4c4qYc"}}"#
        let root = try temporaryRoot(json: json, texts: [
            "texts/light_colot_temp/zYeLz4c4qYc_15_0.txt": "Warm.\n",
            "texts/light_color_temp/zYeLz4c4qYc_15_0.txt": "Cold.\n",
        ])
        let r = try ingest(root: root)
        XCTAssertEqual(r["zYeLz4c4qYc_15_0"]?.record.texts["light_color_temp"], "Warm.")
        XCTAssertTrue(r.problems(.strayFile).contains { $0.location?.file == "texts/light_color_temp/zYeLz4c4qYc_15_0.txt" })
    }

    func test_celebvtext_root_without_json_or_videos_fails_the_source() throws {
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("celebvtext-empty-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: root, withIntermediateDirectories: true)
        addTeardownBlock { try? FileManager.default.removeItem(at: root) }
        let r = try ingest(root: root)
        XCTAssertEqual(r.summary.outcome, .failed)
        XCTAssertTrue(r.summary.note?.contains(Self.info) ?? false, r.summary.note ?? "")
    }
}
