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

/// One judge's vote on one sample.
public struct Verdict: Sendable, Equatable {
    public var sampleUID: String
    public var round: Int
    public var judge: String
    public var pass: Bool
    public var wrongAspects: [String]
    public var suggestion: String
    public var llmCall: String?
    public init(sampleUID: String, round: Int, judge: String, pass: Bool, wrongAspects: [String], suggestion: String, llmCall: String?) {
        self.sampleUID = sampleUID
        self.round = round
        self.judge = judge
        self.pass = pass
        self.wrongAspects = wrongAspects
        self.suggestion = suggestion
        self.llmCall = llmCall
    }
}

extension Store {
    /// Stores a judge's verdict the moment it arrives.
    public func saveVerdict(_ v: Verdict) throws {
        try write { db in
            try db.execute(sql: """
                INSERT OR REPLACE INTO verdicts (sample_uid, round, judge, pass, wrong_aspects, suggestion, llm_call, created_at)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?)
                """, arguments: [v.sampleUID, v.round, v.judge, v.pass, JSONValue.array(v.wrongAspects.map { .string($0) }).canonical,
                                 v.suggestion, v.llmCall, Store.timestamp()])
            try db.execute(sql: "DELETE FROM judge_abstentions WHERE sample_uid = ? AND judge = ?", arguments: [v.sampleUID, v.judge])
        }
    }

    /// Verdicts, of one sample or of all, ordered by sample and judge.
    public func verdicts(sample: String? = nil) throws -> [Verdict] {
        try read { db in
            try Row.fetchAll(db, sql: "SELECT * FROM verdicts" + (sample == nil ? "" : " WHERE sample_uid = ?") + " ORDER BY sample_uid, judge",
                             arguments: sample.map { [$0] } ?? []).map { r in
                Verdict(sampleUID: r["sample_uid"], round: r["round"], judge: r["judge"], pass: r["pass"],
                        wrongAspects: ((try? JSONValue.parse(r["wrong_aspects"] as String))?.arrayValue ?? []).compactMap(\.stringValue),
                        suggestion: r["suggestion"], llmCall: r["llm_call"])
            }
        }
    }

    /// Records the committee's decision on a sample (accepted or rejected, with reasons), and, for a
    /// rewrite, stores the rewritten sample in the same transaction: a stop never leaves a rejected
    /// parent without its child.
    public func decide(sample uid: String, status: SampleStatus, reasons: String?, rewrite: NewSample? = nil) throws {
        let now = Store.timestamp()
        try write { db in
            // A person's decision on the review page stands: the committee no longer changes that sample.
            try db.execute(sql: "UPDATE samples SET status = ?, reasons = ?, decided_at = ? WHERE uid = ? AND committee_status IS NULL",
                           arguments: [status.rawValue, reasons, now, uid])
            guard db.changesCount > 0 else { return }
            if let c = rewrite {
                try db.execute(sql: """
                    INSERT OR IGNORE INTO samples (uid, clip_uid, stage, task, form, content, prompt_id, prompt_hash, model, llm_call,
                                                   parent_uid, round, status, created_at)
                    VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                    """, arguments: [c.uid, c.clipUID, c.stage, c.task.rawValue, c.form.rawValue, c.content.canonical, c.promptID,
                                     c.promptHash, c.model, c.llmCall, c.parentUID, c.round, c.status.rawValue, now])
            }
        }
    }

    /// Samples that have not been decided yet (no decision recorded), optionally with instruct ones.
    public func undecidedSamples(includeInstruct: Bool) throws -> [NewSample] {
        try read { db in
            try Row.fetchAll(db, sql: """
                SELECT * FROM samples WHERE decided_at IS NULL AND (status = 'pending' OR (? AND stage = 'instruct'))
                ORDER BY uid
                """, arguments: [includeInstruct]).map(Store.decodeSample)
        }
    }

    /// Why a sample was rejected or rewritten.
    public func decisionReasons(sample uid: String) throws -> String? {
        try read { db in try String.fetchOne(db, sql: "SELECT reasons FROM samples WHERE uid = ?", arguments: [uid]) }
    }
}

extension Store {
    /// Every clip's recorded side (`train` or `test`), by clip uid.
    public func clipSplits() throws -> [String: String] {
        try read { db in
            Dictionary(try Row.fetchAll(db, sql: "SELECT clip_uid, side FROM clip_splits").map { ($0["clip_uid"], $0["side"]) },
                       uniquingKeysWith: { a, _ in a })
        }
    }

    /// Records sides for clips that have none; a clip that already has one keeps it.
    @discardableResult
    public func recordSplits(_ sides: [(clip: String, side: String, reason: String)]) throws -> Int {
        let now = Store.timestamp()
        return try write { db in
            let st = try db.cachedStatement(sql: "INSERT OR IGNORE INTO clip_splits (clip_uid, side, reason, decided_at) VALUES (?, ?, ?, ?)")
            var n = 0
            for s in sides {
                try st.execute(arguments: [s.clip, s.side, s.reason, now])
                n += db.changesCount
            }
            return n
        }
    }
}

extension Store {
    /// Records content a gate kept out of the samples (replaced when the same sample is gated again).
    public func recordGated(_ sample: NewSample, reason: String) throws {
        try write { db in
            try db.execute(sql: """
                INSERT OR REPLACE INTO gated_content (stage, uid, clip_uid, reason, content, llm_call, created_at) VALUES (?, ?, ?, ?, ?, ?, ?)
                """, arguments: [sample.stage, sample.uid, sample.clipUID, reason, sample.content.canonical, sample.llmCall, Store.timestamp()])
        }
    }

    /// Gated content per stage and reason, most frequent first.
    public func gatedCounts() throws -> [(stage: String, count: Int)] {
        try read { db in
            try Row.fetchAll(db, sql: "SELECT stage, count(*) AS n FROM gated_content GROUP BY stage ORDER BY n DESC").map { ($0["stage"], $0["n"]) }
        }
    }
}
