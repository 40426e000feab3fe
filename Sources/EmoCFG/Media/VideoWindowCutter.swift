import CFFmpeg
import Foundation

/// Cuts several spans [start, end) seconds out of one video file, frame-exactly, each into its own
/// `MP4ClipWriter`, in one pass over the file.
///
/// Each picture and each piece of sound is decoded once and handed to every window whose span holds
/// it. A window keeps exactly the frames whose presentation time t (from the video stream's first
/// instant, as `VideoFrameReader` counts) satisfies start ≤ t < end. The sound of the file's best
/// audio stream is decoded alongside in the same pass over the packets, converted once with
/// libswresample to what the AAC encoder takes, and placed in each window so that it starts with the
/// window's first kept frame (silence where the source has none).
///
/// Windows are taken in order of their start. The first is reached by seeking to the keyframe before
/// it; a later one is reached by decoding on when the keyframe before it is not past what was read
/// (the index says so; without an index, when it starts at most 2 s after the last picture), else
/// by seeking. Pictures no window wants are skipped where the decoder allows (non-reference frames).
///
/// Memory: a window is opened (its writer, with its encoder, made) when the pass reaches its first
/// frame and finished when its pictures and sound are complete, so only windows that overlap hold an
/// encoder at once, and never more than `maxOpen`: a window that would be one more waits for another
/// pass over the file, which starts where the first such window starts. Sound decoded before the
/// window that needs it is opened waits in a short queue (what lies between the window's start and
/// its first decoded picture).
///
/// One cutter belongs to one thread and cuts once. Every libav object is freed in `deinit`.
final class VideoWindowCutter {
    let path: String
    // Every stored property has a value before the first `throw` of `init`, so that `deinit`
    // frees what was opened on every path.
    /// The decoded pictures' size and pixel shape.
    private(set) var width: Int32 = 0
    private(set) var height: Int32 = 0
    private(set) var sampleAspect = AVRational(num: 0, den: 1)
    /// The video stream's frame rate: the rendered file's constant rate.
    private(set) var rate = AVRational(num: 25, den: 1)
    /// What the sound will be encoded as; nil when the clips get no sound.
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
    /// Converted sound that a window not yet opened may need, with its span in seconds.
    private var queued: [(frame: UnsafeMutablePointer<AVFrame>, seconds: Double, end: Double)] = []
    private var lastProblem = ""

    // The state of the pass over the packets.
    private var seekTarget: Int64?
    private var firstFrameSeen = false
    /// The decoding time of the last video packet read (nil right after a seek).
    private var lastVideoDts: Int64?
    private var nextAudioSeconds: Double?
    /// Sound packets were skipped: the decoder starts afresh at the next one decoded.
    private var audioSkipped = false

    private static let setUp: Void = { LibavLog.install() }()
    private static let noPts = emocfg_av_nopts_value()
    private static let eagain = emocfg_averror_eagain()
    private static let eof = emocfg_averror_eof()
    /// A window's sound is complete once the video read is this far past its end, even if the sound
    /// stream has nothing there (it ended early): the rest is silence, as at the end of the file.
    private static let audioSlack = 5.0
    /// Without an index, a window starting more than this after the last picture is reached by seeking.
    private static let seekGap = 2.0

