import Annotate
import ArgumentParser
import EmoCFG
import Foundation

struct AnnotateCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "annotate",
        abstract: "Make instruction samples: from labels (instruct) and with vision-language models (caption, qa, rationale, tree).",
        discussion: """
            Stages: instruct (templates over ground-truth labels, no model), caption (attribute → expression → emotion
            captions from sampled frames), qa (question-answer pairs per aspect from the captions), rationale (which cues
            support the emotion, for captions and QA pairs), tree (the affective tree: attributes → expressions → emotions,
            from the captions and the rationale, checked for structure); all runs them in that order.
            Every model answer is cached in the store: a rerun sends only what is missing. Keys are read from the
            environment variables pipeline.yaml names, never from files.
            --batch sends the requests through the providers' batch APIs (OpenAI Batch API, Gemini Batch Mode) at
            batch prices: they are written into jobs and submitted, and this or a later run takes the answers when
            the jobs end (each step of the caption chain is its own job). Without --wait the command returns after
            submitting; every run first collects the jobs that ended. `emocfg batches` lists the jobs.
            """
    )

    @Option(name: .long, help: ArgumentHelp("instruct, caption, qa, rationale, tree or all.", valueName: "stage"))
    var stage: String

    @Option(name: .long, parsing: .upToNextOption, help: ArgumentHelp("Only clips of these sources.", valueName: "name"))
    var source: [String] = []

    @Option(name: .long, help: ArgumentHelp("At most this many items per stage.", valueName: "n"))
    var limit: Int?

    @Flag(name: .long, help: "Print the requests that would be sent, their estimated tokens and cost; send nothing.")
    var dryRun = false

    @Option(name: .long, help: ArgumentHelp("Stop before the run's model calls would cost more than this (US dollars).", valueName: "usd"))
    var maxCost: Double?

    @Flag(name: .long, help: "Send the model requests as batch jobs at batch prices (also per model: mode: batch; per stage: batch.stages).")
    var batch = false

    @Flag(name: .long, help: "With batch jobs: wait for them (polling with backoff), running the stages again as answers arrive, until all are done.")
    var wait = false

    @Option(name: .long, help: ArgumentHelp("The pipeline file (models, stages, frames).", valueName: "file"))
    var pipeline: String = "pipeline.yaml"

    @Option(name: .long, help: ArgumentHelp("The folder holding prompts/ and schemas/ (default: the current folder).", valueName: "dir"))
    var project: String = "."

    @Flag(name: .long, help: "Print the per-stage summaries as JSON on standard output.")
    var json = false

    @OptionGroup var storeOptions: StoreOptions

    func validate() throws {
        if let limit, limit < 0 { throw ValidationError("--limit must be 0 or more, found \(limit)") }
        if let maxCost, !(maxCost.isFinite && maxCost >= 0) { throw ValidationError("--max-cost must be a number of US dollars, 0 or more, found \(maxCost)") }
    }

    func run() async throws {
        let stages = stage == "all" ? AnnotateStages.names : [stage]
        guard stages.allSatisfy(AnnotateStages.names.contains) else {
            throw fail(ValidationError("--stage '\(stage)' is not one of: \(AnnotateStages.names.joined(separator: ", ")), all"))
        }
        let store: Store
        let config: PipelineConfig?
        do {
            store = try storeOptions.openStore()
            let needsModels = stages.contains { $0 != "instruct" }
            config = needsModels ? try PipelineConfig.load(URL(fileURLWithPath: pipeline)) : nil
        } catch {
            throw fail(error)
        }
        let root = URL(fileURLWithPath: project)
        let library = PromptLibrary(prompts: root.appendingPathComponent("prompts"), schemas: root.appendingPathComponent("schemas"))
        let modelStages: [String: any ModelStage]
        do { modelStages = try AnnotateStages.modelStages(stages, library: library) } catch { throw fail(error) }
        let display = ProgressDisplay()
        var options = LLMClient.Options()
        options.onCircuit = { model, open in display.message(AnnotateCommand.circuitMessage(model: model, open: open)) }
        options.dryRun = dryRun
        options.maxCost = maxCost
        options.batch.all = batch
        if let config { options.batch.settings = config.batch }
        let client = LLMClient(store: store, models: config.map { Array($0.models.values) } ?? [],
                               environment: ProcessInfo.processInfo.environment, options: options)
        if let config {
            do {
                try prepare(client)
                // A stage that sends frames to a model whose server says it takes none would fail every item.
                if stages.contains("caption"), !dryRun, let refusal = await client.imageInputRefusal(model: try config.model(forStage: "caption"), stage: "caption") {
                    throw ValidationError(refusal)
                }
            } catch {
                throw fail(error)
            }
        }
        var summaries: [StageSummary] = []
        do {
          summaries = try await client.batch.rounds(wait: wait, dryRun: dryRun || config == nil, progress: { display.message($0) }) {
            var summaries: [StageSummary] = []
            for name in stages {
                let summary: StageSummary
                if name == "instruct" {
                    let t = Date()
                    let made = try InstructRunner(promptsDirectory: library.prompts)
                        .run(store: store, sources: source.isEmpty ? nil : source, limit: limit)
                    var s = StageSummary(stage: name)
                    s.itemsIn = made.clips
                    s.done = made.clips
                    s.samples = made.samples
                    s.seconds = Date().timeIntervalSince(t)
                    summary = s
                } else {
                    let runner = AnnotateRunner(store: store, pipeline: config!, client: client)
                    summary = try await runner.run(modelStages[name]!, sources: source.isEmpty ? nil : source, limit: limit) { event in
                        Self.draw(event, display)
                    }
                }
                display.finishLine()
                summaries.append(summary)
                if !json { print(Self.line(summary)) }
                if summary.stoppedByBudget { break }
            }
            return summaries
          }
        } catch {
            display.finishLine()
            await client.shutdown()
            throw fail(error)
        }
        await client.shutdown()
        let counters = summaries.map {
            StageCounters(stage: $0.stage, itemsIn: $0.itemsIn, done: $0.done, failed: $0.failed, skipped: $0.skipped,
                          requests: $0.llm.requests, tokens: $0.llm.tokensIn + $0.llm.tokensOut, cost: $0.llm.cost, seconds: $0.seconds, note: $0.note)
        }
        if json { printJSON(AnnotateReport(stages: summaries), summary: counters) }
        finish(counters, json: json)
        if summaries.contains(where: \.stoppedByBudget) { throw ExitCode(ExitStatus.budget) }
        if summaries.contains(where: { $0.failed > 0 }) { throw ExitCode(ExitStatus.someFailed) }
    }

    static func draw(_ event: AnnotateEvent, _ display: ProgressDisplay) {
        switch event {
        case .started(let stage, let items):
            display.message("\(stage): \(items) items to do")
        case .progress(let stage, let done, let failed, let total, let llm, let elapsed):
            let finished = done + failed
            let rate = elapsed > 0 ? Double(llm.requests) / elapsed : 0
            let eta = finished > 0 ? elapsed / Double(finished) * Double(total - finished) : 0
            display.update(label: String(format: "%@ %.1f req/s · %d tokens · $%.4f · ETA %@", stage, rate,
                                         llm.tokensIn + llm.tokensOut, llm.cost, clock(eta)) + pausedNote(llm), done: finished, total: total)
        }
    }

    /// The line printed when a model's circuit opens or closes.
    static func circuitMessage(model: String, open: Bool) -> String {
        open ? "\(model): paused: most recent requests failed (429, 5xx, timeouts or refused connections); nothing is sent to it until a single probe request is answered"
            : "\(model): resumed: the probe request was answered"
    }

    /// " · paused: <models> (server failing; probing)" while a model's circuit is open.
    static func pausedNote(_ llm: LLMRunCounts) -> String {
        llm.paused.isEmpty ? "" : " · paused: \(llm.paused.joined(separator: ", ")) (the server keeps failing; nothing is sent until a probe is answered)"
    }

    static func clock(_ s: Double) -> String {
        let t = Int(s.rounded())
        return t >= 3600 ? String(format: "%d:%02d:%02d", t / 3600, t / 60 % 60, t % 60) : String(format: "%d:%02d", t / 60, t % 60)
    }

    /// The compact per-stage counters every command ends with.
    static func line(_ s: StageSummary) -> String {
        var out = String(format: "%@: in %d, done %d, failed %d, skipped %d, samples %d, requests %d (cached %d, retries %d), tokens %d, cost $%.4f, %.1f s",
                         s.stage, s.itemsIn, s.done, s.failed, s.skipped, s.samples, s.llm.requests, s.llm.cacheHits, s.llm.retries,
                         s.llm.tokensIn + s.llm.tokensOut, s.llm.cost, s.seconds)
        if s.gated > 0 { out += ", gated \(s.gated)" }
        if s.waiting > 0 { out += ", waiting for batch jobs \(s.waiting)" }
        if let note = s.note { out += "\n  \(note)" }
        return out
    }
}

struct AnnotateReport: Encodable {
    var stages: [StageSummary]
}
