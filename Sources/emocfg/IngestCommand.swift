import ArgumentParser
import EmoCFG
import Foundation
import Ingest

struct IngestCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "ingest",
        abstract: "Read each dataset in its native layout, probe every video in-process, and store clips and labels.",
        discussion: """
            The summary shows per source: clips found, probed on this run, labelled, problems recorded, and
            skipped (unchanged since the last run). Sources whose root is not on this machine are skipped
            with a note. A bad clip, row or label is
            recorded with its file and line (see `emocfg status`) and never stops the run. Rerunning is
            idempotent: unchanged files are not probed again; a file whose size or mtime changed is.
            After probing, clips without a face box from the dataset or a sidecar are searched for faces
            in-process with dlib's HOG face detector (3 frames per clip, faces down to about 40 px): the
            main face's median box is stored with origin detector:dlib-hog-<version>, and a clip with no
            face found is recorded as such. Searches are cached like probes (same file, detector and
            settings: not searched again). `faces:` in sources.yaml sets the frames per clip and the
            smallest face, per source or in defaults, or turns the detector off (`faces: off`).
            Adapters: \(AdapterRegistry.names.joined(separator: ", ")).
            """
    )

    @Option(name: .long, parsing: .upToNextOption, help: ArgumentHelp("Ingest only these sources (names from sources.yaml).", valueName: "name"))
    var source: [String] = []

    @Option(name: .long, help: ArgumentHelp("The sources file.", valueName: "file"))
    var sources: String = "sources.yaml"

    @Option(name: .long, help: ArgumentHelp("Videos probed and searched for faces at once (default: all cores).", valueName: "n"))
    var jobs: Int = ProcessInfo.processInfo.activeProcessorCount

    @Flag(name: .long, help: "Do not search clips for faces on this run (cached searches are still applied).")
    var noFaces = false

    @Flag(name: .long, help: "Print the summary as JSON on standard output.")
    var json = false

    @OptionGroup var storeOptions: StoreOptions

    func run() async throws {
        let config: SourcesConfig
        let runner: IngestRunner
        do {
            config = try SourcesConfig.load(URL(fileURLWithPath: sources), adapters: AdapterRegistry.names)
            _ = try IngestRunner.plan(config, sources: source.isEmpty ? nil : source)
            var r = IngestRunner(store: try storeOptions.openStore(), config: config, jobs: jobs)
            r.searchFacesThisRun = !noFaces
            runner = r
        } catch {
            throw fail(error)
        }
        let display = ProgressDisplay()
        let started = Date()
        let summaries: [SourceSummary]
        do {
            summaries = try await runner.run(sources: source.isEmpty ? nil : source) { event in
                switch event {
                case .sourceStarted(let name, let clips, let toProbe):
                    display.message("\(name): \(clips) clips, \(toProbe) to probe")
                case .probed(let name, let done, let total):
                    display.update(label: "\(name) probing", done: done, total: total)
                case .facesStarted(let name, let toSearch):
                    if toSearch > 0 {
                        display.finishLine()
                        display.message("\(name): \(toSearch) to search for faces")
                    }
                case .facesSearched(let name, let done, let total):
                    display.update(label: "\(name) faces", done: done, total: total)
                case .sourceFinished(let s):
                    display.finishLine()
                    if s.outcome != .done { display.message("\(s.name): \(s.outcome.rawValue): \(s.note ?? "")") }
                }
            }
        } catch {
            display.finishLine()
            throw fail(error)
        }
        display.finishLine()
        let failedSources = summaries.filter { $0.outcome == .failed }.map(\.name)
        let counters = [StageCounters(
            stage: "ingest", itemsIn: summaries.reduce(0) { $0 + $1.found }, done: summaries.reduce(0) { $0 + $1.written },
            failed: summaries.reduce(0) { $0 + $1.errors }, skipped: summaries.reduce(0) { $0 + $1.skipped },
            seconds: Date().timeIntervalSince(started),
            note: failedSources.isEmpty ? nil : "sources that could not be read: \(failedSources.joined(separator: ", "))")]
        // Exit 1 when a source could not be read, or when nothing at all was found; bad rows and
        // clips are recorded and reported, and do not change the status.
        let found = summaries.reduce(0) { $0 + $1.found }
        let nothing = found == 0 && (try? runner.store.clipCount()) == 0
        func end() throws {
            if nothing {
                FileHandle.standardError.write(Data("""
                    no clip found: none of the sources in \(sources) could be read on this machine (\(summaries.filter { $0.outcome == .skipped }.count) skipped, \(failedSources.count) failed).
                    Edit \(sources): set each source's root to the folder where you downloaded the dataset, or remove the sources you do not have.\n
                    """.utf8))
            }
            if nothing || !failedSources.isEmpty { throw ExitCode(ExitStatus.someFailed) }
        }
        if json {
            printJSON(IngestReport(sources: summaries, seconds: Date().timeIntervalSince(started)), summary: counters)
            finish(counters, json: true)
            try end()
            return
        }
        var table = TextTable(header: ["source", "found", "probed", "labelled", "errors", "skipped", "faces", "no face", "note"])
        for s in summaries {
            if s.outcome == .done {
                let f = s.faces
                table.rows.append([s.name, "\(s.found)", "\(s.probed)", "\(s.labelled)", "\(s.errors)", "\(s.skipped)",
                                   f.map { "\($0.withFace + $0.givenBoxes)" } ?? "-", f.map { "\($0.noFace)" } ?? "-", ""])
            } else {
                table.rows.append([s.name, "-", "-", "-", s.outcome == .failed ? "\(s.errors)" : "-", "-", "-", "-",
                                   "\(s.outcome.rawValue): \(s.note ?? "")"])
            }
        }
        print(table.render())
        let faces = summaries.compactMap(\.faces)
        if !faces.isEmpty {
            let sum = { (k: KeyPath<FacePassCounts, Int>) in faces.reduce(0) { $0 + $1[keyPath: k] } }
            var line = "\nfaces: \(sum(\.searched)) clips searched on this run, \(sum(\.cached)) from earlier searches, "
                + "\(sum(\.givenBoxes)) with the dataset's or a sidecar's box"
            if sum(\.failed) > 0 { line += ", \(sum(\.failed)) could not be searched" }
            if sum(\.notSearched) > 0 { line += ", \(sum(\.notSearched)) not searched (--no-faces)" }
            print(line)
        }
        let errs = summaries.reduce(0) { $0 + $1.errors }
        print(String(format: "\n%d sources ingested, %d skipped, %d failed in %.1f s; %d problems recorded%@",
                     summaries.filter { $0.outcome == .done }.count, summaries.filter { $0.outcome == .skipped }.count,
                     summaries.filter { $0.outcome == .failed }.count, Date().timeIntervalSince(started), errs,
                     errs > 0 ? " (emocfg status --problems lists them)" : ""))
        finish(counters, json: false)
        try end()
    }
}

struct IngestReport: Encodable {
    var sources: [SourceSummary]
    var seconds: Double
}
