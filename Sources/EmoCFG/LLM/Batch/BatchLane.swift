import AsyncHTTPClient
import Foundation
import Logging

/// The batch lane: requests the stages make are written into jobs instead of being sent one by one,
/// jobs are submitted to the providers' batch APIs at batch prices, and their answers are stored in
/// `llm_calls` exactly as online answers with the same key would be, so a run may mix lanes and a
/// rerun online reuses batch answers.
///
/// The ledger (`batch_jobs`, `batch_job_keys`) makes it safe to kill at any moment:
/// - a job is written with its keys (state `prepared`) before anything is sent, and each later state
///   before the call that moves it on;
/// - a job whose upload or create answer was lost is found again by its local id, which is the input
///   file's name and the job's metadata (OpenAI) or display name (Gemini), before anything is sent again;
/// - a job's answers and its final state are stored in one transaction, so a run killed while
///   downloading collects the whole job again (downloads cost nothing) and never stores half;
/// - a key carried by a job that is not final is never put into another job, nor sent online.
/// An expired or cancelled job keeps what it finished; its other keys, and failed ones, are free for a
/// new job, up to the model's `max_attempts` failures. A job the provider calls complete in which every
/// request failed is recorded as failed with the provider's reasons.
public final class BatchLane: @unchecked Sendable {
    /// What decides which requests the lane takes.
    public struct Options: Sendable {
        /// `--batch`: every stage's requests.
        public var all = false
        public var settings = BatchSettings()
        public init() {}
    }

    public let store: Store
    public let options: Options
    private let models: [String: ModelConfig]
    private let environment: [String: String]
    private let http: HTTPClient
    private let stats: LLMRunStats
    private let budget: Budget
    private let logger = Logger(label: "emocfg.batch")
    /// Where job input files are written (next to the store).
    public let directory: URL

    private let lock = NSLock()
    private var spools: [SpoolKey: Spool] = [:]
    private var closed: [Spool] = []
    private var queued: Set<String> = []
    private var inFlight: [String: String]
    private var failures: [String: (count: Int, error: String)]
    /// Budget reserved this run per job, settled when the job is collected in this run.
    private var reserved: [String: Double] = [:]

    public init(store: Store, models: [ModelConfig], environment: [String: String], http: HTTPClient, stats: LLMRunStats,
                budget: Budget, options: Options) {
        self.store = store
        self.options = options
        self.models = Dictionary(models.map { ($0.alias, $0) }, uniquingKeysWith: { a, _ in a })
        self.environment = environment
        self.http = http
        self.stats = stats
        self.budget = budget
        directory = URL(fileURLWithPath: store.path + ".batches")
        inFlight = (try? store.batchKeysInFlight()) ?? [:]
        failures = (try? store.batchKeyFailures()) ?? [:]
        removeOrphanFiles()
    }

    /// Input files no job in the ledger still needs (a run killed before writing its jobs). A file
    /// another live process is still filling is locked (`flock`, released when that process ends,
    /// however it ends) and is left alone.
    private func removeOrphanFiles() {
        guard let names = try? FileManager.default.contentsOfDirectory(atPath: directory.path), !names.isEmpty else { return }
        let needed = Set(((try? store.batchJobs(open: true)) ?? []).compactMap(\.inputFile).map { URL(fileURLWithPath: $0).lastPathComponent })
        for name in names where (name.hasSuffix(".jsonl") || name.hasSuffix(".jsonl.partial")) && !needed.contains(name) {
            let path = directory.appendingPathComponent(name).path
            let fd = open(path, O_RDONLY)
            guard fd >= 0 else { continue }
            defer { close(fd) }
            guard flock(fd, LOCK_EX | LOCK_NB) == 0 else { continue }
            unlink(path)
        }
    }

    /// Locks a spool file this run is filling (see `removeOrphanFiles`).
    private static func lock(_ handle: FileHandle, _ url: URL) throws {
        guard flock(handle.fileDescriptor, LOCK_EX | LOCK_NB) == 0 else {
            throw CocoaError(.fileLocking, userInfo: [NSFilePathErrorKey: url.path])
        }
    }

