import CFFmpeg
import Foundation

/// How frames are picked, sized and encoded for a vision model.
public struct FrameSamplingOptions: Sendable, Equatable {
    /// How many frames to take from a clip (fewer when the clip has fewer distinct frames).
    public var count: Int
    /// The most pixels (width × height) one frame may have; larger frames are scaled down, aspect kept.
    public var pixelBudget: Int
    /// The JPEG quantiser scale, as ffmpeg's `-q:v`: 2 is the best quality, 31 the smallest file.
    public var jpegQScale: Int
    /// Cut the frame around the face first, when set.
    public var faceCrop: FaceCrop?
    /// Threads one video's decoder may use; 0 lets libavcodec choose (cores + 1). Nil, the
    /// default, picks by workload when the video is opened: see `FrameSampler.decoderThreads(videosInFlight:cores:)`.
    public var decoderThreads: Int?

    public init(
        count: Int = 16, pixelBudget: Int = 100_352, jpegQScale: Int = 3, faceCrop: FaceCrop? = nil,
        decoderThreads: Int? = nil
    ) {
        self.count = count
        self.pixelBudget = pixelBudget
        self.jpegQScale = jpegQScale
        self.faceCrop = faceCrop
        self.decoderThreads = decoderThreads
    }
}

/// A face box and how much of its surroundings to keep when a frame is cut around the face.
public struct FaceCrop: Sendable, Equatable {
    public var box: FaceBox
    /// Added on each side, as a fraction of the box's own width (left, right) and height (top,
    /// bottom): 0.25 keeps a region 1.5 times the box in each direction.
    public var margin: Double

    public init(box: FaceBox, margin: Double = 0.25) {
        self.box = box
        self.margin = margin
    }

    /// The region to keep in a `width` × `height` frame, in pixels: the box grown by the margin and
    /// cut to the frame. The left and top edges are even so that 4:2:0 chroma planes stay aligned.
    public func region(width: Int, height: Int) -> (x: Int, y: Int, width: Int, height: Int) {
        let W = Double(width), H = Double(height)
        let mx = box.w * margin, my = box.h * margin
        // The tolerance keeps 0.05 × 320 at 16 when binary fractions make it 15.999….
        func down(_ v: Double) -> Int { Int((v + 1e-9).rounded(.down)) }
        func up(_ v: Double) -> Int { Int((v - 1e-9).rounded(.up)) }
        var x0 = down((box.x - mx) * W), y0 = down((box.y - my) * H)
        var x1 = up((box.x + box.w + mx) * W), y1 = up((box.y + box.h + my) * H)
        x0 = min(max(x0, 0), width) & ~1
        y0 = min(max(y0, 0), height) & ~1
        x1 = min(max(x1, x0 + 2), width)
        y1 = min(max(y1, y0 + 2), height)
        // A box squeezed against the right or bottom edge still keeps two pixels.
        if x1 - x0 < 2 { x0 = max(0, x1 - 2) & ~1 }
        if y1 - y0 < 2 { y0 = max(0, y1 - 2) & ~1 }
        return (x0, y0, x1 - x0, y1 - y0)
    }
}

/// One frame taken from a clip, encoded as JPEG.
public struct SampledFrame: Sendable, Equatable {
    /// The frame's number in the clip: for a video, its time × the stream's frame rate, rounded;
    /// for a frame folder, the image's position in natural order (both from 0).
    public var index: Int
    /// Seconds from the start of the video (the first frame is at 0), also for time windows. For a
    /// frame folder, index / fps when the rate was given, otherwise nil.
    public var time: Double?
    /// The JPEG's size in pixels.
    public var width: Int
    public var height: Int
    /// The JPEG file's bytes (`FF D8 …`).
    public var jpeg: Data

    public init(index: Int, time: Double?, width: Int, height: Int, jpeg: Data) {
        self.index = index
        self.time = time
        self.width = width
        self.height = height
        self.jpeg = jpeg
    }
}

