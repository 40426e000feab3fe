import CFFmpeg
import Foundation

/// Cuts the span [start, end) seconds out of a video file, frame-exactly, into an `MP4ClipWriter`.
///
/// It seeks to the keyframe before `start`, decodes forward, and keeps exactly the frames whose
/// presentation time t (from the video stream's first instant, as `VideoFrameReader` counts)
/// satisfies start ≤ t < end. The sound of the file's best audio stream over the same span is
/// decoded alongside in the same pass over the packets (so nothing is read twice and nothing waits
/// in memory for the other stream), resampled with libswresample to what the AAC encoder takes,
/// and placed so that it starts with the first kept frame.
///
/// One cutter belongs to one thread and cuts once. Every libav object is freed in `deinit`.
final class VideoWindowCutter {
    let path: String
    let start: Double
    let end: Double
    // Every stored property has a value before the first `throw` of `init`, so that `deinit`
    // frees what was opened on every path.
    /// The decoded pictures' size and pixel shape.
    private(set) var width: Int32 = 0
    private(set) var height: Int32 = 0
    private(set) var sampleAspect = AVRational(num: 0, den: 1)
    /// The video stream's frame rate: the rendered file's constant rate.
    private(set) var rate = AVRational(num: 25, den: 1)
    /// What the sound will be encoded as; nil when the clip gets no sound.
    private(set) var audioFormat: MP4ClipWriter.AudioFormat?

    private var format: UnsafeMutablePointer<AVFormatContext>?
    private var videoDecoder: UnsafeMutablePointer<AVCodecContext>?
    private var audioDecoder: UnsafeMutablePointer<AVCodecContext>?
    private var resampler: OpaquePointer?
    private var videoIndex: Int32 = -1
    private var audioIndex: Int32 = -1
    private var videoTimeBase = 1.0
    private var audioTimeBase = 1.0
    /// The pts of the video's first instant, where times count from.
    private var startPts: Int64 = 0
    /// Where the video's first instant is on the container's clock, in seconds; audio times are
    /// placed against it.
    private var startSeconds = 0.0
    private var packet: UnsafeMutablePointer<AVPacket>?
    private var decoded: UnsafeMutablePointer<AVFrame>?
    private var converted: UnsafeMutablePointer<AVFrame>?
    /// Sound decoded before the first kept frame is known, with its time: it is placed against
    /// that frame once it comes (a few packets later).
    private var pending: [(frame: UnsafeMutablePointer<AVFrame>, seconds: Double)] = []
    private var lastProblem = ""

    // The state of one pass over the packets (a seek that landed too late starts another).
    private var seekTarget: Int64?
    private var firstFrameSeen = false
    private var firstKept: Double?
    private var kept = 0
    private var videoDone = false
    private var audioDone = false
    private var audioLimit = Int64.max
    private var nextAudioSeconds: Double?

    private static let setUp: Void = { LibavLog.install() }()
    private static let noPts = emocfg_av_nopts_value()
    private static let eagain = emocfg_averror_eagain()
    private static let eof = emocfg_averror_eof()