    /// Whether `stage`'s requests to `model` go through the lane.
    public func takes(stage: String, model: ModelConfig) -> Bool {
        switch model.mode {
        case .online?: return false
        case .batch?: return true
        case nil: return options.all || options.settings.stages.contains(stage)
        }
    }

    /// The job in flight carrying `key`, if any: an online run waits for it instead of paying twice.
    public func jobCarrying(_ key: String) -> String? { lock.withLock { inFlight[key] } }

    // MARK: - Queueing

    struct SpoolKey: Hashable {
        var alias: String
        var stage: String
        var step: Int?
        var schema: String
    }

    final class Spool {
        let job: BatchJob
        let model: ModelConfig
        let url: URL
        /// Open (and locked) until the job is in the ledger.
        var handle: FileHandle
        var keys: [String] = []
        /// Each key's worst-case cost, in `keys` order.
        var costs: [Double] = []
        var bytes = 0
        var worstCost: Double { costs.reduce(0, +) }
        init(job: BatchJob, model: ModelConfig, url: URL, handle: FileHandle) {
            self.job = job
            self.model = model
            self.url = url
            self.handle = handle
        }
    }

    /// Takes `request` into the next job of its model, stage and step (written to disk at once), and
    /// says why the caller gets no answer now. A key already queued or carried by a job in flight is not
    /// taken twice; a key whose batch requests failed `max_attempts` times fails for good.
    public func enqueue(_ request: LLMRequest, model: ModelConfig, key: String) -> LLMError {
        let estimatedIn = request.estimatedInputTokens(for: model)
        let body = wireFormat(for: model).body(for: request, model: model)
        let api = batchAPI(for: model, key: nil, http: http)
        let line = api.line(key: key, body: body)
        let schemaText = request.schema.map { SchemaOrder.wireText($0) } ?? ""
        return lock.withLock { () -> LLMError in
            if let job = inFlight[key] { return .deferred("waiting for batch job \(job)") }
            if queued.contains(key) { return .deferred("in a batch job of this run") }
            if let f = failures[key], f.count >= model.maxAttempts {
                return .failed(model: model.alias, status: nil, attempts: f.count,
                               message: "its batch requests failed \(f.count) times (models.\(model.alias).max_attempts); the last: \(f.error)")
            }
            if line.count + 1 > model.batchMaxBytes {
                return .failed(model: model.alias, status: nil, attempts: 0,
                               message: "the request is \(line.count) bytes, more than one batch job may hold (models.\(model.alias).batch_max_bytes = \(model.batchMaxBytes)); send fewer or smaller frames, or use this model online")
            }
            let spoolKey = SpoolKey(alias: model.alias, stage: request.stage, step: request.step, schema: schemaText)
            do {
                var spool = spools[spoolKey]
                if let s = spool, s.keys.count + 1 > model.batchMaxRequests || s.bytes + line.count + 1 > model.batchMaxBytes {
                    // Full: its file stays open, and locked, until `submit` puts it in the ledger.
                    closed.append(s)
                    spool = nil
                }
                if spool == nil {
                    spool = try openSpool(model: model, stage: request.stage, step: request.step, schema: request.schema, checks: request.checks)
                    spools[spoolKey] = spool
                }
                var data = line
                data.append(0x0A)
                try spool!.handle.write(contentsOf: data)
                spool!.keys.append(key)
                spool!.bytes += data.count
                spool!.costs.append(model.batchCost(input: estimatedIn, output: model.maxOutputTokens))
            } catch {
                return .storeFailed("cannot write a batch job's input file in \(directory.path): \(error); free some space and run again (nothing was sent)")
            }
            queued.insert(key)
            return .deferred("queued for a batch job")
        }
    }

