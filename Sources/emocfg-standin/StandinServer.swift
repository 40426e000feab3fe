import Dispatch
import Foundation
import NIOCore
import NIOHTTP1
import NIOPosix

/// The listening socket and its event loops: binds loopback, announces the port, and serves
/// until SIGTERM or SIGINT.
///
/// It lives outside `main.swift` on purpose: top-level code there is main-actor isolated, and a
/// signal handler running on a dispatch queue must not be.
enum StandinServer {
    /// Serves until a stop signal; returns the process exit status.
    static func run(_ options: StandinOptions) -> Int32 {
        let standin = Standin(options: options)
        let group = MultiThreadedEventLoopGroup(numberOfThreads: options.threads)
        defer { try? group.syncShutdownGracefully() }
        let bootstrap = ServerBootstrap(group: group)
            .serverChannelOption(.backlog, value: 1024)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelOption(.socketOption(.tcp_nodelay), value: 1)
            .childChannelOption(.maxMessagesPerRead, value: 16)
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.configureHTTPServerPipeline(withErrorHandling: true)
                    try channel.pipeline.syncOperations.addHandler(StandinHTTPHandler(standin: standin))
                }
            }

        let server: Channel
        do {
            server = try bootstrap.bind(host: options.host, port: options.port).wait()
        } catch {
            complain("cannot listen on \(options.host):\(options.port): \(error)")
            return 1
        }
        guard let port = server.localAddress?.port else {
            complain("the socket has no port")
            return 1
        }

        let shownHost = options.host.contains(":") ? "[\(options.host)]" : options.host
        // Written straight to the descriptor: a test reading the pipe must not wait on stdio buffering.
        FileHandle.standardOutput.write(Data("listening on http://\(shownHost):\(port)\n".utf8))
        if let portFile = options.portFile {
            // Written whole and then renamed, so a test polling for the file never reads half a number.
            let temporary = portFile + ".tmp-\(getpid())"
            do {
                try "\(port)\n".write(toFile: temporary, atomically: false, encoding: .utf8)
                guard rename(temporary, portFile) == 0 else { throw POSIXError(.init(rawValue: errno) ?? .EIO) }
            } catch {
                complain("cannot write --port-file \(portFile): \(error)")
                server.close(promise: nil)
                return 1
            }
        }

        let signals = [SIGTERM, SIGINT].map { number in
            signal(number, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: number, queue: .global())
            source.setEventHandler { server.close(promise: nil) }
            source.resume()
            return source
        }
        try? server.closeFuture.wait()
        signals.forEach { $0.cancel() }
        return 0
    }

    static func complain(_ message: String) {
        FileHandle.standardError.write(Data("emocfg-standin: \(message)\n".utf8))
    }
}
