import CFFmpeg
import Foundation

/// Turns decoded frames into JPEG bytes: cut around the face when asked, scaled with libswscale to
/// the pixel budget, encoded with libavcodec's MJPEG encoder. Keeps its scaler and encoder between
/// frames of the same size. One encoder belongs to one thread.
final class JPEGFrameEncoder {
    private let options: FrameSamplingOptions
    private let path: String
    private var scaler: OpaquePointer?
    private var encoder: UnsafeMutablePointer<AVCodecContext>?
    private var scaled: UnsafeMutablePointer<AVFrame>
    private let packet: UnsafeMutablePointer<AVPacket>
    private var frameNumber: Int64 = 0

    init(options: FrameSamplingOptions, path: String) throws(FrameSamplingError) {
        self.options = options
        self.path = path
        scaled = av_frame_alloc()
        packet = av_packet_alloc()
    }

    deinit {
        sws_freeContext(scaler)
        avcodec_free_context(&encoder)
        var f: UnsafeMutablePointer<AVFrame>? = scaled
        av_frame_free(&f)
        var p: UnsafeMutablePointer<AVPacket>? = packet
        av_packet_free(&p)
    }

    /// The JPEG of `frame` and its size. `frame` is left as it was.
    func encode(_ frame: UnsafeMutablePointer<AVFrame>) throws(FrameSamplingError) -> (width: Int, height: Int, jpeg: Data) {
        // A new reference to the same pictures, so cropping moves this view's plane pointers
        // and not the decoder's frame.
        var source = av_frame_clone(frame)
        defer { av_frame_free(&source) }
        guard let src = source else { throw failure("out of memory while copying a frame") }
        if let crop = options.faceCrop {
            let r = crop.region(width: Int(src.pointee.width), height: Int(src.pointee.height))
            src.pointee.crop_left = Int(r.x)
            src.pointee.crop_top = Int(r.y)
            src.pointee.crop_right = Int(src.pointee.width) - r.x - r.width
            src.pointee.crop_bottom = Int(src.pointee.height) - r.y - r.height
            let rc = av_frame_apply_cropping(src, Int32(AV_FRAME_CROP_UNALIGNED))
            guard rc >= 0 else { throw failure(MediaProbe.failureMessage(rc, doing: "cannot crop around the face")) }
        }
        let (w, h) = FrameSampler.fittedSize(width: Int(src.pointee.width), height: Int(src.pointee.height), pixelBudget: options.pixelBudget)
        try scale(src, toWidth: Int32(w), height: Int32(h))
        return (w, h, try encodeScaled())
    }

    private func scale(_ src: UnsafeMutablePointer<AVFrame>, toWidth w: Int32, height h: Int32) throws(FrameSamplingError) {
        let jpegFormat = AV_PIX_FMT_YUVJ420P
        scaler = sws_getCachedContext(
            scaler, src.pointee.width, src.pointee.height, AVPixelFormat(rawValue: src.pointee.format),
            w, h, jpegFormat, SWS_BICUBIC, nil, nil, nil)
        guard let scaler else {
            let name = av_get_pix_fmt_name(AVPixelFormat(rawValue: src.pointee.format)).map { String(cString: $0) } ?? "\(src.pointee.format)"
            throw failure("cannot scale \(name) \(src.pointee.width)x\(src.pointee.height) pictures to \(w)x\(h)")
        }
        // libswscale reads the range from the pixel format; a yuv420p stream flagged full-range
        // (common from phones) must be told, or its blacks and whites get stretched twice.
        var inv: UnsafeMutablePointer<Int32>? = nil, table: UnsafeMutablePointer<Int32>? = nil
        var srcRange: Int32 = 0, dstRange: Int32 = 0, brightness: Int32 = 0, contrast: Int32 = 0, saturation: Int32 = 0
        if sws_getColorspaceDetails(scaler, &inv, &srcRange, &table, &dstRange, &brightness, &contrast, &saturation) >= 0 {
            let full: Int32 = src.pointee.color_range == AVCOL_RANGE_JPEG ? 1 : srcRange
            if full != srcRange {
                sws_setColorspaceDetails(scaler, inv, full, table, dstRange, brightness, contrast, saturation)
            }
        }
        if scaled.pointee.width != w || scaled.pointee.height != h || scaled.pointee.data.0 == nil {
            av_frame_unref(scaled)
            scaled.pointee.format = jpegFormat.rawValue
            scaled.pointee.width = w
            scaled.pointee.height = h
            let rc = av_frame_get_buffer(scaled, 0)
            guard rc >= 0 else { throw failure(MediaProbe.failureMessage(rc, doing: "cannot allocate a \(w)x\(h) picture")) }
        }
        var rc = av_frame_make_writable(scaled)
        if rc >= 0 { rc = sws_scale_frame(scaler, scaled, src) }
        guard rc >= 0 else { throw failure(MediaProbe.failureMessage(rc, doing: "cannot scale the frame")) }
    }

    private func encodeScaled() throws(FrameSamplingError) -> Data {
        let w = scaled.pointee.width, h = scaled.pointee.height
        if encoder == nil || encoder!.pointee.width != w || encoder!.pointee.height != h {
            avcodec_free_context(&encoder)
            guard let codec = avcodec_find_encoder(AV_CODEC_ID_MJPEG), let ctx = avcodec_alloc_context3(codec) else {
                throw failure("this libavcodec has no MJPEG encoder")
            }
            ctx.pointee.width = w
            ctx.pointee.height = h
            ctx.pointee.pix_fmt = AV_PIX_FMT_YUVJ420P
            ctx.pointee.color_range = AVCOL_RANGE_JPEG
            ctx.pointee.time_base = AVRational(num: 1, den: 25)
            // A fixed quantiser, as ffmpeg's -q:v, rather than a bit rate.
            ctx.pointee.flags |= AV_CODEC_FLAG_QSCALE
            ctx.pointee.global_quality = Int32(options.jpegQScale) * FF_QP2LAMBDA
            encoder = ctx
            let rc = avcodec_open2(ctx, codec, nil)
            guard rc >= 0 else {
                avcodec_free_context(&encoder)
                throw failure(MediaProbe.failureMessage(rc, doing: "cannot open the MJPEG encoder"))
            }
        }
        scaled.pointee.quality = Int32(options.jpegQScale) * FF_QP2LAMBDA
        scaled.pointee.pts = frameNumber
        frameNumber += 1
        var rc = avcodec_send_frame(encoder, scaled)
        if rc >= 0 { rc = avcodec_receive_packet(encoder, packet) }
        guard rc >= 0, let data = packet.pointee.data else {
            throw failure(MediaProbe.failureMessage(rc < 0 ? rc : -1, doing: "cannot encode the JPEG"))
        }
        defer { av_packet_unref(packet) }
        return Data(bytes: data, count: Int(packet.pointee.size))
    }

    private func failure(_ message: String) -> FrameSamplingError { FrameSamplingError(path: path, message: message) }
}