    private func openSpool(model: ModelConfig, stage: String, step: Int?, schema: JSONValue?, checks: [AnswerCheck]) throws -> Spool {
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        let id = Self.newJobID()
        let url = directory.appendingPathComponent("\(id).jsonl")
        guard FileManager.default.createFile(atPath: url.path, contents: nil) else {
            throw CocoaError(.fileWriteUnknown, userInfo: [NSFilePathErrorKey: url.path])
        }
        var job = BatchJob(id: id, provider: model.provider.rawValue, modelAlias: model.alias, model: model.model, baseURL: model.baseURL,
                           stage: stage, step: step, state: .prepared, inputFile: url.path, requests: 0, bytes: 0, reservedCost: 0)
        job.schema = schema.map { $0.canonical }
        job.checks = checks.isEmpty ? nil : checks.map(\.rawValue).joined(separator: ",")
        let handle = try FileHandle(forWritingTo: url)
        try Self.lock(handle, url)
        return Spool(job: job, model: model, url: url, handle: handle)
    }

    /// A new local job id: time-ordered and unique (`b` + UTC time + random).
    static func newJobID() -> String {
        let f = DateFormatter()
        f.locale = Locale(identifier: "en_US_POSIX")
        f.timeZone = TimeZone(identifier: "UTC")
        f.dateFormat = "yyyyMMdd'T'HHmmss"
        return "b" + f.string(from: Date()) + "-" + String(UInt32.random(in: 0...UInt32.max), radix: 16)
    }

    /// Requests queued this run that are not in a job yet.
    public var queuedCount: Int { lock.withLock { spools.values.reduce(0) { $0 + $1.keys.count } + closed.reduce(0) { $0 + $1.keys.count } } }

    // MARK: - Submitting

    /// What `submit` and `sync` did.
    public struct Report: Sendable, Equatable {
        public var submitted = 0
        public var requestsSubmitted = 0
        public var collected = 0
        public var answered = 0
        public var failed = 0
        public var notRun = 0
        /// Jobs in flight after the call, and their requests.
        public var open = 0
        public var openRequests = 0
        /// Jobs not submitted because the budget would not hold their worst case (their requests are
        /// asked again by a later run).
        public var overBudget = 0
        /// Queued requests left out of this run's jobs because another process's job carries them
        /// (or an answer came in for them) by the time this run submits: never sent twice.
        public var takenElsewhere = 0
        /// Problems talking to a provider; the jobs concerned are retried by the next call.
        public var problems: [String] = []
        /// `waitForProgress` stopped waiting: no job in flight could be polled for several rounds.
        public var gaveUp = false
        public init() {}
    }

    /// Writes every queued job into the ledger and sends it: upload, then create. A job whose worst
    /// case does not fit the budget is not written (its requests stay unasked).
    public func submit(progress: (String) -> Void = { _ in }) async -> Report {
        let ready: [Spool] = lock.withLock {
            let all = closed + spools.values.sorted { $0.job.id < $1.job.id }
            closed = []
            spools = [:]
            return all
        }
        var report = Report()
        spools: for spool in ready {
            // The file stays locked until the ledger names it (or it is removed).
            defer { try? spool.handle.close() }
            // Keys another process has put in a job of its own (or answered online) since this run
            // queued them are left out of the file before the ledger names it: the store takes a
            // key into one open job only (`insertBatchJobUnlessTaken`), checked again under its write lock.
            var job = spool.job
            var inserted = false
            while !inserted {
                let taken: Set<String>
                do { taken = try store.batchKeysTaken(spool.keys) } catch {
                    report.problems.append("cannot read the batch ledger: \(Store.describe(error)); job \(spool.job.id) not sent")
                    discard(spool)
                    continue spools
                }
                if !taken.isEmpty {
                    do { try Self.drop(taken, from: spool) } catch {
                        report.problems.append("cannot rewrite \(spool.url.path): \(error); job \(spool.job.id) not sent")
                        discard(spool)
                        continue spools
                    }
                    report.takenElsewhere += taken.count
                    lock.withLock { for k in taken { queued.remove(k) } }
                }
                guard !spool.keys.isEmpty else {
                    discard(spool)
                    continue spools
                }
                job.requests = spool.keys.count
                job.bytes = spool.bytes
                job.reservedCost = spool.worstCost
                guard await budget.reserve(job.reservedCost) else {
                    report.overBudget += 1
                    discard(spool)
                    continue spools
                }
                do {
                    inserted = try store.insertBatchJobUnlessTaken(job, keys: spool.keys)
                } catch {
                    await budget.settle(reserved: job.reservedCost, actual: 0)
                    report.problems.append("cannot write batch job \(job.id) into the store: \(Store.describe(error)); nothing of it was sent")
                    continue spools
                }
                // Taken between the check and the write lock: settle and check again.
                if !inserted { await budget.settle(reserved: job.reservedCost, actual: 0) }
            }
            lock.withLock {
                reserved[job.id] = job.reservedCost
                for k in spool.keys {
                    inFlight[k] = job.id
                    queued.remove(k)
                }
            }
            let count = spool.keys.count
            await stats.update { $0.batchQueued += count }
            progress("batch job \(job.id): \(job.requests) \(job.stage)\(job.step.map { " step \($0 + 1)" } ?? "") requests for \(job.modelAlias), \(Self.size(job.bytes))")
            do {
                job = try await advance(job, fresh: true)
                report.submitted += 1
                report.requestsSubmitted += job.requests
                await stats.update { $0.batchJobsSubmitted += 1 }
            } catch {
                report.problems.append("batch job \(job.id): \(error) (the next run finds it and goes on)")
            }
        }
        let open = (try? store.batchJobs(open: true)) ?? []
        report.open = open.count
        report.openRequests = open.reduce(0) { $0 + $1.requests }
        return report
    }

