import Foundation
import GRDB

/// What a person decided about a sample on the review page.
public enum HumanDecision: String, Sendable, Codable, CaseIterable {
    /// The sample is right as it is: it is exported.
    case accept
    /// The sample is wrong (the reason says why): it is not exported.
    case reject
    /// The answer was corrected: the correction is exported in place of the original.
    case edit
}

/// One decision by a person, stored as a verdict by `human:<name>`. The standing decision on a
/// sample is its latest one; earlier ones stay as history.
public struct HumanVerdict: Sendable, Equatable {
    public var id: Int64
    public var sampleUID: String
    /// `human:<name>`.
    public var judge: String
    public var decision: HumanDecision
    public var reason: String
    /// For an edit: the new sample holding the corrected answer.
    public var revisionUID: String?
    /// The committee's status of the sample when the person decided (what the person overruled or confirmed).
    public var committee: SampleStatus
    public var createdAt: String
    /// A verdict's pass/fail: only an acceptance passes the sample as it is.
    public var pass: Bool { decision == .accept }
}

/// A decision that cannot be applied, with what was wrong.
public struct HumanReviewError: Error, CustomStringConvertible, Sendable, Equatable {
    public var message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}

/// How many samples people have reviewed, by standing decision.
public struct HumanReviewCounts: Sendable, Equatable, Codable {
    public var reviewed = 0
    public var accepted = 0
    public var rejected = 0
    public var edited = 0
    public init() {}
}

extension Store {
    /// The judge name of a reviewer's verdicts.
    public static func humanJudge(_ reviewer: String) -> String { "human:\(reviewer)" }

    /// Records a person's decision on a sample and applies it, in one transaction, so that the
    /// export takes it (a human decision overrules the committee):
    /// - accept: the sample becomes `accepted`;
    /// - reject: it becomes `rejected`, with the reason;
    /// - edit: it becomes `rejected` and a new sample (origin `human`, parent the original, uid
    ///   `<uid>#h<n>`) with the corrected answer is `accepted` in its place.
    /// A correction made by an earlier decision on the same sample is withdrawn (`rejected`). The
    /// committee's status is kept the first time a person decides (`committee_status`).
    @discardableResult
    public func recordHumanDecision(sample uid: String, reviewer: String, decision: HumanDecision, reason: String = "",
                                    editedAnswer: String? = nil) throws -> HumanVerdict {
        let judge = Store.humanJudge(reviewer)
        let now = Store.timestamp()
        let reason = reason.trimmingCharacters(in: .whitespacesAndNewlines)
        return try write { db in
            guard let row = try Row.fetchOne(db, sql: "SELECT *, coalesce(committee_status, status) AS committee FROM samples WHERE uid = ?",
                                             arguments: [uid]) else {
                throw HumanReviewError("no sample \(uid) in the store")
            }
            if (row["origin"] as String?) == "human" {
                throw HumanReviewError("\(uid) is a correction made on the review page; decide on the sample it corrects (\(row["parent_uid"] as String? ?? "?"))")
            }
            let sample = Store.decodeSample(row)
            let committee = SampleStatus(rawValue: row["committee"]) ?? .pending
            try db.execute(sql: "UPDATE samples SET committee_status = coalesce(committee_status, status) WHERE uid = ?", arguments: [uid])
            try db.execute(sql: """
                UPDATE samples SET status = 'rejected', decided_at = ?, reasons = ?
                WHERE parent_uid = ? AND origin = 'human' AND status != 'rejected'
                """, arguments: [now, "withdrawn: \(judge) decided again on \(uid)", uid])
            var revision: String?
            switch decision {
            case .accept:
                try db.execute(sql: "UPDATE samples SET status = 'accepted', decided_at = ? WHERE uid = ?", arguments: [now, uid])
            case .reject:
                guard !reason.isEmpty else { throw HumanReviewError("a rejection needs a reason") }
                try db.execute(sql: "UPDATE samples SET status = 'rejected', decided_at = ?, reasons = ? WHERE uid = ?",
                               arguments: [now, "\(judge): \(reason)", uid])
            case .edit:
                let answer = (editedAnswer ?? "").trimmingCharacters(in: .whitespacesAndNewlines)
                guard !answer.isEmpty else { throw HumanReviewError("an edit needs the corrected answer") }
                let content = try Self.corrected(sample, answer: answer)
                guard content["answer"] != sample.content["answer"] else {
                    throw HumanReviewError("the corrected answer is the same as the original; accept it instead")
                }
                let n = (try Int.fetchOne(db, sql: "SELECT count(*) FROM samples WHERE parent_uid = ? AND origin = 'human'", arguments: [uid]) ?? 0) + 1
                let child = "\(uid)#h\(n)"
                try db.execute(sql: """
                    INSERT INTO samples (uid, clip_uid, stage, task, form, content, prompt_id, prompt_hash, model, llm_call,
                                         parent_uid, round, status, created_at, decided_at, reasons, origin)
                    VALUES (?, ?, ?, ?, ?, ?, 'human-review', '', NULL, NULL, ?, ?, 'accepted', ?, ?, ?, 'human')
                    """, arguments: [child, sample.clipUID, sample.stage, sample.task.rawValue, sample.form.rawValue, content.canonical,
                                     uid, sample.round + 1, now, now, "corrected by \(judge)" + (reason.isEmpty ? "" : ": \(reason)")])
                try db.execute(sql: "UPDATE samples SET status = 'rejected', decided_at = ?, reasons = ? WHERE uid = ?",
                               arguments: [now, "\(judge) corrected the answer (\(child))" + (reason.isEmpty ? "" : ": \(reason)"), uid])
                revision = child
            }
            try db.execute(sql: """
                INSERT INTO human_verdicts (sample_uid, judge, decision, pass, reason, revision_uid, committee, created_at)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?)
                """, arguments: [uid, judge, decision.rawValue, decision == .accept, reason, revision, committee.rawValue, now])
            return HumanVerdict(id: db.lastInsertedRowID, sampleUID: uid, judge: judge, decision: decision, reason: reason,
                                revisionUID: revision, committee: committee, createdAt: now)
        }
    }