/// A clip whose frames could not be read or encoded, with libav's reason.
public struct FrameSamplingError: Error, CustomStringConvertible, Equatable, Sendable {
    public var path: String
    public var message: String

    public init(path: String, message: String) {
        self.path = path
        self.message = message
    }

    public var description: String { "\(path): \(message)" }
}

/// Takes N frames spread uniformly over a clip and turns them into JPEGs small enough for a vision
/// model, in-process with libavformat, libavcodec and libswscale (no ffmpeg process, no temp files).
///
/// Frames are spread by taking the centre of N equal segments of the span: target i is at
/// `start + (i + 0.5) × length / N`. Centres never land on the very first or last instant, where
/// clips often hold a fade or a cut, and they space the frames evenly including the edges. The frame
/// taken for a target is the one on screen at that instant (the last frame starting at or before
/// it). Two targets that fall on the same frame give one frame, so a clip with fewer frames than N
/// gives all of its frames.
///
/// Safe to call from many threads at once; each call has its own decoder and encoder.
public enum FrameSampler {
    /// N frames spread uniformly over `[window.start, window.end)` of the video at `path`, or over
    /// the whole video when `window` is nil. Window times count from the video's first frame; a
    /// window running past the end is cut at the end.
    public static func sample(
        video path: String, window: TimeWindow? = nil, options: FrameSamplingOptions = .init()
    ) throws(FrameSamplingError) -> [SampledFrame] {
        try check(options, path: path)
        if options.decoderThreads == nil, let frames = try sampleByGroups(video: path, window: window, options: options) { return frames }
        let encoder = try JPEGFrameEncoder(options: options, path: path)
        var out: [SampledFrame] = []
        try visit(video: path, window: window, count: options.count, decoderThreads: options.decoderThreads) { frame, index, time throws(FrameSamplingError) in
            let (w, h, jpeg) = try encoder.encode(frame)
            out.append(SampledFrame(index: index, time: time, width: w, height: h, jpeg: jpeg))
        }
        return out
    }

    /// N frames spread uniformly over the readable images of the folder at `path` (only those
    /// numbered in `range` when given), in natural order (as `FrameFolder.readableFrames` gives
    /// them); all of them when there are fewer than N. `fps` is the
    /// dataset's frame rate, which images do not carry; it only sets `SampledFrame.time`.
    public static func sample(
        frames path: String, fps: Double? = nil, range: FrameRange? = nil, options: FrameSamplingOptions = .init()
    ) throws(FrameSamplingError) -> [SampledFrame] {
        try check(options, path: path)
        let encoder = try JPEGFrameEncoder(options: options, path: path)
        var out: [SampledFrame] = []
        try visit(frames: path, fps: fps, range: range, count: options.count) { frame, index, time throws(FrameSamplingError) in
            let (w, h, jpeg) = try encoder.encode(frame)
            out.append(SampledFrame(index: index, time: time, width: w, height: h, jpeg: jpeg))
        }
        return out
    }

    /// The decoded frames `sample(frames:…)` takes, handed to `body` one at a time with their index
    /// and time (the frame is valid only during the call): for callers that want pixels, not JPEGs.
    public static func visit(
        frames path: String, fps: Double? = nil, range: FrameRange? = nil, count: Int,
        _ body: (UnsafeMutablePointer<AVFrame>, _ index: Int, _ time: Double?) throws(FrameSamplingError) -> Void
    ) throws(FrameSamplingError) {
        let names: [String]
        do { names = try FrameFolder.readableFrames(in: path, range: range) } catch {
            throw FrameSamplingError(path: path, message: error.message)
        }
        for i in pickedIndices(of: names.count, count: count) {
            let file = path + "/" + names[i]
            // An image is a one-frame video to libavformat's image2 demuxer.
            let reader: VideoFrameReader
            do { reader = try VideoFrameReader(path: file, decoderThreads: 1) } catch {
                throw FrameSamplingError(path: path, message: "frame \(names[i]): \(error.message)")
            }
            let frame: UnsafeMutablePointer<AVFrame>?
            do { frame = try reader.frame(at: 0) } catch {
                throw FrameSamplingError(path: path, message: "frame \(names[i]): \(error.message)")
            }
            guard let frame else {
                throw FrameSamplingError(path: path, message: "frame \(names[i]): no picture could be decoded\(reader.reasonSuffix)")
            }
            try body(frame, i, fps.flatMap { $0 > 0 ? Double(i) / $0 : nil })
        }
    }