    /// Sends a spool's requests in no job this run: its file goes, and its keys may be queued again.
    private func discard(_ spool: Spool) {
        try? FileManager.default.removeItem(at: spool.url)
        lock.withLock { for k in spool.keys { queued.remove(k) } }
    }

    /// Removes the lines of `dropped` from a spool's file (a line per key, in `keys` order) and from
    /// the spool; the file is replaced whole (a new file renamed over it).
    static func drop(_ dropped: Set<String>, from spool: Spool) throws {
        let data = try Data(contentsOf: spool.url)
        let lines = data.split(separator: 0x0A, omittingEmptySubsequences: true)
        guard lines.count == spool.keys.count else {
            throw CocoaError(.fileReadCorruptFile, userInfo: [NSFilePathErrorKey: spool.url.path])
        }
        var kept = Data(), keys: [String] = [], costs: [Double] = []
        for (i, key) in spool.keys.enumerated() where !dropped.contains(key) {
            kept.append(contentsOf: lines[i])
            kept.append(0x0A)
            keys.append(key)
            costs.append(spool.costs[i])
        }
        let partial = spool.url.appendingPathExtension("partial")
        guard FileManager.default.createFile(atPath: partial.path, contents: nil) else {
            throw CocoaError(.fileWriteUnknown, userInfo: [NSFilePathErrorKey: partial.path])
        }
        let handle = try FileHandle(forWritingTo: partial)
        try Self.lock(handle, partial)
        try handle.write(contentsOf: kept)
        guard rename(partial.path, spool.url.path) == 0 else {
            try? handle.close()
            throw CocoaError(.fileWriteUnknown, userInfo: [NSFilePathErrorKey: spool.url.path])
        }
        try? spool.handle.close()
        spool.handle = handle
        spool.keys = keys
        spool.costs = costs
        spool.bytes = kept.count
    }

    static func size(_ bytes: Int) -> String {
        bytes >= 1 << 20 ? String(format: "%.1f MB", Double(bytes) / 1_048_576) : String(format: "%.0f kB", Double(bytes) / 1024)
    }

    struct LaneError: Error, CustomStringConvertible {
        var description: String
    }

    private func api(for job: BatchJob) throws -> (any BatchAPI, ModelConfig) {
        guard let model = models[job.modelAlias] else {
            throw LaneError(description: "its model '\(job.modelAlias)' is no longer in the pipeline file; put it back to collect the job")
        }
        var key: String?
        if let variable = model.keyEnv {
            guard let k = environment[variable], !k.isEmpty else {
                throw LaneError(description: "model '\(model.alias)' needs its key in the environment variable \(variable), which is not set")
            }
            key = k
        }
        return (batchAPI(for: model, key: key, http: http), model)
    }

