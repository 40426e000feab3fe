import CFFmpeg
@testable import EmoCFG
import XCTest

/// `counter.mp4` (320x240, 25 fps, 2 s, keyframe every 10 frames, B-frames): the left half of frame
/// n is flat grey at limited-range luma 16 + 4n, so every decoded JPEG says which frame it is.
final class FrameSamplerTests: XCTestCase {
    func media(_ name: String) -> String { testMedia.appendingPathComponent(name).path }

    /// The frame number a JPEG of `counter.mp4` shows, read from the mean luma of a patch of the
    /// flat left half (`x0..<x1` as fractions of the width).
    func frameNumber(_ jpeg: Data, x0: Double = 0.05, x1: Double = 0.4) throws -> Int {
        let img = try DecodedJPEG(jpeg)
        let luma = img.meanLuma(x0: x0, x1: x1, y0: 0.1, y1: 0.9)
        // The JPEG is full range: limited-range 16 + 4n became 4n × 255 / 219.
        return Int((luma * 219 / 255 / 4).rounded())
    }

    func samplingError(_ body: () throws(FrameSamplingError) -> [SampledFrame]) -> FrameSamplingError? {
        do {
            _ = try body()
            return nil
        } catch {
            return error
        }
    }

    // MARK: - Which frames

    func test_sixteen_frames_are_the_frames_on_screen_at_the_centres_of_sixteen_equal_segments() throws {
        let frames = try FrameSampler.sample(video: media("counter.mp4"))
        XCTAssertEqual(frames.count, 16)
        // Centre of segment i of 2 s is (i + 0.5) × 0.125 s; at 25 fps the frame on screen is ⌊t × 25⌋.
        let expected = (0..<16).map { Int((Double($0) + 0.5) * 0.125 * 25) }
        XCTAssertEqual(frames.map(\.index), expected)
        XCTAssertEqual(try frames.map { try frameNumber($0.jpeg) }, expected, "the pictures are those frames")
        for (f, n) in zip(frames, expected) { XCTAssertEqual(f.time ?? -1, Double(n) / 25, accuracy: 1e-6) }
    }

    func test_times_rise_strictly_and_stay_inside_the_clip() throws {
        for name in ["counter.mp4", "counter.ts", "av.mp4", "clip.avi", "square_av.mp4", "estimated.mkv"] {
            let frames = try FrameSampler.sample(video: media(name), options: .init(count: 7))
            let times = frames.compactMap(\.time)
            XCTAssertEqual(times.count, frames.count, name)
            XCTAssertEqual(times, times.sorted(), name)
            XCTAssertEqual(Set(times).count, times.count, "\(name): no frame twice")
            let length = try MediaProbe.probe(path: media(name)).duration ?? 0
            XCTAssertTrue(times.allSatisfy { $0 >= 0 && $0 < length }, "\(name): \(times)")
        }
    }

    func test_a_clip_with_fewer_frames_than_asked_gives_each_of_its_frames_once() throws {
        let frames = try FrameSampler.sample(video: media("av.mp4"), options: .init(count: 16))
        XCTAssertEqual(frames.map(\.index), [0, 1, 2, 3, 4, 5])
    }

    func test_one_frame_is_the_frame_in_the_middle() throws {
        let frames = try FrameSampler.sample(video: media("counter.mp4"), options: .init(count: 1))
        XCTAssertEqual(frames.map(\.index), [25])
        XCTAssertEqual(try frameNumber(frames[0].jpeg), 25)
    }

