import Foundation
import GRDB

/// One job of the batch lane as the ledger keeps it (table `batch_jobs`).
public struct BatchJob: Sendable, Equatable, Codable {
    /// Where a job is, locally. A job is written `prepared` before anything is sent; each later
    /// state is written before the call that moves it on, so a killed run finds every job again.
    public enum State: String, Sendable, Codable, CaseIterable {
        /// Written with its keys and its local input file; not known to be uploaded.
        case prepared
        /// The input file is on the provider (`inputFileID`); the job is not created yet.
        case uploaded
        /// The create call is about to be or was sent; its answer (the job's id) may be lost.
        case submitting
        /// The provider has the job (`providerJobID`) and has not ended it.
        case inFlight = "in_flight"
        /// The provider ended it; its results are not stored yet.
        case ended
        /// Collected: every request answered or failed (some may have failed).
        case completed
        /// Collected: the job failed as a whole, or every request in it failed.
        case failed
        /// Collected: the job expired; what it finished is kept, the rest goes into a new job.
        case expired
        /// Collected: cancelled; what it finished is kept.
        case cancelled
        /// Never reached the provider (its input file was lost before upload); its keys are free again.
        case abandoned

        /// Done with: nothing more will be asked of the provider about it.
        public var isFinal: Bool { [.completed, .failed, .expired, .cancelled, .abandoned].contains(self) }
    }

    public var id: String
    public var provider: String
    public var modelAlias: String
    public var model: String
    public var baseURL: String
    public var stage: String
    public var step: Int?
    /// The JSON Schema (canonical text) and checks every answer of the job must satisfy.
    public var schema: String?
    public var checks: String?
    public var state: State
    public var providerState: String?
    public var providerJobID: String?
    public var inputFile: String?
    public var inputFileID: String?
    public var outputFileID: String?
    public var errorFileID: String?
    public var requests: Int
    public var bytes: Int
    public var answered = 0
    public var failed = 0
    public var notRun = 0
    public var reservedCost = 0.0
    public var cost = 0.0
    public var tokensIn = 0
    public var tokensOut = 0
    public var error: String?
    public var polls = 0
    public var createdAt: String
    public var submittedAt: String?
    public var updatedAt: String
    public var endedAt: String?
    public var collectedAt: String?

    public init(id: String, provider: String, modelAlias: String, model: String, baseURL: String, stage: String, step: Int?,
                state: State, inputFile: String?, requests: Int, bytes: Int, reservedCost: Double) {
        self.id = id
        self.provider = provider
        self.modelAlias = modelAlias
        self.model = model
        self.baseURL = baseURL
        self.stage = stage
        self.step = step
        self.state = state
        self.inputFile = inputFile
        self.requests = requests
        self.bytes = bytes
        self.reservedCost = reservedCost
        let now = Store.timestamp()
        createdAt = now
        updatedAt = now
    }
}

/// What became of one key of a collected job.
public struct BatchKeyOutcome: Sendable, Equatable {
    public enum Kind: String, Sendable { case answered, failed, notRun = "not_run" }
    public var key: String
    public var kind: Kind
    public var error: String?
    public init(key: String, kind: Kind, error: String? = nil) {
        self.key = key
        self.kind = kind
        self.error = error
    }
}

extension Store {
    /// The final job states as an SQL list (`'completed', 'failed', …`), for "not final" queries.
    static let finalBatchStates = BatchJob.State.allCases.filter(\.isFinal).map { "'\($0.rawValue)'" }.joined(separator: ", ")

    /// Of `keys`, those a job that is not final carries or an answer in the cache already holds: a
    /// new job must not send them (another process queued them too, or answered them online).
    public func batchKeysTaken(_ keys: [String]) throws -> Set<String> {
        try read { db in try Store.takenKeys(keys, db) }
    }

    /// Inserts `job` with `keys` unless, once the write lock is held, one of them is taken (as
    /// `batchKeysTaken` says); then nothing is written and the answer is false. One IMMEDIATE
    /// transaction, so two processes submitting the same key cannot both get it into the ledger.
    public func insertBatchJobUnlessTaken(_ job: BatchJob, keys: [String]) throws -> Bool {
        try writeImmediately { db in
            guard try Store.takenKeys(keys, db).isEmpty else { return false }
            try Store.insertJob(job, keys: keys, db)
            return true
        }
    }

