import ArgumentParser
import EmoCFG
import Export
import Foundation

struct ExportCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "export",
        abstract: "Write the accepted samples as the jsons/{train,test}/<task>/full/ tree (partial: see the discussion).",
        discussion: """
            Decides each clip's side once (the dataset's own test split, otherwise a seeded hash over the identity
            group, recorded in the store and never moved), then writes one shard per source and sample task with
            lines in the ms-swift shape and links videos/<Source> to each source root.
            Not built yet: the sampled/ sets, the evaluation files, the QA ground truth, curation receipts and
            `emocfg receipt reproduce`, --zstd.
            """
    )

    @Option(name: .long, help: ArgumentHelp("The folder to write the tree into.", valueName: "dir"))
    var out: String

    @Option(name: .long, help: ArgumentHelp("Share of identity groups put on the test side where a dataset has no split.", valueName: "fraction"))
    var testFraction: Double = 0.1

    @Option(name: .long, help: ArgumentHelp("Seed of the identity-group hash.", valueName: "seed"))
    var seed: String = "emocfg"

    @OptionGroup var storeOptions: StoreOptions

    func run() async throws {
        do {
            let store = try storeOptions.openStore()
            let sides = try SplitAssigner(testFraction: testFraction, seed: seed).assign(store: store)
            let shards = try TreeWriter(out: URL(fileURLWithPath: out)).writeFull(store: store, sides: sides)
            var table = TextTable(header: ["side", "task", "source", "sample task", "lines"])
            for s in shards { table.rows.append([s.side, s.directory, s.source, s.task, "\(s.lines)"]) }
            print(table.render())
            print("\n\(shards.count) shards, \(shards.reduce(0) { $0 + $1.lines }) lines in \(out)/jsons; "
                  + "\(sides.values.filter { $0 == "test" }.count) of \(sides.count) clips on the test side")
        } catch {
            throw fail(error)
        }
    }
}
