import CFFmpeg
@testable import EmoCFG
import XCTest

/// Renders the fixture videos' windows and frame folders made from them, and reads the results back
/// with libavformat and libavcodec. `counter.mp4` (320x240, 25 fps, 50 frames, keyframe every 10,
/// B-frames) shows its frame number n as flat grey luma 16 + 4n in its left half, so a decoded
/// output frame says which source frame it is. No ffmpeg tool is needed.
final class ClipRendererTests: XCTestCase {
    var dir: URL!

    override func setUpWithError() throws { dir = try temporaryDirectory() }
    override func tearDownWithError() throws { try? FileManager.default.removeItem(at: dir) }

    func media(_ name: String) -> String { testMedia.appendingPathComponent(name).path }
    func out(_ name: String) -> String { dir.appendingPathComponent(name).path }

    func renderError(_ body: () throws(RenderError) -> RenderedMedia) -> RenderError? {
        do {
            _ = try body()
            return nil
        } catch {
            return error
        }
    }

    // MARK: - Windows

    func test_window_render_keeps_exactly_the_frames_inside_the_span() throws {
        // [0.4, 1.2) holds frames 10…29; [0.76, 1.0) starts at frame 19, just before the keyframe
        // 20 whose decoding time is earlier (a seek by the index lands after the start);
        // [0.41, 0.5) starts between frames 10 and 11 and must not take frame 10.
        for (start, end, expected) in [(0.4, 1.2, Array(10...29)), (0.76, 1.0, Array(19...24)), (0.41, 0.5, Array(11...12)), (0.0, 0.2, Array(0...4))] {
            let path = out("w\(start).mp4")
            let r = try ClipRenderer.render(.window(file: media("counter.mp4"), start: start, end: end), settings: .init(), to: path)
            XCTAssertEqual(r.frames, expected.count, "\(start)–\(end)")
            let frames = try decodedFrames(path)
            XCTAssertEqual(frames.map(\.number), expected, "\(start)–\(end): the source frames, in order, each once")
        }
    }

    func test_window_render_is_h264_at_the_source_rate_with_duration_frames_over_fps() throws {
        let path = out("w.mp4")
        let r = try ClipRenderer.render(.window(file: media("counter.mp4"), start: 0.4, end: 1.2), settings: .init(), to: path)
        XCTAssertEqual(r.encoder, ClipRenderer.resolvedEncoder(.init()))
        XCTAssertEqual(r.duration, 0.8, accuracy: 1e-9)
        XCTAssertEqual(r.width, 320)
        XCTAssertEqual(r.height, 240)
        XCTAssertFalse(r.hasAudio)
        XCTAssertEqual(r.bytes, Int64(try FileManager.default.attributesOfItem(atPath: path)[.size] as! Int))
        let probe = try MediaProbe.probe(path: path)
        XCTAssertEqual(probe.codec, r.encoder == "libx264" ? "h264" : "mpeg4")
        XCTAssertEqual(probe.fps ?? 0, 25, accuracy: 1e-6)
        XCTAssertEqual(probe.frameCount, 20)
        XCTAssertTrue(probe.frameCountExact)
        XCTAssertEqual(probe.duration ?? 0, 0.8, accuracy: 0.04, "within one frame")
        XCTAssertEqual(try decodedFrames(path).count, 20)
        XCTAssertFalse(FileManager.default.fileExists(atPath: path + ".partial"))
    }

    func test_libx264_is_used_when_this_libavcodec_has_it() {
        let has = avcodec_find_encoder_by_name("libx264") != nil
        XCTAssertEqual(ClipRenderer.resolvedEncoder(.init()), has ? "libx264" : "mpeg4")
        XCTAssertEqual(ClipRenderer.resolvedEncoder(.init(encoder: "mpeg4")), "mpeg4")
    }

