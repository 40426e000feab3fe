import AsyncHTTPClient
import Foundation
import Logging
import NIOCore

/// Sends stages' requests to their models: answers already in the store are returned without
/// sending anything; the rest go out within each model's limits and the run's budget, are retried
/// on 429, 5xx, timeouts, dropped connections and unusable answers, and are committed to the store
/// the moment they arrive.
public final class LLMClient: Sendable {
    /// Settings of the client itself (the per-model ones are in `pipeline.yaml`).
    public struct Options: Sendable {
        /// `--dry-run`: count and estimate, send nothing.
        public var dryRun = false
        /// `--max-cost` in US dollars.
        public var maxCost: Double?
        /// First backoff delay; doubled each attempt, with full jitter.
        public var backoffBase = 0.5
        public var backoffCap = 30.0
        /// The longest `Retry-After` the client honours before giving the attempt up.
        public var retryAfterCap = 300.0
        /// The adaptive concurrency and circuit breaker of every model (tests shorten the times).
        public var limiter = RateLimiter.Settings()
        /// Told when a model's circuit opens (`true`: nothing is sent to it until a probe is
        /// answered) and closes again, for the progress display.
        public var onCircuit: (@Sendable (_ model: String, _ open: Bool) -> Void)?
        /// Which requests go through the batch lane (`--batch`, `mode: batch`, `batch.stages`).
        public var batch = BatchLane.Options()
        public init() {}
    }

    public let store: Store
    public let options: Options
    public let stats = LLMRunStats()
    public let budget: Budget
    private let environment: [String: String]
    private let http: HTTPClient
    private let limiters: [String: RateLimiter]
    private let inFlight = InFlightCalls()
    private let logger = Logger(label: "emocfg.llm")
    /// Where answers go that the store cannot take.
    public let spill: SpillFile
    private let halted = HaltFlag()
    /// Who this run is when it claims work in the store (shared with the stage runners).
    public let owner = ClaimOwner()
    /// How long a claimed request stays this run's without renewal (the runners renew it).
    public var leaseSeconds: Double { 300 }
    private let created = Date()
    /// The batch lane: takes the requests of batch models and stages, and holds back online requests
    /// whose key a job in flight carries.
    public let batch: BatchLane

    /// `environment` is where keys are read (the process environment in the command line).
    public init(store: Store, models: [ModelConfig], environment: [String: String], options: Options = Options()) {
        self.store = store
        self.options = options
        self.environment = environment
        self.budget = Budget(limit: options.maxCost)
        spill = SpillFile(storePath: store.path)
        http = Self.processClient
        batch = BatchLane(store: store, models: models, environment: environment, http: Self.processClient, stats: stats,
                          budget: budget, options: options.batch)
        let stats = self.stats
        limiters = Dictionary(models.map { m in
            var settings = options.limiter
            settings.adaptive = settings.adaptive && m.adaptiveConcurrency
            let alias = m.alias
            let tell = options.onCircuit
            return (m.alias, RateLimiter(
                maxConcurrency: m.maxConcurrency, requestsPerMinute: m.requestsPerMinute, tokensPerMinute: m.tokensPerMinute,
                settings: settings,
                onCircuit: { open in
                    tell?(alias, open)
                    await stats.update {
                        $0.paused.removeAll { $0 == alias }
                        if open {
                            $0.paused.append(alias)
                            $0.circuitOpened += 1
                        }
                    }
                }))
        }, uniquingKeysWith: { a, _ in a })
    }

    /// One HTTP client for the whole process, never shut down: an `HTTPClient` released without
    /// `shutdown()` aborts the process, and a client dropped on an error path must not do that.
    /// Unlike `HTTPClient.shared` (8 connections per host), its pool is large enough for the
    /// concurrency a model is given: at 200 ms an answer, 8 connections cap a run at 40 requests/s.
    static let processClient: HTTPClient = {
        var config = HTTPClient.Configuration()
        config.connectionPool.concurrentHTTP1ConnectionsPerHostSoftLimit = 256
        return HTTPClient(eventLoopGroupProvider: .singleton, configuration: config)
    }()

    /// Ends a run: the spill file's reserved space is given back when nothing was spilled. (The
    /// process-wide HTTP client lives as long as the process.)
    public func shutdown() async {
        spill.removeIfEmpty()
    }

