import CFFmpeg
import Foundation

/// What libavformat says about one video file.
public struct ProbeResult: Codable, Sendable, Equatable {
    public var duration: Double?
    public var width: Int?
    public var height: Int?
    public var fps: Double?
    public var frameCount: Int?
    /// `true` when the container states the frame count; `false` when it is duration × fps.
    public var frameCountExact: Bool
    public var codec: String?
    public var hasAudio: Bool
    /// The container format's short name (`mov,mp4,m4a,3gp,3g2,mj2`, `avi`, …).
    public var container: String?

    public init(
        duration: Double? = nil, width: Int? = nil, height: Int? = nil, fps: Double? = nil,
        frameCount: Int? = nil, frameCountExact: Bool = false, codec: String? = nil,
        hasAudio: Bool = false, container: String? = nil
    ) {
        self.duration = duration
        self.width = width
        self.height = height
        self.fps = fps
        self.frameCount = frameCount
        self.frameCountExact = frameCountExact
        self.codec = codec
        self.hasAudio = hasAudio
        self.container = container
    }
}

/// A video libavformat could not open or read, with libavformat's own message.
public struct ProbeError: Error, CustomStringConvertible, Equatable, Sendable {
    public var path: String
    public var message: String
    public var description: String { "\(path): \(message)" }
}

/// Reads duration, size, frame rate, frame count, codec and audio presence in-process with
/// libavformat. Never starts a subprocess. Safe to call from many threads at once.
public enum MediaProbe {
    private static let setUp: Void = { LibavLog.install() }()

    /// Probes the video at `path`. Reads only the container header unless the header lacks the
    /// stream's size, codec or rate, in which case libavformat reads packets to find them.
    public static func probe(path: String) throws(ProbeError) -> ProbeResult {
        _ = setUp
        LibavLog.clear()
        var ctx: UnsafeMutablePointer<AVFormatContext>? = nil
        let rc = avformat_open_input(&ctx, path, nil, nil)
        guard rc >= 0, let fmt = ctx else {
            throw ProbeError(path: path, message: failureMessage(rc, doing: "cannot open"))
        }
        defer { avformat_close_input(&ctx) }

        var video = bestVideoStream(fmt)
        if video == nil || needsStreamInfo(video!) {
            let rc = avformat_find_stream_info(fmt, nil)
            if rc < 0 {
                throw ProbeError(path: path, message: failureMessage(rc, doing: "cannot read stream information"))
            }
            video = bestVideoStream(fmt)
        }
        guard let stream = video, let par = stream.pointee.codecpar else {
            throw ProbeError(path: path, message: "no video stream (\(fmt.pointee.nb_streams) streams, none of them video)")
        }

        var result = ProbeResult()
        result.container = fmt.pointee.iformat.map { String(cString: $0.pointee.name) }
        result.width = par.pointee.width > 0 ? Int(par.pointee.width) : nil
        result.height = par.pointee.height > 0 ? Int(par.pointee.height) : nil
        if let name = avcodec_get_name(par.pointee.codec_id) { result.codec = String(cString: name) }
        result.hasAudio = (0..<Int(fmt.pointee.nb_streams)).contains {
            fmt.pointee.streams[$0]?.pointee.codecpar?.pointee.codec_type == AVMEDIA_TYPE_AUDIO
        }

        let rate = rational(stream.pointee.avg_frame_rate) ?? rational(stream.pointee.r_frame_rate)
        result.fps = rate.flatMap { $0 > 0 && $0 < 1000 ? $0 : nil }

        let nopts = emocfg_av_nopts_value()
        if fmt.pointee.duration != nopts && fmt.pointee.duration > 0 {
            result.duration = Double(fmt.pointee.duration) / Double(emocfg_av_time_base())
        } else if stream.pointee.duration != nopts && stream.pointee.duration > 0,
                  let tb = rational(stream.pointee.time_base) {
            result.duration = Double(stream.pointee.duration) * tb
        }

        if stream.pointee.nb_frames > 0 {
            result.frameCount = Int(stream.pointee.nb_frames)
            result.frameCountExact = true
        } else if let d = result.duration, let f = result.fps {
            result.frameCount = Int((d * f).rounded())
            result.frameCountExact = false
        }
        return result
    }

    private static func bestVideoStream(_ fmt: UnsafeMutablePointer<AVFormatContext>) -> UnsafeMutablePointer<AVStream>? {
        var best: UnsafeMutablePointer<AVStream>? = nil
        for i in 0..<Int(fmt.pointee.nb_streams) {
            guard let s = fmt.pointee.streams[i], let par = s.pointee.codecpar,
                  par.pointee.codec_type == AVMEDIA_TYPE_VIDEO else { continue }
            // Cover art is a one-picture "video" stream; skip it when a real one exists.
            if (s.pointee.disposition & AV_DISPOSITION_ATTACHED_PIC) != 0 { if best == nil { best = s }; continue }
            if best == nil || (best!.pointee.disposition & AV_DISPOSITION_ATTACHED_PIC) != 0 { best = s }
            else if Int(par.pointee.width) * Int(par.pointee.height)
                > Int(best!.pointee.codecpar.pointee.width) * Int(best!.pointee.codecpar.pointee.height) { best = s }
        }
        return best
    }

    private static func needsStreamInfo(_ s: UnsafeMutablePointer<AVStream>) -> Bool {
        guard let par = s.pointee.codecpar else { return true }
        return par.pointee.width <= 0 || par.pointee.height <= 0 || par.pointee.codec_id == AV_CODEC_ID_NONE
            || (rational(s.pointee.avg_frame_rate) == nil && rational(s.pointee.r_frame_rate) == nil)
    }

    private static func rational(_ r: AVRational) -> Double? {
        r.num > 0 && r.den > 0 ? Double(r.num) / Double(r.den) : nil
    }

    /// libavformat's message for `code`, with the more specific line it logged, if any
    /// (`Invalid data found when processing input (moov atom not found)`).
    static func failureMessage(_ code: Int32, doing: String) -> String {
        var buf = [CChar](repeating: 0, count: 256)
        av_strerror(code, &buf, buf.count)
        let base = String(decoding: buf.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
        let detail = LibavLog.last()
        return detail.isEmpty || detail == base ? "\(doing): \(base)" : "\(doing): \(base) (\(detail))"
    }
}