    func test_sampling_decodes_only_part_of_the_clip_and_decodes_on_within_a_group_of_pictures() throws {
        // 5 targets in 2 s with a keyframe every 10 frames: a seek per later group at most, and
        // far fewer than the 50 frames reconstructed. One decoder thread, so that no frame is
        // decoded ahead on other threads and the count is the same on every machine.
        let reader = try VideoFrameReader(path: media("counter.mp4"), decoderThreads: 1)
        var got: [Int] = []
        for t in FrameSampler.targetTimes(start: 0, end: 2, count: 5) {
            let f = try XCTUnwrap(reader.frame(at: t))
            got.append(Int((reader.seconds(of: f) * 25).rounded()))
        }
        XCTAssertEqual(got, [5, 15, 25, 35, 45])
        XCTAssertLessThanOrEqual(reader.seeks, 4)
        XCTAssertLessThanOrEqual(reader.framesDecoded, 30, "frames after a target's frame in its group, and dropped B-frames, are never reconstructed")

        // Targets inside one group are reached by decoding on, without a seek, also when the
        // next keyframe's decoding time (not its presentation time) is before the target.
        let close = try VideoFrameReader(path: media("counter.mp4"), decoderThreads: 1)
        var frames: [Int] = []
        for n in [5, 9, 21, 23] {
            let f = try XCTUnwrap(close.frame(at: (Double(n) + 0.5) / 25))
            frames.append(Int((close.seconds(of: f) * 25).rounded()))
            if n == 9 { XCTAssertEqual(close.seeks, 0, "frame 9 follows frame 5 in the first group") }
            if n == 21 { XCTAssertEqual(close.seeks, 1, "frame 21 is in a later group: one seek") }
        }
        XCTAssertEqual(frames, [5, 9, 21, 23])
        XCTAssertEqual(close.seeks, 1, "frame 23 follows frame 21 in its group")
    }

    func test_knowing_the_next_instant_drops_more_frames_and_gives_the_same_ones() throws {
        // Non-reference frames between two instants, on screen at neither, are dropped when the
        // reader is told the next instant; the frames given stay the same, also with a window
        // start that asks for the first frame after an instant. One decoder thread, for counts
        // that are the same on every machine.
        let cases: [(String, TimeWindow?)] = [("counter.mp4", nil), ("counter.ts", nil), ("counter.mp4", TimeWindow(start: 0.5, end: 1.7))]
        for (name, window) in cases {
            let start = window?.start ?? 0
            let times = FrameSampler.targetTimes(start: start, end: window?.end ?? 2, count: 16)
            let plain = try VideoFrameReader(path: media(name), decoderThreads: 1)
            let told = try VideoFrameReader(path: media(name), decoderThreads: 1)
            var a: [Int] = [], b: [Int] = []
            for (i, t) in times.enumerated() {
                let f = try XCTUnwrap(plain.frame(at: t, notBefore: start))
                a.append(Int((plain.seconds(of: f) * 25).rounded()))
                let g = try XCTUnwrap(told.frame(at: t, notBefore: start, next: i + 1 < times.count ? times[i + 1] : nil))
                b.append(Int((told.seconds(of: g) * 25).rounded()))
            }
            XCTAssertEqual(b, a, name)
            XCTAssertLessThanOrEqual(told.framesDecoded, plain.framesDecoded, name)
            print("\(name) \(window.map { "\($0.start)-\($0.end) s" } ?? "whole"): \(plain.framesDecoded) frames decoded, \(told.framesDecoded) told the next instant")
        }
    }

    // MARK: - One clip, several decoders

    func test_targets_are_shared_among_decoders_only_where_keyframes_let_the_longest_share_beat_frame_threading() throws {
        let targets = FrameSampler.targetTimes(start: 0, end: 10, count: 16)
        // x264's default: keyframes at 0 and 250 of 300 frames; the share before 8.33 s is most of the work.
        XCTAssertNil(FrameSampler.shares(targets: targets, keyframes: [0, 250.0 / 30], ways: 2))
        // A keyframe every second: two shares of eight targets, each starting at its keyframe.
        let ones = try XCTUnwrap(FrameSampler.shares(targets: targets, keyframes: (0..<10).map(Double.init), ways: 2))
        XCTAssertEqual(ones, [0..<8, 8..<16])
        // More decoders, more shares, together every target once and in order.
        let four = try XCTUnwrap(FrameSampler.shares(targets: targets, keyframes: (0..<10).map(Double.init), ways: 4))
        XCTAssertEqual(four.count, 4)
        XCTAssertEqual(four.flatMap { Array($0) }, Array(0..<16))
        // No index to start from, one decoder, or one target: nothing to share.
        XCTAssertNil(FrameSampler.shares(targets: targets, keyframes: [], ways: 2))
        XCTAssertNil(FrameSampler.shares(targets: targets, keyframes: (0..<10).map(Double.init), ways: 1))
        XCTAssertNil(FrameSampler.shares(targets: [5], keyframes: (0..<10).map(Double.init), ways: 2))
    }

