import EmoCFG
import Foundation
import Logging

/// What one `emocfg verify` run did.
public struct VerifySummary: Codable, Sendable, Equatable {
    /// Samples that needed a decision at the start.
    public var itemsIn = 0
    public var accepted = 0
    /// Samples rewritten after a failed vote (their rewrites are voted on in the same run).
    public var rewritten = 0
    public var rejected = 0
    /// Samples still without a decision (too few judges answered, or a rewrite could not be made),
    /// each with its reason in the store (`emocfg status --failures`).
    public var pending = 0
    /// Judge calls that failed after their retries: those judges abstained (each recorded with the reason).
    public var abstentions = 0
    /// Samples not started: stopped by the budget, or held or decided by another process.
    public var skipped = 0
    /// Samples another process sharing the store held or decided (counted in `skipped` too).
    public var elsewhere = 0
    /// Samples waiting for the batch lane: a judge's or the rewriter's request is in a job
    /// (counted in `skipped` too; a later run decides them).
    public var waiting = 0
    public var stoppedByBudget = false
    public var llm = LLMRunCounts()
    public var seconds = 0.0
    public var note: String?
    public init() {}
}

/// Progress of a verify run, for the command line to draw.
public enum VerifyEvent: Sendable {
    case started(items: Int)
    case progress(done: Int, total: Int, llm: LLMRunCounts, elapsed: Double)
}

/// The three-judge committee over the store: every undecided sample is judged by each judge that has
/// not voted on it yet, decided by `CommitteeVote`, and, when it fails, rewritten by the generator
/// with the judges' wrong aspects and suggestions and voted on again, up to `max_rounds`. Verdicts
/// are committed as they arrive and decisions in one transaction each, so a stop at any moment
/// loses nothing and a rerun asks no judge twice and decides no sample twice.
public struct CriticRunner: Sendable {
    public struct Options: Sendable {
        public var tasks: [String]?
        public var sources: [String]?
        public var limit: Int?
        /// Vote on label-derived `instruct` samples too (they are accepted without a vote otherwise).
        public var includeInstruct = false
        public init() {}
    }

    public var store: Store
    public var pipeline: PipelineConfig
    public var settings: CriticSettings
    public var client: LLMClient
    /// Who claims the samples this run decides; processes sharing the store skip each other's.
    public var owner: ClaimOwner
    public var leaseSeconds = 300.0
    let judgePrompt: PromptTemplate
    let rewritePrompt: PromptTemplate
    let rubrics: [String: String]
    let verdictSchema: JSONValue
    let rewriteSchema: JSONValue
    var logger = Logger(label: "emocfg.critic")

    public init(store: Store, pipeline: PipelineConfig, client: LLMClient, library: PromptLibrary) throws {
        self.store = store
        self.pipeline = pipeline
        self.client = client
        owner = client.owner
        settings = try pipeline.criticSettings()
        judgePrompt = try library.prompt("critic", "judge")
        rewritePrompt = try library.prompt("critic", "rewrite")
        rubrics = try library.sections("critic", "rubrics")
        verdictSchema = try library.schema("critic-verdict", reading: Self.verdictFields)
        rewriteSchema = try library.schema("rewrite", reading: Self.rewriteFields)
    }

    enum Outcome: Sendable, ClaimedOutcome {
        case accepted(rewrites: Int, abstained: Int)
        case rejected(rewrites: Int, abstained: Int)
        case pending(rewrites: Int, abstained: Int)
        case budget(rewrites: Int, abstained: Int)
        /// A request is in a batch job: nothing decided, nothing recorded.
        case waiting(rewrites: Int, abstained: Int)
        case elsewhere
        case fatal(CriticError)
    }
}

extension CriticRunner.Outcome {
    /// Decided, or pending with its reasons recorded: other processes skip the sample this run.
    var finishesClaim: Bool {
        switch self {
        case .accepted, .rejected, .pending: return true
        default: return false
        }
    }

    var isFatal: Bool { if case .fatal = self { return true } else { return false } }
}

extension CriticRunner {