    /// The sample's content with `answer` in place of its answer. A multiple-choice answer must be
    /// option letters (`B`, `A,C`), which also become its `answer_letters`; a model's structured
    /// `detail` described the old answer, so it is rebuilt from the new one (as the committee's
    /// rewrites do); `edited_from` names the original.
    static func corrected(_ sample: NewSample, answer: String) throws -> JSONValue {
        var content = sample.content.objectValue ?? [:]
        if sample.form == .mcq {
            let letters = Set((content["options"]?.arrayValue ?? []).compactMap { option -> String? in
                guard let s = option.stringValue, s.hasPrefix("("), let close = s.firstIndex(of: ")") else { return nil }
                return String(s[s.index(after: s.startIndex)..<close]).uppercased()
            })
            let given = answer.uppercased().split(whereSeparator: { ", ".contains($0) }).map(String.init)
            guard !given.isEmpty, given.allSatisfy({ letters.contains($0) }) else {
                throw HumanReviewError("a multiple-choice answer is the letters of its options (\(letters.sorted().joined(separator: ", "))), found “\(answer)”")
            }
            let joined = given.joined(separator: ",")
            content["answer"] = .string(joined)
            content["answer_letters"] = .string(joined)
        } else {
            content["answer"] = .string(answer)
        }
        if content["detail"] != nil {
            content["detail"] = .object([sample.task == .rationale ? "rationale" : "answer": .string(answer)])
        }
        content["edited_from"] = .string(sample.uid)
        return .object(content)
    }

    /// Every human verdict, of one sample or of all, oldest first.
    public func humanVerdicts(sample: String? = nil) throws -> [HumanVerdict] {
        try read { db in
            try Row.fetchAll(db, sql: "SELECT * FROM human_verdicts" + (sample == nil ? "" : " WHERE sample_uid = ?") + " ORDER BY id",
                             arguments: sample.map { [$0] } ?? []).map(Store.decodeHumanVerdict)
        }
    }

