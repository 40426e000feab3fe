import ArgumentParser
import EmoCFG
import Foundation

struct StatusCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "status",
        abstract: "Print what the store holds: clips, probed, labelled and problems per source."
    )

    @Flag(name: .long, help: "Print the counts as JSON: {\"sources\": {\"<name>\": {\"clips\": n, \"probed\": n, …}}}.")
    var json = false

    @Flag(name: .long, help: "List every recorded problem with its file, line and reason.")
    var problems = false

    @Option(name: .long, help: ArgumentHelp("Only this source.", valueName: "name"))
    var source: String?

    @OptionGroup var storeOptions: StoreOptions

    func run() async throws {
        let store: Store
        do { store = try storeOptions.openStore() } catch { throw fail(error) }
        var counts = try store.sourceCounts()
        if let source { counts = counts.filter { $0.key == source } }
        if json {
            printJSON(StatusReport(store: store.path, sources: counts))
        } else {
            var table = TextTable(header: ["source", "clips", "probed", "labelled", "errors", "missing", "unreadable", "failed", "with face"])
            for (name, c) in counts.sorted(by: { $0.key < $1.key }) {
                table.rows.append([name, "\(c.clips)", "\(c.probed)", "\(c.labelled)", "\(c.errors)", "\(c.missing)",
                                   "\(c.unreadable)", "\(c.failed)", "\(c.withFace)"])
            }
            print("store: \(store.path)")
            print(table.render())
        }
        if problems {
            for p in try store.problems(source: source) {
                // Adapters often name the place in the message itself; print it once.
                let loc = p.problem.location.map { $0.description }.map { p.problem.message.contains($0) ? "" : "\($0): " } ?? ""
                print("\(p.source)\t\(p.problem.kind.rawValue)\t\(loc)\(p.problem.message)")
            }
        }
    }
}

struct StatusReport: Encodable {
    var store: String
    var sources: [String: SourceCounts]
}