    /// Moves a job that is not in flight yet onto the provider: finds or uploads its input file,
    /// finds or creates the job. Each state is stored before the call that leaves it.
    /// `fresh`: written by this process just now, so nothing of it can be at the provider yet.
    private func advance(_ start: BatchJob, fresh: Bool = false) async throws -> BatchJob {
        var job = start
        let (api, _) = try api(for: job)
        let file = URL(fileURLWithPath: job.inputFile ?? "")
        if job.state == .prepared {
            if !fresh, let found = try await api.findUploadedFile(jobID: job.id) {
                job.inputFileID = found
            } else {
                guard FileManager.default.fileExists(atPath: file.path) else {
                    // Nothing of it reached the provider and its requests are gone: its keys are free again.
                    job.state = .abandoned
                    job.error = "its input file \(file.path) was removed before it was uploaded; its requests are asked again"
                    job.collectedAt = Store.timestamp()
                    try store.collectBatchJob(job, calls: [], outcomes: try store.batchJobKeys(job.id).map { BatchKeyOutcome(key: $0, kind: .notRun) })
                    release(job)
                    return job
                }
                job.inputFileID = try await api.upload(jobID: job.id, file: file, bytes: job.bytes)
            }
            job.state = .uploaded
            try store.updateBatchJob(job)
        }
        if job.state == .uploaded || job.state == .submitting {
            var id: String?
            if job.state == .submitting { id = try await api.findJob(jobID: job.id) }
            if id == nil {
                job.state = .submitting
                try store.updateBatchJob(job)
                do {
                    id = try await api.create(jobID: job.id, stage: job.stage, inputFileID: job.inputFileID, file: file)
                } catch let e where e.transient {
                    // The create may have reached the provider: look before trying again.
                    id = try await api.findJob(jobID: job.id)
                    if id == nil { id = try await api.create(jobID: job.id, stage: job.stage, inputFileID: job.inputFileID, file: file) }
                } catch {
                    // Refused for good (a 4xx): the job failed; its keys are free for another try.
                    job.state = .failed
                    job.error = "the provider refused the job: \(error)"
                    job.failed = job.requests
                    job.collectedAt = Store.timestamp()
                    let keys = try store.batchJobKeys(job.id)
                    try store.collectBatchJob(job, calls: [], outcomes: keys.map { BatchKeyOutcome(key: $0, kind: .failed, error: job.error) })
                    release(job, failedKeys: keys, error: job.error ?? "")
                    throw LaneError(description: job.error ?? "refused")
                }
            }
            job.providerJobID = id
            job.state = .inFlight
            job.submittedAt = Store.timestamp()
            try store.updateBatchJob(job)
            // The provider has the requests: the local copy is no longer needed.
            try? FileManager.default.removeItem(at: file)
        }
        return job
    }

    /// Forgets a final job's keys as in flight (and counts failed ones).
    private func release(_ job: BatchJob, failedKeys: [String] = [], error: String = "") {
        lock.withLock {
            for (k, j) in inFlight where j == job.id { inFlight[k] = nil }
            for k in failedKeys {
                let f = failures[k]
                failures[k] = ((f?.count ?? 0) + 1, error)
            }
        }
    }

    // MARK: - Polling and collecting