    /// Opens `path`, its best video stream and, when `withAudio`, its best audio stream.
    init(path: String, start: Double, end: Double, withAudio: Bool) throws(RenderError) {
        _ = Self.setUp
        self.path = path
        self.start = max(0, start)
        self.end = end
        LibavLog.clear()
        var ctx: UnsafeMutablePointer<AVFormatContext>? = nil
        var rc = avformat_open_input(&ctx, path, nil, nil)
        guard rc >= 0, let fmt = ctx else {
            throw RenderError(path: path, message: MediaProbe.failureMessage(rc, doing: "cannot open"))
        }
        format = fmt
        packet = av_packet_alloc()
        decoded = av_frame_alloc()
        converted = av_frame_alloc()

        var chosen = VideoFrameReader.bestVideoStream(fmt)
        func audioIncomplete() -> Bool {
            guard withAudio else { return false }
            let i = av_find_best_stream(fmt, AVMEDIA_TYPE_AUDIO, -1, chosen?.0 ?? -1, nil, 0)
            guard i >= 0, let par = fmt.pointee.streams[Int(i)]?.pointee.codecpar else { return false }
            return par.pointee.sample_rate <= 0 || par.pointee.ch_layout.nb_channels <= 0
        }
        if chosen == nil || VideoFrameReader.needsStreamInfo(chosen!.1) || Self.frameRate(of: chosen!.1) == nil || audioIncomplete() {
            rc = avformat_find_stream_info(fmt, nil)
            if rc < 0 { throw RenderError(path: path, message: MediaProbe.failureMessage(rc, doing: "cannot read stream information")) }
            chosen = VideoFrameReader.bestVideoStream(fmt)
        }
        guard let (index, stream) = chosen, let par = stream.pointee.codecpar else {
            throw RenderError(path: path, message: "no video stream (\(fmt.pointee.nb_streams) streams, none of them video)")
        }
        guard let rate = Self.frameRate(of: stream) else {
            throw RenderError(path: path, message: "the video stream states no frame rate")
        }
        self.rate = rate
        videoIndex = index
        let tb = stream.pointee.time_base
        videoTimeBase = tb.num > 0 && tb.den > 0 ? av_q2d(tb) : 1.0 / Double(emocfg_av_time_base())
        startPts = stream.pointee.start_time != Self.noPts ? stream.pointee.start_time : 0
        startSeconds = Double(startPts) * videoTimeBase

        audioIndex = -1
        if withAudio {
            let i = av_find_best_stream(fmt, AVMEDIA_TYPE_AUDIO, -1, index, nil, 0)
            if i >= 0, let apar = fmt.pointee.streams[Int(i)]?.pointee.codecpar,
               apar.pointee.sample_rate > 0, apar.pointee.ch_layout.nb_channels > 0 { audioIndex = i }
        }
        for i in 0..<Int(fmt.pointee.nb_streams) where Int32(i) != index && Int32(i) != audioIndex {
            fmt.pointee.streams[i]?.pointee.discard = AVDISCARD_ALL
        }

        // One decoder thread: the caller renders one clip per core.
        let dec = try Self.openDecoder(par, timeBase: tb, path: path, what: "video")
        videoDecoder = dec
        width = dec.pointee.width
        height = dec.pointee.height
        sampleAspect = av_guess_sample_aspect_ratio(fmt, stream, nil)
        guard width > 0, height > 0 else { throw RenderError(path: path, message: "the video stream states no picture size") }

        if audioIndex >= 0, let astream = fmt.pointee.streams[Int(audioIndex)], let apar = astream.pointee.codecpar {
            do {
                audioDecoder = try Self.openDecoder(apar, timeBase: astream.pointee.time_base, path: path, what: "audio")
                audioTimeBase = av_q2d(astream.pointee.time_base)
                audioFormat = .init(sampleRate: MP4ClipWriter.aacRate(for: apar.pointee.sample_rate),
                                    channels: min(2, apar.pointee.ch_layout.nb_channels))
            } catch {
                // A sound track this libavcodec cannot decode leaves the pictures: cut them alone.
                audioIndex = -1
                astream.pointee.discard = AVDISCARD_ALL
            }
        }
    }

    deinit {
        for p in pending { var f: UnsafeMutablePointer<AVFrame>? = p.frame; av_frame_free(&f) }
        swr_free(&resampler)
        avcodec_free_context(&videoDecoder)
        avcodec_free_context(&audioDecoder)
        av_frame_free(&decoded)
        av_frame_free(&converted)
        av_packet_free(&packet)
        avformat_close_input(&format)
    }

    /// The video's length in seconds, when the file states it (for messages).
    var length: Double? {
        guard let fmt = format else { return nil }
        let s = fmt.pointee.streams[Int(videoIndex)]!
        if s.pointee.duration != Self.noPts && s.pointee.duration > 0 { return Double(s.pointee.duration) * videoTimeBase }
        if fmt.pointee.duration != Self.noPts && fmt.pointee.duration > 0 { return Double(fmt.pointee.duration) / Double(emocfg_av_time_base()) }
        return nil
    }