    /// The size a `width` × `height` picture is scaled to so that it fits `pixelBudget`: the aspect
    /// kept, both sides even (as 4:2:0 JPEG wants) and at least 2, never larger than the picture
    /// otherwise. Callers can size requests (image tokens) from it without decoding anything.
    public static func fittedSize(width: Int, height: Int, pixelBudget: Int) -> (width: Int, height: Int) {
        func even(_ v: Int) -> Int { max(2, v & ~1) }
        guard width > 0, height > 0 else { return (2, 2) }
        if width * height <= pixelBudget { return (even(width), even(height)) }
        let s = (Double(pixelBudget) / Double(width * height)).squareRoot()
        var w = even(Int(Double(width) * s)), h = even(Int(Double(height) * s))
        // Floating-point rounding can leave the product a hair over the budget.
        while w * h > pixelBudget && (w > 2 || h > 2) {
            if Double(w) / Double(width) >= Double(h) / Double(height) { w = even(w - 2) } else { h = even(h - 2) }
        }
        return (w, h)
    }

    /// The centres of `count` equal segments of `[start, end)`.
    public static func targetTimes(start: Double, end: Double, count: Int) -> [Double] {
        let step = (end - start) / Double(count)
        return (0..<count).map { start + (Double($0) + 0.5) * step }
    }

    /// Which of `total` images to take for `count` frames: the image under the centre of each of
    /// `count` equal segments, or every image when there are no more than `count`.
    static func pickedIndices(of total: Int, count: Int) -> [Int] {
        guard total > count else { return Array(0..<total) }
        return (0..<count).map { min(total - 1, Int((Double($0) + 0.5) * Double(total) / Double(count))) }
    }

    private static func check(_ options: FrameSamplingOptions, path: String) throws(FrameSamplingError) {
        guard options.count >= 1 else { throw FrameSamplingError(path: path, message: "frame count must be at least 1, got \(options.count)") }
        guard options.pixelBudget >= 4 else { throw FrameSamplingError(path: path, message: "pixel budget must be at least 4, got \(options.pixelBudget)") }
        guard (1...31).contains(options.jpegQScale) else {
            throw FrameSamplingError(path: path, message: "JPEG q scale must be in 1...31, got \(options.jpegQScale)")
        }
        if let threads = options.decoderThreads, threads < 0 {
            throw FrameSamplingError(path: path, message: "decoder threads must be 0 (libavcodec chooses) or more, got \(threads)")
        }
    }

