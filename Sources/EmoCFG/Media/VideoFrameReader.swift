import CFFmpeg
import Foundation

/// Decodes the frames on screen at a rising series of instants of one video file, decoding as
/// little as it can: it seeks to the keyframe before an instant only when that keyframe lies ahead
/// of where the decoder already is, and otherwise decodes on; frames that no instant can show
/// (non-reference frames followed by a later frame that is still before the instant) are dropped
/// by the decoder without being reconstructed.
///
/// One reader belongs to one thread for its whole life. It also opens single images (the image2
/// demuxer makes them one-frame videos).
final class VideoFrameReader {
    let path: String
    /// The video stream's frame rate, when the container states one.
    let fps: Double?
    /// Seeks made and frames reconstructed so far, for tests and benchmarks.
    private(set) var seeks = 0
    private(set) var framesDecoded = 0

    private var format: UnsafeMutablePointer<AVFormatContext>?
    private var decoder: UnsafeMutablePointer<AVCodecContext>?
    private let stream: UnsafeMutablePointer<AVStream>
    private let streamIndex: Int32
    private let timeBase: Double
    /// The pts of the video's first instant; reported times count from here.
    private let startPts: Int64
    private let packet: UnsafeMutablePointer<AVPacket>
    /// The last decoded frame starting at or before the current instant, and the first decoded
    /// frame after it (decoders give frames in presentation order).
    private var held: UnsafeMutablePointer<AVFrame>
    private var ahead: UnsafeMutablePointer<AVFrame>
    private var incoming: UnsafeMutablePointer<AVFrame>
    private var hasHeld = false, hasAhead = false
    /// The flush packet was sent / the decoder has given its last frame.
    private var inputEnded = false, drained = false
    /// The dts (or pts) of the last packet read, the demuxer's position.
    private var demuxPosition: Int64
    /// The last keyframe's pts − dts: how far B-frame reordering shows a keyframe after its
    /// decoding time (the same for every keyframe of a stream in practice).
    private var keyframeDelay: Int64 = 0
    /// Where the last seek went, nil while the reader is still at the start of the file.
    private var seekPoint: Int64?
    /// The pts of the instant after the current one, when the caller said it.
    private var horizon: Int64?
    /// The pts of the packets sent since the last seek (a bounded tail), for dropping frames.
    private var sentPts: [Int64] = []
    /// What went wrong last while reading or decoding, for the error when no frame comes out.
    private var lastProblem = ""
    private var failures = 0

    private static let setUp: Void = { LibavLog.install() }()
    private static let noPts = emocfg_av_nopts_value()
    private static let eagain = emocfg_averror_eagain()
    private static let eof = emocfg_averror_eof()
    /// Without a seek index, decode on when the next instant is at most this far ahead.
    private static let decodeOnWithoutIndex = 1.0