    /// Cuts the window into `writer` and finishes the sound; returns the number of frames kept
    /// (the caller finishes the file). Zero frames is an error naming the span.
    func cut(into writer: MP4ClipWriter) throws(RenderError) -> Int {
        var backoff = Int64((1.0 / videoTimeBase).rounded())
        if start > 0 { try seek(to: startPts + Int64((start / videoTimeBase).rounded(.down))) }
        var retreats = 0
        while try pass(writer) {
            // The seek landed after the window's start (an index of decoding times, or an MPEG-TS
            // seek that reached the next keyframe): step back and decode again.
            guard let point = seekTarget, point > startPts, retreats < 16 else { break }
            try seek(to: max(startPts, point - backoff))
            backoff *= 2
            retreats += 1
        }
        guard kept > 0 else {
            let len = length.map { String(format: " (the video is %.3f s long)", $0) } ?? ""
            let why = lastProblem.isEmpty ? "" : "; last problem: \(lastProblem)"
            throw RenderError(path: path, message: String(format: "no frame in the window %.3f–%.3f s", start, end) + len + why)
        }
        if let sampleRate = audioFormat?.sampleRate {
            try writer.finishAudio(total: Self.samples(frames: kept, rate: rate, sampleRate: sampleRate))
        }
        return kept
    }

    // MARK: - One pass

    /// Reads packets until the window's pictures and sound are complete or the file ends. Returns
    /// true when the first picture decoded came after the window's start, so an earlier seek is
    /// needed (nothing has been written then).
    private func pass(_ writer: MP4ClipWriter) throws(RenderError) -> Bool {
        guard let format, let packet else { return false }
        firstFrameSeen = false
        videoDone = false
        audioDone = audioDecoder == nil
        let startTicks = startPts + Int64((start / videoTimeBase).rounded(.down))
        while !(videoDone && audioDone) {
            let rc = av_read_frame(format, packet)
            if rc < 0 {
                if rc != Self.eof { lastProblem = MediaProbe.failureMessage(rc, doing: "cannot read") }
                break
            }
            defer { av_packet_unref(packet) }
            if packet.pointee.stream_index == videoIndex && !videoDone {
                // A frame before the window that no later frame refers to need not be made.
                let pts = packet.pointee.pts
                videoDecoder!.pointee.skip_frame = pts != Self.noPts && pts < startTicks ? AVDISCARD_NONREF : AVDISCARD_DEFAULT
                let sent = avcodec_send_packet(videoDecoder, packet)
                // A packet the decoder rejects is skipped, as ffmpeg does.
                if sent < 0 { lastProblem = MediaProbe.failureMessage(sent, doing: "cannot decode"); continue }
                if try receiveVideo(writer) { return true }
            } else if packet.pointee.stream_index == audioIndex && !audioDone {
                // Sound well before the window is not decoded; a little before is, so that the
                // decoder's overlapping windows are primed when the window starts.
                let p = packet.pointee
                if p.pts != Self.noPts && Double(p.pts + p.duration) * audioTimeBase - startSeconds < start - 0.2 { continue }
                let sent = avcodec_send_packet(audioDecoder, packet)
                if sent < 0 { continue }
                try receiveAudio(writer)
            }
        }
        if !videoDone {
            avcodec_send_packet(videoDecoder, nil)
            if try receiveVideo(writer) { return true }
        }
        if !audioDone {
            avcodec_send_packet(audioDecoder, nil)
            try receiveAudio(writer)
            if !audioDone, let resampler, let converted, let format = audioFormat {
                // What the resampler still holds.
                prepare(converted, format)
                if swr_convert_frame(resampler, converted, nil) >= 0 && converted.pointee.nb_samples > 0 {
                    try place(converted, seconds: nextAudioSeconds ?? start, writer)
                }
            }
        }
        return false
    }

