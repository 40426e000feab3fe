import CFFmpeg
import Foundation

/// Decodes frame images (JPEG, PNG, BMP) one after the other, straight with libavcodec: the file's
/// first bytes say which decoder, and the whole file goes in as one packet. No demuxer is opened
/// (the image2 demuxer would probe every file again), and each decoder is kept for the next image.
///
/// One decoder belongs to one thread.
final class ImageFrameDecoder {
    private var decoders: [UInt32: UnsafeMutablePointer<AVCodecContext>] = [:]
    private var packet: UnsafeMutablePointer<AVPacket>?
    private var frame: UnsafeMutablePointer<AVFrame>?

    private static let setUp: Void = { LibavLog.install() }()
    private static let eagain = emocfg_averror_eagain()

    init() {
        _ = Self.setUp
        packet = av_packet_alloc()
        frame = av_frame_alloc()
    }

    deinit {
        for (_, ctx) in decoders {
            var c: UnsafeMutablePointer<AVCodecContext>? = ctx
            avcodec_free_context(&c)
        }
        av_packet_free(&packet)
        av_frame_free(&frame)
    }

    /// The picture in the image file at `path`, valid until the next call; the reason it cannot be
    /// read otherwise (as a message, for the caller to place in its error).
    func decode(_ path: String) -> Result<UnsafeMutablePointer<AVFrame>, Failure> {
        guard let packet, let frame else { return .failure(Failure("out of memory")) }
        guard let data = FileManager.default.contents(atPath: path) else { return .failure(Failure("cannot read the file")) }
        guard let id = Self.codec(of: data) else {
            let head = data.prefix(4).map { String(format: "%02x", $0) }.joined(separator: " ")
            return .failure(Failure(data.isEmpty ? "the file is empty" : "not a JPEG, PNG or BMP image (it starts with \(head))"))
        }
        let ctx: UnsafeMutablePointer<AVCodecContext>
        switch decoder(for: id) {
        case .success(let c): ctx = c
        case .failure(let f): return .failure(f)
        }
        LibavLog.clear()
        var rc = av_new_packet(packet, Int32(data.count))
        guard rc >= 0 else { return .failure(Failure(MediaProbe.failureMessage(rc, doing: "cannot allocate"))) }
        defer { av_packet_unref(packet) }
        data.withUnsafeBytes { packet.pointee.data.update(from: $0.bindMemory(to: UInt8.self).baseAddress!, count: data.count) }
        packet.pointee.flags |= AV_PKT_FLAG_KEY
        av_frame_unref(frame)
        rc = avcodec_send_packet(ctx, packet)
        if rc >= 0 || rc == Self.eagain { rc = avcodec_receive_frame(ctx, frame) }
        if rc == Self.eagain {
            // A decoder that holds the picture back gives it once told nothing more comes.
            avcodec_send_packet(ctx, nil)
            rc = avcodec_receive_frame(ctx, frame)
            avcodec_flush_buffers(ctx)
        }
        guard rc >= 0 else { return .failure(Failure(MediaProbe.failureMessage(rc, doing: "cannot decode the image"))) }
        guard frame.pointee.width > 0, frame.pointee.height > 0 else { return .failure(Failure("the image has no pixels")) }
        return .success(frame)
    }

    struct Failure: Error {
        var message: String
        init(_ message: String) { self.message = message }
    }

    private func decoder(for id: AVCodecID) -> Result<UnsafeMutablePointer<AVCodecContext>, Failure> {
        if let ctx = decoders[id.rawValue] { return .success(ctx) }
        guard let codec = avcodec_find_decoder(id), let ctx = avcodec_alloc_context3(codec) else {
            let name = avcodec_get_name(id).map { String(cString: $0) } ?? "\(id.rawValue)"
            return .failure(Failure("this libavcodec has no \(name) decoder"))
        }
        ctx.pointee.thread_count = 1
        LibavLog.clear()
        let rc = avcodec_open2(ctx, codec, nil)
        guard rc >= 0 else {
            var c: UnsafeMutablePointer<AVCodecContext>? = ctx
            avcodec_free_context(&c)
            return .failure(Failure(MediaProbe.failureMessage(rc, doing: "cannot open the image decoder")))
        }
        decoders[id.rawValue] = ctx
        return .success(ctx)
    }

    /// The codec of an image file, by its signature rather than its extension, which can be wrong.
    static func codec(of data: Data) -> AVCodecID? {
        let b = [UInt8](data.prefix(8))
        if b.count >= 3 && b[0] == 0xFF && b[1] == 0xD8 && b[2] == 0xFF { return AV_CODEC_ID_MJPEG }
        if b.count >= 8 && b == [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A] { return AV_CODEC_ID_PNG }
        if b.count >= 2 && b[0] == 0x42 && b[1] == 0x4D { return AV_CODEC_ID_BMP }
        return nil
    }
}
