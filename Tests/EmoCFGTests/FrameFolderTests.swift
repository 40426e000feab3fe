import EmoCFG
import XCTest

final class FrameFolderTests: XCTestCase {
    func folder(_ names: [String]) throws -> URL {
        let dir = try temporaryDirectory().appendingPathComponent("clip")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        let jpg = try Data(contentsOf: testMedia.appendingPathComponent("frame.jpg"))
        for n in names { try (n.hasSuffix(".jpg") ? jpg : Data("x".utf8)).write(to: dir.appendingPathComponent(n)) }
        return dir
    }

    func test_frames_are_sorted_naturally_and_counted_with_size_from_the_first_frame() throws {
        let dir = try folder(["img10.jpg", "img2.jpg", "img1.jpg", "img100.jpg"])
        let r = try FrameFolder.probe(path: dir.path, fps: 200)
        XCTAssertEqual(r.frames, ["img1.jpg", "img2.jpg", "img10.jpg", "img100.jpg"])
        XCTAssertEqual(r.probe.frameCount, 4)
        XCTAssertTrue(r.probe.frameCountExact)
        XCTAssertEqual(r.probe.width, 32)
        XCTAssertEqual(r.probe.height, 24)
        XCTAssertEqual(r.probe.fps, 200)
        XCTAssertEqual(r.probe.duration ?? 0, 0.02, accuracy: 1e-9, "duration = frames / fps")
        XCTAssertEqual(r.probe.codec, "mjpeg")
    }

    func test_a_non_image_file_is_reported_and_left_out() throws {
        let dir = try folder(["1.jpg", "2.jpg", "Desktop - Shortcut.lnk"])
        let r = try FrameFolder.probe(path: dir.path, fps: nil)
        XCTAssertEqual(r.probe.frameCount, 2)
        XCTAssertEqual(r.strays, ["Desktop - Shortcut.lnk"])
        XCTAssertNil(r.probe.duration, "no known rate, no duration")
    }

    func test_a_folder_without_images_fails_naming_what_it_holds() throws {
        let dir = try folder(["notes.txt"])
        do {
            _ = try FrameFolder.probe(path: dir.path, fps: 30)
            XCTFail("expected an error")
        } catch {
            XCTAssertTrue(error.message.contains("no frame images") && error.message.contains("notes.txt"), error.message)
        }
    }
}