    public func run(_ options: Options = Options(), progress: @escaping @Sendable (VerifyEvent) -> Void = { _ in }) async throws -> VerifySummary {
        let started = Date()
        let clips = Dictionary(try store.clips().map { ($0.uid, $0) }, uniquingKeysWith: { a, _ in a })
        let roots = Dictionary(try store.sources().map { ($0.name, $0.root) }, uniquingKeysWith: { a, _ in a })
        var items = try store.undecidedSamples(includeInstruct: options.includeInstruct).filter { s in
            (options.tasks == nil || options.tasks!.contains(s.task.rawValue) || options.tasks!.contains(s.stage))
                && (options.sources == nil || clips[s.clipUID].map { options.sources!.contains($0.source) } == true)
        }
        var summary = VerifySummary()
        // in = decided + pending + skipped: samples left by --limit are counted in and skipped.
        summary.itemsIn = items.count
        if let limit = options.limit, items.count > max(0, limit) {
            summary.skipped = items.count - max(0, limit)
            items = Array(items.prefix(max(0, limit)))
        }
        progress(.started(items: items.count))
        let before = await client.stats.counts
        var stop: String?
        var fatal: CriticError?
        var done = 0
        let width = (settings.judges.map(\.maxConcurrency).min() ?? 1) * 2
        let claims = WorkClaims(store: store, owner: owner, lease: leaseSeconds, since: started, active: !client.options.dryRun)
        let heartbeat = claims.heartbeat()
        defer {
            heartbeat?.cancel()
            claims.end()
        }
        let startedItems = await forEachBounded(items, width: width, { sample in
            await claims.run("verify", sample.uid, storeFailure: self.storeFailure) {
                await self.process(sample, clip: clips[sample.clipUID], root: clips[sample.clipUID].flatMap { roots[$0.source] })
            }
        }) { outcome in
            done += 1
            switch outcome {
            case .accepted(let r, let a): summary.accepted += 1; summary.rewritten += r; summary.abstentions += a
            case .rejected(let r, let a): summary.rejected += 1; summary.rewritten += r; summary.abstentions += a
            case .pending(let r, let a): summary.pending += 1; summary.rewritten += r; summary.abstentions += a
            case .budget(let r, let a):
                summary.skipped += 1; summary.rewritten += r; summary.abstentions += a
                stop = stop ?? "stopped before exceeding the budget"
            case .waiting(let r, let a): summary.skipped += 1; summary.waiting += 1; summary.rewritten += r; summary.abstentions += a
            case .elsewhere: summary.skipped += 1; summary.elsewhere += 1
            case .fatal(let e): fatal = fatal ?? e
            }
            progress(.progress(done: done, total: items.count, llm: await client.stats.counts, elapsed: Date().timeIntervalSince(started)))
            return stop == nil && fatal == nil
        }
        summary.skipped += items.count - startedItems
        if let fatal { throw fatal }
        summary.llm = (await client.stats.counts).minus(before)
        summary.seconds = Date().timeIntervalSince(started)
        var notes: [String] = []
        if let stop {
            notes.append(String(format: "%@ ($%.4f of $%.4f): %d samples not decided; rerun with a larger --max-cost to go on", stop,
                                await client.budget.spent, client.options.maxCost ?? 0, summary.skipped - summary.elsewhere))
        } else if client.options.dryRun {
            notes.append(String(format: "dry run: %d judge requests would be sent, at most $%.4f online or $%.4f through the batch lane (rewrites not counted)",
                                summary.llm.wouldSend, summary.llm.estimatedCost, summary.llm.estimatedBatchCost))
        }
        if summary.elsewhere > 0 { notes.append("\(summary.elsewhere) samples left to another process working on the same store") }
        if summary.waiting > 0 { notes.append("\(summary.waiting) samples wait for batch jobs (emocfg batches); a later run decides them") }
        if summary.pending > 0 && !client.options.dryRun {
            notes.append("\(summary.pending) samples still pending (judges abstained or a rewrite failed), each with its reason: emocfg status --failures")
        }
        summary.note = notes.isEmpty ? nil : notes.joined(separator: "; ")
        summary.stoppedByBudget = stop != nil
        return summary
    }

    /// A store write that failed: no further request of this run is sent.
    func storeFailure(_ error: Error) -> Outcome {
        .fatal(CriticError(message: client.stopForStoreFailure(error, kept: "decided samples are kept"), kind: .store))
    }

