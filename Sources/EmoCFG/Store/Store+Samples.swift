import Foundation
import GRDB

extension Store {
    /// Inserts or replaces samples by uid, in one transaction.
    public func upsertSamples(_ samples: [NewSample]) throws {
        guard !samples.isEmpty else { return }
        let now = Store.timestamp()
        try write { db in
            let st = try db.cachedStatement(sql: """
                INSERT INTO samples (uid, clip_uid, stage, task, form, content, prompt_id, prompt_hash, model, llm_call,
                                     parent_uid, round, status, created_at)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                ON CONFLICT(uid) DO UPDATE SET content = excluded.content, prompt_id = excluded.prompt_id,
                    prompt_hash = excluded.prompt_hash, model = excluded.model, llm_call = excluded.llm_call,
                    task = excluded.task, form = excluded.form
                WHERE samples.content != excluded.content OR samples.prompt_hash != excluded.prompt_hash
                """)
            for s in samples {
                try st.execute(arguments: [s.uid, s.clipUID, s.stage, s.task.rawValue, s.form.rawValue, s.content.canonical,
                                           s.promptID, s.promptHash, s.model, s.llmCall, s.parentUID, s.round,
                                           s.status.rawValue, now])
            }
        }
    }

    /// Samples, optionally of one stage and/or clip, ordered by uid.
    public func samples(stage: String? = nil, clip: String? = nil) throws -> [NewSample] {
        try read { db in
            var sql = "SELECT * FROM samples WHERE 1"
            var args: [(any DatabaseValueConvertible)?] = []
            if let stage { sql += " AND stage = ?"; args.append(stage) }
            if let clip { sql += " AND clip_uid = ?"; args.append(clip) }
            return try Row.fetchAll(db, sql: sql + " ORDER BY uid", arguments: StatementArguments(args)).map(Store.decodeSample)
        }
    }

    static func decodeSample(_ r: Row) -> NewSample {
        NewSample(
            uid: r["uid"], clipUID: r["clip_uid"], stage: r["stage"], task: SampleTask(rawValue: r["task"]) ?? .emotion,
            form: SampleForm(rawValue: r["form"]) ?? .open, content: (try? JSONValue.parse(r["content"] as String)) ?? .null,
            promptID: r["prompt_id"], promptHash: r["prompt_hash"], model: r["model"], llmCall: r["llm_call"],
            parentUID: r["parent_uid"], round: r["round"], status: SampleStatus(rawValue: r["status"]) ?? .pending)
    }

    /// Records that a stage gave up on an item, with the reason (replaced on the next failure,
    /// cleared when the item succeeds).
    public func recordFailure(stage: String, item: String, clip: String?, reason: String) throws {
        try write { db in
            try db.execute(sql: """
                INSERT OR REPLACE INTO annotation_failures (stage, item, clip_uid, reason, updated_at) VALUES (?, ?, ?, ?, ?)
                """, arguments: [stage, item, clip, reason, Store.timestamp()])
        }
    }

    public func clearFailure(stage: String, item: String) throws {
        try write { db in try db.execute(sql: "DELETE FROM annotation_failures WHERE stage = ? AND item = ?", arguments: [stage, item]) }
    }

    public func failures(stage: String? = nil) throws -> [(stage: String, item: String, reason: String)] {
        try read { db in
            try Row.fetchAll(db, sql: "SELECT stage, item, reason FROM annotation_failures" + (stage == nil ? "" : " WHERE stage = ?")
                             + " ORDER BY stage, item", arguments: stage.map { [$0] } ?? []).map { ($0["stage"], $0["item"], $0["reason"]) }
        }
    }
}

/// Samples of one stage by status, for `emocfg status`.
public struct SampleCounts: Codable, Sendable, Equatable {
    public var total = 0
    public var pending = 0
    public var accepted = 0
    public var rejected = 0
    public var failed = 0
    public init() {}
}

extension Store {
    /// Samples per stage by status, and each stage's recorded failures.
    public func sampleCounts() throws -> [String: SampleCounts] {
        try read { db in
            var out: [String: SampleCounts] = [:]
            for r in try Row.fetchAll(db, sql: "SELECT stage, status, COUNT(*) AS n FROM samples GROUP BY stage, status") {
                let n: Int = r["n"]
                var c = out[r["stage"], default: SampleCounts()]
                c.total += n
                switch r["status"] as String {
                case "accepted": c.accepted += n
                case "rejected": c.rejected += n
                default: c.pending += n
                }
                out[r["stage"]] = c
            }
            for r in try Row.fetchAll(db, sql: "SELECT stage, COUNT(*) AS n FROM annotation_failures GROUP BY stage") {
                out[r["stage"], default: SampleCounts()].failed = r["n"]
            }
            return out
        }
    }
}
