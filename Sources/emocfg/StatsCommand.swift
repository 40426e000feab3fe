import ArgumentParser
import EmoCFG
import Export
import Foundation

struct StatsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "stats",
        abstract: "Write a statistics report of the store: DIR/index.html (self-contained, charts inline) and DIR/stats.json.",
        discussion: """
            The report shows clips, durations, face sizes, views and labels per source; samples per task, form and \
            committee outcome; each judge's pass rate and the committee's agreement (Fleiss' kappa); and the most \
            frequent caption words. The page references nothing outside itself and needs no script.
            """
    )

    @Option(name: .long, help: ArgumentHelp("The folder to write index.html and stats.json into.", valueName: "dir"))
    var out: String

    @Flag(name: .long, help: "Print the statistics as JSON (the content of stats.json) instead of a summary.")
    var json = false

    @OptionGroup var storeOptions: StoreOptions

    func run() async throws {
        do {
            let store = try storeOptions.openStore()
            let data = try StatsData.gather(from: store)
            let page = try StatsReport(data: data).write(to: URL(fileURLWithPath: out))
            if json {
                print(String(decoding: try data.jsonData(), as: UTF8.self))
                return
            }
            var table = TextTable(header: ["source", "usable clips", "duration", "samples", "accepted"])
            for s in data.sources {
                table.rows.append([s.name, "\(s.clips)", StatsReport.duration(s.seconds), "\(s.samples.total)",
                                   "\(s.samples.accepted)"])
            }
            print(table.render())
            let kappa = data.agreement.kappa.map { String(format: "%.3f", $0) } ?? "undefined"
            print("\njudges: \(data.judges.count), Fleiss' kappa \(kappa) over \(data.agreement.subjects) samples")
            print("report: \(page.path)")
        } catch {
            throw fail(error)
        }
    }
}
