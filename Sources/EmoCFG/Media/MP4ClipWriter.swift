import CFFmpeg
import Foundation

/// The MP4 file a clip is rendered into: one constant-rate video stream (H.264 by libx264, or
/// MPEG-4 Part 2) and, for a clip with sound, one AAC stream.
///
/// Pictures go in in display order, in any pixel format and size; libswscale turns them into
/// yuv420p at the file's size, and frame n is stamped n / rate, so the file's rate is constant
/// whatever the source's timestamps were. Sound goes in as planar float at the AAC encoder's rate,
/// placed on the video's timeline, and is never encoded past what the video covers.
///
/// One writer belongs to one thread. `finish()` writes the index; a writer dropped without it leaves
/// an incomplete file that the caller deletes. Every libav object is freed in `deinit`, on every path.
final class MP4ClipWriter {
    /// What the AAC stream carries.
    struct AudioFormat: Equatable {
        var sampleRate: Int32
        var channels: Int32
    }

    // Every stored property has a value before the first `throw` of `init`, so that `deinit`
    // frees what was opened on every path.
    private(set) var width: Int32 = 0
    private(set) var height: Int32 = 0
    private(set) var rate = AVRational(num: 25, den: 1)
    private(set) var encoderName = ""
    /// Frames encoded so far.
    private(set) var frames = 0
    /// Whether the file has an audio stream.
    var hasAudio: Bool { audio != nil }
    private(set) var audioFormat: AudioFormat?

    /// What errors name: the clip's input.
    private var errorPath = ""
    private var format: UnsafeMutablePointer<AVFormatContext>?
    private var video: UnsafeMutablePointer<AVCodecContext>?
    private var videoStream: UnsafeMutablePointer<AVStream>?
    private var audio: UnsafeMutablePointer<AVCodecContext>?
    private var audioStream: UnsafeMutablePointer<AVStream>?
    private var scaler: OpaquePointer?
    private var picture: UnsafeMutablePointer<AVFrame>?
    private var packet: UnsafeMutablePointer<AVPacket>?
    private var fifo: OpaquePointer?
    private var audioChunk: UnsafeMutablePointer<AVFrame>?
    private var ioOpen = false
    /// The fixed quantiser of the MPEG-4 encoder (ffmpeg's -q:v), nil for libx264.
    private var qscale: Int32?

    /// Samples placed on the timeline (silence included) and samples encoded.
    private var audioPlaced: Int64 = 0
    private var audioEncoded: Int64 = 0
    private var audioStarted = false

    private static let eagain = emocfg_averror_eagain()
    private static let eof = emocfg_averror_eof()

