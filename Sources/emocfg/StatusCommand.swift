import ArgumentParser
import EmoCFG
import Foundation

struct StatusCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "status",
        abstract: "Print what the store holds: clips, probed, labelled, problems and face boxes per source.",
        discussion: """
            Face columns: clips with a face box (`face`), clips the face detector searched and found no
            face in, and where the boxes came from: the dataset's own annotation, a sidecar file named in
            sources.yaml, or emocfg's face detector at ingest.
            """
    )

    @Flag(name: .long, help: "Print the counts as JSON: {\"sources\": {\"<name>\": {\"clips\": n, \"probed\": n, …}}}.")
    var json = false

    @Flag(name: .long, help: "List every recorded problem with its file, line and reason.")
    var problems = false

    @Flag(name: .long, help: "List every item a model stage gave up on, and every judge abstention still standing, with the reason.")
    var failures = false

    @Option(name: .long, help: ArgumentHelp("Only this source.", valueName: "name"))
    var source: String?

    @OptionGroup var storeOptions: StoreOptions

    func run() async throws {
        let store: Store
        do { store = try storeOptions.openStore() } catch { throw fail(error) }
        var counts = try store.sourceCounts()
        if let source { counts = counts.filter { $0.key == source } }
        let samples = try store.sampleCounts()
        let calls = try store.callTotals()
        if json {
            printJSON(StatusReport(store: store.path, sources: counts, samples: samples, llmCalls: calls))
        } else {
            var table = TextTable(header: ["source", "clips", "probed", "labelled", "errors", "missing", "unreadable", "failed",
                                           "face", "no face found", "from dataset", "from sidecar", "from detector"])
            for (name, c) in counts.sorted(by: { $0.key < $1.key }) {
                table.rows.append([name, "\(c.clips)", "\(c.probed)", "\(c.labelled)", "\(c.errors)", "\(c.missing)",
                                   "\(c.unreadable)", "\(c.failed)", "\(c.withFace)", "\(c.noFaceFound)",
                                   "\(c.faceFromDataset)", "\(c.faceFromSidecar)", "\(c.faceFromDetector)"])
            }
            print("store: \(store.path)")
            print(table.render())
            let unsearched = counts.values.reduce(0) { $0 + $1.probed - $1.withFace - $1.noFaceFound }
            if unsearched > 0 {
                print("\(unsearched) readable clip(s) have no face box and were not searched for faces (ingest --no-faces, `faces: off`, or a search that failed)")
            }
            if !samples.isEmpty {
                var st = TextTable(header: ["stage", "samples", "pending", "accepted", "rejected", "failed items"])
                for (name, c) in samples.sorted(by: { $0.key < $1.key }) {
                    st.rows.append([name, "\(c.total)", "\(c.pending)", "\(c.accepted)", "\(c.rejected)", "\(c.failed)"])
                }
                print("\n" + st.render())
                print(String(format: "\nmodel calls stored: %d (%d failed), %d tokens in, %d out, $%.4f", calls.calls, calls.failed,
                             calls.tokensIn, calls.tokensOut, calls.cost))
            }
        }
        if failures {
            let items = try store.failures()
            let abstained = try store.abstentions()
            print("\n\(items.count) failed item(s), \(abstained.count) judge abstention(s)")
            for f in items { print("\(f.stage)\t\(f.item)\t\(f.reason)") }
            for a in abstained { print("abstention\t\(a.sampleUID)\t\(a.judge) (round \(a.round)): \(a.reason)") }
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
    var samples: [String: SampleCounts]
    var llmCalls: LLMTotals
    enum CodingKeys: String, CodingKey {
        case store, sources, samples
        case llmCalls = "llm_calls"
    }
}
