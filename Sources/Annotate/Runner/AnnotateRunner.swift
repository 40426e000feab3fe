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
    var logger = Logger(label: "emocfg.annotate")

    public init(store: Store, pipeline: PipelineConfig, client: LLMClient) {
        self.store = store
        self.pipeline = pipeline
        self.client = client
    }

    enum ItemOutcome: Sendable {
        case done(samples: Int)
        case failed(String)
        case dryRun
        case budget
        case fatal(String)
    }

    /// A stop that makes every further request pointless (no key), reported as the run's error.
    public struct StageError: Error, CustomStringConvertible, Sendable {
        public var message: String
        public var description: String { message }
    }

    public func run(_ stage: any ModelStage, sources: [String]? = nil, limit: Int? = nil,
                    progress: @escaping @Sendable (AnnotateEvent) -> Void = { _ in }) async throws -> StageSummary {
        let started = Date()
        let model = try pipeline.model(forStage: stage.name)
        var items = try stage.pendingItems(store: store, sources: sources)
        var summary = StageSummary(stage: stage.name)
        if let limit, items.count > max(0, limit) {
            summary.skipped = items.count - max(0, limit)
            items = Array(items.prefix(max(0, limit)))
        }
        summary.itemsIn = items.count
        progress(.started(stage: stage.name, items: items.count))
        let roots = Dictionary(try store.sources().map { ($0.name, $0.root) }, uniquingKeysWith: { a, _ in a })
        let frames = pipeline.frames
        let before = await client.stats.counts

        var stopReason: String?
        var fatal: String?
        let startedItems = await forEachBounded(items, width: model.maxConcurrency * 2, { item in
            await self.process(item, stage: stage, model: model, root: roots[item.clip.source], frames: frames)
        }) { outcome in
            switch outcome {
            case .done(let n):
                summary.done += 1
                summary.samples += n
            case .failed:
                summary.failed += 1
            case .dryRun:
                summary.done += 1
            case .budget:
                stopReason = stopReason ?? "stopped before exceeding the budget"
            case .fatal(let message):
                fatal = fatal ?? message
            }
            let counts = await client.stats.counts
            progress(.progress(stage: stage.name, done: summary.done, failed: summary.failed, total: items.count,
                               llm: counts, elapsed: Date().timeIntervalSince(started)))
            return stopReason == nil && fatal == nil
        }
        summary.skipped += items.count - startedItems
        if let fatal { throw StageError(message: fatal) }
        let after = await client.stats.counts
        summary.llm = after.minus(before)
        summary.seconds = Date().timeIntervalSince(started)
        if let stopReason {
            let spent = await client.budget.spent
            summary.note = String(format: "%@ ($%.4f of $%.4f): %d of %d items done, %d not started; rerun with a larger --max-cost to go on",
                                  stopReason, spent, client.options.maxCost ?? 0, summary.done, items.count, items.count - summary.done - summary.failed)
        } else if client.options.dryRun {
            summary.note = String(format: "dry run: %d requests would be sent, about %d input + %d output tokens, at most $%.4f",
                                  summary.llm.wouldSend, summary.llm.estimatedTokensIn, summary.llm.estimatedTokensOut, summary.llm.estimatedCost)
        }
        return summary
    }

    /// One item: frames (when needed), the chain of requests, the samples.
    func process(_ item: StageItem, stage: any ModelStage, model: ModelConfig, root: String?, frames settings: FrameSettings) async -> ItemOutcome {
        var images: [LLMImage] = []
        if stage.needsFrames {
            guard let root else { return .failed("the clip's source is not in the store") }
            do {
                images = try FrameSampler.sample(clip: item.clip, root: root, settings: settings).map { LLMImage(jpeg: $0.jpeg) }
            } catch {
                try? store.recordFailure(stage: stage.name, item: item.id, clip: item.clip.uid, reason: "frames: \(error)")
                return .failed("\(error)")
            }
        }
        var answers: [LLMAnswer] = []
        for step in 0..<stage.steps {
            let request: LLMRequest
            do {
                request = try stage.request(for: item, step: step, previous: answers.map { $0.json ?? .null }, frames: images)
            } catch {
                return .fatal("\(error)")
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
                case .budgetExceeded:
                    return .budget
                case .missingKey:
                    return .fatal("\(error)")
                case .failed:
                    try? store.recordFailure(stage: stage.name, item: item.id, clip: item.clip.uid, reason: "step \(step + 1) of \(stage.steps): \(error)")
                    return .failed("\(error)")
                }
            }
        }
        let samples = stage.samples(for: item, answers: answers, model: model)
        do {
            try store.upsertSamples(samples)
            try store.clearFailure(stage: stage.name, item: item.id)
        } catch {
            return .failed("cannot store the samples: \(error)")
        }
        return .done(samples: samples.count)
    }
}
