import EmoCFG
import Foundation
import Logging

/// Runs a model stage over the store: which items need work, frames for the vision stages, each
/// item's chain of requests through the LLM client, and the samples of each finished item committed
/// at once, so a stop at any moment loses at most the items in flight (their answers are cached).
public struct AnnotateRunner: Sendable {
    public var store: Store
    public var pipeline: PipelineConfig
    public var client: LLMClient
    /// Who claims the items this run works on; processes sharing the store skip each other's items.
    public var owner: ClaimOwner
    /// How long a claim lasts without renewal; the run renews its claims every third of it, so a
    /// killed process's items are free again after at most this long (at once on the same host).
    public var leaseSeconds = 300.0
    var logger = Logger(label: "emocfg.annotate")

    public init(store: Store, pipeline: PipelineConfig, client: LLMClient) {
        self.store = store
        self.pipeline = pipeline
        self.client = client
        owner = client.owner
    }

    enum ItemOutcome: Sendable, ClaimedOutcome {
        case done(samples: Int, gated: Int)
        case failed(String, gated: Int)
        case dryRun
        /// Waiting for the batch lane: a request of its chain is in a job.
        case deferred
        case budget
        /// Another process holds the item or finished it during this run.
        case elsewhere
        case fatal(StageError)
    }
}

extension AnnotateRunner.ItemOutcome {
    /// Done or failed for good: other processes skip the item.
    var finishesClaim: Bool {
        switch self {
        case .done, .failed: return true
        default: return false
        }
    }

    var isFatal: Bool { if case .fatal = self { return true } else { return false } }
}

extension AnnotateRunner {
    /// A stop that makes every further request pointless (no key, a broken prompt, a store that
    /// cannot be written), reported as the run's error.
    public struct StageError: Error, CustomStringConvertible, Sendable {
        public enum Kind: Sendable {
            /// A key, prompt or schema to fix: nothing more can be done until it is.
            case configuration
            /// The store cannot be written (a full disk); answers in flight went to the spill file.
            case store
        }
        public var message: String
        public var kind: Kind = .configuration
        public init(message: String, kind: Kind = .configuration) {
            self.message = message
            self.kind = kind
        }
        public var description: String { message }
    }

    public func run(_ stage: any ModelStage, sources: [String]? = nil, limit: Int? = nil,
                    progress: @escaping @Sendable (AnnotateEvent) -> Void = { _ in }) async throws -> StageSummary {
        let started = Date()
        let model = try pipeline.model(forStage: stage.name)
        var items = try stage.pendingItems(store: store, sources: sources)
        var summary = StageSummary(stage: stage.name)
        // in = done + failed + skipped: items left by --limit are counted in and skipped.
        summary.itemsIn = items.count
        if let limit, items.count > max(0, limit) {
            summary.skipped = items.count - max(0, limit)
            items = Array(items.prefix(max(0, limit)))
        }
        progress(.started(stage: stage.name, items: items.count))
        let roots = Dictionary(try store.sources().map { ($0.name, $0.root) }, uniquingKeysWith: { a, _ in a })
        let frames = pipeline.frames
        let before = await client.stats.counts

        var stopReason: String?
        var fatal: StageError?
        var budgetLeft = 0
        let claims = WorkClaims(store: store, owner: owner, lease: leaseSeconds, since: started, active: !client.options.dryRun)
        let heartbeat = claims.heartbeat()
        defer {
            heartbeat?.cancel()
            claims.end()
        }
        let startedItems = await forEachBounded(items, width: model.maxConcurrency * 2, { item in
            await self.process(item, stage: stage, model: model, root: roots[item.clip.source], frames: frames, claims: claims)
        }) { outcome in
            switch outcome {
            case .done(let n, let g):
                summary.done += 1
                summary.samples += n
                summary.gated += g
            case .failed(_, let g):
                summary.failed += 1
                summary.gated += g
            case .dryRun:
                summary.done += 1
            case .deferred:
                summary.waiting += 1
            case .budget:
                budgetLeft += 1
                stopReason = stopReason ?? "stopped before exceeding the budget"
            case .elsewhere:
                summary.elsewhere += 1
            case .fatal(let error):
                fatal = fatal ?? error
            }
            let counts = await client.stats.counts
            progress(.progress(stage: stage.name, done: summary.done, failed: summary.failed, total: items.count,
                               llm: counts, elapsed: Date().timeIntervalSince(started)))
            return stopReason == nil && fatal == nil
        }
        // Skipped: left by --limit, not started, stopped by the budget before their answers, or another process's.
        let notDone = items.count - startedItems + budgetLeft
        summary.skipped += notDone + summary.elsewhere + summary.waiting
        if let fatal { throw fatal }
        let after = await client.stats.counts
        summary.llm = after.minus(before)
        summary.seconds = Date().timeIntervalSince(started)
        var notes: [String] = []
        if let stopReason {
            let spent = await client.budget.spent
            notes.append(String(format: "%@ ($%.4f of $%.4f): %d of %d items done, %d not done; rerun with a larger --max-cost to go on",
                                stopReason, spent, client.options.maxCost ?? 0, summary.done, items.count, notDone))
        } else if client.options.dryRun {
            notes.append(String(format: "dry run: %d requests would be sent, about %d input + %d output tokens, at most $%.4f online or $%.4f through the batch lane",
                                summary.llm.wouldSend, summary.llm.estimatedTokensIn, summary.llm.estimatedTokensOut, summary.llm.estimatedCost,
                                summary.llm.estimatedBatchCost))
        }
        if summary.elsewhere > 0 {
            notes.append("\(summary.elsewhere) items left to another process working on the same store")
        }
        if summary.waiting > 0 {
            notes.append("\(summary.waiting) items wait for batch jobs (emocfg batches); a later run takes their answers")
        }
        if summary.gated > 0 {
            notes.append("\(summary.gated) answers kept out by content gates (table gated_content; pipeline.yaml gates:)")
        }
        if summary.failed > 0 {
            notes.append("\(summary.failed) items failed, each recorded with its reason: emocfg status --failures")
        }
        summary.note = notes.isEmpty ? nil : notes.joined(separator: "; ")
        summary.stoppedByBudget = stopReason != nil
        return summary
    }