    /// Opens `path` and its best video stream. `decoderThreads` 0 lets libavcodec choose.
    init(path: String, decoderThreads: Int32 = Int32(ProcessInfo.processInfo.activeProcessorCount)) throws(FrameSamplingError) {
        _ = Self.setUp
        self.path = path
        LibavLog.clear()
        var ctx: UnsafeMutablePointer<AVFormatContext>? = nil
        let rc = avformat_open_input(&ctx, path, nil, nil)
        guard rc >= 0, let fmt = ctx else {
            throw FrameSamplingError(path: path, message: MediaProbe.failureMessage(rc, doing: "cannot open"))
        }
        var chosen = Self.bestVideoStream(fmt)
        if chosen == nil || Self.needsStreamInfo(chosen!.1) {
            let rc = avformat_find_stream_info(fmt, nil)
            if rc < 0 {
                avformat_close_input(&ctx)
                throw FrameSamplingError(path: path, message: MediaProbe.failureMessage(rc, doing: "cannot read stream information"))
            }
            chosen = Self.bestVideoStream(fmt)
        }
        guard let (index, stream) = chosen, let par = stream.pointee.codecpar else {
            let n = fmt.pointee.nb_streams
            avformat_close_input(&ctx)
            throw FrameSamplingError(path: path, message: "no video stream (\(n) streams, none of them video)")
        }
        guard let codec = avcodec_find_decoder(par.pointee.codec_id) else {
            let name = avcodec_get_name(par.pointee.codec_id).map { String(cString: $0) } ?? "unknown"
            avformat_close_input(&ctx)
            throw FrameSamplingError(path: path, message: "no decoder for the \(name) codec in this libavcodec")
        }
        // The demuxer need not hand over packets of streams nobody decodes.
        for i in 0..<Int(fmt.pointee.nb_streams) where Int32(i) != index {
            fmt.pointee.streams[i]?.pointee.discard = AVDISCARD_ALL
        }
        let dec = avcodec_alloc_context3(codec)
        var rcDec = avcodec_parameters_to_context(dec, par)
        if rcDec >= 0 {
            dec?.pointee.thread_count = decoderThreads
            dec?.pointee.thread_type = FF_THREAD_FRAME | FF_THREAD_SLICE
            dec?.pointee.pkt_timebase = stream.pointee.time_base
            rcDec = avcodec_open2(dec, codec, nil)
        }
        guard rcDec >= 0, let dec else {
            var d = dec
            avcodec_free_context(&d)
            avformat_close_input(&ctx)
            throw FrameSamplingError(path: path, message: MediaProbe.failureMessage(rcDec, doing: "cannot open the decoder"))
        }

        format = fmt
        decoder = dec
        self.stream = stream
        streamIndex = index
        let tb = stream.pointee.time_base
        timeBase = tb.num > 0 && tb.den > 0 ? Double(tb.num) / Double(tb.den) : 1.0 / Double(emocfg_av_time_base())
        startPts = stream.pointee.start_time != Self.noPts ? stream.pointee.start_time : 0
        let rate = [stream.pointee.avg_frame_rate, stream.pointee.r_frame_rate].first { $0.num > 0 && $0.den > 0 }
        fps = rate.map { Double($0.num) / Double($0.den) }.flatMap { $0 < 1000 ? $0 : nil }
        packet = av_packet_alloc()
        held = av_frame_alloc()
        ahead = av_frame_alloc()
        incoming = av_frame_alloc()
        // Until the first packet, the demuxer stands before the first keyframe.
        demuxPosition = Int64.min
    }

    deinit {
        var p: UnsafeMutablePointer<AVPacket>? = packet
        av_packet_free(&p)
        for f in [held, ahead, incoming] {
            var f: UnsafeMutablePointer<AVFrame>? = f
            av_frame_free(&f)
        }
        avcodec_free_context(&decoder)
        avformat_close_input(&format)
    }

    /// " (reason)" with the last decoding problem seen, or "".
    var reasonSuffix: String { lastProblem.isEmpty ? "" : " (\(lastProblem))" }

    /// Seconds from the video's start to `frame`.
    func seconds(of frame: UnsafeMutablePointer<AVFrame>) -> Double {
        Double(Self.pts(of: frame) - startPts) * timeBase
    }

    /// Seconds from the start to each keyframe the container's index lists, in order (decoding
    /// times in MP4, so B-frame reordering may put them a frame or two early); empty without an index.
    func keyframeTimes() -> [Double] {
        let n = avformat_index_get_entries_count(stream)
        var out: [Double] = []
        for i in 0..<max(0, n) {
            guard let e = avformat_index_get_entry(stream, i)?.pointee, e.flags & AVINDEX_KEYFRAME != 0 else { continue }
            out.append(Double(e.timestamp - startPts) * timeBase)
        }
        return out
    }