    /// Runs `body` in an IMMEDIATE transaction (the write lock taken before its first read, so what it
    /// checks cannot change before it writes, whichever process writes next), committed when `body`
    /// says true and rolled back when it says false; returns what `body` said.
    private func writeImmediately(_ body: (Database) throws -> Bool) throws -> Bool {
        try pool.writeWithoutTransaction { db in
            var committed = false
            try db.inTransaction(.immediate) {
                committed = try body(db)
                return committed ? .commit : .rollback
            }
            return committed
        }
    }

    static func takenKeys(_ keys: [String], _ db: Database) throws -> Set<String> {
        let carried = try db.cachedStatement(sql: """
            SELECT EXISTS (SELECT 1 FROM batch_job_keys k JOIN batch_jobs j ON j.id = k.job_id
                           WHERE k.key = ? AND j.state NOT IN (\(Store.finalBatchStates)))
                OR EXISTS (SELECT 1 FROM llm_calls WHERE key = ? AND status = 'ok')
            """)
        var out = Set<String>()
        for key in keys where try Bool.fetchOne(carried, arguments: [key, key]) ?? false { out.insert(key) }
        return out
    }

    /// Writes a job and its keys, before anything about it is sent.
    static func insertJob(_ job: BatchJob, keys: [String], _ db: Database) throws {
        try db.execute(sql: """
            INSERT INTO batch_jobs (id, provider, model_alias, model, base_url, stage, step, schema, checks, state, input_file,
                requests, bytes, reserved_cost, created_at, updated_at)
            VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
            """, arguments: [job.id, job.provider, job.modelAlias, job.model, job.baseURL, job.stage, job.step, job.schema, job.checks,
                             job.state.rawValue,
                             job.inputFile, job.requests, job.bytes, job.reservedCost, job.createdAt, job.updatedAt])
        let insert = try db.makeStatement(sql: "INSERT INTO batch_job_keys (job_id, key) VALUES (?, ?)")
        for key in keys { try insert.execute(arguments: [job.id, key]) }
    }

    /// Saves a job's changed fields (everything but its keys), unless the job is final: another
    /// process sharing the store may have collected it meanwhile, and a final job never changes.
    public func updateBatchJob(_ job: BatchJob) throws {
        try write { db in try Store.updateJob(job, db) }
    }

    static func updateJob(_ j: BatchJob, _ db: Database) throws {
        try db.execute(sql: """
            UPDATE batch_jobs SET state = ?, provider_state = ?, provider_job_id = ?, input_file = ?, input_file_id = ?,
                output_file_id = ?, error_file_id = ?, answered = ?, failed = ?, not_run = ?, reserved_cost = ?, cost = ?,
                tokens_in = ?, tokens_out = ?, error = ?, polls = ?, submitted_at = ?, updated_at = ?, ended_at = ?, collected_at = ?
            WHERE id = ? AND state NOT IN (\(Store.finalBatchStates))
            """, arguments: [j.state.rawValue, j.providerState, j.providerJobID, j.inputFile, j.inputFileID, j.outputFileID,
                             j.errorFileID, j.answered, j.failed, j.notRun, j.reservedCost, j.cost, j.tokensIn, j.tokensOut, j.error,
                             j.polls, j.submittedAt, Store.timestamp(), j.endedAt, j.collectedAt, j.id])
    }

    /// Stores a collected job's answers and failures and its final state in one transaction: a run
    /// killed while collecting stores nothing of it and collects it again (downloads are free). False,
    /// and nothing written, when the job is already final: another process sharing the store collected
    /// it first (its answers and cost are recorded once; `llm_calls` adds a second record's cost and
    /// tokens to the first). One IMMEDIATE transaction, so two collectors cannot both pass the check.
    @discardableResult
    public func collectBatchJob(_ job: BatchJob, calls: [LLMCallRecord], outcomes: [BatchKeyOutcome]) throws -> Bool {
        try writeImmediately { db in
            let state = try String.fetchOne(db, sql: "SELECT state FROM batch_jobs WHERE id = ?", arguments: [job.id])
            if let state, BatchJob.State(rawValue: state)?.isFinal == true { return false }
            for call in calls { try Store.insertCall(call, db) }
            let update = try db.makeStatement(sql: "UPDATE batch_job_keys SET outcome = ?, error = ? WHERE job_id = ? AND key = ?")
            for o in outcomes { try update.execute(arguments: [o.kind.rawValue, o.error, job.id, o.key]) }
            try Store.updateJob(job, db)
            return true
        }
    }