    /// What `prepare` found before the first request.
    public struct Preparation: Sendable {
        /// Answers an earlier run could not store, now imported.
        public var imported = 0
        /// Free space on the store's file system below `lowSpaceWarning`, in bytes.
        public var lowSpace: Int64?
    }

    /// Free space under which `prepare` warns.
    public static let lowSpaceWarning: Int64 = 512 << 20

    /// Before any request: imports answers an earlier run spilled (throwing `.storeFailed` when the
    /// store still cannot take them, so nothing is sent), reserves the spill file's space and
    /// checks the free space. Nothing to do for a dry run.
    public func prepare() throws(LLMError) -> Preparation {
        var p = Preparation()
        do {
            p.imported = try spill.importInto(store)
        } catch {
            throw .storeFailed("cannot import the answers an earlier run kept in \(spill.url.path) into the store (\(error)); free some space and run again: nothing was sent")
        }
        guard !options.dryRun else { return p }
        do {
            try spill.reserve()
        } catch {
            throw .storeFailed("\(error); free some space and run again: nothing was sent")
        }
        if let free = store.freeBytes(), free < Self.lowSpaceWarning { p.lowSpace = free }
        return p
    }

    /// Before any request: whether `model`'s server says it takes no images. llama.cpp's server
    /// advertises its modalities at `GET /props`; a server that says nothing (404, other errors,
    /// another shape) is taken at its word later. Returns what to change, or nil.
    public func imageInputRefusal(model: ModelConfig, stage: String) async -> String? {
        guard model.provider == .openai else { return nil }
        var root = model.baseURL
        if root.hasSuffix("/v1") { root.removeLast(3) }
        var req = HTTPClientRequest(url: root + "/props")
        req.method = .GET
        guard let response = try? await http.execute(req, timeout: .seconds(3)), response.status.code == 200,
              let buffer = try? await response.body.collect(upTo: 1 << 20),
              let json = try? JSONValue.parse(Data(buffer.readableBytesView)),
              json["modalities"]?["vision"]?.boolValue == false else { return nil }
        return Self.imagesRefused(model: model, stage: stage, providerMessage: "its server's GET /props says modalities.vision is false")
    }

    /// Stops the run's requests: every later `send` that would reach a server throws `.storeFailed`,
    /// so no other item pays for an answer it cannot keep.
    private func halt(_ reason: String) { halted.set(reason) }

    /// The answer to `request` from `model`: from the store when it is there, otherwise from the model.
    public func send(_ request: LLMRequest, model: ModelConfig) async throws(LLMError) -> LLMAnswer {
        let key = request.cacheKey(for: model)
        if let stored = storedAnswer(key: key, request: request) ?? storedAnswer(key: request.legacyCacheKey(for: model), request: request) {
            await stats.update { $0.cacheHits += 1 }
            return stored
        }

        let estimatedIn = request.estimatedInputTokens(for: model)
        let worstCost = model.cost(input: estimatedIn, output: model.maxOutputTokens)
        if !options.dryRun {
            // The batch lane: a request of a batch model or stage goes into a job; one a job in
            // flight carries is waited for, not paid for again online.
            if batch.takes(stage: request.stage, model: model) {
                let outcome = batch.enqueue(request, model: model, key: key)
                if case .deferred = outcome { await stats.update { $0.deferred += 1 } }
                throw outcome
            }
            if let job = batch.jobCarrying(key) {
                await stats.update { $0.deferred += 1 }
                throw .deferred("waiting for batch job \(job)")
            }
            // The same request already on its way (identical clips, a chain shared by two items):
            // wait for its answer instead of paying for it twice.
            if let shared = await inFlight.join(key) {
                let answer = try shared.get()
                await stats.update { $0.cacheHits += 1 }
                return LLMAnswer(text: answer.text, json: answer.json, usage: answer.usage, cost: answer.cost, cached: true,
                                 key: key, attempts: answer.attempts)
            }
            var result: Result<LLMAnswer, LLMError>
            // Another process on the same store may be sending the same request: claim it (the claim
            // reads the store again, so an answer that landed since the check above is taken from there).
            switch await claimCall(key, request: request, model: model) {
            case .elsewhere(let r):
                result = r
                if case .success = r { await stats.update { $0.cacheHits += 1 } }
            case .mine:
                do throws(LLMError) {
                    result = .success(try await sendUncached(request, model: model, key: key, estimatedIn: estimatedIn, worstCost: worstCost))
                } catch {
                    result = .failure(error)
                }
                // An answer is in the store, so its claim goes; a failure is marked finished, so
                // another process waiting for it takes the failure instead of paying again.
                let finished: Bool
                if case .failure(.failed) = result { finished = true } else { finished = false }
                do {
                    try store.release(stage: Self.callClaimStage, item: key, owner: owner, finished: finished)
                } catch {
                    if case .success = result { result = .failure(storeFailure(error)) }
                }
            }
            await inFlight.finish(key, result)
            return try result.get()
        }
        return try await sendUncached(request, model: model, key: key, estimatedIn: estimatedIn, worstCost: worstCost)
    }

