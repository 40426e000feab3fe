@testable import EmoCFG
import XCTest

/// The main face of per-frame detections, the face settings of sources.yaml, and detector origins:
/// the parts of face search that need no video.
final class FaceSelectionTests: XCTestCase {
    typealias Box = FaceSearch.NormalizedBox

    func box(_ x: Double, _ y: Double, _ s: Double) -> Box { Box(x0: x, y0: y, x1: x + s, y1: y + s) }

    func test_the_median_box_of_the_face_seen_in_every_frame_is_the_main_face() {
        let r = FaceSearch.result(frames: [[box(0.40, 0.20, 0.20)], [box(0.42, 0.21, 0.20)], [box(0.44, 0.19, 0.22)]], detector: "dlib-hog-19.24")
        let b = try! XCTUnwrap(r.box)
        XCTAssertEqual(b.x, 0.42, accuracy: 1e-9)
        XCTAssertEqual(b.y, 0.20, accuracy: 1e-9)
        XCTAssertEqual(b.x + b.w, 0.62, accuracy: 1e-9)
        XCTAssertEqual(b.y + b.h, 0.41, accuracy: 1e-9)
        XCTAssertEqual(b.origin, .detector("dlib-hog-19.24"))
        XCTAssertEqual(b.origin.rawValue, "detector:dlib-hog-19.24")
        XCTAssertEqual(r.facesSeen, 1)
        XCTAssertEqual(r.framesSearched, 3)
        XCTAssertEqual(r.framesWithFace, 3)
    }

    func test_a_larger_face_wins_over_a_smaller_one_seen_as_often() {
        let big = box(0.1, 0.1, 0.3), small = box(0.7, 0.6, 0.1)
        let r = FaceSearch.result(frames: [[small, big], [big, small], [small, big]], detector: "d")
        XCTAssertEqual(r.box?.x ?? -1, 0.1, accuracy: 1e-9)
        XCTAssertEqual(r.facesSeen, 2)
    }

    func test_a_face_seen_in_one_frame_only_loses_to_a_stable_one_of_similar_size() {
        // A 0.25 face in one of three frames (a false alarm, or someone passing) against a 0.2 face
        // in all three: 1/3 × 0.0625 < 3/3 × 0.04.
        let stable = box(0.5, 0.3, 0.2), flash = box(0.05, 0.05, 0.25)
        let r = FaceSearch.result(frames: [[stable], [stable, flash], [stable]], detector: "d")
        XCTAssertEqual(r.box?.x ?? -1, 0.5, accuracy: 1e-9)
        XCTAssertEqual(r.framesWithFace, 3)
        XCTAssertEqual(r.facesSeen, 2)
    }

    func test_a_face_missed_in_one_frame_still_wins_when_it_is_much_larger() {
        let main = box(0.3, 0.2, 0.4), background = box(0.85, 0.1, 0.08)
        let r = FaceSearch.result(frames: [[main, background], [background], [main, background]], detector: "d")
        XCTAssertEqual(r.box?.x ?? -1, 0.3, accuracy: 1e-9)
        XCTAssertEqual(r.framesWithFace, 2)
    }

    func test_no_detection_in_any_frame_is_no_face_not_an_error() {
        let r = FaceSearch.result(frames: [[], [], []], detector: "dlib-hog-19.24")
        XCTAssertNil(r.box)
        XCTAssertEqual(r.facesSeen, 0)
        XCTAssertEqual(r.framesSearched, 3)
        XCTAssertEqual(r.framesWithFace, 0)
    }

    func test_a_box_reaching_past_the_frame_is_cut_to_it() {
        let r = FaceSearch.result(frames: [[Box(x0: -0.05, y0: 0.8, x1: 0.2, y1: 1.1)]], detector: "d")
        let b = try! XCTUnwrap(r.box)
        XCTAssertEqual(b.x, 0)
        XCTAssertEqual(b.y + b.h, 1, accuracy: 1e-12)
        XCTAssertEqual(b.w, 0.2, accuracy: 1e-12)
    }

