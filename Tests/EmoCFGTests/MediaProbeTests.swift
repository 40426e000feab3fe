import EmoCFG
import XCTest

final class MediaProbeTests: XCTestCase {
    func media(_ name: String) -> String { testMedia.appendingPathComponent(name).path }

    /// The probe's error for `path`, or nil when it succeeds.
    func probeError(_ path: String) -> ProbeError? {
        do {
            _ = try MediaProbe.probe(path: path)
            return nil
        } catch {
            return error
        }
    }

    func test_mp4_with_audio_reports_size_rate_exact_frame_count_codec_and_audio() throws {
        let r = try MediaProbe.probe(path: media("av.mp4"))
        XCTAssertEqual(r.width, 64)
        XCTAssertEqual(r.height, 48)
        XCTAssertEqual(r.fps ?? 0, 10, accuracy: 0.01)
        XCTAssertEqual(r.duration ?? 0, 0.6, accuracy: 0.05)
        XCTAssertEqual(r.frameCount, 6)
        XCTAssertTrue(r.frameCountExact)
        XCTAssertEqual(r.codec, "h264")
        XCTAssertTrue(r.hasAudio)
        XCTAssertEqual(r.container?.contains("mp4"), true)
    }

    func test_video_only_mp4_has_no_audio() throws {
        let r = try MediaProbe.probe(path: media("video_only.mp4"))
        XCTAssertFalse(r.hasAudio)
        XCTAssertEqual(r.frameCount, 6)
    }

    func test_avi_with_mpeg4_is_read_in_portrait() throws {
        let r = try MediaProbe.probe(path: media("clip.avi"))
        XCTAssertEqual(r.width, 48)
        XCTAssertEqual(r.height, 64)
        XCTAssertEqual(r.fps ?? 0, 25, accuracy: 0.01)
        XCTAssertEqual(r.codec, "mpeg4")
        XCTAssertEqual(r.frameCount, 10)
        XCTAssertEqual(r.container, "avi")
    }

    func test_matroska_frame_count_is_estimated_and_says_so() throws {
        let r = try MediaProbe.probe(path: media("estimated.mkv"))
        XCTAssertFalse(r.frameCountExact)
        XCTAssertEqual(r.frameCount, 6)
        XCTAssertEqual(r.fps ?? 0, 10, accuracy: 0.01)
    }

    func test_zero_byte_file_fails_with_libavformats_message() throws {
        let dir = try temporaryDirectory()
        let path = dir.appendingPathComponent("empty.mp4").path
        FileManager.default.createFile(atPath: path, contents: Data())
        let e = try XCTUnwrap(probeError(path))
        XCTAssertEqual(e.path, path)
        XCTAssertTrue(e.message.contains("Invalid data found when processing input"), e.message)
    }

    func test_truncated_mp4_names_the_missing_moov_atom() throws {
        let dir = try temporaryDirectory()
        let data = try Data(contentsOf: URL(fileURLWithPath: media("av.mp4")))
        let path = dir.appendingPathComponent("cut.mp4").path
        FileManager.default.createFile(atPath: path, contents: data.prefix(data.count / 2))
        let e = try XCTUnwrap(probeError(path))
        XCTAssertTrue(e.message.contains("moov atom not found"), e.message)
    }

    func test_text_file_named_mp4_is_rejected() throws {
        let dir = try temporaryDirectory()
        let path = dir.appendingPathComponent("notes.mp4").path
        FileManager.default.createFile(atPath: path, contents: Data("this is not a video, just words\n".utf8))
        let e = try XCTUnwrap(probeError(path))
        XCTAssertTrue(e.message.hasPrefix("cannot open"), e.message)
    }

    func test_missing_file_says_no_such_file() throws {
        let e = try XCTUnwrap(probeError("/nonexistent/x.mp4"))
        XCTAssertTrue(e.message.contains("No such file"), e.message)
    }

    func test_probes_run_concurrently_from_many_threads() throws {
        let paths = (0..<40).map { media(["av.mp4", "clip.avi", "estimated.mkv", "square_av.mp4"][$0 % 4]) }
        nonisolated(unsafe) var widths = [Int?](repeating: nil, count: paths.count)
        DispatchQueue.concurrentPerform(iterations: paths.count) { i in
            widths[i] = try? MediaProbe.probe(path: paths[i]).width
        }
        XCTAssertEqual(widths, paths.map { p in p.hasSuffix("clip.avi") ? 48 : (p.hasSuffix("square_av.mp4") ? 80 : 64) })
    }
}