    /// Opens `output` for writing (as MP4 whatever its name), with a video stream of
    /// `width` × `height` (even) at `rate` frames per second, and an AAC stream when `audio` is set.
    /// `errorPath` is what errors name.
    init(
        output: String, errorPath: String, encoder: String, settings: RenderSettings,
        width: Int32, height: Int32, rate: AVRational, sampleAspect: AVRational = AVRational(num: 0, den: 1),
        audio audioFormat: AudioFormat?
    ) throws(RenderError) {
        self.errorPath = errorPath
        self.width = width
        self.height = height
        self.encoderName = encoder
        packet = av_packet_alloc()
        picture = av_frame_alloc()
        audioChunk = av_frame_alloc()

        var oc: UnsafeMutablePointer<AVFormatContext>? = nil
        var rc = avformat_alloc_output_context2(&oc, nil, "mp4", output)
        guard rc >= 0, let oc else {
            throw RenderError(path: errorPath, message: MediaProbe.failureMessage(rc, doing: "cannot set up an MP4 file"))
        }
        format = oc

        // MPEG-4 Part 2 cannot state a time base whose denominator exceeds 16 bits.
        var rate = rate
        if encoder == "mpeg4" && rate.den > 65535 { rate = av_d2q(av_q2d(rate), 65535) }
        self.rate = rate

        guard let codec = avcodec_find_encoder_by_name(encoder) else {
            throw RenderError(path: errorPath, message: "this libavcodec has no \(encoder) encoder")
        }
        guard let v = avcodec_alloc_context3(codec) else { throw RenderError(path: errorPath, message: "out of memory") }
        video = v
        v.pointee.width = width
        v.pointee.height = height
        v.pointee.pix_fmt = AV_PIX_FMT_YUV420P
        v.pointee.color_range = AVCOL_RANGE_MPEG
        v.pointee.sample_aspect_ratio = sampleAspect
        v.pointee.framerate = rate
        v.pointee.time_base = av_inv_q(rate)
        // One thread: the caller renders one clip per core, and x264's frame threads would each
        // hold several frames in flight (memory, latency) to gain nothing on a busy machine.
        v.pointee.thread_count = 1
        if (oc.pointee.oformat.pointee.flags & AVFMT_GLOBALHEADER) != 0 { v.pointee.flags |= AV_CODEC_FLAG_GLOBAL_HEADER }
        var options: OpaquePointer? = nil
        defer { av_dict_free(&options) }
        if encoder == "libx264" {
            av_dict_set(&options, "preset", settings.preset, 0)
            av_dict_set(&options, "crf", "\(settings.crf)", 0)
        } else {
            // crf 20 → q 4, 23 → 5, 51 → 14: about the same look as libx264 at that crf.
            let q = Int32(min(31, max(2, (settings.crf - 8) / 3)))
            qscale = q
            v.pointee.flags |= AV_CODEC_FLAG_QSCALE
            v.pointee.global_quality = q * FF_QP2LAMBDA
        }
        LibavLog.clear()
        rc = avcodec_open2(v, codec, &options)
        guard rc >= 0 else {
            throw RenderError(path: errorPath, message: MediaProbe.failureMessage(rc, doing: "cannot open the \(encoder) encoder at \(width)x\(height)"))
        }
        guard let vs = avformat_new_stream(oc, nil) else { throw RenderError(path: errorPath, message: "out of memory") }
        videoStream = vs
        rc = avcodec_parameters_from_context(vs.pointee.codecpar, v)
        guard rc >= 0 else { throw RenderError(path: errorPath, message: MediaProbe.failureMessage(rc, doing: "cannot set up the video stream")) }
        vs.pointee.time_base = v.pointee.time_base
        vs.pointee.avg_frame_rate = rate
        vs.pointee.sample_aspect_ratio = sampleAspect

        self.audioFormat = audioFormat
        if let audioFormat { try openAudio(audioFormat, in: oc) }

        // Errors about the file name the final name, not the `.partial` one written first.
        let target = output.hasSuffix(".partial") ? String(output.dropLast(".partial".count)) : output
        LibavLog.clear()
        rc = avio_open(&oc.pointee.pb, output, AVIO_FLAG_WRITE)
        guard rc >= 0 else { throw RenderError(path: target, message: MediaProbe.failureMessage(rc, doing: "cannot create the file")) }
        ioOpen = true
        // The index first, so that a player or a web server can start before the end.
        var muxOptions: OpaquePointer? = nil
        defer { av_dict_free(&muxOptions) }
        av_dict_set(&muxOptions, "movflags", "+faststart", 0)
        rc = avformat_write_header(oc, &muxOptions)
        guard rc >= 0 else { throw RenderError(path: target, message: MediaProbe.failureMessage(rc, doing: "cannot write the MP4 header")) }
    }

    deinit {
        if ioOpen, let format { avio_closep(&format.pointee.pb) }
        avformat_free_context(format)
        avcodec_free_context(&video)
        avcodec_free_context(&audio)
        sws_freeContext(scaler)
        av_frame_free(&picture)
        av_frame_free(&audioChunk)
        av_packet_free(&packet)
        if let fifo { av_audio_fifo_free(fifo) }
    }

    /// The AAC sample rate for a source at `rate`: the same when the encoder takes it, else the
    /// nearest it takes.
    static func aacRate(for rate: Int32) -> Int32 {
        guard let codec = avcodec_find_encoder(AV_CODEC_ID_AAC), var p = codec.pointee.supported_samplerates else { return 48000 }
        var best: Int32 = 48000
        while p.pointee != 0 {
            if abs(p.pointee - rate) < abs(best - rate) { best = p.pointee }
            p += 1
        }
        return best
    }

