import Foundation
import GRDB

/// One model call as the cache stores it.
public struct LLMCallRecord: Sendable, Equatable {
    public var key: String
    public var stage: String
    public var provider: String
    public var model: String
    public var ok: Bool
    public var httpStatus: Int?
    /// The provider's response body (stored zstd-compressed).
    public var response: Data?
    /// The answer text the model wrote.
    public var answer: String?
    public var attempts: Int
    public var usage: TokenUsage
    public var cost: Double
    public var latencyMs: Double?
    public var error: String?
    /// The model the server says answered (OpenAI `model`, Gemini `modelVersion`), which may differ
    /// from the configured name (an alias, a router, a local server serving whatever it loaded).
    public var servedModel: String?

    public init(key: String, stage: String, provider: String, model: String, ok: Bool, httpStatus: Int?, response: Data?,
                answer: String?, attempts: Int, usage: TokenUsage, cost: Double, latencyMs: Double?, error: String?,
                servedModel: String? = nil) {
        self.key = key
        self.stage = stage
        self.provider = provider
        self.model = model
        self.ok = ok
        self.httpStatus = httpStatus
        self.response = response
        self.answer = answer
        self.attempts = attempts
        self.usage = usage
        self.cost = cost
        self.latencyMs = latencyMs
        self.error = error
        self.servedModel = servedModel
    }
}

/// Totals of the model calls a stage made, for summaries and the budget.
public struct LLMTotals: Sendable, Equatable, Codable {
    public var calls = 0
    public var failed = 0
    public var tokensIn = 0
    public var tokensOut = 0
    public var cost = 0.0
    public init() {}
}

extension Store {
    /// The stored successful answer for `key`, if any: a cache hit sends nothing.
    public func cachedCall(key: String) throws -> LLMCallRecord? {
        try read { db in
            // A cached statement: the cache is looked up before every request (100,000 in a batch run).
            try Row.fetchOne(db.cachedStatement(sql: "SELECT * FROM llm_calls WHERE key = ? AND status = 'ok'"), arguments: [key]).map(Store.decodeCall)
        }
    }

    /// Stores a call's outcome (its own transaction: an answer is committed the moment it arrives).
    /// A key stored before (a failed call now answered, or two processes answered at once) keeps
    /// the sum of every attempt's tokens, cost and attempts, so the store's totals are what was billed;
    /// an ok answer is never replaced by a failure.
    public func saveCall(_ c: LLMCallRecord) throws {
        try write { db in try Store.insertCall(c, db) }
    }

    static func insertCall(_ c: LLMCallRecord, _ db: Database) throws {
        try db.cachedStatement(sql: """
                INSERT INTO llm_calls (key, stage, provider, model, status, http_status, response, answer, attempts,
                    tokens_in, tokens_out, tokens_estimated, cost, latency_ms, error, created_at, served_model)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                ON CONFLICT(key) DO UPDATE SET
                    attempts = llm_calls.attempts + excluded.attempts,
                    tokens_in = llm_calls.tokens_in + excluded.tokens_in,
                    tokens_out = llm_calls.tokens_out + excluded.tokens_out,
                    tokens_estimated = llm_calls.tokens_estimated OR excluded.tokens_estimated,
                    cost = llm_calls.cost + excluded.cost,
                    status = CASE WHEN llm_calls.status = 'ok' THEN 'ok' ELSE excluded.status END,
                    http_status = CASE WHEN llm_calls.status = 'ok' THEN llm_calls.http_status ELSE excluded.http_status END,
                    response = CASE WHEN llm_calls.status = 'ok' THEN llm_calls.response ELSE excluded.response END,
                    answer = CASE WHEN llm_calls.status = 'ok' THEN llm_calls.answer ELSE excluded.answer END,
                    error = CASE WHEN llm_calls.status = 'ok' THEN llm_calls.error ELSE excluded.error END,
                    latency_ms = excluded.latency_ms,
                    served_model = COALESCE(excluded.served_model, llm_calls.served_model),
                    created_at = excluded.created_at
                """).execute(arguments: [c.key, c.stage, c.provider, c.model, c.ok ? "ok" : "failed", c.httpStatus,
                                 c.response.map { Zstd.compress($0) }, c.answer, c.attempts, c.usage.input, c.usage.output,
                                 c.usage.estimated, c.cost, c.latencyMs, c.error, Store.timestamp(), c.servedModel])
    }

    static func decodeCall(_ r: Row) -> LLMCallRecord {
        LLMCallRecord(
            key: r["key"], stage: r["stage"], provider: r["provider"], model: r["model"], ok: (r["status"] as String) == "ok",
            httpStatus: r["http_status"], response: (r["response"] as Data?).flatMap(Zstd.decompress), answer: r["answer"],
            attempts: r["attempts"], usage: TokenUsage(input: r["tokens_in"], output: r["tokens_out"], estimated: r["tokens_estimated"]),
            cost: r["cost"], latencyMs: r["latency_ms"], error: r["error"], servedModel: r["served_model"])
    }

    public func call(key: String) throws -> LLMCallRecord? {
        try read { db in try Row.fetchOne(db, sql: "SELECT * FROM llm_calls WHERE key = ?", arguments: [key]).map(Store.decodeCall) }
    }

    /// Totals over all stored calls of a stage (or of every stage).
    public func callTotals(stage: String? = nil) throws -> LLMTotals {
        try read { db in
            let r = try Row.fetchOne(db, sql: """
                SELECT COUNT(*) AS n, SUM(status = 'failed') AS failed, SUM(tokens_in) AS tin, SUM(tokens_out) AS tout, SUM(cost) AS cost
                FROM llm_calls
                """ + (stage == nil ? "" : " WHERE stage = ?"), arguments: stage.map { [$0] } ?? [])!
            var t = LLMTotals()
            t.calls = r["n"] ?? 0
            t.failed = r["failed"] ?? 0
            t.tokensIn = r["tin"] ?? 0
            t.tokensOut = r["tout"] ?? 0
            t.cost = r["cost"] ?? 0
            return t
        }
    }
}

extension Store {
    /// The models the servers said answered each configured model name of a stage, e.g. three judges
    /// configured as different models but served by one.
    public func servedModels(stage: String) throws -> [String: Set<String>] {
        try read { db in
            var out: [String: Set<String>] = [:]
            for r in try Row.fetchAll(db, sql: "SELECT DISTINCT model, served_model FROM llm_calls WHERE stage = ? AND served_model IS NOT NULL",
                                      arguments: [stage]) {
                out[r["model"], default: []].insert(r["served_model"])
            }
            return out
        }
    }
}