    static func decodeJob(_ r: Row) -> BatchJob {
        var j = BatchJob(id: r["id"], provider: r["provider"], modelAlias: r["model_alias"], model: r["model"], baseURL: r["base_url"],
                         stage: r["stage"], step: r["step"], state: BatchJob.State(rawValue: r["state"]) ?? .failed,
                         inputFile: r["input_file"], requests: r["requests"], bytes: r["bytes"], reservedCost: r["reserved_cost"])
        j.schema = r["schema"]
        j.checks = r["checks"]
        j.providerState = r["provider_state"]
        j.providerJobID = r["provider_job_id"]
        j.inputFileID = r["input_file_id"]
        j.outputFileID = r["output_file_id"]
        j.errorFileID = r["error_file_id"]
        j.answered = r["answered"]
        j.failed = r["failed"]
        j.notRun = r["not_run"]
        j.cost = r["cost"]
        j.tokensIn = r["tokens_in"]
        j.tokensOut = r["tokens_out"]
        j.error = r["error"]
        j.polls = r["polls"]
        j.createdAt = r["created_at"]
        j.submittedAt = r["submitted_at"]
        j.updatedAt = r["updated_at"]
        j.endedAt = r["ended_at"]
        j.collectedAt = r["collected_at"]
        return j
    }

    /// Every job, oldest first; `open`: only those not final.
    public func batchJobs(open: Bool = false) throws -> [BatchJob] {
        try read { db in
            return try Row.fetchAll(db, sql: "SELECT * FROM batch_jobs" + (open ? " WHERE state NOT IN (\(Store.finalBatchStates))" : "") + " ORDER BY rowid")
                .map(Store.decodeJob)
        }
    }

    public func batchJob(id: String) throws -> BatchJob? {
        try read { db in try Row.fetchOne(db, sql: "SELECT * FROM batch_jobs WHERE id = ?", arguments: [id]).map(Store.decodeJob) }
    }

    /// The keys of a job, in the order written.
    public func batchJobKeys(_ id: String) throws -> [String] {
        try read { db in try String.fetchAll(db, sql: "SELECT key FROM batch_job_keys WHERE job_id = ? ORDER BY rowid", arguments: [id]) }
    }

    /// Keys carried by jobs that are not final, with their job: a key there is not sent again.
    public func batchKeysInFlight() throws -> [String: String] {
        try read { db in
            var out: [String: String] = [:]
            let rows = try Row.fetchCursor(db, sql: """
                SELECT k.key, k.job_id FROM batch_job_keys k JOIN batch_jobs j ON j.id = k.job_id WHERE j.state NOT IN (\(Store.finalBatchStates))
                """)
            while let r = try rows.next() { out[r[0]] = r[1] }
            return out
        }
    }

    /// Per key, how often a batch request with it failed (collected jobs only) and the last reason.
    public func batchKeyFailures() throws -> [String: (count: Int, error: String)] {
        try read { db in
            var out: [String: (count: Int, error: String)] = [:]
            let rows = try Row.fetchCursor(db, sql: "SELECT key, COUNT(*), MAX(error) FROM batch_job_keys WHERE outcome = 'failed' GROUP BY key")
            while let r = try rows.next() { out[r[0]] = (r[1], r[2] ?? "failed") }
            return out
        }
    }

    /// True when some job is not final (an online run then checks its keys before sending).
    public func hasOpenBatchJobs() throws -> Bool {
        try read { db in
            return try Bool.fetchOne(db, sql: "SELECT EXISTS (SELECT 1 FROM batch_jobs WHERE state NOT IN (\(Store.finalBatchStates)))") ?? false
        }
    }
}