    /// The decoded frames `sample(video:…)` takes, handed to `body` one at a time with their index
    /// and time (the frame is valid only during the call): for callers that want pixels, not JPEGs.
    /// `decoderThreads` nil picks by workload (`decoderThreads(videosInFlight:cores:)`).
    public static func visit(
        video path: String, window: TimeWindow? = nil, count: Int, decoderThreads: Int? = nil,
        _ body: (UnsafeMutablePointer<AVFrame>, _ index: Int, _ time: Double?) throws(FrameSamplingError) -> Void
    ) throws(FrameSamplingError) {
        guard count >= 1 else { throw FrameSamplingError(path: path, message: "frame count must be at least 1, got \(count)") }
        // Counted from before the decoder opens until the last frame is handed over, whatever
        // the thread count, so that videos opened meanwhile see this one.
        let inFlight = VideosInFlight.shared.enter()
        defer { VideosInFlight.shared.leave() }
        let threads = decoderThreads ?? Self.decoderThreads(videosInFlight: inFlight)
        let reader = try VideoFrameReader(path: path, decoderThreads: Int32(clamping: threads))
        let (start, end) = try span(of: window, length: try reader.duration(), path: path)
        var taken = 0
        var lastTime: Double? = nil
        let targets = targetTimes(start: start, end: end, count: count)
        for (i, t) in targets.enumerated() {
            let next = i + 1 < targets.count ? targets[i + 1] : nil
            guard var frame = try reader.frame(at: t, notBefore: start, next: next) else { break }
            var time = reader.seconds(of: frame)
            if time >= end {
                guard taken == 0 else { break }
                // No frame starts inside a window shorter than a frame: take the one on screen.
                guard let onScreen = try reader.frame(at: start) else { break }
                frame = onScreen
                time = reader.seconds(of: frame)
            }
            // Two targets on one frame (a clip with fewer frames than N) give that frame once.
            if let lastTime, time <= lastTime { continue }
            lastTime = time
            try body(frame, index(of: time, fps: reader.fps, taken: taken), time)
            taken += 1
        }
        guard taken > 0 else {
            throw FrameSamplingError(path: path, message: "no picture could be decoded\(reader.reasonSuffix)")
        }
    }

    /// The span sampled of a video `length` seconds long: the window cut to the video, or the whole.
    static func span(of window: TimeWindow?, length: Double, path: String) throws(FrameSamplingError) -> (start: Double, end: Double) {
        guard let window else { return (0, length) }
        guard window.end > window.start else {
            throw FrameSamplingError(path: path, message: "empty time window \(window.start)–\(window.end) s")
        }
        guard window.start < length else {
            throw FrameSamplingError(path: path, message: String(format: "time window starts at %.3f s, after the end of the video (%.3f s)", window.start, length))
        }
        return (max(0, window.start), min(window.end, length))
    }

    /// A taken frame's number: its time × the frame rate, rounded; without a rate, how many were taken before it.
    static func index(of time: Double, fps: Double?, taken: Int) -> Int {
        fps.map { Int((time * $0).rounded()) } ?? taken
    }
}

extension FrameSampler {
    /// How much sooner libavcodec's frame threading finishes one clip on two idle cores than one
    /// thread (`emocfg-bench sample`: 1.24–1.36×). Splitting a clip among decoders must beat it.
    static let frameThreadingGain = 1.3

    /// One clip on idle cores, decoded by several single-threaded decoders at once, each from its
    /// own keyframe (a group of pictures needs nothing before its keyframe): `sample(video:)`
    /// when the workload rule gives the clip two or more threads and the clip's keyframes let its
    /// targets be shared out so that the longest share is shorter than frame threading would make
    /// the whole (`shares(targets:keyframes:ways:)`). Each decoder takes a run of consecutive
    /// targets and behaves as the one decoder would from there, so the frames are the same
    /// (exact decoding; a decoder starting at a keyframe is what a seek does anyway). Nil when it
    /// does not pay, or when the clip needs the one decoder's edge cases (no frame at all).
    static func sampleByGroups(video path: String, window: TimeWindow?, options: FrameSamplingOptions) throws(FrameSamplingError) -> [SampledFrame]? {
        let inFlight = VideosInFlight.shared.enter()
        defer { VideosInFlight.shared.leave() }
        let ways = decoderThreads(videosInFlight: inFlight)
        guard ways >= 2 else { return nil }
        return try sampleByGroups(video: path, window: window, options: options, ways: ways)
    }