    /// Reconciles jobs a killed run left half sent, polls jobs in flight once, and collects ended
    /// ones. Problems with one job (a provider down, a model gone) are reported, the others go on.
    public func sync(progress: (String) -> Void = { _ in }) async -> Report {
        var report = Report()
        let open = (try? store.batchJobs(open: true)) ?? []
        for start in open {
            var job = start
            do {
                if [.prepared, .uploaded, .submitting].contains(job.state) {
                    job = try await advance(job)
                    if job.state == .inFlight {
                        progress("batch job \(job.id): submitted (an earlier run had not finished sending it)")
                    }
                }
                if job.state == .inFlight {
                    job = try await poll(job)
                }
                if job.state == .ended {
                    let r = try await collect(job)
                    if r.elsewhere {
                        progress("batch job \(job.id) was collected by another process sharing the store")
                        continue
                    }
                    report.collected += 1
                    report.answered += r.answered
                    report.failed += r.failed
                    report.notRun += r.notRun
                    progress("batch job \(job.id) \(r.state.rawValue): \(r.answered) answered, \(r.failed) failed, \(r.notRun) not run"
                             + String(format: ", $%.4f", r.cost) + (r.error.map { " (\($0))" } ?? ""))
                }
            } catch {
                report.problems.append("batch job \(job.id): \(error)")
            }
        }
        let still = (try? store.batchJobs(open: true)) ?? []
        report.open = still.count
        report.openRequests = still.reduce(0) { $0 + $1.requests }
        return report
    }

    private func poll(_ start: BatchJob) async throws -> BatchJob {
        var job = start
        let (api, _) = try api(for: job)
        guard let id = job.providerJobID else { throw LaneError(description: "in flight without a provider id") }
        let status = try await api.status(of: id)
        job.polls += 1
        job.providerState = status.raw
        if let d = status.done { job.answered = d }
        if let f = status.failed { job.failed = f }
        if status.phase.hasEnded {
            job.state = .ended
            job.endedAt = Store.timestamp()
            job.outputFileID = status.outputFileID
            job.errorFileID = status.errorFileID
            if !status.errors.isEmpty { job.error = status.errors.prefix(5).joined(separator: "; ") }
        }
        try store.updateBatchJob(job)
        return job
    }

    struct Collected {
        var state: BatchJob.State
        var answered = 0
        var failed = 0
        var notRun = 0
        var cost = 0.0
        var error: String?
        /// Another process sharing the store collected the job first; nothing was stored here.
        var elsewhere = false
    }