    private func openAudio(_ f: AudioFormat, in oc: UnsafeMutablePointer<AVFormatContext>) throws(RenderError) {
        guard let codec = avcodec_find_encoder(AV_CODEC_ID_AAC), let a = avcodec_alloc_context3(codec) else {
            throw RenderError(path: errorPath, message: "this libavcodec has no AAC encoder")
        }
        audio = a
        a.pointee.sample_fmt = AV_SAMPLE_FMT_FLTP
        a.pointee.sample_rate = f.sampleRate
        av_channel_layout_default(&a.pointee.ch_layout, f.channels)
        a.pointee.bit_rate = 64_000 * Int64(f.channels)
        a.pointee.time_base = AVRational(num: 1, den: f.sampleRate)
        if (oc.pointee.oformat.pointee.flags & AVFMT_GLOBALHEADER) != 0 { a.pointee.flags |= AV_CODEC_FLAG_GLOBAL_HEADER }
        LibavLog.clear()
        var rc = avcodec_open2(a, codec, nil)
        guard rc >= 0 else { throw RenderError(path: errorPath, message: MediaProbe.failureMessage(rc, doing: "cannot open the AAC encoder")) }
        guard let s = avformat_new_stream(oc, nil) else { throw RenderError(path: errorPath, message: "out of memory") }
        audioStream = s
        rc = avcodec_parameters_from_context(s.pointee.codecpar, a)
        guard rc >= 0 else { throw RenderError(path: errorPath, message: MediaProbe.failureMessage(rc, doing: "cannot set up the audio stream")) }
        s.pointee.time_base = a.pointee.time_base
        guard let q = av_audio_fifo_alloc(AV_SAMPLE_FMT_FLTP, f.channels, max(a.pointee.frame_size, 1024) * 4) else {
            throw RenderError(path: errorPath, message: "out of memory")
        }
        fifo = q
    }

    // MARK: - Video

    /// Encodes `frame` as the next frame (its own timestamps are ignored). `frame` is left as it was.
    func writeVideo(_ frame: UnsafeMutablePointer<AVFrame>) throws(RenderError) {
        guard let picture else { return }
        let f = frame.pointee
        av_frame_unref(picture)
        if f.format == AV_PIX_FMT_YUV420P.rawValue && f.width == width && f.height == height && f.color_range != AVCOL_RANGE_JPEG {
            // Already what the encoder takes: a new reference, no copy.
            let rc = av_frame_ref(picture, frame)
            guard rc >= 0 else { throw RenderError(path: errorPath, message: MediaProbe.failureMessage(rc, doing: "cannot reference a frame")) }
        } else {
            try scale(frame, into: picture)
        }
        // A decoder's picture type would force the encoder's frame types (libx264 reads it).
        picture.pointee.pict_type = AV_PICTURE_TYPE_NONE
        picture.pointee.pts = Int64(frames)
        if let qscale { picture.pointee.quality = qscale * FF_QP2LAMBDA }
        LibavLog.clear()
        let rc = avcodec_send_frame(video, picture)
        av_frame_unref(picture)
        guard rc >= 0 else { throw RenderError(path: errorPath, message: MediaProbe.failureMessage(rc, doing: "cannot encode frame \(frames)")) }
        frames += 1
        if let videoStream { try drain(video, into: videoStream) }
    }

    /// Converts `frame` to yuv420p at the file's size. A frame one pixel wider or taller than the
    /// file (an odd size) loses its last column or row rather than being resampled.
    private func scale(_ frame: UnsafeMutablePointer<AVFrame>, into out: UnsafeMutablePointer<AVFrame>) throws(RenderError) {
        let f = frame.pointee
        let cropOnly = f.width & ~1 == width && f.height & ~1 == height
        let srcW = cropOnly ? width : f.width, srcH = cropOnly ? height : f.height
        scaler = sws_getCachedContext(scaler, srcW, srcH, AVPixelFormat(rawValue: f.format), width, height, AV_PIX_FMT_YUV420P,
                                      SWS_BICUBIC, nil, nil, nil)
        guard let scaler else {
            let name = av_get_pix_fmt_name(AVPixelFormat(rawValue: f.format)).map { String(cString: $0) } ?? "\(f.format)"
            throw RenderError(path: errorPath, message: "cannot convert \(name) \(f.width)x\(f.height) pictures to yuv420p \(width)x\(height)")
        }
        // libswscale reads the range from the pixel format; a yuv420p picture flagged full range
        // must be told, or its blacks and whites get stretched twice.
        var inv: UnsafeMutablePointer<Int32>? = nil, table: UnsafeMutablePointer<Int32>? = nil
        var srcRange: Int32 = 0, dstRange: Int32 = 0, brightness: Int32 = 0, contrast: Int32 = 0, saturation: Int32 = 0
        if sws_getColorspaceDetails(scaler, &inv, &srcRange, &table, &dstRange, &brightness, &contrast, &saturation) >= 0 {
            let full: Int32 = f.color_range == AVCOL_RANGE_JPEG ? 1 : srcRange
            if full != srcRange || dstRange != 0 {
                sws_setColorspaceDetails(scaler, inv, full, table, 0, brightness, contrast, saturation)
            }
        }
        out.pointee.format = AV_PIX_FMT_YUV420P.rawValue
        out.pointee.width = width
        out.pointee.height = height
        var rc = av_frame_get_buffer(out, 0)
        guard rc >= 0 else { throw RenderError(path: errorPath, message: MediaProbe.failureMessage(rc, doing: "cannot allocate a \(width)x\(height) picture")) }
        // Through sws_scale with the source's own plane pointers, so that a crop needs no copy.
        rc = withUnsafePointer(to: frame.pointee.data) { data in
            withUnsafePointer(to: frame.pointee.linesize) { lines in
                withUnsafeMutablePointer(to: &out.pointee.data) { dst in
                    withUnsafeMutablePointer(to: &out.pointee.linesize) { dstLines in
                        sws_scale(
                            scaler,
                            UnsafeRawPointer(data).assumingMemoryBound(to: UnsafePointer<UInt8>?.self),
                            UnsafeRawPointer(lines).assumingMemoryBound(to: Int32.self),
                            0, srcH,
                            UnsafeMutableRawPointer(dst).assumingMemoryBound(to: UnsafeMutablePointer<UInt8>?.self),
                            UnsafeMutableRawPointer(dstLines).assumingMemoryBound(to: Int32.self))
                    }
                }
            }
        }
        guard rc > 0 else { throw RenderError(path: errorPath, message: MediaProbe.failureMessage(rc < 0 ? rc : -1, doing: "cannot convert a frame")) }
        out.pointee.sample_aspect_ratio = f.sample_aspect_ratio
    }