    /// Takes the frames the video decoder has ready; true when a seek must go earlier.
    private func receiveVideo(_ writer: MP4ClipWriter) throws(RenderError) -> Bool {
        guard let decoded else { return false }
        let eps = min(max(1e-6, videoTimeBase / 2), 1e-3)
        while true {
            let rc = avcodec_receive_frame(videoDecoder, decoded)
            if rc == Self.eagain || rc == Self.eof { return false }
            if rc < 0 { lastProblem = MediaProbe.failureMessage(rc, doing: "cannot decode"); return false }
            defer { av_frame_unref(decoded) }
            let t = Double(Self.pts(of: decoded) - startPts) * videoTimeBase
            if !firstFrameSeen {
                firstFrameSeen = true
                if t > start + eps, let point = seekTarget, point > startPts { return true }
            }
            if t < start - eps { continue }
            if t >= end - eps {
                videoDone = true
                return false
            }
            if firstKept == nil {
                firstKept = t
                if let sampleRate = audioFormat?.sampleRate {
                    audioLimit = Int64(((end - t) * Double(sampleRate)).rounded(.up))
                    let waiting = pending
                    pending.removeAll()
                    for p in waiting {
                        var f: UnsafeMutablePointer<AVFrame>? = p.frame
                        defer { av_frame_free(&f) }
                        if !audioDone { try place(p.frame, seconds: p.seconds, writer) }
                    }
                }
            }
            try writer.writeVideo(decoded)
            kept += 1
            if let sampleRate = audioFormat?.sampleRate {
                try writer.encodeAudio(upTo: Self.samples(frames: kept, rate: rate, sampleRate: sampleRate))
            }
        }
    }

    /// Takes the frames the audio decoder has ready, converts them and places them.
    private func receiveAudio(_ writer: MP4ClipWriter) throws(RenderError) {
        guard let decoded, let converted, let format = audioFormat else { return }
        while !audioDone {
            let rc = avcodec_receive_frame(audioDecoder, decoded)
            if rc < 0 { return }
            defer { av_frame_unref(decoded) }
            let rate = Double(decoded.pointee.sample_rate > 0 ? decoded.pointee.sample_rate : format.sampleRate)
            let pts = Self.pts(of: decoded)
            let seconds = decoded.pointee.best_effort_timestamp != Self.noPts || decoded.pointee.pts != Self.noPts
                ? Double(pts) * audioTimeBase - startSeconds : (nextAudioSeconds ?? start)
            nextAudioSeconds = seconds + Double(decoded.pointee.nb_samples) / rate
            if nextAudioSeconds! <= start { continue }
            if seconds >= end {
                audioDone = true
                return
            }
            try convert(decoded, into: converted, format)
            if converted.pointee.nb_samples > 0 { try place(converted, seconds: seconds, writer) }
        }
    }

    private func place(_ frame: UnsafeMutablePointer<AVFrame>, seconds: Double, _ writer: MP4ClipWriter) throws(RenderError) {
        guard let firstKept else {
            if let copy = av_frame_clone(frame) { pending.append((copy, seconds)) }
            return
        }
        if try !writer.placeAudio(frame, at: seconds - firstKept, limit: audioLimit) { audioDone = true }
    }

    private func convert(_ frame: UnsafeMutablePointer<AVFrame>, into out: UnsafeMutablePointer<AVFrame>, _ format: MP4ClipWriter.AudioFormat) throws(RenderError) {
        if resampler == nil {
            var inLayout = AVChannelLayout()
            defer { av_channel_layout_uninit(&inLayout) }
            if frame.pointee.ch_layout.order == AV_CHANNEL_ORDER_UNSPEC {
                av_channel_layout_default(&inLayout, frame.pointee.ch_layout.nb_channels)
            } else {
                av_channel_layout_copy(&inLayout, &frame.pointee.ch_layout)
            }
            var outLayout = AVChannelLayout()
            av_channel_layout_default(&outLayout, format.channels)
            var swr: OpaquePointer? = nil
            var rc = swr_alloc_set_opts2(&swr, &outLayout, AV_SAMPLE_FMT_FLTP, format.sampleRate,
                                         &inLayout, AVSampleFormat(rawValue: frame.pointee.format), frame.pointee.sample_rate, 0, nil)
            if rc >= 0 { rc = swr_init(swr) }
            guard rc >= 0, swr != nil else {
                swr_free(&swr)
                throw RenderError(path: path, message: MediaProbe.failureMessage(rc < 0 ? rc : -1, doing: "cannot set up the sound conversion"))
            }
            resampler = swr
        }
        prepare(out, format)
        let rc = swr_convert_frame(resampler, out, frame)
        guard rc >= 0 else { throw RenderError(path: path, message: MediaProbe.failureMessage(rc, doing: "cannot convert the sound")) }
    }