    func test_several_decoders_give_the_frames_one_decoder_gives() throws {
        // counter.mp4 has a keyframe every 10 frames: its targets can be shared.
        let cases: [(String, TimeWindow?, Int)] = [("counter.mp4", nil, 16), ("counter.mp4", nil, 50), ("counter.mp4", TimeWindow(start: 0.5, end: 1.7), 8),
                                                   ("counter.mp4", TimeWindow(start: 0.2, end: 5), 4), ("counter.mp4", nil, 3)]
        for (name, window, count) in cases {
            var one = FrameSamplingOptions(count: count, pixelBudget: 20_000)
            one.decoderThreads = 1
            let expected = try FrameSampler.sample(video: media(name), window: window, options: one)
            for ways in [2, 3] {
                let shared = try XCTUnwrap(FrameSampler.sampleByGroups(video: media(name), window: window, options: FrameSamplingOptions(count: count, pixelBudget: 20_000), ways: ways),
                                           "\(name) \(String(describing: window)) \(count) frames: not shared among \(ways) decoders")
                XCTAssertEqual(shared, expected, "\(name) \(String(describing: window)) \(count) frames, \(ways) decoders")
            }
        }
        // No keyframe index (MPEG-TS): one decoder does it.
        XCTAssertNil(try FrameSampler.sampleByGroups(video: media("counter.ts"), window: nil, options: .init(), ways: 2))
    }

    func test_a_target_just_before_a_keyframe_whose_decoding_time_is_earlier_still_gets_its_frame() throws {
        // Frame 19's keyframe neighbour (frame 20) is stored with an earlier decoding time, so a
        // seek by the index lands after the target; the reader must step back a group.
        for n in [9, 19, 29, 39, 49] {
            let reader = try VideoFrameReader(path: media("counter.mp4"))
            let f = try XCTUnwrap(reader.frame(at: (Double(n) + 0.5) / 25))
            XCTAssertEqual(Int((reader.seconds(of: f) * 25).rounded()), n)
        }
    }

    func test_mpeg_ts_whose_seeks_land_on_any_packet_still_gives_the_right_frames() throws {
        // No index: a seek goes by decoding time to any packet, the decoder then waits for the
        // next keyframe, which may be after the target; the reader must step back.
        for n in [39, 29, 49] {
            let reader = try VideoFrameReader(path: media("counter.ts"))
            let f = try XCTUnwrap(reader.frame(at: (Double(n) + 0.5) / 25))
            XCTAssertEqual(Int((reader.seconds(of: f) * 25).rounded()), n)
        }
        let frames = try FrameSampler.sample(video: media("counter.ts"), options: .init(count: 8))
        let expected = (0..<8).map { Int((Double($0) + 0.5) * 0.25 * 25) }
        XCTAssertEqual(frames.map(\.index), expected)
        XCTAssertEqual(try frames.map { try frameNumber($0.jpeg) }, expected)
        XCTAssertEqual(frames.first?.time ?? -1, 0.12, accuracy: 1e-6, "times count from the stream's first frame, not the TS clock")
    }

    func test_going_back_in_time_seeks_and_still_gives_the_right_frame() throws {
        let reader = try VideoFrameReader(path: media("counter.mp4"))
        for n in [44, 3, 27, 26, 12] {
            let f = try XCTUnwrap(reader.frame(at: (Double(n) + 0.5) / 25))
            XCTAssertEqual(Int((reader.seconds(of: f) * 25).rounded()), n)
        }
    }

    // MARK: - Time windows

    func test_a_time_window_gives_frames_from_inside_it_only() throws {
        let frames = try FrameSampler.sample(video: media("counter.mp4"), window: TimeWindow(start: 1.0, end: 1.6), options: .init(count: 5))
        // Centres of 5 segments of 0.6 s: 1.06, 1.18, 1.30, 1.42, 1.54 s → frames 26, 29, 32, 35, 38.
        XCTAssertEqual(frames.map(\.index), [26, 29, 32, 35, 38])
        XCTAssertEqual(try frames.map { try frameNumber($0.jpeg) }, [26, 29, 32, 35, 38])
        XCTAssertTrue(frames.allSatisfy { ($0.time ?? -1) >= 1.0 && ($0.time ?? 9) < 1.6 })
    }