    /// Votes on one sample, and on its rewrites, until a decision or a pending state.
    func process(_ sample: NewSample, clip: StoredClip?, root: String?) async -> Outcome {
        guard let clip, let root else {
            return .fatal(CriticError(message: "sample \(sample.uid) names clip \(sample.clipUID), which the store does not hold"))
        }
        let frames: [LLMImage]
        do {
            frames = try FrameSampler.sample(clip: clip, root: root, settings: pipeline.frames).map { LLMImage(jpeg: $0.jpeg) }
        } catch {
            do { try store.recordFailure(stage: "verify", item: sample.uid, clip: clip.uid, reason: "frames: \(error)") } catch { return storeFailure(error) }
            return .pending(rewrites: 0, abstained: 0)
        }
        let vote = CommitteeVote(judges: settings.judges.count, quorum: settings.quorum)
        var current = sample
        var rewrites = 0
        var abstained = 0
        while true {
            let asked: Set<String>
            do { asked = Set(try store.verdicts(sample: current.uid).map(\.judge)) } catch { return storeFailure(error) }
            // The judges not yet asked are asked at once; their answers are handled in judge order.
            let sample = current
            let answers = await withTaskGroup(of: (Int, LLMRequest, Result<LLMAnswer, LLMError>).self) { group in
                for (i, judge) in settings.judges.enumerated() where !asked.contains(judge.alias) {
                    let request = judgeRequest(sample, judge: judge, frames: frames)
                    group.addTask {
                        do throws(LLMError) { return (i, request, .success(try await client.send(request, model: judge))) } catch {
                            return (i, request, .failure(error))
                        }
                    }
                }
                var out: [(Int, LLMRequest, Result<LLMAnswer, LLMError>)] = []
                for await r in group { out.append(r) }
                return out.sorted { $0.0 < $1.0 }
            }
            var stop: Outcome?
            var waiting = false
            for (i, request, result) in answers {
                let judge = settings.judges[i]
                do {
                    switch result {
                    case .success(let answer):
                        let json = answer.json ?? .null
                        try store.saveVerdict(Verdict(
                            sampleUID: current.uid, round: current.round, judge: judge.alias, pass: json["pass"]?.boolValue ?? false,
                            wrongAspects: (json["wrong_aspects"]?.arrayValue ?? []).compactMap(\.stringValue),
                            suggestion: json["suggestion"]?.stringValue ?? "", llmCall: answer.key))
                    case .failure(let error):
                        switch error {
                        case .budgetExceeded: stop = stop ?? .budget(rewrites: rewrites, abstained: abstained)
                        case .missingKey: stop = .fatal(CriticError(message: "\(error)"))
                        case .storeFailed(let m): stop = .fatal(CriticError(message: m, kind: .store))
                        case .dryRun: break
                        case .deferred: waiting = true
                        case .failed:
                            abstained += 1
                            logger.info("judge \(judge.alias) abstains on \(current.uid): \(error)")
                            try store.recordAbstention(Abstention(sampleUID: current.uid, judge: judge.alias, round: current.round,
                                                                  reason: "\(error)", llmCall: request.cacheKey(for: judge)))
                        }
                    }
                } catch {
                    return storeFailure(error)
                }
            }
            if case .budget = stop { return .budget(rewrites: rewrites, abstained: abstained) }
            if let stop { return stop }
            // A judge's request is in a batch job: the sample is decided once every judge asked has answered.
            if waiting { return .waiting(rewrites: rewrites, abstained: abstained) }
            let verdicts: [Verdict]
            do { verdicts = try store.verdicts(sample: current.uid) } catch { return storeFailure(error) }
            switch vote.decide(verdicts.map(\.pass)) {
            case .pending:
                return .pending(rewrites: rewrites, abstained: abstained)
            case .accept:
                do { try store.decide(sample: current.uid, status: .accepted, reasons: nil) } catch { return storeFailure(error) }
                return .accepted(rewrites: rewrites, abstained: abstained)
            case .fail:
                let failing = verdicts.filter { !$0.pass }
                let reasons = failing
                    .map { "\($0.judge): \($0.wrongAspects.joined(separator: ", ")); \($0.suggestion)" }.joined(separator: " | ")
                guard current.round + 1 < settings.maxRounds else {
                    do { try store.decide(sample: current.uid, status: .rejected, reasons: reasons) } catch { return storeFailure(error) }
                    return .rejected(rewrites: rewrites, abstained: abstained)
                }
                let rewriter = settings.rewriter ?? (try? pipeline.model(forStage: current.stage)) ?? settings.judges[0]
                let answer: LLMAnswer
                do {
                    answer = try await client.send(rewriteRequest(current, feedback: reasons, frames: frames), model: rewriter)
                } catch {
                    switch error {
                    case .budgetExceeded: return .budget(rewrites: rewrites, abstained: abstained)
                    case .missingKey: return .fatal(CriticError(message: "\(error)"))
                    case .storeFailed(let m): return .fatal(CriticError(message: m, kind: .store))
                    case .deferred: return .waiting(rewrites: rewrites, abstained: abstained)
                    case .dryRun, .failed:
                        do {
                            try store.recordFailure(stage: "verify", item: current.uid, clip: clip.uid, reason: "rewrite: \(error)")
                        } catch {
                            return storeFailure(error)
                        }
                        return .pending(rewrites: rewrites, abstained: abstained)
                    }
                }
                let root = current.uid.components(separatedBy: "#r")[0]
                var content = current.content.objectValue ?? [:]
                content["question"] = answer.json?["question"] ?? content["question"] ?? ""
                content["answer"] = answer.json?["answer"] ?? ""
                content["rewritten_from"] = .string(current.uid)
                // The parent's structured detail described the parent's answer: rebuilt from the rewrite's own.
                if content["detail"] != nil { content["detail"] = .object([current.task == .rationale ? "rationale" : "answer": content["answer"]!]) }
                let child = NewSample(
                    uid: "\(root)#r\(current.round + 1)", clipUID: current.clipUID, stage: current.stage, task: current.task,
                    form: current.form, content: .object(content), promptID: rewritePrompt.id, promptHash: rewritePrompt.hash,
                    model: rewriter.alias, llmCall: answer.key, parentUID: current.uid, round: current.round + 1, status: .pending)
                let gate = ContentGates.copiesSuggestion(content["answer"]?.stringValue ?? "", suggestions: failing.map(\.suggestion))
                    ? "the rewrite copies a judge's suggestion instead of answering"
                    : pipeline.gates.problem(of: child)
                if let gate {
                    // A rewrite that says nothing fixes nothing: the sample is rejected with the gate's reason.
                    do {
                        try store.recordGated(child, reason: gate)
                        try store.decide(sample: current.uid, status: .rejected, reasons: "rewrite kept out by a content gate (\(gate)): " + reasons)
                    } catch {
                        return storeFailure(error)
                    }
                    return .rejected(rewrites: rewrites, abstained: abstained)
                }
                do {
                    try store.decide(sample: current.uid, status: .rejected, reasons: "rewritten: " + reasons, rewrite: child)
                } catch {
                    return storeFailure(error)
                }
                rewrites += 1
                current = child
            }
        }
    }

