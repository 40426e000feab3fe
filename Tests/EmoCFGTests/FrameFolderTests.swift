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
    // MARK: - Every frame checked cheaply, only readable frames counted

    func test_a_zero_byte_frame_and_a_non_image_jpg_are_counted_out_and_named_with_the_reason() throws {
        let dir = try folder(["img1.jpg", "img2.jpg", "img3.jpg", "img4.jpg", "Thumbs.db"])
        try Data().write(to: dir.appendingPathComponent("img1.jpg"))
        try Data("<html>not found</html>".utf8).write(to: dir.appendingPathComponent("img3.jpg"))
        let r = try FrameFolder.probe(path: dir.path, fps: 10)
        XCTAssertEqual(r.frames, ["img2.jpg", "img4.jpg"])
        XCTAssertEqual(r.probe.frameCount, 2)
        XCTAssertEqual(r.probe.duration ?? 0, 0.2, accuracy: 1e-9)
        XCTAssertEqual(r.probe.width, 32, "the first readable frame gives the size")
        XCTAssertEqual(r.unreadable.map(\.name), ["img1.jpg", "img3.jpg"])
        XCTAssertEqual(r.unreadable[0].reason, "zero bytes")
        XCTAssertTrue(r.unreadable[1].reason.hasPrefix("not a JPEG, PNG or BMP image (it starts with 3C 68 74 6D)"), r.unreadable[1].reason)
        XCTAssertEqual(r.strays, ["Thumbs.db"], "non-images stay strays")
        XCTAssertEqual(try FrameFolder.readableFrames(in: dir.path, range: nil), r.frames)
    }

    func test_headers_are_checked_by_magic_not_extension() throws {
        let dir = try folder([])
        let png = try Data(contentsOf: testMedia.appendingPathComponent("frame.png"))
        try png.write(to: dir.appendingPathComponent("1.jpg"))  // a PNG named .jpg (CASME II copies)
        try Data("BM\u{0}\u{0}".utf8).write(to: dir.appendingPathComponent("2.bmp"))
        try Data([0xFF, 0xD8]).write(to: dir.appendingPathComponent("3.jpg"))
        XCTAssertEqual(try FrameFolder.readableFrames(in: dir.path, range: nil), ["1.jpg", "2.bmp"])
        XCTAssertEqual(FrameFolder.unreadableReason(dir.appendingPathComponent("3.jpg").path), "truncated: only 2 bytes (FF D8)")
    }

    func test_a_folder_whose_frames_are_all_unreadable_fails_naming_them() throws {
        let dir = try folder(["1.jpg"])
        try Data().write(to: dir.appendingPathComponent("1.jpg"))
        XCTAssertThrowsError(try FrameFolder.probe(path: dir.path, fps: 30)) { error in
            let m = (error as! ProbeError).message
            XCTAssertTrue(m.contains("no readable frame") && m.contains("1.jpg (zero bytes)"), m)
        }
    }

    // MARK: - Frame numbers and ranges

    func test_a_frame_number_is_the_trailing_integer_of_the_stem() {
        XCTAssertEqual(FrameFolder.trailingNumber("img123.jpg"), 123)
        XCTAssertEqual(FrameFolder.trailingNumber("00001_00012.jpg"), 12)
        XCTAssertEqual(FrameFolder.trailingNumber("EP01_5-17.jpg"), 17)
        XCTAssertEqual(FrameFolder.trailingNumber("EP03_2-0045.jpg"), 45)
        XCTAssertEqual(FrameFolder.trailingNumber("7.png"), 7)
        XCTAssertNil(FrameFolder.trailingNumber("cover.jpg"))
        XCTAssertNil(FrameFolder.trailingNumber("img12a.jpg"))
    }

    func test_without_a_number_on_every_frame_frames_are_numbered_by_their_place_in_natural_order() {
        XCTAssertEqual(FrameFolder.frameNumbers(["img46.jpg", "img47.jpg", "img100.jpg"]), [46, 47, 100])
        XCTAssertEqual(FrameFolder.frameNumbers(["a.jpg", "img9.jpg", "img10.jpg"]), [1, 2, 3], "one stem without a number")
        XCTAssertEqual(FrameFolder.frameNumbers(["1.jpg", "1.png"]), [1, 2], "two images with one number")
    }

    func test_a_range_counts_only_its_frames_by_number_and_duration_is_count_over_fps() throws {
        let dir = try folder(["img8.jpg", "img9.jpg", "img10.jpg", "img11.jpg", "img12.jpg", "img13.jpg"])
        try Data().write(to: dir.appendingPathComponent("img11.jpg"))
        try Data().write(to: dir.appendingPathComponent("img13.jpg"))
        let range = FrameRange(first: 9, last: 12)
        let r = try FrameFolder.probe(path: dir.path, fps: 200, range: range)
        XCTAssertEqual(r.frames, ["img9.jpg", "img10.jpg", "img12.jpg"], "img11 unreadable, img8 and img13 outside")
        XCTAssertEqual(r.probe.frameCount, 3)
        XCTAssertEqual(r.probe.duration ?? 0, 3.0 / 200, accuracy: 1e-12)
        XCTAssertEqual(r.unreadable.map(\.name), ["img11.jpg"], "only the range's unreadable frames")
        XCTAssertEqual(try FrameFolder.readableFrames(in: dir.path, range: range), r.frames)
        XCTAssertEqual(try FrameFolder.probe(path: dir.path, fps: 200).probe.frameCount, 4, "no range: the whole folder")
    }

    func test_an_empty_range_is_an_error_naming_the_folder_and_the_range() throws {
        let dir = try folder(["img1.jpg", "img2.jpg"])
        for call in [{ _ = try FrameFolder.probe(path: dir.path, fps: 30, range: FrameRange(first: 7, last: 11)) },
                     { _ = try FrameFolder.readableFrames(in: dir.path, range: FrameRange(first: 7, last: 11)) }] {
            XCTAssertThrowsError(try call()) { error in
                let e = error as! ProbeError
                XCTAssertEqual(e.path, dir.path)
                XCTAssertEqual(e.message, "no readable frame numbered 7..11 in the folder (its frames are numbered 1..2)")
                XCTAssertTrue("\(e)".hasPrefix(dir.path), "\(e)")
            }
        }
    }
}