    /// Downloads an ended job's rows and stores them with its final state in one transaction.
    private func collect(_ start: BatchJob) async throws -> Collected {
        var job = start
        let (api, model) = try api(for: job)
        guard let id = job.providerJobID else { throw LaneError(description: "ended without a provider id") }
        let status = try await api.status(of: id)
        let rows = status.phase == .failed ? [] : try await api.rows(of: status)
        let keys = try store.batchJobKeys(job.id)
        let schema = job.schema.flatMap { try? JSONValue.parse($0) }
        let checks = (job.checks ?? "").split(separator: ",").compactMap { AnswerCheck(rawValue: String($0)) }
        let format = wireFormat(for: model)
        var byKey: [String: BatchRow] = [:]
        for r in rows { byKey[r.key] = r }

        var calls: [LLMCallRecord] = []
        var outcomes: [BatchKeyOutcome] = []
        var c = Collected(state: .completed)
        var tokensIn = 0, tokensOut = 0
        var reasons: [String: Int] = [:]
        for key in keys {
            guard let row = byKey[key] else {
                // Never run (the job failed, expired or was cancelled before it), or missing from the results.
                if status.phase == .failed {
                    let why = "the batch job failed: " + (job.error ?? status.errors.first ?? "no reason given")
                    outcomes.append(BatchKeyOutcome(key: key, kind: .failed, error: why))
                    c.failed += 1
                } else {
                    outcomes.append(BatchKeyOutcome(key: key, kind: .notRun, error: "not in the job's results"))
                    c.notRun += 1
                }
                continue
            }
            if row.notRun {
                outcomes.append(BatchKeyOutcome(key: key, kind: .notRun, error: row.error))
                c.notRun += 1
                continue
            }
            var record = LLMCallRecord(key: key, stage: job.stage, provider: job.provider, model: job.model, ok: false, httpStatus: row.status,
                                       response: row.body, answer: nil, attempts: 1, usage: TokenUsage(input: 0, output: 0, estimated: false),
                                       cost: 0, latencyMs: nil, error: nil)
            var failure: String?
            if let status = row.status, (200..<300).contains(status), let body = row.body {
                switch format.parse(body) {
                case .unreadable(let why):
                    failure = "unusable answer: \(why)"
                case .answer(let text, let usage, let served, let cut):
                    record.usage = usage ?? TokenUsage(input: 0, output: text.utf8.count / 4 + 1, estimated: true)
                    record.cost = model.batchCost(input: record.usage.input, output: record.usage.output)
                    record.servedModel = served
                    if cut {
                        failure = "the answer was cut off at max_output_tokens = \(model.maxOutputTokens); raise it for this model"
                    } else {
                        switch LLMClient.validate(text, schema: schema, checks: checks) {
                        case .failure(let why): failure = "unusable answer: \(why)"
                        case .success: record.answer = text
                        }
                    }
                }
            } else {
                failure = row.error ?? "failed"
                record.response = nil
            }
            if let failure {
                record.error = failure + " (batch job \(job.id))"
                outcomes.append(BatchKeyOutcome(key: key, kind: .failed, error: failure))
                reasons[failure, default: 0] += 1
                c.failed += 1
            } else {
                record.ok = true
                outcomes.append(BatchKeyOutcome(key: key, kind: .answered))
                c.answered += 1
            }
            tokensIn += record.usage.input
            tokensOut += record.usage.output
            c.cost += record.cost
            calls.append(record)
        }
        switch status.phase {
        case .failed:
            c.state = .failed
            c.error = job.error ?? status.errors.first ?? "the provider reported the job failed without a reason"
        case .expired:
            c.state = .expired
        case .cancelled:
            c.state = .cancelled
        default:
            if c.answered == 0 && c.failed > 0 {
                // "Completed" with nothing usable: a failure, with the provider's reasons.
                c.state = .failed
                let top = reasons.sorted { $0.value > $1.value }.prefix(3).map { "\($0.value)× \($0.key)" }.joined(separator: "; ")
                c.error = "the provider reported the job \(status.raw), but every one of its \(c.failed) requests failed: \(top)"
            } else {
                c.state = .completed
            }
        }
        job.state = c.state
        job.error = c.error ?? job.error
        job.answered = c.answered
        job.failed = c.failed
        job.notRun = c.notRun
        job.cost = c.cost
        job.tokensIn = tokensIn
        job.tokensOut = tokensOut
        job.collectedAt = Store.timestamp()
        guard try store.collectBatchJob(job, calls: calls, outcomes: outcomes) else {
            // Another process sharing the store collected it first and recorded its answers and cost.
            release(job)
            if let r = lock.withLock({ reserved.removeValue(forKey: job.id) }) { await budget.settle(reserved: r, actual: 0) }
            var elsewhere = Collected(state: c.state)
            elsewhere.elsewhere = true
            return elsewhere
        }
        let failedKeys = outcomes.filter { $0.kind == .failed }.map(\.key)
        release(job, failedKeys: failedKeys, error: c.error ?? reasons.keys.first ?? "failed")
        if let r = lock.withLock({ reserved.removeValue(forKey: job.id) }) {
            await budget.settle(reserved: r, actual: c.cost)
        }
        let (a, f, cost, ti, to) = (c.answered, c.failed, c.cost, tokensIn, tokensOut)
        await stats.update {
            $0.batchAnswered += a
            $0.batchFailed += f
            $0.answered += a
            $0.cost += cost
            $0.tokensIn += ti
            $0.tokensOut += to
        }
        return c
    }

    // MARK: - Rounds