    /// The standing (latest) human verdict of every reviewed sample, by sample uid.
    public func standingHumanVerdicts() throws -> [String: HumanVerdict] {
        try read { db in
            let rows = try Row.fetchAll(db, sql: """
                SELECT * FROM human_verdicts h WHERE id = (SELECT max(id) FROM human_verdicts WHERE sample_uid = h.sample_uid)
                """)
            return Dictionary(rows.map(Store.decodeHumanVerdict).map { ($0.sampleUID, $0) }, uniquingKeysWith: { a, _ in a })
        }
    }

    /// Samples reviewed by people, by standing decision.
    public func humanReviewCounts() throws -> HumanReviewCounts {
        try read { db in try Store.humanReviewCounts(db) }
    }

    static func humanReviewCounts(_ db: Database) throws -> HumanReviewCounts {
        do {
            var c = HumanReviewCounts()
            for r in try Row.fetchAll(db, sql: """
                SELECT decision, count(*) AS n FROM human_verdicts h
                WHERE id = (SELECT max(id) FROM human_verdicts WHERE sample_uid = h.sample_uid) GROUP BY decision
                """) {
                let n: Int = r["n"]
                c.reviewed += n
                switch HumanDecision(rawValue: r["decision"]) {
                case .accept: c.accepted += n
                case .reject: c.rejected += n
                case .edit: c.edited += n
                case nil: break
                }
            }
            return c
        }
    }

    /// Samples written on the review page (corrections), which no committee voted on.
    public func humanRevisionUIDs() throws -> Set<String> {
        try read { db in Set(try String.fetchAll(db, sql: "SELECT uid FROM samples WHERE origin = 'human'")) }
    }

    /// The committee's own status of samples a person has decided on (their `status` is the person's), by uid.
    public func committeeStatuses() throws -> [String: SampleStatus] {
        try read { db in
            Dictionary(try Row.fetchAll(db, sql: "SELECT uid, committee_status FROM samples WHERE committee_status IS NOT NULL").compactMap { r in
                SampleStatus(rawValue: r["committee_status"]).map { (r["uid"] as String, $0) }
            }, uniquingKeysWith: { a, _ in a })
        }
    }

    static func decodeHumanVerdict(_ r: Row) -> HumanVerdict {
        HumanVerdict(id: r["id"], sampleUID: r["sample_uid"], judge: r["judge"], decision: HumanDecision(rawValue: r["decision"]) ?? .reject,
                     reason: r["reason"], revisionUID: r["revision_uid"], committee: SampleStatus(rawValue: r["committee"]) ?? .pending,
                     createdAt: r["created_at"])
    }
}

/// A sample the review page can show: one that no committee rewrite replaced and that is not
/// itself a correction made on the page, with its committee's votes and its standing human decision.
public struct ReviewCandidate: Sendable, Equatable {
    public var uid: String
    public var clipUID: String
    public var source: String
    public var stage: String
    public var task: String
    public var form: String
    /// The sample's status now (a human decision's, where there is one).
    public var status: SampleStatus
    /// The committee's status (before any human decision).
    public var committee: SampleStatus
    public var round: Int
    /// The committee's verdicts on this sample: how many, how many pass, and the judges that failed it.
    public var votes: Int
    public var passes: Int
    public var failedBy: [String]
    /// The standing human decision, and whose it is.
    public var human: HumanDecision?
    public var reviewer: String?
}

extension StatsReader {
    /// Samples reviewed by people on the review page, by standing decision.
    public func humanReviewCounts() throws -> HumanReviewCounts { try Store.humanReviewCounts(db) }
}