    /// The video's length in seconds: from the stream, else the container, else the end of its
    /// last packet (found by reading the packets without decoding them).
    func duration() throws(FrameSamplingError) -> Double {
        if stream.pointee.duration != Self.noPts && stream.pointee.duration > 0 {
            return Double(stream.pointee.duration) * timeBase
        }
        if let fmt = format, fmt.pointee.duration != Self.noPts && fmt.pointee.duration > 0 {
            let containerStart = fmt.pointee.start_time != Self.noPts ? Double(fmt.pointee.start_time) / Double(emocfg_av_time_base()) : 0
            return Double(fmt.pointee.duration) / Double(emocfg_av_time_base()) + containerStart - Double(startPts) * timeBase
        }
        var end = Int64.min
        while av_read_frame(format, packet) >= 0 {
            let p = packet.pointee
            if p.stream_index == streamIndex && p.pts != Self.noPts { end = max(end, p.pts + max(p.duration, 1)) }
            av_packet_unref(packet)
        }
        guard end != Int64.min else {
            throw FrameSamplingError(path: path, message: "the video's length is unknown and it holds no timed packets")
        }
        try seek(to: startPts)
        return Double(end - startPts) * timeBase
    }

    /// The frame on screen `seconds` after the start: the last frame starting at or before that
    /// instant, or the first frame when the instant comes before it. When the frame on screen
    /// started before `notBefore` (a window's start), the next frame instead. Instants should rise
    /// from call to call, so that the reader decodes on; an earlier one costs a seek. `next`, the
    /// instant of the next call when the caller knows it, lets the decoder also drop frames that
    /// fall between the two instants and are on screen at neither. The frame stays valid until
    /// the next call. Nil when the file holds no frame.
    func frame(at seconds: Double, notBefore: Double? = nil, next: Double? = nil) throws(FrameSamplingError) -> UnsafeMutablePointer<AVFrame>? {
        // A hair of tolerance so that an instant computed to fall exactly on a frame's start
        // does not round to the tick before it.
        let target = startPts + Int64((seconds / timeBase + 1e-6).rounded(.down))
        let floor = notBefore.map { startPts + Int64(($0 / timeBase - 1e-6).rounded(.up)) }
        horizon = next.map { startPts + Int64(($0 / timeBase + 1e-6).rounded(.down)) }.flatMap { $0 > target ? $0 : nil }
        if mustSeek(before: target) { try seek(to: target) }
        var backoff = Int64((1.0 / timeBase).rounded())
        while true {
            if hasAhead {
                if Self.pts(of: ahead) <= target {
                    swap(&held, &ahead)
                    av_frame_unref(ahead)
                    hasHeld = true
                    hasAhead = false
                } else if hasHeld {
                    if let floor, Self.pts(of: held) < floor { return ahead }
                    return held
                } else if try retreat(toward: target, backoff: &backoff) {
                    continue
                } else {
                    // The instant lies before the video's first frame.
                    return ahead
                }
            }
            if drained {
                if hasHeld { return held }
                // Nothing came out after the seek: it landed past the last keyframe before the
                // end, and the decoder waits for a keyframe that never comes.
                if try retreat(toward: target, backoff: &backoff) { continue }
                return nil
            }
            if decodeNext(toward: target) {
                swap(&ahead, &incoming)
                hasAhead = true
            }
        }
    }

    // MARK: - Decoding

