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
        // A child inherits its parent thread's signal mask: started from a thread that blocks SIGTERM
        // (a test's dispatch worker), the stand-in would never see the signal that stops it. Unblocked
        // here, before the event-loop threads exist, so they inherit the unblocked mask too.
        var stopSignals = sigset_t()
        sigemptyset(&stopSignals)
        sigaddset(&stopSignals, SIGTERM)
        sigaddset(&stopSignals, SIGINT)
        pthread_sigmask(SIG_UNBLOCK, &stopSignals, nil)
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

        // The stop signals are caught before the port is announced: a test that sends SIGTERM the moment
        // it reads the port must find the handler in place (a dispatch signal source registers
        // asynchronously, and a signal in that gap was lost: the process ran on). `sigaction` takes
        // effect at once; its handler only writes a byte to a pipe a thread waits on.
        installStopHandler { server.close(promise: nil) }

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

        try? server.closeFuture.wait()
        return 0
    }

    /// On SIGTERM or SIGINT, runs `stop` once (on a thread of its own).
    static func installStopHandler(_ stop: @escaping @Sendable () -> Void) {
        var fds: [Int32] = [-1, -1]
        guard pipe(&fds) == 0 else { return }
        stopSignalFD = fds[1]
        var action = sigaction()
        action.__sigaction_handler.sa_handler = { _ in
            var byte: UInt8 = 1
            _ = write(stopSignalFD, &byte, 1)
        }
        sigemptyset(&action.sa_mask)
        action.sa_flags = SA_RESTART
        sigaction(SIGTERM, &action, nil)
        sigaction(SIGINT, &action, nil)
        let readFD = fds[0]
        Thread {
            var byte: UInt8 = 0
            while read(readFD, &byte, 1) < 0 && errno == EINTR {}
            stop()
        }.start()
    }

    static func complain(_ message: String) {
        FileHandle.standardError.write(Data("emocfg-standin: \(message)\n".utf8))
    }
}

/// The write end of the pipe the stop-signal handler writes to (a signal handler can only reach globals).
nonisolated(unsafe) private var stopSignalFD: Int32 = -1