    func test_window_of_a_clip_with_sound_keeps_its_sound_for_as_long_as_the_pictures() throws {
        // square_av.mp4: 30 fps, 15 frames, AAC at 8 kHz. [0.1, 0.4) holds frames 3…11.
        let path = out("av.mp4")
        let r = try ClipRenderer.render(.window(file: media("square_av.mp4"), start: 0.1, end: 0.4), settings: .init(), to: path)
        XCTAssertEqual(r.frames, 9)
        XCTAssertTrue(r.hasAudio)
        XCTAssertEqual(r.duration, 0.3, accuracy: 1e-9)
        let probe = try MediaProbe.probe(path: path)
        XCTAssertTrue(probe.hasAudio)
        XCTAssertEqual(probe.frameCount, 9)
        let sound = try decodedAudio(path)
        XCTAssertEqual(sound.codec, "aac")
        XCTAssertEqual(sound.startSeconds, 0, accuracy: 1e-6, "the sound starts with the first picture")
        // 0.3 s at 8 kHz is 2,400 samples; the sound must not end more than one AAC frame from the pictures.
        XCTAssertEqual(Double(sound.samples) / Double(sound.sampleRate), 0.3, accuracy: 1024.0 / Double(sound.sampleRate))
        XCTAssertEqual(try decodedFrames(path).count, 9)
    }

    func test_window_without_sound_or_with_audio_off_is_video_only() throws {
        let silent = try ClipRenderer.render(.window(file: media("video_only.mp4"), start: 0.1, end: 0.5), settings: .init(), to: out("v.mp4"))
        XCTAssertFalse(silent.hasAudio)
        XCTAssertEqual(silent.frames, 4)
        XCTAssertFalse(try MediaProbe.probe(path: out("v.mp4")).hasAudio)
        let off = try ClipRenderer.render(.window(file: media("av.mp4"), start: 0, end: 0.3), settings: .init(audio: false), to: out("off.mp4"))
        XCTAssertFalse(off.hasAudio)
        XCTAssertEqual(off.frames, 3)
        XCTAssertFalse(try MediaProbe.probe(path: out("off.mp4")).hasAudio)
    }

    func test_window_running_past_the_end_of_the_file_is_cut_at_the_end() throws {
        let path = out("end.mp4")
        let r = try ClipRenderer.render(.window(file: media("counter.mp4"), start: 1.6, end: 5), settings: .init(), to: path)
        XCTAssertEqual(r.frames, 10)
        XCTAssertEqual(try decodedFrames(path).map(\.number), Array(40...49))
        let av = try ClipRenderer.render(.window(file: media("av.mp4"), start: 0.3, end: 2), settings: .init(), to: out("avend.mp4"))
        XCTAssertEqual(av.frames, 3)
        XCTAssertTrue(av.hasAudio)
    }