    /// Whether to seek before decoding toward `target`: when the decoder is past it, or when a
    /// keyframe at or before it lies beyond where the demuxer stands (seeking there skips the
    /// frames in between).
    private func mustSeek(before target: Int64) -> Bool {
        if hasHeld && Self.pts(of: held) > target { return true }
        if !hasHeld && hasAhead && seekPoint != nil && Self.pts(of: ahead) > target { return true }
        if drained { return false }
        let entries = avformat_index_get_entries_count(stream)
        if entries > 0 {
            // Entries may hold decoding times, which run ahead of presentation times around
            // B-frames: a keyframe found by `target` alone can start after it, and the seek
            // would then land a group earlier, behind the decoder.
            let i = av_index_search_timestamp(stream, target - keyframeDelay, AVSEEK_FLAG_BACKWARD)
            guard i >= 0, let keyframe = avformat_index_get_entry(stream, i)?.pointee.timestamp else { return false }
            if demuxPosition == Int64.min {
                // Still at the start of the file: the first keyframe is where decoding begins anyway.
                let first = avformat_index_get_entry(stream, 0)?.pointee.timestamp ?? keyframe
                return keyframe > first
            }
            return keyframe > demuxPosition
        }
        let here = hasAhead ? Self.pts(of: ahead) : (hasHeld ? Self.pts(of: held) : (seekPoint ?? startPts))
        return Double(target - here) * timeBase > Self.decodeOnWithoutIndex
    }

    /// After a seek that gave no frame at or before `target`, seeks `backoff` earlier than the
    /// last seek point (doubling `backoff`), and says whether it did; false once at the start.
    ///
    /// A seek can land after the instant: index entries of MP4 and MPEG-TS hold decoding times,
    /// which run ahead of presentation times around B-frames, and MPEG-TS seeks to any packet,
    /// not only keyframes, so decoding starts at the next keyframe.
    private func retreat(toward target: Int64, backoff: inout Int64) throws(FrameSamplingError) -> Bool {
        guard let point = seekPoint, point > startPts else { return false }
        try seek(to: max(startPts, min(point, target) - backoff))
        backoff *= 2
        return true
    }

    private func seek(to target: Int64) throws(FrameSamplingError) {
        var rc = av_seek_frame(format, streamIndex, target, AVSEEK_FLAG_BACKWARD)
        if rc < 0 { rc = avformat_seek_file(format, streamIndex, Int64.min, target, target, 0) }
        if rc < 0 && target <= startPts { rc = avformat_seek_file(format, streamIndex, Int64.min, Int64.min, Int64.max, 0) }
        guard rc >= 0 else {
            throw FrameSamplingError(
                path: path,
                message: MediaProbe.failureMessage(rc, doing: String(format: "cannot seek to %.3f s", Double(target - startPts) * timeBase)))
        }
        avcodec_flush_buffers(decoder)
        av_frame_unref(held)
        av_frame_unref(ahead)
        hasHeld = false
        hasAhead = false
        inputEnded = false
        drained = false
        sentPts.removeAll(keepingCapacity: true)
        seekPoint = target
        demuxPosition = target
        seeks += 1
    }

    /// Decodes the next frame into `incoming`; false when the stream has ended.
    private func decodeNext(toward target: Int64) -> Bool {
        while true {
            let rc = avcodec_receive_frame(decoder, incoming)
            if rc >= 0 {
                framesDecoded += 1
                failures = 0
                return true
            }
            if rc == Self.eof || (rc == Self.eagain && inputEnded) {
                drained = true
                return false
            }
            if rc != Self.eagain {
                // A frame that failed to decode is skipped, as ffmpeg does; a decoder that
                // fails frame after frame is given up on.
                lastProblem = Self.message(rc)
                failures += 1
                if failures > 64 {
                    drained = true
                    return false
                }
                continue
            }
            sendPacket(toward: target)
        }
    }

