import NIOCore
import NIOHTTP1

/// One connection's HTTP/1.1 exchanges: gathers a request, asks the `Standin` what to do, and
/// writes the answer after its delay, or drops the connection.
///
/// NIO's server pipeline handler in front of it keeps pipelined requests in order and answers
/// malformed HTTP with 400; keep-alive follows the request.
final class StandinHTTPHandler: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias OutboundOut = HTTPServerResponsePart

    /// Far above 16 base64 JPEG frames; a body beyond this is answered 413 rather than buffered.
    static let maxBodyBytes = 256 << 20

    private let standin: Standin
    private var head: HTTPRequestHead?
    private var body: ByteBuffer?
    private var tooLarge = false

    init(standin: Standin) { self.standin = standin }

    func channelActive(context: ChannelHandlerContext) {
        standin.connectionOpened()
        context.fireChannelActive()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head(let h):
            head = h
            body = context.channel.allocator.buffer(capacity: 0)
            tooLarge = false
            if let length = h.headers.first(name: "content-length").flatMap(Int.init), length <= Self.maxBodyBytes {
                body?.reserveCapacity(length)
            }
            // curl and others ask before sending a large body and would otherwise wait a second.
            if h.headers.first(name: "expect")?.lowercased() == "100-continue" {
                context.writeAndFlush(wrapOutboundOut(.head(HTTPResponseHead(version: h.version, status: .continue))), promise: nil)
            }
        case .body(var chunk):
            if tooLarge || (body?.readableBytes ?? 0) + chunk.readableBytes > Self.maxBodyBytes {
                tooLarge = true
                body = nil
            } else {
                body?.writeBuffer(&chunk)
            }
        case .end:
            guard let head else { return }
            self.head = nil
            let bytes = body.flatMap { $0.getBytes(at: $0.readerIndex, length: $0.readableBytes) } ?? []
            body = nil
            let reply = tooLarge
                ? Reply(action: .send(status: 413, headers: [("content-type", "application/json")],
                                      body: ProviderReply.error(.openai, status: 413, message: "Request body larger than \(Self.maxBodyBytes) bytes.").bytes))
                : standin.handle(method: head.method, uri: head.uri, headers: head.headers, body: bytes)
            if reply.delayMs > 0 {
                context.eventLoop.assumeIsolated().scheduleTask(in: .milliseconds(Int64(reply.delayMs))) {
                    self.send(reply, to: head, context: context)
                }
            } else {
                send(reply, to: head, context: context)
            }
        }
    }

    private func send(_ reply: Reply, to request: HTTPRequestHead, context: ChannelHandlerContext) {
        let delivered: Bool
        if case .send = reply.action { delivered = context.channel.isActive } else { delivered = false }
        defer { standin.finished(reply, delivered: delivered) }
        guard context.channel.isActive else { return }
        switch reply.action {
        case .drop:
            context.close(promise: nil)
        case .send(let status, let headers, let body):
            var responseHead = HTTPResponseHead(version: request.version, status: HTTPResponseStatus(statusCode: status))
            for (name, value) in headers { responseHead.headers.add(name: name, value: value) }
            responseHead.headers.add(name: "content-length", value: String(body.count))
            let keepAlive = request.isKeepAlive
            if !keepAlive { responseHead.headers.add(name: "connection", value: "close") }
            context.write(wrapOutboundOut(.head(responseHead)), promise: nil)
            var buffer = context.channel.allocator.buffer(capacity: body.count)
            buffer.writeBytes(body)
            context.write(wrapOutboundOut(.body(.byteBuffer(buffer))), promise: nil)
            let done = context.writeAndFlushPromise()
            context.writeAndFlush(wrapOutboundOut(.end(nil)), promise: done)
            if !keepAlive {
                done.futureResult.assumeIsolated().whenComplete { _ in context.close(promise: nil) }
            }
        }
    }

    func errorCaught(context: ChannelHandlerContext, error: Error) {
        // A client that vanishes mid-request is routine (timeouts, retries): just close.
        context.close(promise: nil)
    }
}

private extension ChannelHandlerContext {
    func writeAndFlushPromise() -> EventLoopPromise<Void> { eventLoop.makePromise() }
}