    /// The claims of single requests are kept under this stage name.
    static let callClaimStage = "llm_call"

    enum CallClaim {
        /// This process sends the request.
        case mine
        /// Another process sent it: its answer (from the store) or its failure.
        case elsewhere(Result<LLMAnswer, LLMError>)
    }

    /// Claims the request `key` in the store, so processes sharing it send each request once: a
    /// request another live process is sending is waited for, and its answer read from the store.
    private func claimCall(_ key: String, request: LLMRequest, model: ModelConfig) async -> CallClaim {
        while true {
            let claim: ClaimResult
            do {
                claim = try store.claim(stage: Self.callClaimStage, item: key, owner: owner, ttl: leaseSeconds, since: created)
            } catch {
                return .elsewhere(.failure(storeFailure(error)))
            }
            if let stored = storedAnswer(key: key, request: request) {
                // Answered by another process meanwhile.
                if case .claimed = claim { try? store.release(stage: Self.callClaimStage, item: key, owner: owner, finished: false) }
                return .elsewhere(.success(stored))
            }
            if case .claimed = claim { return .mine }
            if case .doneElsewhere = claim {
                if let call = try? store.call(key: key), !call.ok {
                    return .elsewhere(.failure(.failed(model: model.alias, status: call.httpStatus, attempts: call.attempts,
                                                       message: (call.error ?? "failed") + " (sent by another process)")))
                }
                return .mine
            }
            if let reason = halted.reason { return .elsewhere(.failure(.storeFailed(reason))) }
            try? await Task.sleep(nanoseconds: 100_000_000)
        }
    }

    /// A store write that failed: the run sends nothing more.
    private func storeFailure(_ error: Error) -> LLMError {
        .storeFailed(stopForStoreFailure(error, kept: "answers already stored are kept"))
    }

    /// Stops the run's requests after a store write failed (`error`), and says why, what is kept and
    /// what to do; the first such reason is the run's.
    public func stopForStoreFailure(_ error: Error, kept: String) -> String {
        let message = "cannot write the store \(store.path): \(Store.describe(error)); free some space and run again (\(kept))"
        halt(message)
        return halted.reason ?? message
    }

    /// The stored answer to `key`, if it is there and still satisfies the request's schema.
    private func storedAnswer(key: String, request: LLMRequest) -> LLMAnswer? {
        guard let hit = try? store.cachedCall(key: key), let text = hit.answer,
              case .success(let json) = Self.validate(text, schema: request.schema, checks: request.checks) else { return nil }
        return LLMAnswer(text: text, json: json, usage: hit.usage, cost: hit.cost, cached: true, key: key, attempts: hit.attempts)
    }

