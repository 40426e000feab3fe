import CFFmpeg
import Foundation

/// How a clip is searched for faces.
public struct FaceSearchOptions: Sendable, Equatable, Codable {
    /// Frames decoded per clip, spread over the clip or window as the frame sampler spreads them.
    public var frames: Int
    /// The smallest face, in pixels of the clip's own frames, the search should find. Frames are
    /// upsampled for the detector when it needs larger faces than this (dlib needs about 80 px).
    public var minFace: Int
    /// The most pixels a searched picture may have (frames larger than this, or upsampled beyond it,
    /// are scaled to fit): bounds the time per frame on 1080p and 4K video, where the smallest face
    /// found is then larger than `minFace`.
    public var maxSearchPixels: Int

    public init(frames: Int = 3, minFace: Int = 40, maxSearchPixels: Int = 2560 * 1440) {
        self.frames = frames
        self.minFace = minFace
        self.maxSearchPixels = maxSearchPixels
    }

    /// The settings part of the cache key: a search made with other settings is made again.
    public var cacheKey: String { "frames=\(frames) min_face=\(minFace) max_pixels=\(maxSearchPixels)" }
}

/// What searching one clip found.
public struct FaceSearchResult: Sendable, Equatable, Codable {
    /// The main face's median box over the frames it was seen in, normalised, origin
    /// `detector:<identity>`; nil when no face was found.
    public var box: FaceBox?
    /// The most faces seen in one frame (0 when none was found).
    public var facesSeen: Int
    /// Frames decoded and searched.
    public var framesSearched: Int
    /// Frames in which the main face was seen.
    public var framesWithFace: Int
    /// The detector's identity (`dlib-hog-19.24`).
    public var detector: String

    public init(box: FaceBox?, facesSeen: Int, framesSearched: Int, framesWithFace: Int, detector: String) {
        self.box = box
        self.facesSeen = facesSeen
        self.framesSearched = framesSearched
        self.framesWithFace = framesWithFace
        self.detector = detector
    }
}

/// Searches a clip's frames for faces and picks the main one.
///
/// Per frame, the search runs first at the frame's own size (scaled down only past
/// `maxSearchPixels`), which finds faces of the detector's smallest size (80 px for dlib) and up.
/// Only when that finds nothing is the frame searched again upsampled, by as much as makes
/// `minFace` reach the detector's smallest size (2× for 40 px), within `maxSearchPixels`. Most
/// frames of emotion datasets hold a face well above 80 px, so they cost one search at native size;
/// the price is that a frame with a large face does not count the smaller faces beside it in
/// `facesSeen`.
///
/// The main face is the one that is largest and most stable across frames: detections of
/// consecutive frames are linked into tracks (IoU ≥ 0.3), and the track with the highest
/// (frames seen / frames searched) × median area wins; its box is the per-edge median.
public enum FaceSearch {
    /// Frames that are upsampled less than this are not searched again.
    static let minimumUpsample = 1.15

    public static func search(
        clip: StoredClip, root: String, options: FaceSearchOptions, detector: any FaceDetecting
    ) throws(FrameSamplingError) -> FaceSearchResult {
        let path = root + "/" + clip.record.path
        let scaler = GrayFrameScaler(path: path)
        var perFrame: [[NormalizedBox]] = []
        func searchFrame(_ frame: UnsafeMutablePointer<AVFrame>) throws(FrameSamplingError) {
            perFrame.append(try search(frame: frame, scaler: scaler, options: options, detector: detector, path: path))
        }
        switch clip.record.kind {
        case .frames:
            try FrameSampler.visit(frames: path, fps: clip.record.frameRate, range: clip.record.frameRange, count: options.frames) {
                frame, _, _ throws(FrameSamplingError) in try searchFrame(frame)
            }
        case .video, .window:
            try FrameSampler.visit(video: path, window: clip.record.window, count: options.frames, decoderThreads: 1) {
                frame, _, _ throws(FrameSamplingError) in try searchFrame(frame)
            }
        }
        return result(frames: perFrame, detector: detector.identity)
    }

    /// The faces of one decoded frame, normalised to the frame.
    static func search(
        frame: UnsafeMutablePointer<AVFrame>, scaler: GrayFrameScaler, options: FaceSearchOptions,
        detector: any FaceDetecting, path: String
    ) throws(FrameSamplingError) -> [NormalizedBox] {
        let w = Int(frame.pointee.width), h = Int(frame.pointee.height)
        guard w > 0, h > 0 else { return [] }
        let fit = (Double(options.maxSearchPixels) / Double(w * h)).squareRoot()
        let native = min(1.0, fit)
        let upsampled = min(Double(detector.smallestFace) / Double(max(1, options.minFace)), fit)
        var scales = [native]
        if upsampled >= native * minimumUpsample { scales.append(upsampled) }
        for scale in scales {
            let sw = max(1, Int((Double(w) * scale).rounded())), sh = max(1, Int((Double(h) * scale).rounded()))
            let faces = try scaler.withGray(frame, width: sw, height: sh) { (pixels, stride) throws(FrameSamplingError) in
                do { return try detector.detect(gray: pixels, width: sw, height: sh, stride: stride) } catch {
                    throw FrameSamplingError(path: path, message: "\(error)")
                }
            }
            if !faces.isEmpty {
                return faces.map {
                    NormalizedBox(
                        x0: Double($0.left) / Double(sw), y0: Double($0.top) / Double(sh),
                        x1: Double($0.right + 1) / Double(sw), y1: Double($0.bottom + 1) / Double(sh))
                }
            }
        }
        return []
    }