    // MARK: - Audio

    /// Places `frame` (planar float at the stream's rate and channels) `at` seconds on the video's
    /// timeline. The first frame placed sets where the sound starts: silence fills the gap when it
    /// starts after 0, the samples before 0 are dropped. Later frames follow on without gaps.
    /// Nothing is placed past `limit` samples. Returns whether more sound is wanted.
    @discardableResult
    func placeAudio(_ frame: UnsafeMutablePointer<AVFrame>, at seconds: Double, limit: Int64) throws(RenderError) -> Bool {
        guard let fifo, let format = audioFormat else { return false }
        var skip: Int64 = 0
        if !audioStarted {
            let offset = Int64((seconds * Double(format.sampleRate)).rounded())
            if offset < 0 {
                skip = -offset
                if skip >= Int64(frame.pointee.nb_samples) { return true }
            } else if offset > 0 {
                try placeSilence(min(offset, limit))
            }
            audioStarted = true
        }
        let n = min(Int64(frame.pointee.nb_samples) - skip, limit - audioPlaced)
        guard n > 0 else { return audioPlaced < limit }
        var planes = [UnsafeMutableRawPointer?](repeating: nil, count: Int(format.channels))
        for c in 0..<Int(format.channels) {
            planes[c] = frame.pointee.extended_data[c].map { UnsafeMutableRawPointer($0 + Int(skip) * MemoryLayout<Float>.size) }
        }
        let rc = planes.withUnsafeMutableBufferPointer { av_audio_fifo_write(fifo, $0.baseAddress, Int32(n)) }
        guard rc >= 0 else { throw RenderError(path: errorPath, message: MediaProbe.failureMessage(rc, doing: "cannot buffer sound")) }
        audioPlaced += n
        return audioPlaced < limit
    }

    /// Encodes the sound placed so far, in whole AAC frames, as far as `covered` samples (what the
    /// video frames written so far span): the sound never runs ahead of the pictures.
    func encodeAudio(upTo covered: Int64) throws(RenderError) {
        guard let audio else { return }
        let size = Int64(max(audio.pointee.frame_size, 1024))
        while audioEncoded + size <= covered, let fifo, Int64(av_audio_fifo_size(fifo)) >= size {
            try encodeAudioChunk(Int32(size))
        }
    }

    /// Ends the sound at exactly `total` samples: encodes what is left up to there (the last AAC
    /// frame shorter), silence when the source's sound ended earlier.
    func finishAudio(total: Int64) throws(RenderError) {
        guard let audio, let fifo else { return }
        audioStarted = true
        if audioPlaced < total { try placeSilence(total - audioPlaced) }
        let size = Int64(max(audio.pointee.frame_size, 1024))
        while audioEncoded < total && av_audio_fifo_size(fifo) > 0 {
            try encodeAudioChunk(Int32(min(size, total - audioEncoded, Int64(av_audio_fifo_size(fifo)))))
        }
        LibavLog.clear()
        let rc = avcodec_send_frame(audio, nil)
        guard rc >= 0 || rc == Self.eof else { throw RenderError(path: errorPath, message: MediaProbe.failureMessage(rc, doing: "cannot finish the sound")) }
        if let audioStream { try drain(audio, into: audioStream) }
    }