    private func sendUncached(_ request: LLMRequest, model: ModelConfig, key: String, estimatedIn: Int, worstCost: Double) async throws(LLMError) -> LLMAnswer {
        if options.dryRun {
            await stats.update {
                $0.wouldSend += 1
                $0.estimatedTokensIn += estimatedIn
                $0.estimatedTokensOut += model.maxOutputTokens
                $0.estimatedCost += worstCost
                $0.estimatedBatchCost += model.batchCost(input: estimatedIn, output: model.maxOutputTokens)
            }
            throw .dryRun
        }
        var key_: String?
        if let variable = model.keyEnv {
            guard let k = environment[variable], !k.isEmpty else { throw .missingKey(model: model.alias, variable: variable) }
            key_ = k
        }
        let apiKey = key_

        let format = wireFormat(for: model)
        // An answer cut off at the output limit is asked again with the limit doubled, up to the ceiling.
        var current = model
        var body = format.body(for: request, model: current)
        var worstCost = worstCost
        var servedModel: String?
        var failFast = false
        let limiter = limiters[model.alias] ?? RateLimiter(maxConcurrency: model.maxConcurrency, requestsPerMinute: nil, tokensPerMinute: nil)
        var attempt = 0
        var lastError = ""
        var lastStatus: Int?
        // What every attempt was billed (reported by the server, or estimated), kept with the call.
        var billed = TokenUsage(input: 0, output: 0, estimated: false)
        var billedCost = 0.0
        let started = DispatchTime.now().uptimeNanoseconds
        var stoppedBy: LLMError?
        attempts: while attempt < model.maxAttempts {
            if let reason = halted.reason { stoppedBy = .storeFailed(reason); break attempts }
            // Every attempt reserves its worst case before it is sent, retries included.
            let reserved = worstCost
            guard await budget.reserve(reserved) else {
                await stats.update { $0.stoppedByBudget += 1 }
                stoppedBy = .budgetExceeded(spent: await budget.spent, limit: options.maxCost ?? 0)
                break attempts
            }
            attempt += 1
            if attempt > 1 { await stats.update { $0.retries += 1 } }
            let permit = await limiter.acquire(tokens: estimatedIn + current.maxOutputTokens)
            if permit.refused {
                // The model's server has failed every probe for a while: not sent, not billed.
                await budget.settle(reserved: reserved, actual: 0)
                attempt -= 1
                lastError = "the server kept failing (the circuit breaker paused \(model.alias) and its probe requests failed \(options.limiter.giveUpAfterProbes) times in a row)"
                    + (lastError.isEmpty ? "" : "; the last error: \(lastError)")
                break attempts
            }
            if let reason = halted.reason {
                // The store failed while this request waited for its turn: it is not sent.
                await limiter.release(permit, outcome: .neutral)
                await budget.settle(reserved: reserved, actual: 0)
                attempt -= 1
                stoppedBy = .storeFailed(reason)
                break attempts
            }
            let outcome = await exchange(format: format, model: model, key: apiKey, body: body)
            await limiter.release(permit, outcome: Self.capacitySignal(outcome))

            var delay = backoff(attempt)
            var usage: TokenUsage?
            var answer: (text: String, json: JSONValue?)?
            switch outcome {
            case .transport(let message, let timedOut):
                lastError = redact(message, apiKey)
                lastStatus = nil
                if timedOut {
                    lastError = String(format: "no answer within timeout_seconds = %g (models.%@.timeout_seconds; the time includes waiting in the server's queue)",
                                       model.timeoutSeconds, model.alias)
                    // A request that timed out may have been answered and billed: count the worst case.
                    usage = TokenUsage(input: estimatedIn, output: current.maxOutputTokens, estimated: true)
                }
            case .http(let status, let headers, let data):
                lastStatus = status
                if (200..<300).contains(status) {
                    switch format.parse(data) {
                    case .unreadable(let why):
                        lastError = redact("unusable answer: \(why)", apiKey)
                        usage = TokenUsage(input: estimatedIn, output: min(current.maxOutputTokens, data.count / 4 + 1), estimated: true)
                    case .answer(let text, let reported, let served, let cut):
                        usage = reported ?? TokenUsage(input: estimatedIn, output: text.utf8.count / 4 + 1, estimated: true)
                        servedModel = served ?? servedModel
                        if cut {
                            // The same request would be cut at the same place: ask with a larger limit.
                            lastError = "the answer was cut off at max_output_tokens = \(current.maxOutputTokens)"
                            if current.maxOutputTokens < model.maxOutputTokensCeiling {
                                current.maxOutputTokens = min(current.maxOutputTokens * 2, model.maxOutputTokensCeiling)
                                lastError += "; asking again with \(current.maxOutputTokens)"
                                body = format.body(for: request, model: current)
                                worstCost = current.cost(input: estimatedIn, output: current.maxOutputTokens)
                                delay = 0
                            } else {
                                lastError += ", the ceiling (models.\(model.alias).max_output_tokens_ceiling); raise it, or ask for a shorter answer"
                                failFast = true
                            }
                            break
                        }
                        switch Self.validate(text, schema: request.schema, checks: request.checks) {
                        case .failure(let why):
                            lastError = redact("unusable answer: \(why)", apiKey)
                        case .success(let json):
                            answer = (text, json)
                        }
                    }
                } else {
                    let providerMessage = format.errorMessage(data).map { redact($0, apiKey) } ?? "no error message"
                    lastError = Self.explain(status: status, model: model, providerMessage: providerMessage)
                    if request.imageCount > 0, Self.refusesImages(providerMessage) {
                        // Permanent for this model, whatever the status says: retrying sends the same images.
                        lastError = Self.imagesRefused(model: model, stage: request.stage, providerMessage: providerMessage)
                        failFast = true
                    }
                    if status == 429, let wait = Self.retryAfter(headers) {
                        if wait > options.retryAfterCap {
                            lastError += String(format: "; the server asked to wait %.0f s, longer than the %.0f s the client waits", wait, options.retryAfterCap)
                            failFast = true
                        }
                        delay = wait
                    }
                }
            }
            let cost = usage.map { model.cost(input: $0.input, output: $0.output) } ?? 0
            await budget.settle(reserved: reserved, actual: cost)
            if let usage {
                billed.input += usage.input
                billed.output += usage.output
                billed.estimated = billed.estimated || usage.estimated
                billedCost += cost
            }
            await stats.update {
                $0.requests += 1
                $0.tokensIn += usage?.input ?? 0
                $0.tokensOut += usage?.output ?? 0
                $0.cost += cost
            }
            if let answer, let usage {
                await limiter.correct(estimated: estimatedIn + current.maxOutputTokens, actual: usage.input + usage.output)
                let latency = Double(DispatchTime.now().uptimeNanoseconds - started) / 1e6
                let status = lastStatus ?? 200
                let record = LLMCallRecord(
                    key: key, stage: request.stage, provider: model.provider.rawValue, model: model.model, ok: true,
                    httpStatus: status, response: outcome.body.map { redact($0, apiKey) }, answer: redact(answer.text, apiKey),
                    attempts: attempt, usage: billed, cost: billedCost, latencyMs: latency, error: nil, servedModel: servedModel)
                try keep(record)
                await stats.update { $0.answered += 1 }
                return LLMAnswer(text: answer.text, json: answer.json, usage: billed, cost: billedCost, cached: false, key: key, attempts: attempt)
            }
            if failFast { break attempts }
            if case .http(let status, _, _) = outcome, Self.failsFast(status) { break attempts }  // retrying cannot fix it
            if attempt < model.maxAttempts {
                logger.info("\(model.alias): attempt \(attempt) failed (\(lastError)); retrying in \(String(format: "%.2f", delay)) s")
                try? await Task.sleep(nanoseconds: UInt64(delay * 1e9))
            }
        }
        // Nothing usable: the call is recorded with what its attempts were billed.
        if attempt > 0 {
            if stoppedBy == nil { await stats.update { $0.failed += 1 } }
            let record = LLMCallRecord(
                key: key, stage: request.stage, provider: model.provider.rawValue, model: model.model, ok: false,
                httpStatus: lastStatus, response: nil, answer: nil, attempts: attempt, usage: billed,
                cost: billedCost, latencyMs: Double(DispatchTime.now().uptimeNanoseconds - started) / 1e6,
                error: stoppedBy.map { "\($0) after \(attempt) attempt\(attempt == 1 ? "" : "s"): \(lastError)" } ?? lastError,
                servedModel: servedModel)
            try keep(record)
        }
        if let stoppedBy { throw stoppedBy }
        throw .failed(model: model.alias, status: lastStatus, attempts: attempt, message: lastError)
    }

