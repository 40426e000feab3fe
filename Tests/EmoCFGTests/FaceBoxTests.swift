import EmoCFG
import XCTest

final class FaceBoxTests: XCTestCase {
    func test_normalised_edges_become_x_y_w_h() throws {
        let b = try XCTUnwrap(FaceBox.fromEdges(top: 0.2, bottom: 0.8, left: 0.3, right: 0.7, origin: .dataset,
                                                units: .auto, frameWidth: nil, frameHeight: nil))
        XCTAssertEqual(b.x, 0.3, accuracy: 1e-9)
        XCTAssertEqual(b.y, 0.2, accuracy: 1e-9)
        XCTAssertEqual(b.w, 0.4, accuracy: 1e-9)
        XCTAssertEqual(b.h, 0.6, accuracy: 1e-9)
        XCTAssertEqual(b.areaRatio, 0.24, accuracy: 1e-9)
    }

    func test_pixel_boxes_need_the_frame_size_and_are_normalised_by_it() throws {
        XCTAssertNil(FaceBox.fromPixelsOrNormalized(x: 10, y: 10, w: 100, h: 50, origin: .sidecar, units: .auto,
                                                    frameWidth: nil, frameHeight: nil))
        let b = try XCTUnwrap(FaceBox.fromPixelsOrNormalized(x: 160, y: 90, w: 320, h: 180, origin: .sidecar,
                                                             units: .pixels, frameWidth: 640, frameHeight: 360))
        XCTAssertEqual([b.x, b.y, b.w, b.h], [0.25, 0.25, 0.5, 0.5])
    }

    func test_boxes_are_clamped_to_the_frame() throws {
        let b = try XCTUnwrap(FaceBox.fromPixelsOrNormalized(x: 0.8, y: -0.1, w: 0.4, h: 0.5, origin: .dataset,
                                                             units: .normalized, frameWidth: nil, frameHeight: nil))
        XCTAssertEqual(b.x, 0.8, accuracy: 1e-9)
        XCTAssertEqual(b.w, 0.2, accuracy: 1e-9)
        XCTAssertEqual(b.y, 0, accuracy: 1e-9)
        XCTAssertEqual(b.h, 0.4, accuracy: 1e-9)
    }

    func test_sidecar_jsonl_rows_per_frame_combine_into_the_median_box() throws {
        let dir = try temporaryDirectory()
        let file = dir.appendingPathComponent("faces.jsonl")
        try """
            {"key": "a", "frame": 0, "box": [10, 10, 20, 20]}
            {"key": "a", "frame": 1, "box": [12, 10, 22, 20]}
            {"key": "a", "frame": 2, "box": [60, 40, 4, 4]}
            {"clip": "b", "time": 0.5, "bbox": {"left": 0.1, "top": 0.2, "right": 0.5, "bottom": 0.8}}
            not json
            {"key": "c"}
            """.write(to: file, atomically: true, encoding: .utf8)
        let sidecar = FaceBoxSidecar(config: try sidecarConfig(file, units: "auto"))
        let a = try XCTUnwrap(sidecar.box(key: "a", path: "a.mp4", frameWidth: 64, frameHeight: 48))
        XCTAssertEqual(a.x, 12.0 / 64, accuracy: 1e-9)
        XCTAssertEqual(a.w, 20.0 / 64, accuracy: 1e-9)
        XCTAssertEqual(a.origin, .sidecar)
        let b = try XCTUnwrap(sidecar.box(key: "b", path: "b.mp4", frameWidth: nil, frameHeight: nil))
        XCTAssertEqual(b.h, 0.6, accuracy: 1e-9)
        XCTAssertEqual(sidecar.problems.map { $0.location?.line }, [5, 6])
        XCTAssertTrue(sidecar.problems[1].message.contains("no box"))
    }

    func test_sidecar_csv_matches_clips_by_path_without_extension() throws {
        let dir = try temporaryDirectory()
        let file = dir.appendingPathComponent("faces.csv")
        try "path,frame,x,y,w,h\nActor_01/x,0,0.1,0.1,0.5,0.5\nActor_01/y,0,0,0,0,0\n".write(to: file, atomically: true, encoding: .utf8)
        let sidecar = FaceBoxSidecar(config: try sidecarConfig(file, units: "normalized"))
        XCTAssertEqual(sidecar.box(key: "x", path: "Actor_01/x.mp4", frameWidth: 10, frameHeight: 10)?.areaRatio ?? 0, 0.25, accuracy: 1e-9)
        XCTAssertEqual(sidecar.problems.map { $0.location?.line }, [3])
    }

    func sidecarConfig(_ file: URL, units: String) throws -> FaceBoxSidecarConfig {
        let c = try SourcesConfig.parse(
            yaml: "sources:\n  S:\n    adapter: x\n    root: r\n    face_boxes: {file: \(file.path), units: \(units)}\n",
            file: "t.yaml", baseDirectory: file.deletingLastPathComponent(), adapters: ["x"])
        return try XCTUnwrap(c.sources[0].faceBoxes)
    }
}