    /// Reads the next packet of the stream and sends it to the decoder, or the flush packet at the
    /// end of the file. A packet the decoder rejects is skipped, as ffmpeg does.
    private func sendPacket(toward target: Int64) {
        while true {
            let rc = av_read_frame(format, packet)
            if rc < 0 {
                if rc != Self.eof { lastProblem = Self.message(rc) }
                avcodec_send_packet(decoder, nil)
                inputEnded = true
                return
            }
            defer { av_packet_unref(packet) }
            let p = packet.pointee
            guard p.stream_index == streamIndex else { continue }
            if p.dts != Self.noPts { demuxPosition = p.dts } else if p.pts != Self.noPts { demuxPosition = p.pts }
            if p.flags & AV_PKT_FLAG_KEY != 0 && p.dts != Self.noPts && p.pts != Self.noPts { keyframeDelay = p.pts - p.dts }
            decoder!.pointee.skip_frame = droppable(p.pts, toward: target) ? AVDISCARD_NONREF : AVDISCARD_DEFAULT
            if p.pts != Self.noPts {
                sentPts.append(p.pts)
                if sentPts.count > 512 { sentPts.removeFirst(256) }
            }
            let sent = avcodec_send_packet(decoder, packet)
            if sent >= 0 { return }
            lastProblem = Self.message(sent)
            failures += 1
            if failures > 64 {
                avcodec_send_packet(decoder, nil)
                inputEnded = true
                return
            }
        }
    }

    /// Whether the decoder may drop the frame starting at `pts` if it is a non-reference frame
    /// (nothing else needs it then): when it can be on screen at no instant still to come.
    ///
    /// Before `target`: when a frame already sent starts after it and no later than `target`
    /// (nor then at any later instant). After `target`, when the next instant (`horizon`) is
    /// known: when a frame already sent starts after it and no later than the next instant, and
    /// another already sent starts between `target` and it, so it is not the first frame after
    /// `target` either, which `frame(at:notBefore:)` returns for a window that starts inside the
    /// frame on screen and which tells that the frame held is the last one at or before `target`.
    private func droppable(_ pts: Int64, toward target: Int64) -> Bool {
        guard pts != Self.noPts else { return false }
        if pts < target { return sentPts.contains { $0 > pts && $0 <= target } }
        guard pts > target, let horizon, pts < horizon else { return false }
        return sentPts.contains { $0 > target && $0 < pts } && sentPts.contains { $0 > pts && $0 <= horizon }
    }

    // MARK: - Helpers

    private static func pts(of frame: UnsafeMutablePointer<AVFrame>) -> Int64 {
        let f = frame.pointee
        return f.best_effort_timestamp != noPts ? f.best_effort_timestamp : (f.pts != noPts ? f.pts : 0)
    }

    private static func message(_ code: Int32) -> String {
        var buf = [CChar](repeating: 0, count: 256)
        av_strerror(code, &buf, buf.count)
        let base = String(decoding: buf.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
        let detail = LibavLog.last()
        return detail.isEmpty || detail == base ? base : "\(base): \(detail)"
    }

    /// The largest video stream that is not cover art (cover art only when nothing else exists).
    static func bestVideoStream(_ fmt: UnsafeMutablePointer<AVFormatContext>) -> (Int32, UnsafeMutablePointer<AVStream>)? {
        var best: (Int32, UnsafeMutablePointer<AVStream>)? = nil
        func isArt(_ s: UnsafeMutablePointer<AVStream>) -> Bool { (s.pointee.disposition & AV_DISPOSITION_ATTACHED_PIC) != 0 }
        func area(_ s: UnsafeMutablePointer<AVStream>) -> Int { Int(s.pointee.codecpar.pointee.width) * Int(s.pointee.codecpar.pointee.height) }
        for i in 0..<Int(fmt.pointee.nb_streams) {
            guard let s = fmt.pointee.streams[i], let par = s.pointee.codecpar, par.pointee.codec_type == AVMEDIA_TYPE_VIDEO else { continue }
            guard let b = best else { best = (Int32(i), s); continue }
            if isArt(b.1) && !isArt(s) || isArt(b.1) == isArt(s) && area(s) > area(b.1) { best = (Int32(i), s) }
        }
        return best
    }

    static func needsStreamInfo(_ s: UnsafeMutablePointer<AVStream>) -> Bool {
        guard let par = s.pointee.codecpar else { return true }
        return par.pointee.width <= 0 || par.pointee.height <= 0 || par.pointee.codec_id == AV_CODEC_ID_NONE
            || par.pointee.format < 0
    }
}