    func test_origins_round_trip_and_tell_detectors_apart() {
        XCTAssertEqual(FaceBox.Origin(rawValue: "detector:dlib-hog-19.24").detectorName, "dlib-hog-19.24")
        XCTAssertNil(FaceBox.Origin.dataset.detectorName)
        XCTAssertFalse(FaceBox.Origin.sidecar.isDetector)
        let data = try! JSONEncoder().encode(FaceBox(x: 0, y: 0, w: 1, h: 1, origin: .detector("x-1")))
        XCTAssertTrue(String(decoding: data, as: UTF8.self).contains("\"origin\":\"detector:x-1\""))
        XCTAssertEqual(try JSONDecoder().decode(FaceBox.self, from: data).origin, .detector("x-1"))
    }

    func test_the_dlib_identity_names_the_library_version() {
        XCTAssertTrue(DlibFaceDetector.identity.hasPrefix("dlib-hog-"), DlibFaceDetector.identity)
        XCTAssertNotNil(Double(DlibFaceDetector.identity.dropFirst("dlib-hog-".count)), DlibFaceDetector.identity)
    }

    // MARK: sources.yaml

    func parse(_ yaml: String) throws -> SourcesConfig {
        try SourcesConfig.parse(yaml: yaml, file: "sources.yaml", baseDirectory: URL(fileURLWithPath: "/data"), adapters: ["dfew", "meld"])
    }

    func test_faces_default_to_on_with_three_frames_and_40_px_and_sources_inherit_the_defaults() throws {
        let c = try parse("""
            defaults:
              faces: {frames: 5}
            sources:
              DFEW: {adapter: dfew, root: DFEW}
              MELD:
                adapter: meld
                root: MELD
                faces: {min_face: 60}
            """)
        XCTAssertEqual(c.sources[0].faces, FaceSettings(enabled: true, options: FaceSearchOptions(frames: 5, minFace: 40)))
        XCTAssertEqual(c.sources[1].faces, FaceSettings(enabled: true, options: FaceSearchOptions(frames: 5, minFace: 60)))
        let plain = try parse("sources:\n  DFEW: {adapter: dfew, root: DFEW}\n")
        XCTAssertEqual(plain.sources[0].faces, FaceSettings(enabled: true, options: FaceSearchOptions(frames: 3, minFace: 40)))
    }

    func test_faces_off_per_source_or_by_default() throws {
        let c = try parse("""
            defaults:
              faces: off
            sources:
              DFEW: {adapter: dfew, root: DFEW}
              MELD: {adapter: meld, root: MELD, faces: {enabled: true}}
            """)
        XCTAssertFalse(c.sources[0].faces.enabled)
        XCTAssertTrue(c.sources[1].faces.enabled)
    }

    func test_bad_face_settings_name_the_line_and_key() {
        for (yaml, key, line) in [
            ("sources:\n  DFEW:\n    adapter: dfew\n    root: D\n    faces: {frames: 0}\n", "sources.DFEW.faces.frames", 5),
            ("sources:\n  DFEW:\n    adapter: dfew\n    root: D\n    faces: {every: 2}\n", "sources.DFEW.faces.every", 5),
            ("sources:\n  DFEW:\n    adapter: dfew\n    root: D\n    faces: sometimes\n", "sources.DFEW.faces", 5),
        ] {
            XCTAssertThrowsError(try parse(yaml)) { error in
                guard let e = error as? ConfigError else { return XCTFail("\(error)") }
                XCTAssertEqual(e.key, key, "\(e)")
                XCTAssertEqual(e.line, line, "\(e)")
            }
        }
    }

    func test_the_cache_key_changes_with_every_setting() {
        let base = FaceSearchOptions()
        XCTAssertNotEqual(base.cacheKey, FaceSearchOptions(frames: 4).cacheKey)
        XCTAssertNotEqual(base.cacheKey, FaceSearchOptions(minFace: 30).cacheKey)
        XCTAssertNotEqual(base.cacheKey, FaceSearchOptions(maxSearchPixels: 1000).cacheKey)
    }
}