    /// Commits a call record; when the store cannot take it, keeps it in the spill file and stops
    /// every further request of the run.
    private func keep(_ record: LLMCallRecord) throws(LLMError) {
        do {
            try store.saveCall(record)
        } catch {
            let kept: String
            do {
                try spill.append(record)
                kept = "the answer just received is kept in \(spill.url.path) and imported by the next run"
            } catch {
                kept = "the spill file could not take the answer just received either (\(error)): that answer is lost"
            }
            logger.error("cannot store an answer (\(Store.describe(error))): \(kept)")
            throw .storeFailed(stopForStoreFailure(error, kept: kept))
        }
    }

    // MARK: - One HTTP exchange

    enum Outcome {
        case http(status: Int, headers: [(String, String)], body: Data)
        /// No HTTP answer; `timedOut` when the request may have reached the model (a deadline passed).
        case transport(String, timedOut: Bool)

        var body: Data? {
            if case .http(_, _, let b) = self { return b }
            return nil
        }
    }

    private func exchange(format: any WireFormat, model: ModelConfig, key: String?, body: Data) async -> Outcome {
        var req = HTTPClientRequest(url: format.url(for: model))
        req.method = .POST
        for (name, value) in format.headers(for: model, key: key) { req.headers.add(name: name, value: value) }
        req.body = .bytes(ByteBuffer(bytes: body))
        do {
            let response = try await http.execute(req, timeout: .milliseconds(Int64(min(max(model.timeoutSeconds, 0.001), 86_400) * 1000)))
            let buffer = try await response.body.collect(upTo: 256 * 1024 * 1024)
            let data = Data(buffer.readableBytesView)
            return .http(status: Int(response.status.code), headers: response.headers.map { ($0.name, $0.value) }, body: data)
        } catch let error as HTTPClientError where error == .deadlineExceeded || error == .readTimeout {
            return .transport("\(error)", timedOut: true)
        } catch {
            return .transport("\(error)", timedOut: false)
        }
    }

