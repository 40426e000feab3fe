import ArgumentParser
import EmoCFG
import Foundation
import Review

struct ReviewCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "review",
        abstract: "Serve the human review page: check, correct and overrule the committee's decisions in a browser.",
        discussion: """
            Prints the page's address and serves until Ctrl-C; it opens no browser. The queue lists the samples the \
            judges split on first, then the rejected ones (with their rewrites), then pending, then accepted ones. On an \
            item: accept (a), reject with a reason (r), or correct the answer (e); j/k for next/previous. Each decision \
            is a verdict by human:<reviewer>, committed before the page moves on, and overrules the committee in the \
            next export (a correction is exported in place of the original). Binds 127.0.0.1 unless --host says \
            otherwise; any other host needs the access token printed at start.
            """
    )

    @Option(name: .long, help: ArgumentHelp("The port to listen on (0: any free port).", valueName: "n"))
    var port: Int = 8428

    @Option(name: .long, help: ArgumentHelp("The address to bind. Anything but loopback requires the access token printed at start.", valueName: "addr"))
    var host: String = "127.0.0.1"

    @Option(name: .long, parsing: .upToNextOption, help: ArgumentHelp("Only samples of clips of these sources.", valueName: "name"))
    var source: [String] = []

    @Option(name: .long, parsing: .upToNextOption, help: ArgumentHelp("Only samples of these tasks or stages (emotion, qa, caption, …).", valueName: "task"))
    var task: [String] = []

    @Option(name: .long, help: ArgumentHelp("Which samples: disputed (the judges split), rejected, pending, accepted, or all.", valueName: "kind"))
    var queue: String = "all"

    @Option(name: .long, help: ArgumentHelp("Your name: decisions are verdicts by human:<name> (default: $USER).", valueName: "name"))
    var reviewer: String?

    @Option(name: .long, help: ArgumentHelp("Write the port listened on to this file once the page is served (for scripts).", valueName: "file"))
    var portFile: String?

    @OptionGroup var storeOptions: StoreOptions

    func run() async throws {
        guard let kind = QueueKind(rawValue: queue) else {
            throw fail(ValidationError("--queue must be one of \(QueueKind.allCases.map(\.rawValue).joined(separator: ", ")), found \(queue)"))
        }
        guard (0...65535).contains(port) else { throw fail(ValidationError("--port must be 0…65535, found \(port)")) }
        var settings = ReviewSettings()
        settings.host = host
        settings.port = port
        settings.reviewer = reviewer ?? ProcessInfo.processInfo.environment["USER"].flatMap { $0.isEmpty ? nil : $0 } ?? "reviewer"
        settings.filter = ReviewFilter(sources: source, tasks: task, queue: kind)
        if !ReviewServer.isLoopback(host) { settings.accessToken = ReviewServer.randomToken() }
        let server: ReviewServer
        let total: Int
        do {
            let store = try storeOptions.openStore()
            server = try ReviewServer(store: store, settings: settings)
            total = try ReviewQueue.make(store: store, filter: settings.filter).total
        } catch {
            throw fail(error)
        }
        let shownHost = host.contains(":") ? "[\(host)]" : host
        let token = settings.accessToken
        let portFile = portFile
        let reviewer = settings.reviewer
        do {
            try await server.run(handleSignals: true) { port in
                var url = "http://\(shownHost):\(port)/"
                if let token { url += "?token=\(token)" }
                var text = "review: \(url)\n"
                text += "  \(total) samples in the queue; deciding as human:\(reviewer); Ctrl-C stops (every decision is already saved)\n"
                if token != nil {
                    text += "  \(host) is not loopback: the page needs the access token above; anyone who has it can change verdicts\n"
                }
                // Unbuffered: a script waiting for the address reads it now, not when the server stops.
                FileHandle.standardOutput.write(Data(text.utf8))
                if let portFile { try? "\(port)\n".write(toFile: portFile, atomically: true, encoding: .utf8) }
            }
        } catch {
            throw fail(error)
        }
    }
}