    func test_a_window_starting_between_frames_never_gives_the_frame_before_it() throws {
        // 1.01 s is inside frame 25 (1.00–1.04 s), which started before the window.
        let frames = try FrameSampler.sample(video: media("counter.mp4"), window: TimeWindow(start: 1.01, end: 1.21), options: .init(count: 10))
        XCTAssertEqual(frames.map(\.index), [26, 27, 28, 29, 30])
    }

    func test_a_window_running_past_the_end_is_cut_at_the_end() throws {
        let frames = try FrameSampler.sample(video: media("counter.mp4"), window: TimeWindow(start: 1.8, end: 5), options: .init(count: 4))
        XCTAssertEqual(frames.map(\.index), [45, 46, 48, 49])
        XCTAssertEqual(try frameNumber(frames.last!.jpeg), 49)
    }

    func test_a_window_starting_after_the_end_fails_saying_so() throws {
        let e = try XCTUnwrap(samplingError { () throws(FrameSamplingError) in
            try FrameSampler.sample(video: media("counter.mp4"), window: TimeWindow(start: 3, end: 4))
        })
        XCTAssertTrue(e.message.contains("after the end of the video"), e.message)
    }

    // MARK: - Size, JPEG, crop

    func test_jpegs_start_with_ff_d8_and_decode_back_to_the_size_they_state() throws {
        for name in ["counter.mp4", "clip.avi", "square_av.mp4"] {
            for frame in try FrameSampler.sample(video: media(name), options: .init(count: 3)) {
                XCTAssertEqual(Array(frame.jpeg.prefix(2)), [0xFF, 0xD8], name)
                XCTAssertEqual(Array(frame.jpeg.suffix(2)), [0xFF, 0xD9], name)
                let img = try DecodedJPEG(frame.jpeg)
                XCTAssertEqual([img.width, img.height], [frame.width, frame.height], name)
            }
        }
        // Also as a file that libavformat probes like any other picture.
        let dir = try temporaryDirectory()
        let file = dir.appendingPathComponent("f.jpg")
        try XCTUnwrap(FrameSampler.sample(video: media("clip.avi"), options: .init(count: 1)).first).jpeg.write(to: file)
        let probe = try MediaProbe.probe(path: file.path)
        XCTAssertEqual([probe.width, probe.height], [48, 64])
        XCTAssertEqual(probe.codec, "mjpeg")
    }

    func test_frames_within_the_budget_keep_their_size_and_are_never_upscaled() throws {
        XCTAssertEqual(try FrameSampler.sample(video: media("counter.mp4"), options: .init(count: 1)).map { [$0.width, $0.height] }, [[320, 240]])
        XCTAssertEqual(try FrameSampler.sample(video: media("clip.avi"), options: .init(count: 1)).map { [$0.width, $0.height] }, [[48, 64]])
    }

    func test_a_frame_over_the_pixel_budget_is_scaled_down_with_its_aspect_kept() throws {
        let frames = try FrameSampler.sample(video: media("counter.mp4"), options: .init(count: 2, pixelBudget: 10_000))
        for f in frames {
            XCTAssertLessThanOrEqual(f.width * f.height, 10_000)
            XCTAssertGreaterThan(f.width * f.height, 9_000, "uses the budget")
            XCTAssertEqual(Double(f.width) / Double(f.height), 4.0 / 3.0, accuracy: 0.03)
            XCTAssertEqual(f.width % 2 + f.height % 2, 0, "even sides")
        }
        XCTAssertEqual(try frames.map { try frameNumber($0.jpeg) }, frames.map(\.index), "scaling keeps the picture")
    }