    /// A model's adaptive limit right now: requests allowed at once, the ceiling learnt from the
    /// server's overload signals (nil before the first), and how often its circuit opened.
    public func concurrency(of alias: String) async -> (limit: Int, ceiling: Int?, circuitOpened: Int)? {
        guard let l = limiters[alias] else { return nil }
        return (await l.currentLimit, await l.ceiling, await l.opened)
    }

    // MARK: - Policies

    /// What an exchange says about the server's capacity, for the adaptive limit and the breaker.
    static func capacitySignal(_ outcome: Outcome) -> RateLimiter.Outcome {
        switch outcome {
        case .transport(_, let timedOut): return timedOut ? .overloaded : .failed
        case .http(let status, _, _):
            if (200..<300).contains(status) { return .ok }
            if [408, 429, 503, 504, 529].contains(status) { return .overloaded }
            if status >= 500 { return .failed }
            return .neutral
        }
    }

    /// 400, 401, 403, 404 (and other 4xx but 408, 409 and 429): retrying sends the same mistake again.
    static func failsFast(_ status: Int) -> Bool {
        (400..<500).contains(status) && ![408, 409, 429].contains(status)
    }

    /// What to check, by status.
    static func explain(status: Int, model: ModelConfig, providerMessage: String) -> String {
        switch status {
        case 401, 403:
            let variable = model.keyEnv.map { "the key in the environment variable \($0)" } ?? "the key (models.\(model.alias).key_env names none)"
            return "not authorised (\(providerMessage)); check \(variable)"
        case 404:
            return "not found (\(providerMessage)); check models.\(model.alias).base_url (\(model.baseURL)) and model (\(model.model))"
        case 400:
            return "the server rejected the request (\(providerMessage)); check models.\(model.alias).json_mode and model (\(model.model))"
        case 429:
            return "rate limited (\(providerMessage))"
        default:
            return "HTTP \(status) (\(providerMessage))"
        }
    }

    /// Whether a server's error message says the model takes no image input (llama.cpp: "image input
    /// is not supported"; others: "does not support image", "not a multimodal model").
    static func refusesImages(_ message: String) -> Bool {
        let m = message.lowercased()
        return ["image input is not supported", "does not support image", "not a multimodal model", "images are not supported",
                "image_url is not supported", "vision is not supported", "multimodal is not supported"].contains { m.contains($0) }
    }

    /// What to change when a model refuses the frames a stage sends.
    static func imagesRefused(model: ModelConfig, stage: String, providerMessage: String) -> String {
        let setting = ["verify", "rewrite"].contains(stage) ? "critic.judges / critic.rewriter" : "stages.\(stage)"
        return "model '\(model.alias)' (\(model.model) at \(model.baseURL)) does not accept images (\(providerMessage)); "
            + "the \(stage) requests carry the clip's frames, so point \(setting) in pipeline.yaml at a vision model"
    }