    /// `sampleByGroups(video:window:options:)` with up to `ways` decoders.
    static func sampleByGroups(video path: String, window: TimeWindow?, options: FrameSamplingOptions, ways: Int) throws(FrameSamplingError) -> [SampledFrame]? {
        var counted = 0
        defer { for _ in 0..<counted { VideosInFlight.shared.leave() } }
        let first = try VideoFrameReader(path: path, decoderThreads: 1)
        let (start, end) = try span(of: window, length: try first.duration(), path: path)
        let targets = targetTimes(start: start, end: end, count: options.count)
        guard let shares = Self.shares(targets: targets, keyframes: first.keyframeTimes(), ways: ways), shares.count > 1 else { return nil }
        // The other decoders count as videos in flight too, so that a clip opened meanwhile shares the cores with them.
        for _ in 1..<shares.count { _ = VideosInFlight.shared.enter() }
        counted = shares.count - 1

        /// What one decoder took: (time, JPEG) of its targets in order, and whether the run ended
        /// there (no frame, or a frame past the window's end): the one decoder would stop.
        struct Share { var frames: [(time: Double, width: Int, height: Int, jpeg: Data)] = []; var stopped = false }
        nonisolated(unsafe) var results = [Result<Share, FrameSamplingError>](repeating: .success(Share()), count: shares.count)
        nonisolated(unsafe) let firstReader = first
        DispatchQueue.concurrentPerform(iterations: shares.count) { k in
            results[k] = Result { () throws(FrameSamplingError) -> Share in
                let reader = k == 0 ? firstReader : try VideoFrameReader(path: path, decoderThreads: 1)
                let encoder = try JPEGFrameEncoder(options: options, path: path)
                var share = Share()
                var lastTime: Double?
                for i in shares[k] {
                    let next = i + 1 < targets.count ? targets[i + 1] : nil
                    guard let frame = try reader.frame(at: targets[i], notBefore: start, next: next) else { share.stopped = true; break }
                    let time = reader.seconds(of: frame)
                    if time >= end { share.stopped = true; break }
                    if let lastTime, time <= lastTime { continue }
                    lastTime = time
                    let (w, h, jpeg) = try encoder.encode(frame)
                    share.frames.append((time, w, h, jpeg))
                }
                return share
            }
        }
        var out: [SampledFrame] = []
        var lastTime: Double?
        for r in results {
            let share = try r.get()
            for f in share.frames {
                if let lastTime, f.time <= lastTime { continue }
                lastTime = f.time
                out.append(SampledFrame(index: index(of: f.time, fps: first.fps, taken: out.count), time: f.time,
                                        width: f.width, height: f.height, jpeg: f.jpeg))
            }
            if share.stopped { break }
        }
        // Nothing at all (a window shorter than a frame, an undecodable file): the one decoder's rules and messages.
        return out.isEmpty ? nil : out
    }

    /// Runs of consecutive targets for up to `ways` decoders, each starting at the keyframe before
    /// its first target: the split whose longest run (in seconds decoded, counting a seek to a
    /// keyframe past the previous target as the one decoder does) is shortest. Nil when that run
    /// is not shorter than the whole divided by `frameThreadingGain` (one decoder with frame
    /// threads is then as quick, with one file open), or without keyframes to start from.
    static func shares(targets: [Double], keyframes: [Double], ways: Int) -> [Range<Int>]? {
        let n = targets.count
        guard ways >= 2, n >= 2, keyframes.count >= 2 else { return nil }
        func keyframe(before t: Double) -> Double {
            var lo = 0, hi = keyframes.count  // the last keyframe at or before t
            while lo < hi { let mid = (lo + hi) / 2; if keyframes[mid] <= t { lo = mid + 1 } else { hi = mid } }
            return lo == 0 ? 0 : keyframes[lo - 1]
        }
        let kf = targets.map(keyframe(before:))
        // Seconds decoded for target i after target i - 1 in the same run, and as a run's first.
        let onward = (0..<n).map { i in i == 0 ? targets[0] - kf[0] : targets[i] - max(targets[i - 1], kf[i]) }
        let fresh = (0..<n).map { targets[$0] - kf[$0] }
        func cost(_ r: Range<Int>) -> Double { fresh[r.lowerBound] + onward[(r.lowerBound + 1)..<r.upperBound].reduce(0, +) }
        let whole = cost(0..<n)
        // best[k][j]: the smallest longest run splitting targets 0..<j into k runs, and where the last one starts.
        let k = min(ways, n)
        var best = [[(cost: Double, from: Int)]](repeating: [(Double, Int)](repeating: (.infinity, 0), count: n + 1), count: k + 1)
        best[0][0] = (0, 0)
        for runs in 1...k {
            for j in runs...n {
                for i in (runs - 1)..<j where best[runs - 1][i].cost.isFinite {
                    let c = max(best[runs - 1][i].cost, cost(i..<j))
                    if c < best[runs][j].cost { best[runs][j] = (c, i) }
                }
            }
        }
        guard let runs = (2...k).min(by: { best[$0][n].cost < best[$1][n].cost }),
              best[runs][n].cost * frameThreadingGain < whole else { return nil }
        var out: [Range<Int>] = []
        var j = n
        for r in stride(from: runs, to: 0, by: -1) {
            let i = best[r][j].from
            out.append(i..<j)
            j = i
        }
        return out.reversed()
    }