    /// A box as fractions of the frame, by its edges (unclamped: dlib's boxes may reach past the edge).
    struct NormalizedBox: Equatable {
        var x0, y0, x1, y1: Double
        var area: Double { max(0, x1 - x0) * max(0, y1 - y0) }

        func iou(_ o: NormalizedBox) -> Double {
            let iw = max(0, min(x1, o.x1) - max(x0, o.x0)), ih = max(0, min(y1, o.y1) - max(y0, o.y0))
            let inter = iw * ih
            let union = area + o.area - inter
            return union > 0 ? inter / union : 0
        }
    }

    /// The main face of per-frame detections (see the type's comment), and the counts.
    static func result(frames: [[NormalizedBox]], detector: String) -> FaceSearchResult {
        // Tracks: each detection joins the track it overlaps most (IoU ≥ 0.3) that has nothing yet
        // in this frame, else starts one.
        var tracks: [[NormalizedBox]] = []
        var lastFrame: [Int] = []
        for (f, boxes) in frames.enumerated() {
            for box in boxes.sorted(by: { $0.area > $1.area }) {
                var best: (track: Int, iou: Double)?
                for t in tracks.indices where lastFrame[t] < f {
                    let iou = tracks[t].last!.iou(box)
                    if iou >= 0.3, iou > (best?.iou ?? 0) { best = (t, iou) }
                }
                if let best {
                    tracks[best.track].append(box)
                    lastFrame[best.track] = f
                } else {
                    tracks.append([box])
                    lastFrame.append(f)
                }
            }
        }
        let searched = frames.count
        let facesSeen = frames.map(\.count).max() ?? 0
        func median(_ values: [Double]) -> Double {
            let s = values.sorted()
            return s.count % 2 == 1 ? s[s.count / 2] : (s[s.count / 2 - 1] + s[s.count / 2]) / 2
        }
        let scored = tracks.map { track -> (box: NormalizedBox, seen: Int, score: Double) in
            let box = NormalizedBox(x0: median(track.map(\.x0)), y0: median(track.map(\.y0)),
                                    x1: median(track.map(\.x1)), y1: median(track.map(\.y1)))
            return (box, track.count, Double(track.count) / Double(max(1, searched)) * box.area)
        }
        guard let main = scored.max(by: { ($0.score, $0.box.area) < ($1.score, $1.box.area) }) else {
            return FaceSearchResult(box: nil, facesSeen: 0, framesSearched: searched, framesWithFace: 0, detector: detector)
        }
        let b = main.box
        let box = FaceBox(x: b.x0, y: b.y0, w: b.x1 - b.x0, h: b.y1 - b.y0, origin: .detector(detector)).clamped()
        return FaceSearchResult(box: box, facesSeen: facesSeen, framesSearched: searched, framesWithFace: main.seen, detector: detector)
    }
}

/// Converts decoded frames to 8-bit grayscale of a chosen size with libswscale, keeping its scaler
/// and buffer between frames. One scaler belongs to one thread.
final class GrayFrameScaler {
    private let path: String
    private var scaler: OpaquePointer?
    private var buffer: [UInt8] = []

    init(path: String) { self.path = path }

    deinit { sws_freeContext(scaler) }

    /// Calls `body` with the frame as a `width` × `height` grayscale picture (rows `stride` bytes apart).
    func withGray<T>(
        _ frame: UnsafeMutablePointer<AVFrame>, width: Int, height: Int,
        _ body: (UnsafePointer<UInt8>, Int) throws(FrameSamplingError) -> T
    ) throws(FrameSamplingError) -> T {
        let sourceFormat = AVPixelFormat(rawValue: frame.pointee.format)
        let flags = width * height > Int(frame.pointee.width) * Int(frame.pointee.height) ? SWS_BILINEAR : SWS_AREA
        scaler = sws_getCachedContext(
            scaler, frame.pointee.width, frame.pointee.height, sourceFormat,
            Int32(width), Int32(height), AV_PIX_FMT_GRAY8, flags, nil, nil, nil)
        guard let scaler else {
            let name = av_get_pix_fmt_name(sourceFormat).map { String(cString: $0) } ?? "\(frame.pointee.format)"
            throw FrameSamplingError(path: path, message: "cannot convert \(name) \(frame.pointee.width)x\(frame.pointee.height) pictures to grayscale")
        }
        // Rows padded to 64 bytes, as libswscale's SIMD writers like.
        let stride = (width + 63) & ~63
        if buffer.count < stride * height { buffer = [UInt8](repeating: 0, count: stride * height) }
        let rows = buffer.withUnsafeMutableBufferPointer { out -> Int32 in
            var dst: [UnsafeMutablePointer<UInt8>?] = [out.baseAddress, nil, nil, nil]
            var dstStride: [Int32] = [Int32(stride), 0, 0, 0]
            let src: [UnsafePointer<UInt8>?] = [
                UnsafePointer(frame.pointee.data.0), UnsafePointer(frame.pointee.data.1),
                UnsafePointer(frame.pointee.data.2), UnsafePointer(frame.pointee.data.3),
            ]
            let srcStride: [Int32] = [
                frame.pointee.linesize.0, frame.pointee.linesize.1, frame.pointee.linesize.2, frame.pointee.linesize.3,
            ]
            return sws_scale(scaler, src, srcStride, 0, frame.pointee.height, &dst, &dstStride)
        }
        guard rows > 0 else {
            throw FrameSamplingError(path: path, message: MediaProbe.failureMessage(rows < 0 ? rows : -1, doing: "cannot convert the frame to grayscale"))
        }
        return try buffer.withUnsafeBufferPointer { p throws(FrameSamplingError) in try body(p.baseAddress!, stride) }
    }
}