    private func prepare(_ out: UnsafeMutablePointer<AVFrame>, _ format: MP4ClipWriter.AudioFormat) {
        av_frame_unref(out)
        out.pointee.format = AV_SAMPLE_FMT_FLTP.rawValue
        out.pointee.sample_rate = format.sampleRate
        av_channel_layout_default(&out.pointee.ch_layout, format.channels)
    }

    // MARK: - Seeking

    private func seek(to target: Int64) throws(RenderError) {
        var rc = av_seek_frame(format, videoIndex, target, AVSEEK_FLAG_BACKWARD)
        if rc < 0 { rc = avformat_seek_file(format, videoIndex, Int64.min, target, target, 0) }
        if rc < 0 && target <= startPts { rc = avformat_seek_file(format, videoIndex, Int64.min, Int64.min, Int64.max, 0) }
        guard rc >= 0 else {
            throw RenderError(path: path, message: MediaProbe.failureMessage(rc, doing: String(format: "cannot seek to %.3f s", Double(target - startPts) * videoTimeBase)))
        }
        avcodec_flush_buffers(videoDecoder)
        if let audioDecoder { avcodec_flush_buffers(audioDecoder) }
        if let resampler { swr_init(resampler) }
        for p in pending { var f: UnsafeMutablePointer<AVFrame>? = p.frame; av_frame_free(&f) }
        pending.removeAll()
        nextAudioSeconds = nil
        seekTarget = target
    }

    // MARK: - Helpers

    /// The number of audio samples `frames` frames at `rate` last.
    static func samples(frames: Int, rate: AVRational, sampleRate: Int32) -> Int64 {
        Int64((Double(frames) * Double(rate.den) / Double(rate.num) * Double(sampleRate)).rounded())
    }

    /// The stream's frame rate: the nominal one (`r_frame_rate`) when the average agrees with it
    /// to 0.1 % (it is the exact fraction, 30000/1001 rather than 2997/100), else the average.
    static func frameRate(of s: UnsafeMutablePointer<AVStream>) -> AVRational? {
        func valid(_ r: AVRational) -> Bool { r.num > 0 && r.den > 0 && av_q2d(r) < 1000 }
        let avg = s.pointee.avg_frame_rate, nominal = s.pointee.r_frame_rate
        if valid(avg) && valid(nominal) { return abs(av_q2d(avg) / av_q2d(nominal) - 1) < 0.001 ? nominal : avg }
        return valid(avg) ? avg : (valid(nominal) ? nominal : nil)
    }

    private static func openDecoder(
        _ par: UnsafeMutablePointer<AVCodecParameters>, timeBase: AVRational, path: String, what: String
    ) throws(RenderError) -> UnsafeMutablePointer<AVCodecContext> {
        guard let codec = avcodec_find_decoder(par.pointee.codec_id) else {
            let name = avcodec_get_name(par.pointee.codec_id).map { String(cString: $0) } ?? "unknown"
            throw RenderError(path: path, message: "no decoder for the \(name) \(what) codec in this libavcodec")
        }
        var dec = avcodec_alloc_context3(codec)
        var rc = avcodec_parameters_to_context(dec, par)
        if rc >= 0 {
            dec?.pointee.thread_count = 1
            dec?.pointee.pkt_timebase = timeBase
            LibavLog.clear()
            rc = avcodec_open2(dec, codec, nil)
        }
        guard rc >= 0, let ready = dec else {
            avcodec_free_context(&dec)
            throw RenderError(path: path, message: MediaProbe.failureMessage(rc, doing: "cannot open the \(what) decoder"))
        }
        return ready
    }

    private static func pts(of frame: UnsafeMutablePointer<AVFrame>) -> Int64 {
        let f = frame.pointee
        return f.best_effort_timestamp != noPts ? f.best_effort_timestamp : (f.pts != noPts ? f.pts : 0)
    }
}