    /// Full-jitter exponential backoff: a random wait in [0, base × 2^(attempt−1)], capped.
    func backoff(_ attempt: Int) -> Double {
        let ceiling = min(options.backoffCap, options.backoffBase * pow(2, Double(attempt - 1)))
        return Double.random(in: 0...max(ceiling, 0.001))
    }

    /// `Retry-After` as seconds or as an HTTP date.
    static func retryAfter(_ headers: [(String, String)]) -> Double? {
        guard let value = headers.first(where: { $0.0.lowercased() == "retry-after" })?.1.trimmingCharacters(in: .whitespaces) else {
            return nil
        }
        if let s = Double(value) { return max(0, s) }
        let f = DateFormatter()
        f.locale = Locale(identifier: "en_US_POSIX")
        f.timeZone = TimeZone(identifier: "GMT")
        f.dateFormat = "EEE, dd MMM yyyy HH:mm:ss zzz"
        guard let date = f.date(from: value) else { return nil }
        return max(0, date.timeIntervalSinceNow)
    }

    /// The answer text parsed as JSON (code fences tolerated) and checked against `schema`.
    static func validate(_ text: String, schema: JSONValue?, checks: [AnswerCheck] = []) -> Result<JSONValue?, ValidationFailure> {
        guard let schema else { return .success(nil) }
        var body = text.trimmingCharacters(in: .whitespacesAndNewlines)
        if body.isEmpty { return .failure(ValidationFailure(reason: "the answer is empty")) }
        if body.hasPrefix("```") {
            body = body.split(separator: "\n", omittingEmptySubsequences: false).dropFirst().joined(separator: "\n")
            if let end = body.range(of: "```", options: .backwards) { body = String(body[..<end.lowerBound]) }
        }
        guard let json = try? JSONValue.parse(body) else {
            return .failure(ValidationFailure(reason: "the answer is not valid JSON: \(body.prefix(80))…"))
        }
        let problems = JSONSchemaValidator.violations(of: json, against: schema)
        guard problems.isEmpty else {
            return .failure(ValidationFailure(reason: "the answer breaks the schema: \(problems.prefix(3).joined(separator: "; "))"))
        }
        if let problem = checks.lazy.compactMap({ $0.problem(json) }).first {
            return .failure(ValidationFailure(reason: "the answer contradicts itself: \(problem)"))
        }
        return .success(json)
    }

    struct ValidationFailure: Error { var reason: String }

    /// Removes the key from anything that will be logged or stored: every free text a provider
    /// sends back passes here (errors, unusable bodies, answers), since a server may echo it.
    func redact(_ text: String, _ key: String?) -> String {
        guard let key, key.count >= 4 else { return text }
        return text.replacingOccurrences(of: key, with: "[key redacted]")
    }

    /// The same for a response body as stored: unchanged unless the key's bytes are in it.
    func redact(_ data: Data, _ key: String?) -> Data {
        guard let key, key.count >= 4, data.range(of: Data(key.utf8)) != nil else { return data }
        return Data(redact(String(decoding: data, as: UTF8.self), key).utf8)
    }
}

extension LLMClient.ValidationFailure: CustomStringConvertible { var description: String { reason } }

/// Requests on their way, by cache key, with the callers waiting for the same answer.
actor InFlightCalls {
    private var waiting: [String: [CheckedContinuation<Result<LLMAnswer, LLMError>, Never>]] = [:]

    /// Nil when the caller is the first with `key` (it must send, then call `finish`); otherwise
    /// the first caller's result, once it has one.
    func join(_ key: String) async -> Result<LLMAnswer, LLMError>? {
        guard waiting[key] != nil else {
            waiting[key] = []
            return nil
        }
        return await withCheckedContinuation { waiting[key]!.append($0) }
    }

    func finish(_ key: String, _ result: Result<LLMAnswer, LLMError>) {
        for c in waiting.removeValue(forKey: key) ?? [] { c.resume(returning: result) }
    }
}

/// Set once when the run must stop sending (the store cannot be written), read before every attempt.
final class HaltFlag: @unchecked Sendable {
    private let lock = NSLock()
    private var value: String?
    func set(_ reason: String) { lock.withLock { if value == nil { value = reason } } }
    var reason: String? { lock.withLock { value } }
}