    /// The decoder threads a video gets when its caller leaves the choice to the sampler: the
    /// cores shared out among the videos being decoded in this process at the moment it is opened
    /// (itself included), at least one. One video alone gets every core (libavcodec's frame
    /// threading); as many videos as cores, or more, get one thread each.
    ///
    /// Why: frame threading can make one clip finish sooner on idle cores, but it costs CPU (8–15%
    /// more measured here: a pipeline to refill after every seek, frames decoded ahead of the
    /// target, threads that wait on each other's reference rows), so when every core already
    /// decodes its own clip, one thread per decoder does the same clips with less work. On a
    /// machine busy with other jobs, more threads take a larger share of it instead and can finish
    /// sooner; `emocfg-bench sample` measures both workloads with both choices.
    ///
    /// The count is taken once, when the decoder opens (libavcodec cannot change it later): a clip
    /// that started alone keeps its threads when others start, and the last clips of a batch keep
    /// the one thread they started with. Clips are short, so neither lasts long. Callers that know
    /// better pass `decoderThreads` (face search passes 1: it runs one clip per core itself).
    public static func decoderThreads(
        videosInFlight: Int, cores: Int = ProcessInfo.processInfo.activeProcessorCount
    ) -> Int {
        max(1, max(1, cores) / max(1, videosInFlight))
    }

    /// The frames of a stored clip, whatever its media (video, window, frame folder), as the
    /// pipeline's frame settings ask: what the caption stage and the judges see.
    public static func sample(clip: StoredClip, root: String, settings: FrameSettings) throws(FrameSamplingError) -> [SampledFrame] {
        let path = root + "/" + clip.record.path
        var options = FrameSamplingOptions(count: settings.count, pixelBudget: settings.pixelBudget, jpegQScale: settings.jpegQuality)
        if settings.faceCrop, let face = clip.face { options.faceCrop = FaceCrop(box: face, margin: settings.margin) }
        switch clip.record.kind {
        case .frames:
            return try sample(frames: path, fps: clip.record.frameRate, range: clip.record.frameRange, options: options)
        case .video, .window:
            return try sample(video: path, window: clip.record.window, options: options)
        }
    }
}

/// How many videos `FrameSampler` is decoding in this process right now (all callers, whatever
/// their thread count): what `FrameSampler.decoderThreads(videosInFlight:cores:)` shares the cores by.
final class VideosInFlight: @unchecked Sendable {
    static let shared = VideosInFlight()
    private let lock = NSLock()
    private var count = 0

    /// Counts one more video and returns the count, this one included.
    func enter() -> Int {
        lock.lock()
        defer { lock.unlock() }
        count += 1
        return count
    }

    func leave() {
        lock.lock()
        count -= 1
        lock.unlock()
    }
}