    /// Opens `path`, its best video stream and, when `withAudio`, its best audio stream.
    init(path: String, withAudio: Bool) throws(RenderError) {
        _ = Self.setUp
        self.path = path
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

        // One decoder thread: the caller renders one pass per core.
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
        clearQueue()
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

    // MARK: - Windows

    /// One window of the pass.
    private final class Slot {
        let id: Int
        let start: Double
        let end: Double
        /// `start` in the video stream's ticks: packets before it are not needed for this window.
        let startTicks: Int64
        var writer: MP4ClipWriter?
        var firstKept: Double?
        var kept = 0
        var videoDone = false
        var audioDone = false
        var audioLimit = Int64.max

        init(id: Int, start: Double, end: Double, startTicks: Int64, audioDone: Bool) {
            self.id = id
            self.start = start
            self.end = end
            self.startTicks = startTicks
            self.audioDone = audioDone
        }
    }

    /// Cuts every window of `windows` (start, end in seconds; end > start) in one pass (more when
    /// more than `maxOpen` overlap). `open(i)` makes window i's writer when the pass reaches its first
    /// frame; `close(i, result)` gets each window's writer with its sound finished and its frame count
    /// (the caller finishes the file), or its error, as soon as it is known. Every window is closed
    /// exactly once; an error of one window does not stop the others.
    func cut(
        _ windows: [(start: Double, end: Double)], maxOpen: Int,
        open: (Int) throws(RenderError) -> MP4ClipWriter,
        close: (Int, Result<(writer: MP4ClipWriter, frames: Int), RenderError>) -> Void
    ) {
        var todo = windows.enumerated().map { i, w in
            let start = max(0, w.start)
            return Slot(id: i, start: start, end: w.end, startTicks: startPts + Int64((start / videoTimeBase).rounded(.down)),
                        audioDone: audioDecoder == nil)
        }.sorted { ($0.start, $0.end, $0.id) < ($1.start, $1.end, $1.id) }
        var fresh = true
        while !todo.isEmpty {
            var deferred: [Slot] = []
            var unfinished: [Slot] = []
            do {
                try pass(todo, fresh: fresh, maxOpen: max(1, maxOpen), open: open, close: close, deferred: &deferred, unfinished: &unfinished)
            } catch {
                // The file itself failed (a seek): every window not yet closed fails with it.
                for s in unfinished { close(s.id, .failure(error)) }
                for s in deferred { close(s.id, .failure(error)) }
                return
            }
            fresh = false
            todo = deferred
        }
    }

    /// One pass over `slots` (sorted by start). Windows that find `maxOpen` others open go to
    /// `deferred`; when it throws, `unfinished` holds the windows not yet closed.
    private func pass(
        _ slots: [Slot], fresh: Bool, maxOpen: Int,
        open makeWriter: (Int) throws(RenderError) -> MP4ClipWriter,
        close: (Int, Result<(writer: MP4ClipWriter, frames: Int), RenderError>) -> Void,
        deferred: inout [Slot], unfinished: inout [Slot]
    ) throws(RenderError) {
        guard let format, let packet, let decoded else { return }
        var next = 0
        var open: [Slot] = []
        var decidedFor = -1
        var nothingRead = true
        var retreats = 0
        var backoff = Int64((1.0 / videoTimeBase).rounded())
        let eps = min(max(1e-6, videoTimeBase / 2), 1e-3)
        clearQueue()
        defer { unfinished = open + slots[next...] }

        func fail(_ s: Slot, _ e: RenderError) {
            s.writer = nil
            close(s.id, .failure(e))
        }
        func noFrame(_ s: Slot) -> RenderError {
            let len = length.map { String(format: " (the video is %.3f s long)", $0) } ?? ""
            let why = lastProblem.isEmpty ? "" : "; last problem: \(lastProblem)"
            return RenderError(path: path, message: String(format: "no frame in the window %.3f–%.3f s", s.start, s.end) + len + why)
        }
        /// Finishes the windows whose pictures and sound are complete (all of them at the end of the file).
        func closeDone(all: Bool = false) {
            var i = 0
            while i < open.count {
                let s = open[i]
                guard all || (s.videoDone && s.audioDone) else { i += 1; continue }
                open.remove(at: i)
                guard let writer = s.writer else { continue }
                s.writer = nil
                do throws(RenderError) {
                    if let sampleRate = audioFormat?.sampleRate {
                        try writer.finishAudio(total: Self.samples(frames: s.kept, rate: rate, sampleRate: sampleRate))
                    }
                    close(s.id, .success((writer, s.kept)))
                } catch {
                    close(s.id, .failure(error))
                }
            }
            if next >= slots.count { clearQueue() }
        }
        /// Places converted sound at `seconds`…`end` in the open windows that want it.
        func dispatch(_ frame: UnsafeMutablePointer<AVFrame>, seconds: Double, end: Double) {
            for s in open where !s.audioDone {
                guard let writer = s.writer, let firstKept = s.firstKept else { continue }
                if end <= s.start { continue }
                if seconds >= s.end { s.audioDone = true; continue }
                do throws(RenderError) {
                    if try !writer.placeAudio(frame, at: seconds - firstKept, limit: s.audioLimit) { s.audioDone = true }
                } catch {
                    s.audioDone = true
                    s.videoDone = true
                    fail(s, error)
                }
            }
            open.removeAll { $0.writer == nil }
        }
        /// Whether sound at `seconds`…`end` is wanted by an open window or the next one.
        func audioWanted(_ seconds: Double, _ end: Double) -> Bool {
            if open.contains(where: { !$0.audioDone && end > $0.start && seconds < $0.end }) { return true }
            return next < slots.count && end > slots[next].start
        }
        /// The earliest time sound is still wanted from, nil when none is.
        func audioFrom() -> Double? {
            var t: Double? = next < slots.count ? slots[next].start : nil
            for s in open where !s.audioDone { t = min(t ?? s.start, s.start) }
            return t
        }
        /// Takes a decoded picture at t; true when the seek landed late and must go earlier.
        func take(_ frame: UnsafeMutablePointer<AVFrame>, at t: Double) -> Bool {
            if !firstFrameSeen {
                firstFrameSeen = true
                if open.isEmpty, next < slots.count, t > slots[next].start + eps, let point = seekTarget, point > startPts, retreats < 16 { return true }
            }
            for s in open where !s.videoDone && t >= s.end - eps { s.videoDone = true }
            while next < slots.count && t >= slots[next].start - eps {
                let s = slots[next]
                next += 1
                if t >= s.end - eps { close(s.id, .failure(noFrame(s))); continue }
                if open.count >= maxOpen { deferred.append(s); continue }
                do throws(RenderError) {
                    s.writer = try makeWriter(s.id)
                } catch {
                    close(s.id, .failure(error))
                    continue
                }
                s.firstKept = t
                open.append(s)
                if let sampleRate = audioFormat?.sampleRate {
                    s.audioLimit = Int64(((s.end - t) * Double(sampleRate)).rounded(.up))
                    for q in queued where !s.audioDone {
                        if q.end <= s.start { continue }
                        if q.seconds >= s.end { s.audioDone = true; break }
                        do throws(RenderError) {
                            if try !s.writer!.placeAudio(q.frame, at: q.seconds - t, limit: s.audioLimit) { s.audioDone = true }
                        } catch {
                            s.audioDone = true
                            s.videoDone = true
                            fail(s, error)
                        }
                    }
                }
            }
            open.removeAll { $0.writer == nil }
            // What the windows opened now no longer need of the queue.
            if next < slots.count {
                let from = slots[next].start
                while let q = queued.first, q.end <= from {
                    var f: UnsafeMutablePointer<AVFrame>? = q.frame
                    av_frame_free(&f)
                    queued.removeFirst()
                }
            } else {
                clearQueue()
            }
            for s in open where !s.videoDone {
                guard let writer = s.writer else { continue }
                do throws(RenderError) {
                    try writer.writeVideo(frame)
                    s.kept += 1
                    if let sampleRate = audioFormat?.sampleRate {
                        try writer.encodeAudio(upTo: Self.samples(frames: s.kept, rate: rate, sampleRate: sampleRate))
                    }
                } catch {
                    s.videoDone = true
                    s.audioDone = true
                    fail(s, error)
                }
            }
            open.removeAll { $0.writer == nil }
            closeDone()
            return false
        }
        /// Takes the pictures the video decoder has ready; true when a seek must go earlier.
        func receiveVideo() -> Bool {
            while true {
                let rc = avcodec_receive_frame(videoDecoder, decoded)
                if rc == Self.eagain || rc == Self.eof { return false }
                if rc < 0 { lastProblem = MediaProbe.failureMessage(rc, doing: "cannot decode"); return false }
                defer { av_frame_unref(decoded) }
                if take(decoded, at: Double(Self.pts(of: decoded) - startPts) * videoTimeBase) { return true }
            }
        }
        /// Takes the sound the audio decoder has ready: converts it once and places it.
        func receiveAudio() throws(RenderError) {
            guard let converted, let format = audioFormat else { return }
            while true {
                let rc = avcodec_receive_frame(audioDecoder, decoded)
                if rc < 0 { return }
                defer { av_frame_unref(decoded) }
                let sampleRate = Double(decoded.pointee.sample_rate > 0 ? decoded.pointee.sample_rate : format.sampleRate)
                let pts = Self.pts(of: decoded)
                let seconds = decoded.pointee.best_effort_timestamp != Self.noPts || decoded.pointee.pts != Self.noPts
                    ? Double(pts) * audioTimeBase - startSeconds : (nextAudioSeconds ?? 0)
                let end = seconds + Double(decoded.pointee.nb_samples) / sampleRate
                nextAudioSeconds = end
                guard audioWanted(seconds, end) else { continue }
                try convert(decoded, into: converted, format)
                guard converted.pointee.nb_samples > 0 else { continue }
                dispatch(converted, seconds: seconds, end: end)
                if next < slots.count && end > slots[next].start, let copy = av_frame_clone(converted) {
                    queued.append((copy, seconds, end))
                }
            }
        }
        func seekFor(_ s: Slot) throws(RenderError) {
            try seek(to: s.startTicks)
            retreats = 0
            backoff = Int64((1.0 / videoTimeBase).rounded())
            lastVideoDts = nil
        }

        while true {
            if open.isEmpty {
                guard next < slots.count else { break }
                if decidedFor != next {
                    decidedFor = next
                    let s = slots[next]
                    if nothingRead {
                        if !fresh || s.start > 0 { try seekFor(s) }
                    } else if shouldSeek(to: s) {
                        try seekFor(s)
                    }
                }
            }
            let rc = av_read_frame(format, packet)
            if rc < 0 {
                if rc != Self.eof { lastProblem = MediaProbe.failureMessage(rc, doing: "cannot read") }
                // The end of the file: what the decoders still hold, then every open window ends.
                avcodec_send_packet(videoDecoder, nil)
                if receiveVideo() {
                    try retreat(&retreats, &backoff)
                    continue
                }
                // A seek that landed past the last picture (an MPEG-TS seek near the end): step back.
                if !firstFrameSeen, open.isEmpty, next < slots.count, let point = seekTarget, point > startPts, retreats < 16 {
                    try retreat(&retreats, &backoff)
                    continue
                }
                if audioDecoder != nil {
                    avcodec_send_packet(audioDecoder, nil)
                    try receiveAudio()
                    if let resampler, let converted, let format = audioFormat, let at = nextAudioSeconds, open.contains(where: { !$0.audioDone }) {
                        // What the resampler still holds.
                        prepare(converted, format)
                        if swr_convert_frame(resampler, converted, nil) >= 0 && converted.pointee.nb_samples > 0 {
                            dispatch(converted, seconds: at, end: at + Double(converted.pointee.nb_samples) / Double(format.sampleRate))
                        }
                    }
                }
                closeDone(all: true)
                while next < slots.count {
                    let s = slots[next]
                    next += 1
                    close(s.id, .failure(noFrame(s)))
                }
                break
            }
            nothingRead = false
            defer { av_packet_unref(packet) }
            let p = packet.pointee
            if p.stream_index == videoIndex {
                let dts = p.dts != Self.noPts ? p.dts : p.pts
                if dts != Self.noPts {
                    lastVideoDts = dts
                    // Windows whose sound never came (the sound stream ended early) end with silence.
                    let read = Double(dts - startPts) * videoTimeBase
                    var ended = false
                    for s in open where s.videoDone && !s.audioDone && read > s.end + Self.audioSlack { s.audioDone = true; ended = true }
                    if ended { closeDone() }
                }
                let wanting = open.contains { !$0.videoDone }
                guard wanting || next < slots.count else { continue }
                // A picture before the next window that no later picture refers to need not be made.
                let before = p.pts != Self.noPts && next < slots.count && p.pts < slots[next].startTicks
                videoDecoder!.pointee.skip_frame = !wanting && before ? AVDISCARD_NONREF : AVDISCARD_DEFAULT
                let sent = avcodec_send_packet(videoDecoder, packet)
                // A packet the decoder rejects is skipped, as ffmpeg does.
                if sent < 0 { lastProblem = MediaProbe.failureMessage(sent, doing: "cannot decode"); continue }
                if receiveVideo() { try retreat(&retreats, &backoff) }
            } else if p.stream_index == audioIndex, audioDecoder != nil {
                // Sound well before any window still to come is not decoded; a little before is, so
                // that the decoder's overlapping windows are primed when the window starts.
                guard let from = audioFrom() else { continue }
                if p.pts != Self.noPts && Double(p.pts + p.duration) * audioTimeBase - startSeconds < from - 0.2 {
                    audioSkipped = true
                    continue
                }
                if audioSkipped {
                    // Start afresh, as after a seek, so the sound is what a cut of this window alone gets.
                    avcodec_flush_buffers(audioDecoder)
                    if let resampler { swr_init(resampler) }
                    nextAudioSeconds = nil
                    audioSkipped = false
                }
                if avcodec_send_packet(audioDecoder, packet) < 0 { continue }
                try receiveAudio()
            }
        }
    }

    /// The seek landed after the window's start (an index of decoding times, or an MPEG-TS seek that
    /// reached the next keyframe): step back and decode again. Gives up after 16 steps; the window
    /// then starts where the file let it.
    private func retreat(_ retreats: inout Int, _ backoff: inout Int64) throws(RenderError) {
        guard let point = seekTarget, point > startPts, retreats < 16 else { return }
        try seek(to: max(startPts, point - backoff))
        backoff *= 2
        retreats += 1
        lastVideoDts = nil
    }

    /// Whether reaching `s` by seeking decodes less than reading on from where the pass is.
    private func shouldSeek(to s: Slot) -> Bool {
        guard let last = lastVideoDts, let format else { return true }
        let stream = format.pointee.streams[Int(videoIndex)]!
        let i = av_index_search_timestamp(stream, s.startTicks, AVSEEK_FLAG_BACKWARD)
        if i >= 0, let entry = avformat_index_get_entry(stream, i) {
            // The keyframe a seek lands on is past what was read: everything up to it is skipped.
            return entry.pointee.timestamp > last
        }
        return Double(s.startTicks - last) * videoTimeBase > Self.seekGap
    }

    private func clearQueue() {
        for q in queued { var f: UnsafeMutablePointer<AVFrame>? = q.frame; av_frame_free(&f) }
        queued.removeAll()
    }

    // MARK: - Sound conversion

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
        clearQueue()
        nextAudioSeconds = nil
        audioSkipped = false
        seekTarget = target
        firstFrameSeen = false
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