    func test_window_with_no_frames_is_an_error_naming_the_file_and_the_span_and_leaves_no_file() throws {
        let path = out("none.mp4")
        let e = try XCTUnwrap(renderError { () throws(RenderError) in
            try ClipRenderer.render(.window(file: media("counter.mp4"), start: 3, end: 4), settings: .init(), to: path)
        })
        XCTAssertEqual(e.path, media("counter.mp4"))
        XCTAssertTrue(e.message.contains("3.000–4.000"), e.message)
        XCTAssertFalse(FileManager.default.fileExists(atPath: path))
        XCTAssertFalse(FileManager.default.fileExists(atPath: path + ".partial"), ".partial is removed on error")
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: dir.path), [])
    }

    func test_window_of_a_file_that_is_not_a_video_names_it_with_libavs_reason() throws {
        let bad = out("bad.mp4")
        try Data("not a video".utf8).write(to: URL(fileURLWithPath: bad))
        let e = try XCTUnwrap(renderError { () throws(RenderError) in
            try ClipRenderer.render(.window(file: bad, start: 0, end: 1), settings: .init(), to: out("x.mp4"))
        })
        XCTAssertEqual(e.path, bad)
        XCTAssertTrue(e.message.hasPrefix("cannot open: Invalid data found"), e.message)
        XCTAssertFalse(FileManager.default.fileExists(atPath: out("x.mp4.partial")))
    }

    func test_an_output_folder_that_does_not_exist_is_named_in_the_error() throws {
        let path = out("missing/clip.mp4")
        let e = try XCTUnwrap(renderError { () throws(RenderError) in
            try ClipRenderer.render(.window(file: media("counter.mp4"), start: 0, end: 0.2), settings: .init(), to: path)
        })
        XCTAssertEqual(e.path, path)
        XCTAssertTrue(e.message.hasPrefix("cannot create the file: No such file or directory"), e.message)
    }

    func test_mpeg_ts_window_whose_seek_lands_late_still_keeps_every_frame() throws {
        let path = out("ts.mp4")
        let r = try ClipRenderer.render(.window(file: media("counter.ts"), start: 0.76, end: 1.2), settings: .init(), to: path)
        XCTAssertEqual(r.frames, 11)
        XCTAssertEqual(try decodedFrames(path).map(\.number), Array(19...29))
    }

    func test_mpeg4_encoder_setting_writes_mpeg4_with_the_same_frames() throws {
        let path = out("m4.mp4")
        let r = try ClipRenderer.render(.window(file: media("counter.mp4"), start: 0.4, end: 1.2), settings: .init(encoder: "mpeg4"), to: path)
        XCTAssertEqual(r.encoder, "mpeg4")
        let probe = try MediaProbe.probe(path: path)
        XCTAssertEqual(probe.codec, "mpeg4")
        XCTAssertEqual(probe.frameCount, 20)
        XCTAssertEqual(try decodedFrames(path).map(\.number), Array(10...29))
    }

    func test_max_side_scales_down_keeping_the_aspect_with_even_sides() throws {
        let r = try ClipRenderer.render(.window(file: media("counter.mp4"), start: 0, end: 0.2), settings: .init(maxSide: 75), to: out("s.mp4"))
        XCTAssertEqual([r.width, r.height], [74, 56])
        let probe = try MediaProbe.probe(path: out("s.mp4"))
        XCTAssertEqual([probe.width, probe.height], [74, 56])
        XCTAssertTrue(ClipRenderer.outputSize(width: 33, height: 25, maxSide: nil) == (32, 24), "an odd side loses one pixel")
        XCTAssertTrue(ClipRenderer.outputSize(width: 1920, height: 1080, maxSide: 640) == (640, 360))
        XCTAssertTrue(ClipRenderer.outputSize(width: 100, height: 50, maxSide: 640) == (100, 50), "never scaled up")
    }

    func test_several_renders_run_at_once_on_different_threads() throws {
        let dir = self.dir!
        nonisolated(unsafe) var results = [Int](repeating: -1, count: 6)
        let file = media("counter.mp4")
        DispatchQueue.concurrentPerform(iterations: 6) { i in
            let r = try? ClipRenderer.render(.window(file: file, start: 0.2 * Double(i), end: 0.2 * Double(i) + 0.6),
                                             settings: .init(), to: dir.appendingPathComponent("p\(i).mp4").path)
            results[i] = r?.frames ?? -1
        }
        XCTAssertEqual(results, [Int](repeating: 15, count: 6))
    }

    // MARK: - Several windows in one pass

    /// Renders `spans` of `file` in one `renderWindows` pass and each alone with `render`, and checks
    /// that every window gives the same result: the same source frames at the same times, the same
    /// frame count, duration, size and length of sound, or the same error. (Not byte for byte: libx264
    /// with another encoder open in the process, or fed a decoder's buffer whose padding differs,
    /// can choose other modes for the same pictures.)
    @discardableResult
    func assertPassMatchesSingleRenders(_ file: String, _ spans: [(Double, Double)], settings: RenderSettings = .init(), maxOpen: Int = 8,
                                        line: UInt = #line) throws -> [Result<RenderedMedia, RenderError>] {
        let tag = UUID().uuidString.prefix(6)
        let jobs = spans.enumerated().map { i, s in WindowJob(start: s.0, end: s.1, output: out("\(tag)-pass\(i).mp4")) }
        let results = ClipRenderer.renderWindows(file: file, jobs: jobs, settings: settings, maxOpen: maxOpen)
        XCTAssertEqual(results.count, jobs.count, line: line)
        for (i, job) in jobs.enumerated() {
            let alone = out("\(tag)-alone\(i).mp4")
            let single = Result { () throws(RenderError) in try ClipRenderer.render(.window(file: file, start: job.start, end: job.end), settings: settings, to: alone) }
            switch (results[i], single) {
            case (.success(var a), .success(let b)):
                a.bytes = b.bytes
                XCTAssertEqual(a, b, "window \(i) \(spans[i])", line: line)
                // The same source frames, in order, at the same times; the same length of sound.
                let (pa, pb) = (try decodedFrames(job.output), try decodedFrames(alone))
                XCTAssertEqual(pa.map(\.number), pb.map(\.number), "window \(i) \(spans[i]): the frames of rendering it alone", line: line)
                XCTAssertEqual(pa.map(\.time), pb.map(\.time), "window \(i) \(spans[i])", line: line)
                if b.hasAudio {
                    let (sa, sb) = (try decodedAudio(job.output), try decodedAudio(alone))
                    XCTAssertEqual(sa.samples, sb.samples, "window \(i) \(spans[i])", line: line)
                    XCTAssertEqual(sa.startSeconds, sb.startSeconds, "window \(i) \(spans[i])", line: line)
                }
            case (.failure(let a), .failure(let b)):
                XCTAssertEqual(a, b, "window \(i) \(spans[i])", line: line)
                XCTAssertFalse(FileManager.default.fileExists(atPath: job.output), line: line)
                XCTAssertFalse(FileManager.default.fileExists(atPath: job.output + ".partial"), line: line)
            default:
                XCTFail("window \(i) \(spans[i]): in one pass \(results[i]), alone \(single)", line: line)
            }
        }
        return results
    }

    func test_windows_of_one_video_in_one_pass_are_the_files_each_window_gives_alone() throws {
        // Overlapping, adjacent, starting between frames, at 0, running past the end, wholly past
        // the end (an error), empty (an error), and out of order: each as it is alone.
        let spans = [(0.4, 1.2), (0.76, 1.0), (1.2, 1.6), (0.41, 0.5), (0.0, 0.2), (1.6, 5.0), (3.0, 4.0), (1.0, 1.0), (0.2, 0.6)]
        let r = try assertPassMatchesSingleRenders(media("counter.mp4"), spans)
        XCTAssertEqual(r.map { (try? $0.get())?.frames ?? -1 }, [20, 6, 10, 2, 5, 10, -1, -1, 10])
        XCTAssertEqual(try decodedFrames(out(try XCTUnwrap(FileManager.default.contentsOfDirectory(atPath: dir.path)
            .first { $0.hasSuffix("-pass1.mp4") }))).map(\.number), Array(19...24))
        if case .failure(let e) = r[6] { XCTAssertTrue(e.message.contains("no frame in the window 3.000–4.000"), e.message) }
        if case .failure(let e) = r[7] { XCTAssertTrue(e.message.contains("empty time window"), e.message) }
    }

    func test_windows_far_apart_are_reached_by_seeking_and_windows_beyond_max_open_by_another_pass() throws {
        // 0–0.2 s, then 1.64 s (past the keyframe at 1.6 s: a seek); an MPEG-TS file, whose seeks land late.
        try assertPassMatchesSingleRenders(media("counter.mp4"), [(0.0, 0.2), (1.64, 1.9), (0.08, 0.3)])
        try assertPassMatchesSingleRenders(media("counter.ts"), [(0.76, 1.2), (0.0, 0.3), (1.7, 2.0), (0.9, 1.3)])
        // Five overlapping windows, at most two open at once: three passes, the same files.
        let r = try assertPassMatchesSingleRenders(media("counter.mp4"), [(0.0, 1.0), (0.2, 1.2), (0.4, 1.4), (0.6, 1.6), (0.8, 1.8)], maxOpen: 2)
        XCTAssertEqual(r.map { (try? $0.get())?.frames ?? -1 }, [25, 25, 25, 25, 25])
    }

    func test_windows_with_sound_in_one_pass_each_get_their_own_sound() throws {
        // square_av.mp4: 80x80, 30 fps, 15 frames, AAC at 8 kHz.
        let spans = [(0.1, 0.4), (0.0, 0.2), (0.2, 0.5), (0.3, 0.9), (0.05, 0.45)]
        let r = try assertPassMatchesSingleRenders(media("square_av.mp4"), spans)
        let dirFiles = try FileManager.default.contentsOfDirectory(atPath: dir.path)
        for (i, span) in spans.enumerated() {
            let m = try r[i].get()
            XCTAssertTrue(m.hasAudio)
            let file = out(try XCTUnwrap(dirFiles.first { $0.hasSuffix("-pass\(i).mp4") }))
            let sound = try decodedAudio(file)
            XCTAssertEqual(sound.startSeconds, 0, accuracy: 1e-6, "\(span)")
            XCTAssertEqual(Double(sound.samples) / Double(sound.sampleRate), m.duration, accuracy: 1024.0 / Double(sound.sampleRate), "\(span)")
        }
        // Without sound, and with the sound off.
        try assertPassMatchesSingleRenders(media("av.mp4"), [(0.0, 0.3), (0.1, 0.5), (0.3, 2.0)], settings: .init(audio: false))
        try assertPassMatchesSingleRenders(media("video_only.mp4"), [(0.1, 0.5), (0.0, 0.2)])
    }

    func test_a_window_whose_output_cannot_be_written_fails_alone_and_a_bad_file_fails_every_window() throws {
        let file = media("counter.mp4")
        let r = ClipRenderer.renderWindows(file: file, jobs: [
            WindowJob(start: 0, end: 0.4, output: out("ok1.mp4")), WindowJob(start: 0.2, end: 0.6, output: out("missing/x.mp4")),
            WindowJob(start: 0.3, end: 0.8, output: out("ok2.mp4")),
        ], settings: .init())
        XCTAssertEqual(try r[0].get().frames, 10)
        XCTAssertEqual(try r[2].get().frames, 12)
        guard case .failure(let e) = r[1] else { return XCTFail("\(r[1])") }
        XCTAssertEqual(e.path, out("missing/x.mp4"))
        XCTAssertEqual(try decodedFrames(out("ok2.mp4")).map(\.number), Array(8...19))

        let bad = out("bad.mp4")
        try Data("not a video".utf8).write(to: URL(fileURLWithPath: bad))
        let all = ClipRenderer.renderWindows(file: bad, jobs: [WindowJob(start: 0, end: 1, output: out("b1.mp4")), WindowJob(start: 1, end: 2, output: out("b2.mp4"))],
                                             settings: .init())
        for result in all {
            guard case .failure(let e) = result else { return XCTFail("\(result)") }
            XCTAssertTrue(e.message.hasPrefix("cannot open"), e.message)
        }
        XCTAssertEqual(ClipRenderer.renderWindows(file: file, jobs: [], settings: .init()).count, 0)
    }

    // MARK: - Frames

    /// Writes frames `numbers` of counter.mp4 as JPEGs scaled to `budget` pixels, named in display order.
    func makeFrames(_ numbers: [Int], budget: Int, prefix: String = "f") throws -> [String] {
        let all = try FrameSampler.sample(video: media("counter.mp4"), options: .init(count: 50, pixelBudget: budget, jpegQScale: 2))
        return try numbers.enumerated().map { i, n in
            let p = out(String(format: "%@%03d.jpg", prefix, i))
            try all[n].jpeg.write(to: URL(fileURLWithPath: p))
            return p
        }
    }

    func test_frames_render_to_one_frame_per_image_in_order_at_the_given_rate() throws {
        let paths = try makeFrames(Array(0..<10), budget: 160 * 120)
        let path = out("frames.mp4")
        let r = try ClipRenderer.render(.frames(paths: paths, fps: 10), settings: .init(), to: path)
        XCTAssertEqual(r.frames, 10)
        XCTAssertEqual(r.duration, 1.0, accuracy: 1e-9)
        XCTAssertEqual([r.width, r.height], [160, 120])
        XCTAssertFalse(r.hasAudio)
        let probe = try MediaProbe.probe(path: path)
        XCTAssertEqual(probe.codec, r.encoder == "libx264" ? "h264" : "mpeg4")
        XCTAssertEqual(probe.frameCount, 10)
        XCTAssertEqual(probe.fps ?? 0, 10, accuracy: 1e-6)
        XCTAssertEqual(probe.duration ?? 0, 1.0, accuracy: 0.1)
        XCTAssertEqual(try decodedFrames(path).map(\.number), Array(0..<10))
    }

    func test_frames_of_other_sizes_are_scaled_to_the_first_frames_size() throws {
        let big = try makeFrames([0, 1], budget: 160 * 120, prefix: "a")
        let small = try makeFrames([2], budget: 80 * 60, prefix: "b")
        let png = media("frame.png")  // 32x24
        let path = out("mixed.mp4")
        let r = try ClipRenderer.render(.frames(paths: [big[0], small[0], png, big[1]], fps: 25), settings: .init(), to: path)
        XCTAssertEqual(r.frames, 4)
        XCTAssertEqual([r.width, r.height], [160, 120])
        let frames = try decodedFrames(path)
        XCTAssertEqual(frames.count, 4)
        XCTAssertEqual(frames[1].number, 2, "the small frame, scaled up, still shows its picture")
        XCTAssertEqual(frames[3].number, 1)
    }

    func test_a_frame_that_cannot_be_decoded_is_named_in_the_error_and_no_file_is_left() throws {
        var paths = try makeFrames([0, 1, 2], budget: 160 * 120)
        let bad = out("f001-bad.jpg")
        try Data("this is not a picture".utf8).write(to: URL(fileURLWithPath: bad))
        paths[1] = bad
        let path = out("broken.mp4")
        let e = try XCTUnwrap(renderError { () throws(RenderError) in
            try ClipRenderer.render(.frames(paths: paths, fps: 25), settings: .init(), to: path)
        })
        XCTAssertEqual(e.path, bad)
        XCTAssertTrue(e.message.contains("frame 2 of 3 (f001-bad.jpg)"), e.message)
        XCTAssertFalse(FileManager.default.fileExists(atPath: path))
        XCTAssertFalse(FileManager.default.fileExists(atPath: path + ".partial"))

        // A JPEG cut short after its header: libavcodec's reason is kept.
        let jpeg = try Data(contentsOf: URL(fileURLWithPath: paths[0]))
        try jpeg.prefix(20).write(to: URL(fileURLWithPath: bad))
        let cut = try XCTUnwrap(renderError { () throws(RenderError) in
            try ClipRenderer.render(.frames(paths: paths, fps: 25), settings: .init(), to: path)
        })
        XCTAssertEqual(cut.path, bad)
        XCTAssertFalse(FileManager.default.fileExists(atPath: path + ".partial"))
    }

    func test_frames_with_a_bad_rate_or_none_at_all_are_errors() {
        XCTAssertNotNil(renderError { () throws(RenderError) in try ClipRenderer.render(.frames(paths: [], fps: 25), settings: .init(), to: out("e.mp4")) })
        XCTAssertNotNil(renderError { () throws(RenderError) in
            try ClipRenderer.render(.frames(paths: [media("frame.jpg")], fps: 0), settings: .init(), to: out("e.mp4"))
        })
        XCTAssertNotNil(renderError { () throws(RenderError) in
            try ClipRenderer.render(.frames(paths: [media("frame.jpg")], fps: 25), settings: .init(encoder: "vp9"), to: out("e.mp4"))
        })
    }

    // MARK: - Reading the results back

    struct Decoded {
        var time: Double
        /// counter.mp4's frame number shown by the picture (from the left half's luma).
        var number: Int
    }

    /// Every frame of the file's video stream, decoded.
    func decodedFrames(_ path: String) throws -> [Decoded] {
        var fmt: UnsafeMutablePointer<AVFormatContext>? = nil
        guard avformat_open_input(&fmt, path, nil, nil) >= 0 else { throw RenderError(path: path, message: "cannot open") }
        defer { avformat_close_input(&fmt) }
        guard avformat_find_stream_info(fmt, nil) >= 0 else { throw RenderError(path: path, message: "no stream info") }
        let index = av_find_best_stream(fmt, AVMEDIA_TYPE_VIDEO, -1, -1, nil, 0)
        guard index >= 0, let stream = fmt!.pointee.streams[Int(index)] else { throw RenderError(path: path, message: "no video") }
        var dec = avcodec_alloc_context3(avcodec_find_decoder(stream.pointee.codecpar.pointee.codec_id))
        defer { avcodec_free_context(&dec) }
        avcodec_parameters_to_context(dec, stream.pointee.codecpar)
        dec?.pointee.thread_count = 1
        guard avcodec_open2(dec, nil, nil) >= 0 else { throw RenderError(path: path, message: "no decoder") }
        var packet = av_packet_alloc(), frame = av_frame_alloc()
        defer { av_packet_free(&packet); av_frame_free(&frame) }
        var out: [Decoded] = []
        func receive() {
            while avcodec_receive_frame(dec, frame) >= 0 {
                let f = frame!.pointee
                var sum = 0.0, n = 0.0
                for y in Int(Double(f.height) * 0.1)..<Int(Double(f.height) * 0.9) {
                    for x in Int(Double(f.width) * 0.05)..<Int(Double(f.width) * 0.4) {
                        sum += Double(f.data.0![y * Int(f.linesize.0) + x])
                        n += 1
                    }
                }
                let t = Double(f.best_effort_timestamp) * av_q2d(stream.pointee.time_base)
                out.append(Decoded(time: t, number: Int(((sum / n - 16) / 4).rounded())))
                av_frame_unref(frame)
            }
        }
        while av_read_frame(fmt, packet) >= 0 {
            if packet!.pointee.stream_index == index { avcodec_send_packet(dec, packet) }
            av_packet_unref(packet)
            receive()
        }
        avcodec_send_packet(dec, nil)
        receive()
        return out
    }

    /// The sound of the file's audio stream, decoded: codec, rate, samples and the first one's time.
    func decodedAudio(_ path: String) throws -> (codec: String, sampleRate: Int, samples: Int, startSeconds: Double) {
        var fmt: UnsafeMutablePointer<AVFormatContext>? = nil
        guard avformat_open_input(&fmt, path, nil, nil) >= 0 else { throw RenderError(path: path, message: "cannot open") }
        defer { avformat_close_input(&fmt) }
        guard avformat_find_stream_info(fmt, nil) >= 0 else { throw RenderError(path: path, message: "no stream info") }
        let index = av_find_best_stream(fmt, AVMEDIA_TYPE_AUDIO, -1, -1, nil, 0)
        guard index >= 0, let stream = fmt!.pointee.streams[Int(index)] else { throw RenderError(path: path, message: "no audio") }
        let codecID = stream.pointee.codecpar.pointee.codec_id
        var dec = avcodec_alloc_context3(avcodec_find_decoder(codecID))
        defer { avcodec_free_context(&dec) }
        avcodec_parameters_to_context(dec, stream.pointee.codecpar)
        guard avcodec_open2(dec, nil, nil) >= 0 else { throw RenderError(path: path, message: "no decoder") }
        var packet = av_packet_alloc(), frame = av_frame_alloc()
        defer { av_packet_free(&packet); av_frame_free(&frame) }
        var samples = 0
        var first: Double? = nil
        func receive() {
            while avcodec_receive_frame(dec, frame) >= 0 {
                if first == nil { first = Double(frame!.pointee.best_effort_timestamp) * av_q2d(stream.pointee.time_base) }
                samples += Int(frame!.pointee.nb_samples)
                av_frame_unref(frame)
            }
        }
        while av_read_frame(fmt, packet) >= 0 {
            if packet!.pointee.stream_index == index { avcodec_send_packet(dec, packet) }
            av_packet_unref(packet)
            receive()
        }
        avcodec_send_packet(dec, nil)
        receive()
        return (String(cString: avcodec_get_name(codecID)), Int(dec!.pointee.sample_rate), samples, first ?? -1)
    }
}
