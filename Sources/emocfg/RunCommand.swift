import ArgumentParser
import EmoCFG
import Export
import Foundation

struct RunCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "run",
        abstract: "Run the whole pipeline: ingest, annotate --stage all, verify, export, receipt reproduce.",
        discussion: """
            Each stage is the command of the same name with the options given here.
            The run stops at the first stage that fails (an error, or a budget that
            ends annotate or verify early) and records where, in the store; the next
            `emocfg run` with the same sources file and export folder resumes at that
            stage (edit the pipeline file to fix a key or a budget and it still
            resumes). Stages keep their own results, so resuming repeats no finished
            work. --restart starts from ingest; --from starts at a given stage.
            A stage in which some items failed does not stop the run (it exits 1 at
            the end); a stage in which every item failed does, and so does an ingest
            that found no clip. Ends with the counters of every stage (in, done,
            failed, skipped, requests, tokens, cost, time).
            --batch sends annotate's and verify's model requests as batch jobs at batch
            prices and waits for them (polling with backoff, progress shown); with
            --no-wait it returns once its jobs are submitted, and the next
            `emocfg run --batch` collects them and goes on where it stopped.
            """
    )

    static let stages = ["ingest", "annotate", "verify", "export", "reproduce"]

    @Option(name: .long, help: ArgumentHelp("The sources file.", valueName: "file"))
    var sources: String = "sources.yaml"

    @Option(name: .long, help: ArgumentHelp("The pipeline file (models, stages, critic, export).", valueName: "file"))
    var pipeline: String = "pipeline.yaml"

    @Option(name: .long, help: ArgumentHelp("The folder to export the tree into.", valueName: "dir"))
    var out: String = "export"

    @Option(name: .long, help: ArgumentHelp("The folder holding prompts/ and schemas/.", valueName: "dir"))
    var project: String = "."

    @Option(name: .long, help: ArgumentHelp("Stop annotate, and then verify, before each would cost more than this (US dollars).", valueName: "usd"))
    var maxCost: Double?

    @Flag(name: .long, help: "Send annotate's and verify's model requests as batch jobs at batch prices, and wait for them.")
    var batch = false

    @Flag(name: .long, help: "With --batch: return once the jobs are submitted; the next run collects them and goes on.")
    var noWait = false

    @Option(name: .long, help: ArgumentHelp("Videos probed and searched for faces at once (default: all cores).", valueName: "n"))
    var jobs: Int?

    @Flag(name: .long, help: "Ingest without searching clips for faces (cached face searches still apply).")
    var noFaces = false

    @Option(name: .long, help: ArgumentHelp("Start at this stage: \(stages.joined(separator: ", ")).", valueName: "stage"))
    var from: String?

    @Flag(name: .long, help: "Start from ingest even if the last run stopped part-way.")
    var restart = false

    @Flag(name: .long, help: "Print every stage's counters as JSON at the end (stage output still goes to standard output).")
    var json = false

    @OptionGroup var storeOptions: StoreOptions

    func validate() throws {
        if noWait && !batch { throw ValidationError("--no-wait goes with --batch") }
        if let from, !Self.stages.contains(from) {
            throw ValidationError("--from: '\(from)' is not a stage; expected one of \(Self.stages.joined(separator: ", "))")
        }
    }

    func run() async throws {
        let store: Store
        let hash: String
        do {
            store = try storeOptions.openStore()
            var h = SHA256Hasher()
            // The sources file and the export folder decide what a run produces; the pipeline file is
            // where most fixes go (a key, a model, a budget), so changing it does not restart a run.
            for file in [sources] {
                guard let data = FileManager.default.contents(atPath: file) else {
                    throw ExportError("\(file): cannot read the file")
                }
                h.update(data)
            }
            h.update(URL(fileURLWithPath: out).standardizedFileURL.path)
            hash = h.finalizeHex()
        } catch {
            throw fail(error)
        }

        var start = 0
        var previous: [StageCounters] = []
        if let from {
            start = Self.stages.firstIndex(of: from)!
        } else if !restart, let last = try store.lastPipelineRun(), last.status != "done", let i = Self.stages.firstIndex(of: last.stage) {
            if last.configHash == hash {
                start = i
                previous = last.summary
                print("Resuming at \(last.stage): the last run \(last.status == "running" ? "was interrupted there" : "stopped there")"
                      + (last.error.map { " (\($0))" } ?? "") + ".\n")
            } else {
                print("The sources file or export folder changed since the last run stopped at \(last.stage); starting from ingest.\n")
            }
        }
        let id = try store.startPipelineRun(configHash: hash, stage: Self.stages[start])
        let mark = SummaryCollector.shared.count
        let began = Date()
        var counters: [StageCounters] { previous + SummaryCollector.shared.rows(since: mark) }

        var someFailed = false
        for stage in Self.stages[start...] {
            try store.updatePipelineRun(id, status: "running", stage: stage, summary: counters)
            print("== \(stage)")
            let before = SummaryCollector.shared.count
            var status = ExitStatus.ok
            var message: String?
            do {
                try await runStage(stage)
            } catch let code as ExitCode {
                status = code.rawValue
                message = "exit status \(code.rawValue)"
            } catch {
                status = ExitStatus.usage
                message = "\(error)"
            }
            let rows = SummaryCollector.shared.rows(since: before)
            if stage == "ingest", status == ExitStatus.ok || status == ExitStatus.someFailed, try store.clipCount() == 0 {
                status = ExitStatus.someFailed
                message = "ingest found no clip: no source listed in \(sources) could be read on this machine. "
                    + "Edit \(sources): set each source's root to the folder where you downloaded the dataset, or remove the sources you do not have"
            } else if status == ExitStatus.someFailed {
                // Some items failed: go on with the rest, unless every item of a stage failed (a
                // wrong key, a broken model): what follows would build on nothing.
                if let dead = rows.first(where: { $0.done == 0 && $0.failed > 0 }) {
                    message = "\(dead.stage): every item failed (\(dead.failed)); see `emocfg status --failures`"
                } else {
                    someFailed = true
                    status = ExitStatus.ok
                }
            }
            if status == ExitStatus.budget {
                let stopped = rows.first(where: { $0.note?.hasPrefix("stopped") == true })
                message = "\(stopped.map { "\($0.stage): \($0.note ?? "")" } ?? "stopped by --max-cost"); raise --max-cost or run again to continue"
            }
            if status != ExitStatus.ok {
                let why = message ?? "exit status \(status)"
                try store.updatePipelineRun(id, status: "failed", stage: stage, error: why, summary: counters)
                FileHandle.standardError.write(Data("""
                    error: the run stopped at \(stage) (\(why)).
                    Fix the cause and run `emocfg run` again: it resumes at \(stage).\n
                    """.utf8))
                report(counters, seconds: Date().timeIntervalSince(began))
                throw ExitCode(status)
            }
            if (stage == "annotate" || stage == "verify"), let open = try? store.batchJobs(open: true), !open.isEmpty {
                // Batch jobs still in flight (--no-wait, or jobs an online run left): what follows would
                // build on answers not back yet. The next run resumes here and collects them.
                let requests = open.reduce(0) { $0 + $1.requests }
                try store.updatePipelineRun(id, status: "waiting", stage: stage, error: "\(open.count) batch jobs in flight", summary: counters)
                print("\n\(open.count) batch job\(open.count == 1 ? "" : "s") in flight (\(requests) requests): run `emocfg run\(batch ? " --batch" : "")` again later to collect \(open.count == 1 ? "it" : "them") and go on from \(stage) (`emocfg batches` lists them).")
                report(counters, seconds: Date().timeIntervalSince(began))
                return
            }
            print("")
        }
        try store.updatePipelineRun(id, status: "done", stage: Self.stages.last!, summary: counters)
        report(counters, seconds: Date().timeIntervalSince(began))
        if !json {
            print("\nThe tree: \(URL(fileURLWithPath: out).standardizedFileURL.path)/jsons  (store: \(storeOptions.db))")
        }
        if someFailed {
            FileHandle.standardError.write(Data("some items failed (see the counters above and `emocfg status --failures`)\n".utf8))
            throw ExitCode(ExitStatus.someFailed)
        }
    }

    func report(_ rows: [StageCounters], seconds: Double) {
        if json {
            printJSON(RunReport(seconds: seconds, summary: rows))
        } else {
            print("== summary of the run (\(String(format: "%.1f", seconds)) s)\n" + StageCounters.table(rows))
        }
    }

    func runStage(_ stage: String) async throws {
        let db = ["--db", storeOptions.db] + (storeOptions.verbose ? ["--verbose"] : [])
        let budget = maxCost.map { ["--max-cost", "\($0)"] } ?? []
        // Batch jobs are waited for unless --no-wait; jobs of models or stages in batch mode too.
        let lane = (batch ? ["--batch"] : []) + (noWait ? [] : ["--wait"])
        switch stage {
        case "ingest":
            let c = try IngestCommand.parse(["--sources", sources] + (jobs.map { ["--jobs", "\($0)"] } ?? []) + (noFaces ? ["--no-faces"] : []) + db)
            try await c.run()
        case "annotate":
            let c = try AnnotateCommand.parse(["--stage", "all", "--pipeline", pipeline, "--project", project] + budget + lane + db)
            try await c.run()
        case "verify":
            let c = try VerifyCommand.parse(["--pipeline", pipeline, "--project", project] + budget + lane + db)
            try await c.run()
        case "export":
            let c = try ExportCommand.parse(["--out", out, "--pipeline", pipeline] + db)
            try await c.run()
        default:
            // Rebuild the current version of every mix from its shards and check it against its receipt.
            let curation = Curation(out: URL(fileURLWithPath: out))
            let versions = try curation.versions()
            let latest = Dictionary(versions.map { ($0.mix, $0.version) }, uniquingKeysWith: { max($0, $1) }).values.sorted()
            guard !latest.isEmpty else { throw ExportError("\(out)/jsons/curation holds no version to reproduce") }
            for v in latest {
                let c = try ReceiptReproduce.parse(["v\(v)", "--out", out])
                try await c.run()
            }
        }
    }
}

struct RunReport: Encodable {
    var seconds: Double
    var summary: [StageCounters]
}