    func test_fitted_sizes_are_even_within_budget_and_keep_the_aspect() {
        XCTAssert(FrameSampler.fittedSize(width: 1280, height: 720, pixelBudget: 100_352) == (422, 236))
        XCTAssert(FrameSampler.fittedSize(width: 720, height: 1280, pixelBudget: 100_352) == (236, 422))
        XCTAssert(FrameSampler.fittedSize(width: 224, height: 448, pixelBudget: 100_352) == (224, 448), "exactly the budget")
        XCTAssert(FrameSampler.fittedSize(width: 101, height: 75, pixelBudget: 100_352) == (100, 74), "odd sides lose a pixel")
        for (w, h) in [(1920, 1080), (1000, 999), (333, 2000), (4096, 4096)] {
            let s = FrameSampler.fittedSize(width: w, height: h, pixelBudget: 100_352)
            XCTAssertLessThanOrEqual(s.width * s.height, 100_352)
            XCTAssertEqual(Double(s.width) / Double(s.height), Double(w) / Double(h), accuracy: 0.02 * Double(w) / Double(h))
        }
    }

    func test_a_higher_q_scale_makes_a_smaller_jpeg() throws {
        let fine = try FrameSampler.sample(video: media("counter.mp4"), options: .init(count: 1, jpegQScale: 2))[0]
        let coarse = try FrameSampler.sample(video: media("counter.mp4"), options: .init(count: 1, jpegQScale: 25))[0]
        XCTAssertLessThan(coarse.jpeg.count, fine.jpeg.count)
    }

    func test_a_face_crop_keeps_the_box_and_its_margin_only() throws {
        // A box in the flat left half: 0.1–0.3 wide, 0.25–0.75 high, plus 25% of its size per side.
        let box = FaceBox(x: 0.1, y: 0.25, w: 0.2, h: 0.5, origin: .sidecar)
        let crop = FaceCrop(box: box, margin: 0.25)
        XCTAssert(crop.region(width: 320, height: 240) == (16, 30, 96, 180))
        let cropped = try FrameSampler.sample(video: media("counter.mp4"), options: .init(count: 3, faceCrop: crop))
        let whole = try FrameSampler.sample(video: media("counter.mp4"), options: .init(count: 3))
        for (c, w) in zip(cropped, whole) {
            XCTAssertEqual([c.width, c.height], [96, 180])
            let ci = try DecodedJPEG(c.jpeg), wi = try DecodedJPEG(w.jpeg)
            XCTAssertLessThan(ci.lumaSpread(), 3, "only the flat half is left")
            XCTAssertGreaterThan(wi.lumaSpread(), 20, "the whole frame has the test pattern too")
            XCTAssertEqual(try frameNumber(c.jpeg, x0: 0, x1: 1), c.index)
        }
    }

    func test_a_face_crop_at_the_edge_is_clamped_to_the_frame() throws {
        let crop = FaceCrop(box: FaceBox(x: 0.9, y: -0.1, w: 0.3, h: 0.4, origin: .dataset), margin: 0.5)
        let r = crop.region(width: 320, height: 240)
        XCTAssertEqual(r.x + r.width, 320)
        XCTAssertEqual(r.y, 0)
        XCTAssertEqual(r.x % 2, 0)
        let frames = try FrameSampler.sample(video: media("counter.mp4"), options: .init(count: 1, faceCrop: crop))
        XCTAssertEqual(frames.map { [$0.width, $0.height] }, [[r.width & ~1, r.height & ~1]])
    }

    // MARK: - Frame folders

    /// A folder `img1.jpg … imgN.jpg` holding frames 0…N-1 of `counter.mp4`.
    func counterFolder(_ n: Int) throws -> String {
        let dir = try temporaryDirectory().appendingPathComponent("frames")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        let reader = try VideoFrameReader(path: media("counter.mp4"))
        let encoder = try JPEGFrameEncoder(options: .init(), path: "")
        for i in 0..<n {
            let f = try XCTUnwrap(reader.frame(at: (Double(i) + 0.5) / 25))
            try encoder.encode(f).jpeg.write(to: dir.appendingPathComponent("img\(i + 1).jpg"))
        }
        return dir.path
    }