    /// Runs `pass` (a stage over the store) in rounds: collects what ended, runs the pass (its batch
    /// requests are queued), submits the queued jobs; with `wait`, polls until a job is collected and
    /// runs the pass again (advancing chains whose previous step came back), until a pass queues
    /// nothing and no job is in flight. Returns the last pass's result. A dry run is one plain pass.
    public func rounds<T>(wait: Bool, dryRun: Bool, progress: (String) -> Void, pass: () async throws -> T) async throws -> T {
        if dryRun { return try await pass() }
        let first = await sync(progress: progress)
        for p in first.problems { progress(p) }
        while true {
            let result = try await pass()
            let r = await submit(progress: progress)
            for p in r.problems { progress(p) }
            if r.takenElsewhere > 0 {
                progress("batch: \(r.takenElsewhere) queued request\(r.takenElsewhere == 1 ? "" : "s") left out: another process's job carries "
                         + "\(r.takenElsewhere == 1 ? "it" : "them") or an answer came in meanwhile (nothing is sent twice)")
            }
            if r.overBudget > 0 {
                progress("batch: \(r.overBudget) job\(r.overBudget == 1 ? "" : "s") not submitted: \(r.overBudget == 1 ? "its" : "their") worst case would exceed --max-cost")
            }
            if r.submitted > 0 || r.open > 0 {
                progress("batch: \(r.submitted) job\(r.submitted == 1 ? "" : "s") submitted (\(r.requestsSubmitted) requests); \(r.open) in flight "
                         + "(\(r.openRequests) requests)" + (wait ? "" : "; run again later to collect them (emocfg batches lists them)"))
            }
            if !wait || r.open == 0 || r.overBudget > 0 { return result }
            let w = await waitForProgress(progress: progress)
            if w.gaveUp { return result }
        }
    }

    // MARK: - Waiting and cancelling

    /// Polls the jobs in flight with growing pauses (`poll_seconds` doubling up to `max_poll_seconds`)
    /// until one of them is collected or none is left; `progress` hears each round.
    public func waitForProgress(progress: (String) -> Void = { _ in }) async -> Report {
        var pause = options.settings.pollSeconds
        var strikes = 0
        while true {
            let open = (try? store.batchJobs(open: true)) ?? []
            if open.isEmpty { return Report() }
            let states = Dictionary(grouping: open, by: { $0.providerState ?? $0.state.rawValue }).map { "\($0.value.count) \($0.key)" }
                .sorted().joined(separator: ", ")
            progress(String(format: "batch: %d job%@ in flight (%@), %d requests; next poll in %.0f s", open.count, open.count == 1 ? "" : "s",
                            states, open.reduce(0) { $0 + $1.requests }, pause))
            try? await Task.sleep(nanoseconds: UInt64(pause * 1e9))
            let r = await sync(progress: progress)
            if r.collected > 0 || r.open == 0 { return r }
            for p in r.problems { progress(p) }
            // Every job in flight failing to answer, round after round (a key gone, a provider down):
            // the run stops waiting; the jobs stay in the ledger for the next run.
            strikes = r.problems.count >= r.open ? strikes + 1 : 0
            if strikes >= 5 {
                progress("batch: stopped waiting: no job in flight could be polled in 5 rounds; the next run polls them again")
                var out = r
                out.gaveUp = true
                return out
            }
            pause = min(pause * 2, options.settings.maxPollSeconds)
        }
    }

    /// Cancels a job: a job not yet at the provider is abandoned (its keys free again); one in flight
    /// is cancelled there and collected (keeping what it finished) by the next sync.
    public func cancel(jobID: String) async throws -> BatchJob {
        guard var job = try store.batchJob(id: jobID) else {
            throw LaneError(description: "no batch job '\(jobID)' in the store (emocfg batches lists them)")
        }
        guard !job.state.isFinal else { throw LaneError(description: "batch job \(jobID) is already \(job.state.rawValue)") }
        if job.state == .prepared || job.state == .uploaded {
            job.state = .abandoned
            job.error = "cancelled before it was submitted"
            job.collectedAt = Store.timestamp()
            try store.collectBatchJob(job, calls: [], outcomes: try store.batchJobKeys(job.id).map { BatchKeyOutcome(key: $0, kind: .notRun) })
            if let f = job.inputFile { try? FileManager.default.removeItem(atPath: f) }
            release(job)
            return job
        }
        if job.state == .submitting { job = try await advance(job) }
        let (api, _) = try api(for: job)
        guard let id = job.providerJobID else { throw LaneError(description: "batch job \(jobID) has no provider id yet") }
        try await api.cancel(id)
        job.providerState = "cancelling"
        try store.updateBatchJob(job)
        return job
    }
}