extension Store {
    /// Every sample the review page can show, ordered by uid (see `ReviewCandidate`).
    public func reviewCandidates() throws -> [ReviewCandidate] {
        try read { db in
            try Row.fetchAll(db, sql: """
                SELECT s.uid, s.clip_uid, c.source, s.stage, s.task, s.form, s.status, coalesce(s.committee_status, s.status) AS committee,
                       s.round, coalesce(v.votes, 0) AS votes, coalesce(v.passes, 0) AS passes, v.failed_by, h.decision, h.judge
                FROM samples s
                JOIN clips c ON c.uid = s.clip_uid
                LEFT JOIN (SELECT sample_uid, count(*) AS votes, sum(pass != 0) AS passes,
                                  group_concat(CASE WHEN pass = 0 THEN judge END, char(10)) AS failed_by
                           FROM verdicts GROUP BY sample_uid) v ON v.sample_uid = s.uid
                LEFT JOIN (SELECT sample_uid, decision, judge FROM human_verdicts hv
                           WHERE id = (SELECT max(id) FROM human_verdicts WHERE sample_uid = hv.sample_uid)) h ON h.sample_uid = s.uid
                WHERE s.origin IS NULL
                  AND s.uid NOT IN (SELECT parent_uid FROM samples WHERE round > 0 AND origin IS NULL AND parent_uid IS NOT NULL)
                ORDER BY s.uid
                """).map { r in
                ReviewCandidate(
                    uid: r["uid"], clipUID: r["clip_uid"], source: r["source"], stage: r["stage"], task: r["task"], form: r["form"],
                    status: SampleStatus(rawValue: r["status"]) ?? .pending, committee: SampleStatus(rawValue: r["committee"]) ?? .pending,
                    round: r["round"], votes: r["votes"], passes: r["passes"],
                    failedBy: ((r["failed_by"] as String?) ?? "").split(separator: "\n").map(String.init).sorted(),
                    human: (r["decision"] as String?).flatMap(HumanDecision.init(rawValue:)), reviewer: r["judge"])
            }
        }
    }

    /// One sample as the review page shows it: the stored sample and what the committee and people
    /// made of it.
    public func reviewSample(uid: String) throws -> ReviewedSample? {
        try read { db in
            guard let r = try Row.fetchOne(db, sql: """
                SELECT *, coalesce(committee_status, status) AS committee FROM samples WHERE uid = ?
                """, arguments: [uid]) else { return nil }
            return ReviewedSample(sample: Store.decodeSample(r), committee: SampleStatus(rawValue: r["committee"]) ?? .pending,
                                  reasons: r["reasons"], decidedAt: r["decided_at"], origin: r["origin"])
        }
    }

    /// The samples derived from `uid` (committee rewrites, corrections, rationales), oldest first.
    public func childSamples(of uid: String) throws -> [ReviewedSample] {
        try read { db in
            try Row.fetchAll(db, sql: """
                SELECT *, coalesce(committee_status, status) AS committee FROM samples WHERE parent_uid = ? ORDER BY created_at, uid
                """, arguments: [uid]).map { r in
                ReviewedSample(sample: Store.decodeSample(r), committee: SampleStatus(rawValue: r["committee"]) ?? .pending,
                               reasons: r["reasons"], decidedAt: r["decided_at"], origin: r["origin"])
            }
        }
    }

    /// The clip's rendered video files (the export's media cache, `rendered_media`), newest first:
    /// each file relative to an export folder, with its encoder.
    public func renderedFiles(clip: String) throws -> [(file: String, encoder: String?)] {
        try read { db in
            try Row.fetchAll(db, sql: """
                SELECT file, encoder FROM rendered_media WHERE clip_uid = ? AND status = 'ok' AND file IS NOT NULL ORDER BY created_at DESC
                """, arguments: [clip]).map { ($0["file"], $0["encoder"]) }
        }
    }

    /// The export folders the store has written curation versions to, most recent first.
    public func exportFolders() throws -> [String] {
        try read { db in
            try String.fetchAll(db, sql: "SELECT out_dir FROM exports GROUP BY out_dir ORDER BY max(created_at) DESC")
        }
    }
}

/// A stored sample with its decision columns, for the review page.
public struct ReviewedSample: Sendable, Equatable {
    public var sample: NewSample
    /// The committee's status (the sample's own status may be a human decision's).
    public var committee: SampleStatus
    public var reasons: String?
    public var decidedAt: String?
    /// `human` for a correction made on the review page; nil otherwise.
    public var origin: String?
}