    func test_a_frame_folder_gives_the_images_under_the_segment_centres_in_natural_order() throws {
        let folder = try counterFolder(40)
        let frames = try FrameSampler.sample(frames: folder, fps: 25, options: .init(count: 8))
        // Centres of 8 segments of 40 images: 2.5, 7.5, … → images 2, 7, 12, …, 37.
        let expected = [2, 7, 12, 17, 22, 27, 32, 37]
        XCTAssertEqual(frames.map(\.index), expected)
        XCTAssertEqual(try frames.map { try frameNumber($0.jpeg) }, expected, "img10 comes after img9, not after img1")
        XCTAssertEqual(frames.map { $0.time ?? -1 }, expected.map { Double($0) / 25 })
    }

    func test_a_folder_with_fewer_images_than_asked_gives_them_all() throws {
        let folder = try counterFolder(5)
        let frames = try FrameSampler.sample(frames: folder, options: .init(count: 16))
        XCTAssertEqual(frames.map(\.index), [0, 1, 2, 3, 4])
        XCTAssertTrue(frames.allSatisfy { $0.time == nil }, "no rate, no time")
    }

    func test_png_and_jpeg_frames_are_read_and_reencoded() throws {
        let dir = try temporaryDirectory()
        try FileManager.default.copyItem(atPath: media("frame.png"), toPath: dir.appendingPathComponent("001.png").path)
        try FileManager.default.copyItem(atPath: media("frame.jpg"), toPath: dir.appendingPathComponent("002.jpg").path)
        try Data("not a frame".utf8).write(to: dir.appendingPathComponent("notes.txt"))
        let frames = try FrameSampler.sample(frames: dir.path)
        XCTAssertEqual(frames.map { [$0.index, $0.width, $0.height] }, [[0, 32, 24], [1, 32, 24]])
        XCTAssertTrue(frames.allSatisfy { $0.jpeg.starts(with: [0xFF, 0xD8]) })
    }

    func test_a_broken_image_in_a_folder_fails_naming_it() throws {
        let dir = try temporaryDirectory()
        try Data("garbage, not a jpeg".utf8).write(to: dir.appendingPathComponent("1.jpg"))
        let e = try XCTUnwrap(samplingError { () throws(FrameSamplingError) in try FrameSampler.sample(frames: dir.path) })
        XCTAssertEqual(e.path, dir.path)
        XCTAssertTrue(e.message.contains("1.jpg"), e.message)
    }

    // MARK: - Failures

    func test_a_truncated_video_fails_with_the_path_and_libavs_reason() throws {
        let dir = try temporaryDirectory()
        let data = try Data(contentsOf: URL(fileURLWithPath: media("counter.mp4")))
        let path = dir.appendingPathComponent("cut.mp4").path
        try data.prefix(data.count / 2).write(to: URL(fileURLWithPath: path))
        let e = try XCTUnwrap(samplingError { () throws(FrameSamplingError) in try FrameSampler.sample(video: path) })
        XCTAssertEqual(e.path, path)
        XCTAssertTrue(e.message.contains("moov atom not found"), e.message)
        XCTAssertTrue(e.description.hasPrefix(path))
    }

    func test_a_video_whose_pictures_are_garbage_fails_with_the_decoders_reason() throws {
        // The container is intact but every byte of picture data is noise.
        let dir = try temporaryDirectory()
        var data = try Data(contentsOf: URL(fileURLWithPath: media("video_only.mp4")))
        let mdat = try XCTUnwrap(data.range(of: Data("mdat".utf8)))
        let size = data[(mdat.lowerBound - 4)..<mdat.lowerBound].reduce(0) { $0 << 8 | Int($1) }
        for i in mdat.upperBound..<(mdat.lowerBound - 4 + size) { data[i] = UInt8(truncatingIfNeeded: i &* 37 &+ 11) }
        let path = dir.appendingPathComponent("noise.mp4").path
        try data.write(to: URL(fileURLWithPath: path))
        let e = try XCTUnwrap(samplingError { () throws(FrameSamplingError) in try FrameSampler.sample(video: path) })
        XCTAssertTrue(e.message.hasPrefix("no picture could be decoded (Invalid data found"), e.message)
    }