    private func placeSilence(_ count: Int64) throws(RenderError) {
        guard let fifo, let format = audioFormat, count > 0 else { return }
        var zeros = [Float](repeating: 0, count: 1024)
        var left = count
        let rc: Int32 = zeros.withUnsafeMutableBytes { raw in
            var planes = [UnsafeMutableRawPointer?](repeating: raw.baseAddress, count: Int(format.channels))
            while left > 0 {
                let n = Int32(min(left, 1024))
                let rc = planes.withUnsafeMutableBufferPointer { av_audio_fifo_write(fifo, $0.baseAddress, n) }
                if rc < 0 { return rc }
                left -= Int64(n)
            }
            return 0
        }
        guard rc >= 0 else { throw RenderError(path: errorPath, message: MediaProbe.failureMessage(rc, doing: "cannot buffer sound")) }
        audioPlaced += count
    }

    private func encodeAudioChunk(_ n: Int32) throws(RenderError) {
        guard let audio, let audioStream, let fifo, let chunk = audioChunk, let format = audioFormat else { return }
        av_frame_unref(chunk)
        chunk.pointee.format = AV_SAMPLE_FMT_FLTP.rawValue
        chunk.pointee.sample_rate = format.sampleRate
        chunk.pointee.nb_samples = n
        av_channel_layout_default(&chunk.pointee.ch_layout, format.channels)
        var rc = av_frame_get_buffer(chunk, 0)
        guard rc >= 0 else { throw RenderError(path: errorPath, message: MediaProbe.failureMessage(rc, doing: "cannot allocate sound")) }
        rc = av_audio_fifo_read(fifo, UnsafeMutableRawPointer(chunk.pointee.extended_data).assumingMemoryBound(to: UnsafeMutableRawPointer?.self), n)
        guard rc == n else { throw RenderError(path: errorPath, message: "cannot read buffered sound") }
        chunk.pointee.pts = audioEncoded
        LibavLog.clear()
        rc = avcodec_send_frame(audio, chunk)
        av_frame_unref(chunk)
        guard rc >= 0 else { throw RenderError(path: errorPath, message: MediaProbe.failureMessage(rc, doing: "cannot encode sound")) }
        audioEncoded += Int64(n)
        try drain(audio, into: audioStream)
    }

    // MARK: - Muxing

    /// Sends the encoders' last frames through, writes the index and closes the file.
    func finish() throws(RenderError) {
        guard let format else { return }
        LibavLog.clear()
        var rc = avcodec_send_frame(video, nil)
        guard rc >= 0 || rc == Self.eof else { throw RenderError(path: errorPath, message: MediaProbe.failureMessage(rc, doing: "cannot finish the video")) }
        if let videoStream { try drain(video, into: videoStream) }
        rc = av_write_trailer(format)
        guard rc >= 0 else { throw RenderError(path: errorPath, message: MediaProbe.failureMessage(rc, doing: "cannot write the MP4 index")) }
        rc = avio_closep(&format.pointee.pb)
        ioOpen = false
        guard rc >= 0 else { throw RenderError(path: errorPath, message: MediaProbe.failureMessage(rc, doing: "cannot close the file")) }
    }

    private func drain(_ ctx: UnsafeMutablePointer<AVCodecContext>?, into stream: UnsafeMutablePointer<AVStream>) throws(RenderError) {
        guard let ctx, let packet else { return }
        while true {
            var rc = avcodec_receive_packet(ctx, packet)
            if rc == Self.eagain || rc == Self.eof { return }
            guard rc >= 0 else { throw RenderError(path: errorPath, message: MediaProbe.failureMessage(rc, doing: "cannot encode")) }
            // Every video frame lasts one tick of 1 / rate, also the last one, which sets the file's length.
            if packet.pointee.duration == 0 && ctx == video { packet.pointee.duration = 1 }
            av_packet_rescale_ts(packet, ctx.pointee.time_base, stream.pointee.time_base)
            packet.pointee.stream_index = stream.pointee.index
            rc = av_interleaved_write_frame(format, packet)
            guard rc >= 0 else { throw RenderError(path: errorPath, message: MediaProbe.failureMessage(rc, doing: "cannot write to the MP4 file")) }
        }
    }
}