    /// A store write that failed: no further request of this run is sent.
    func storeFailure(_ error: Error) -> ItemOutcome {
        .fatal(StageError(message: client.stopForStoreFailure(error, kept: "finished items are kept"), kind: .store))
    }

    /// One item: frames (when needed), the chain of requests, the samples.
    func process(_ item: StageItem, stage: any ModelStage, model: ModelConfig, root: String?, frames settings: FrameSettings,
                 claims: WorkClaims) async -> ItemOutcome {
        await claims.run(stage.name, item.id, storeFailure: storeFailure) {
            await work(item, stage: stage, model: model, root: root, frames: settings)
        }
    }

    /// Records why an item failed; a store that cannot take even that stops the run.
    func failed(_ stage: String, _ item: StageItem, _ reason: String, gated: Int = 0) -> ItemOutcome {
        do {
            try store.recordFailure(stage: stage, item: item.id, clip: item.clip.uid, reason: reason)
        } catch {
            return storeFailure(error)
        }
        return .failed(reason, gated: gated)
    }

    func work(_ item: StageItem, stage: any ModelStage, model: ModelConfig, root: String?, frames settings: FrameSettings) async -> ItemOutcome {
        var images: [LLMImage] = []
        if stage.needsFrames {
            guard let root else { return failed(stage.name, item, "the clip's source is not in the store") }
            do {
                images = try FrameSampler.sample(clip: item.clip, root: root, settings: settings).map { LLMImage(jpeg: $0.jpeg) }
            } catch {
                return failed(stage.name, item, "frames: \(error)")
            }
        }
        var answers: [LLMAnswer] = []
        for step in 0..<stage.steps {
            var request: LLMRequest
            do {
                request = try stage.request(for: item, step: step, previous: answers.map { $0.json ?? .null }, frames: images)
                request.step = stage.steps > 1 ? step : nil
            } catch {
                return .fatal(StageError(message: "\(error)"))
            }
            do {
                answers.append(try await client.send(request, model: model))
            } catch {
                switch error {
                case .dryRun:
                    // Estimate the rest of the chain as if each step had answered.
                    answers.append(LLMAnswer(text: "", json: .object(["caption": "", "cues": []]), usage: TokenUsage(input: 0, output: 0, estimated: true),
                                             cost: 0, cached: false, key: "", attempts: 0))
                    if step == stage.steps - 1 { return .dryRun }
                    continue
                case .deferred:
                    return .deferred
                case .budgetExceeded:
                    return .budget
                case .missingKey:
                    return .fatal(StageError(message: "\(error)"))
                case .storeFailed(let message):
                    return .fatal(StageError(message: message, kind: .store))
                case .failed:
                    return failed(stage.name, item, "step \(step + 1) of \(stage.steps): \(error)")
                }
            }
        }
        let made = stage.samples(for: item, answers: answers, model: model)
        // Content gates: what passed the schema but says nothing is recorded and left out.
        var samples: [NewSample] = []
        var gated: [String] = []
        for sample in made {
            if let why = pipeline.gates.problem(of: sample) {
                do { try store.recordGated(sample, reason: why) } catch { return storeFailure(error) }
                gated.append(why)
            } else {
                samples.append(sample)
            }
        }
        if samples.isEmpty, !gated.isEmpty {
            return failed(stage.name, item, "every answer was kept out by a content gate: \(gated.joined(separator: "; ")) (pipeline.yaml gates:)", gated: gated.count)
        }
        guard !samples.isEmpty else {
            // The answers passed their schema but hold nothing the stage can use (a schema that
            // does not require the field the stage reads): recorded, not left pending unexplained.
            return failed(stage.name, item, "the model's answers made no sample: check that schemas used by \(stage.name) require the fields it reads (answer keys: \(answers.last?.json?.objectValue?.keys.sorted().joined(separator: ", ") ?? "none"))")
        }
        do {
            try store.upsertSamples(samples)
            try store.clearFailure(stage: stage.name, item: item.id)
        } catch {
            return storeFailure(error)
        }
        return .done(samples: samples.count, gated: gated.count)
    }
}