    func test_a_file_that_is_not_a_video_fails_and_the_next_clip_still_samples() throws {
        let dir = try temporaryDirectory()
        let path = dir.appendingPathComponent("notes.mp4").path
        try Data("just words\n".utf8).write(to: URL(fileURLWithPath: path))
        let e = try XCTUnwrap(samplingError { () throws(FrameSamplingError) in try FrameSampler.sample(video: path) })
        XCTAssertTrue(e.message.hasPrefix("cannot open"), e.message)
        XCTAssertEqual(try FrameSampler.sample(video: media("av.mp4")).count, 6)
    }

    func test_invalid_options_fail_before_opening_anything() throws {
        let e = try XCTUnwrap(samplingError { () throws(FrameSamplingError) in
            try FrameSampler.sample(video: "/nonexistent.mp4", options: .init(count: 0))
        })
        XCTAssertTrue(e.message.contains("frame count"), e.message)
    }

    // MARK: - Threads

    func test_many_threads_sampling_at_once_get_the_same_bytes_as_one_thread() throws {
        let names = ["counter.mp4", "av.mp4", "clip.avi", "square_av.mp4", "estimated.mkv"]
        let alone = try names.map { try FrameSampler.sample(video: media($0), options: .init(count: 8)) }
        let runs = 20
        let paths = (0..<runs).map { media(names[$0 % names.count]) }
        nonisolated(unsafe) var together = [[SampledFrame]?](repeating: nil, count: runs)
        DispatchQueue.concurrentPerform(iterations: runs) { i in
            together[i] = try? FrameSampler.sample(video: paths[i], options: .init(count: 8))
        }
        for i in 0..<runs { XCTAssertEqual(together[i], alone[i % names.count], names[i % names.count]) }
    }
}

/// A JPEG decoded with libavcodec's MJPEG decoder, to check what the sampler wrote.
struct DecodedJPEG {
    var width: Int
    var height: Int
    var luma: [UInt8]

    struct Failure: Error { var message: String }

    init(_ jpeg: Data) throws {
        guard let codec = avcodec_find_decoder(AV_CODEC_ID_MJPEG) else { throw Failure(message: "no MJPEG decoder") }
        var ctx = avcodec_alloc_context3(codec)
        defer { avcodec_free_context(&ctx) }
        guard avcodec_open2(ctx, codec, nil) >= 0 else { throw Failure(message: "cannot open the decoder") }
        var pkt = av_packet_alloc()
        defer { av_packet_free(&pkt) }
        av_new_packet(pkt, Int32(jpeg.count))
        jpeg.withUnsafeBytes { _ = memcpy(pkt!.pointee.data, $0.baseAddress!, jpeg.count) }
        var frame = av_frame_alloc()
        defer { av_frame_free(&frame) }
        guard avcodec_send_packet(ctx, pkt) >= 0, avcodec_receive_frame(ctx, frame) >= 0, let f = frame else {
            throw Failure(message: "not a decodable JPEG")
        }
        let w = Int(f.pointee.width), h = Int(f.pointee.height)
        let stride = Int(f.pointee.linesize.0)
        let y = f.pointee.data.0!
        width = w
        height = h
        luma = (0..<h).flatMap { row in (0..<w).map { y[row * stride + $0] } }
    }

    /// The mean luma over a rectangle given as fractions of the picture.
    func meanLuma(x0: Double, x1: Double, y0: Double, y1: Double) -> Double {
        let xs = Int(x0 * Double(width))..<max(Int(x0 * Double(width)) + 1, Int(x1 * Double(width)))
        let ys = Int(y0 * Double(height))..<max(Int(y0 * Double(height)) + 1, Int(y1 * Double(height)))
        var sum = 0
        for r in ys { for c in xs { sum += Int(luma[r * width + c]) } }
        return Double(sum) / Double(xs.count * ys.count)
    }

    /// The standard deviation of the luma over the whole picture.
    func lumaSpread() -> Double {
        let mean = Double(luma.reduce(0) { $0 + Int($1) }) / Double(luma.count)
        let v = luma.reduce(0.0) { $0 + (Double($1) - mean) * (Double($1) - mean) } / Double(luma.count)
        return v.squareRoot()
    }
}