    func judgeRequest(_ s: NewSample, judge: ModelConfig, frames: [LLMImage]) -> LLMRequest {
        let rubric = rubrics[s.task.rawValue] ?? rubrics["caption"] ?? ""
        let text = judgePrompt.render([
            "frame_count": "\(frames.count)", "task": s.task.rawValue, "rubric": rubric,
            "question": Self.question(s), "answer": s.content["answer"]?.stringValue ?? "",
        ])
        var request = LLMRequest(stage: "verify", messages: [.system(judgePrompt.system), .user(frames.map { .image($0) } + [.text(text)])],
                                 schema: verdictSchema, schemaName: "critic_verdict", promptID: judgePrompt.id, promptHash: judgePrompt.hash)
        // A verdict that passes while listing what is wrong is asked again, then counts as an abstention.
        request.checks = [.passMeansNoWrongAspects]
        return request
    }

    func rewriteRequest(_ s: NewSample, feedback: String, frames: [LLMImage]) -> LLMRequest {
        let text = rewritePrompt.render([
            "frame_count": "\(frames.count)", "question": Self.question(s), "answer": s.content["answer"]?.stringValue ?? "",
            "feedback": feedback,
        ])
        return LLMRequest(stage: "rewrite", messages: [.system(rewritePrompt.system), .user(frames.map { .image($0) } + [.text(text)])],
                          schema: rewriteSchema, schemaName: "rewrite", promptID: rewritePrompt.id, promptHash: rewritePrompt.hash)
    }

    /// The question as the model saw it, with a multiple-choice sample's options.
    static func question(_ s: NewSample) -> String {
        var q = s.content["question"]?.stringValue ?? ""
        if let options = s.content["options"]?.arrayValue?.compactMap(\.stringValue), !options.isEmpty, !q.contains(options[0]) {
            q += "\n" + options.joined(separator: "\n")
        }
        return q
    }
}

/// A stop that makes every further judge call pointless (no key, a sample without its clip).
public struct CriticError: Error, CustomStringConvertible, Sendable {
    public enum Kind: Sendable {
        /// A key, prompt or schema to fix.
        case configuration
        /// The store cannot be written (a full disk).
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
