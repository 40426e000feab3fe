import ArgumentParser
import Critic
import EmoCFG
import Foundation

struct VerifyCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "verify",
        abstract: "Have the three judges of pipeline.yaml vote on every generated sample; rewrite the rejected ones and vote again.",
        discussion: """
            A sample is accepted when `quorum` judges pass it (default 2 of 3). A judge that still fails after its
            retries abstains; a sample with too few answers stays pending (an outage never rejects data) and the
            next run asks again. A failed sample is rewritten by the generator with the judges' wrong aspects and
            suggestions, as a new sample linked to its parent, and voted on again, up to `max_rounds`; then it is
            rejected with the reasons kept. Label-derived instruct samples are accepted without a vote unless
            --include-instruct. Every verdict is stored; a rerun asks no judge twice.
            --batch sends the judges' and the rewriter's requests as batch jobs at batch prices; a sample is decided
            when its judges' answers are back (this run with --wait, or a later run), and each rewrite round is a
            new job.
            """
    )

    @Option(name: .long, parsing: .upToNextOption, help: ArgumentHelp("Only samples of these tasks or stages (emotion, qa, caption, …).", valueName: "task"))
    var task: [String] = []

    @Option(name: .long, parsing: .upToNextOption, help: ArgumentHelp("Only samples of clips of these sources.", valueName: "name"))
    var source: [String] = []

    @Option(name: .long, help: ArgumentHelp("At most this many samples.", valueName: "n"))
    var limit: Int?

    @Flag(name: .long, help: "Count the judge requests and their estimated cost; send nothing.")
    var dryRun = false

    @Option(name: .long, help: ArgumentHelp("Stop before the run's model calls would cost more than this (US dollars).", valueName: "usd"))
    var maxCost: Double?

    @Flag(name: .long, help: "Send the judge and rewrite requests as batch jobs at batch prices (also per model: mode: batch; per stage: batch.stages).")
    var batch = false

    @Flag(name: .long, help: "With batch jobs: wait for them (polling with backoff), voting again as answers arrive, until all are done.")
    var wait = false

    @Flag(name: .long, help: "Vote on label-derived instruct samples too.")
    var includeInstruct = false

    @Flag(name: .long, help: "Print the report (acceptance per source and task, pass rate per judge, Fleiss' kappa, wrong aspects, tree distances) and send nothing.")
    var report = false

    @Flag(name: .long, help: "Print the summary or the report as JSON on standard output.")
    var json = false

    @Option(name: .long, help: ArgumentHelp("The pipeline file (models, critic).", valueName: "file"))
    var pipeline: String = "pipeline.yaml"

    @Option(name: .long, help: ArgumentHelp("The folder holding prompts/ and schemas/.", valueName: "dir"))
    var project: String = "."

    @OptionGroup var storeOptions: StoreOptions

    func validate() throws {
        if let limit, limit < 0 { throw ValidationError("--limit must be 0 or more, found \(limit)") }
        if let maxCost, !(maxCost.isFinite && maxCost >= 0) { throw ValidationError("--max-cost must be a number of US dollars, 0 or more, found \(maxCost)") }
    }

    func run() async throws {
        let store: Store
        let config: PipelineConfig
        let settings: CriticSettings
        do {
            store = try storeOptions.openStore()
            config = try PipelineConfig.load(URL(fileURLWithPath: pipeline))
            settings = try config.criticSettings()
        } catch {
            throw fail(error)
        }
        if report {
            let r = try CriticReport.make(store: store, judges: settings.judges.map(\.alias))
            json ? printJSON(r) : print(Self.render(r))
            for warning in CriticReport.sameModelWarnings(store: store, judges: settings.judges) {
                FileHandle.standardError.write(Data("warning: \(warning)\n".utf8))
            }
            return
        }
        let root = URL(fileURLWithPath: project)
        let library = PromptLibrary(prompts: root.appendingPathComponent("prompts"), schemas: root.appendingPathComponent("schemas"))
        let display = ProgressDisplay()
        var options = LLMClient.Options()
        options.onCircuit = { model, open in display.message(AnnotateCommand.circuitMessage(model: model, open: open)) }
        options.dryRun = dryRun
        options.maxCost = maxCost
        options.batch.all = batch
        options.batch.settings = config.batch
        let client = LLMClient(store: store, models: Array(config.models.values), environment: ProcessInfo.processInfo.environment, options: options)
        do {
            try prepare(client)
            // Judges and the rewriter see the clip's frames: a model whose server takes none would abstain on everything.
            if !dryRun {
                for m in settings.judges + (settings.rewriter.map { [$0] } ?? []) {
                    if let refusal = await client.imageInputRefusal(model: m, stage: "verify") { throw ValidationError(refusal) }
                }
            }
        } catch {
            throw fail(error)
        }
        var runOptions = CriticRunner.Options()
        runOptions.tasks = task.isEmpty ? nil : task
        runOptions.sources = source.isEmpty ? nil : source
        runOptions.limit = limit
        runOptions.includeInstruct = includeInstruct
        let summary: VerifySummary
        do {
            let runner = try CriticRunner(store: store, pipeline: config, client: client, library: library)
            summary = try await client.batch.rounds(wait: wait, dryRun: dryRun, progress: { display.message($0) }) {
              try await runner.run(runOptions) { event in
                switch event {
                case .started(let items):
                    display.message("verify: \(items) samples to decide (judges: \(settings.judges.map(\.alias).joined(separator: ", ")), quorum \(settings.quorum))")
                case .progress(let done, let total, let llm, let elapsed):
                    let rate = elapsed > 0 ? Double(llm.requests) / elapsed : 0
                    let eta = done > 0 ? elapsed / Double(done) * Double(total - done) : 0
                    display.update(label: String(format: "verify %.1f req/s · %d tokens · $%.4f · ETA %@", rate,
                                                 llm.tokensIn + llm.tokensOut, llm.cost, AnnotateCommand.clock(eta)) + AnnotateCommand.pausedNote(llm),
                                   done: done, total: total)
                }
              }
            }
        } catch {
            display.finishLine()
            await client.shutdown()
            throw fail(error)
        }
        display.finishLine()
        await client.shutdown()
        // in = done (decided) + failed (still pending, with reasons) + skipped (not started, budget, another process).
        let counters = [StageCounters(
            stage: "verify", itemsIn: summary.itemsIn, done: summary.accepted + summary.rejected, failed: summary.pending,
            skipped: summary.skipped,
            requests: summary.llm.requests, tokens: summary.llm.tokensIn + summary.llm.tokensOut, cost: summary.llm.cost, seconds: summary.seconds,
            note: "accepted \(summary.accepted), rejected \(summary.rejected), rewrites \(summary.rewritten), pending \(summary.pending), judge abstentions \(summary.abstentions)"
                + (summary.note.map { "; \($0)" } ?? ""))]
        if json {
            printJSON(summary, summary: counters)
        } else {
            var line = String(format: "verify: in %d, accepted %d, rejected %d, pending %d, skipped %d, rewrites %d, judge abstentions %d, requests %d (cached %d, retries %d), tokens %d, cost $%.4f, %.1f s",
                              summary.itemsIn, summary.accepted, summary.rejected, summary.pending, summary.skipped, summary.rewritten, summary.abstentions,
                              summary.llm.requests, summary.llm.cacheHits, summary.llm.retries, summary.llm.tokensIn + summary.llm.tokensOut,
                              summary.llm.cost, summary.seconds)
            if summary.waiting > 0 { line += ", waiting for batch jobs \(summary.waiting)" }
            if let note = summary.note { line += "\n  \(note)" }
            print(line)
        }
        for warning in CriticReport.sameModelWarnings(store: store, judges: settings.judges) {
            FileHandle.standardError.write(Data("warning: \(warning)\n".utf8))
        }
        finish(counters, json: json)
        if summary.stoppedByBudget { throw ExitCode(ExitStatus.budget) }
        if summary.pending > 0 && !dryRun { throw ExitCode(ExitStatus.someFailed) }
    }

    static func render(_ r: CriticReport) -> String {
        // samples = accepted + rejected + pending; "rewritten" counts those of them that were rewritten on the way.
        var t = TextTable(header: ["source", "task", "samples", "accepted", "rejected", "pending", "of them rewritten"])
        for o in r.outcomes {
            t.rows.append([o.source, o.task, "\(o.samples)", "\(o.accepted)", "\(o.rejected)", "\(o.pending)", "\(o.rewritten)"])
        }
        var j = TextTable(header: ["judge", "verdicts", "passes", "pass rate", "abstentions"])
        for (name, s) in r.judges.sorted(by: { $0.key < $1.key }) {
            j.rows.append([name, "\(s.verdicts)", "\(s.passes)", String(format: "%.2f", s.passRate), "\(s.abstentions)"])
        }
        var k = TextTable(header: ["task", "Fleiss' kappa"])
        for (task, v) in r.kappa.sorted(by: { $0.key < $1.key }) { k.rows.append([task, v.map { String(format: "%.3f", $0) } ?? "-"]) }
        let aspects = r.wrongAspects.map { "\($0.aspect) (\($0.count))" }.joined(separator: ", ")
        var parts = [t.render(), j.render(), k.render(), "most frequent wrong aspects: " + (aspects.isEmpty ? "none" : aspects)]
        if !r.trees.isEmpty {
            var d = TextTable(header: ["task", "rewrite–parent pairs", "median distance", "cross-model pairs", "median distance", "unparsable"])
            let f = { (v: Double?) in v.map { String(format: "%.1f", $0) } ?? "-" }
            for t in r.trees { d.rows.append([t.task, "\(t.rewritePairs)", f(t.rewriteMedian), "\(t.modelPairs)", f(t.modelMedian), "\(t.unparsable)"]) }
            parts.append("affective trees (tree edit distance, unit costs):\n" + d.render())
        }
        if !r.human.isEmpty {
            // People's decisions on the review page (`emocfg review`) against the committee's.
            var h = TextTable(header: ["task", "reviewed by people", "agreed with the committee", "Cohen's kappa"])
            for (task, a) in r.human.sorted(by: { $0.key < $1.key }) {
                h.rows.append([task, "\(a.reviewed)", "\(a.agreed)", a.kappa.map { String(format: "%.3f", $0) } ?? "-"])
            }
            parts.append(h.render())
        }
        if !r.abstentions.isEmpty {
            parts.append("judge abstentions (calls that failed after their retries; a pending sample waits for the judge):\n"
                         + r.abstentions.prefix(10).map { "  \($0.judge) ×\($0.count): \($0.reason)" }.joined(separator: "\n"))
        }
        return parts.joined(separator: "\n\n")
    }
}
