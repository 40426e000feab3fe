import Foundation
import GRDB

/// What happened when a process tried to claim a work item.
public enum ClaimResult: Sendable, Equatable {
    /// The item is this process's until it releases it or its lease expires.
    case claimed
    /// Another live process holds it.
    case heldBy(String)
    /// Another process finished it after this run started: nothing left to do.
    case doneElsewhere(String)
}

/// Who claims work: the host, the process and a random run id, so claims from several machines
/// sharing one database never collide and a claim of a dead process on this host is recognised.
public struct ClaimOwner: Sendable, Equatable, CustomStringConvertible {
    public var host: String
    public var pid: Int32
    public var run: String

    public init(host: String = ProcessInfo.processInfo.hostName, pid: Int32 = getpid(), run: String = String(UUID().uuidString.prefix(8)).lowercased()) {
        self.host = host
        self.pid = pid
        self.run = run
    }

    public var description: String { "\(host)/\(pid)/\(run)" }

    /// Parses `host/pid/run` (the host may itself contain slashes only in theory; the last two parts are pid and run).
    public init?(_ text: String) {
        let parts = text.split(separator: "/", omittingEmptySubsequences: false)
        guard parts.count >= 3, let pid = Int32(parts[parts.count - 2]) else { return nil }
        host = parts[..<(parts.count - 2)].joined(separator: "/")
        self.pid = pid
        run = String(parts[parts.count - 1])
    }

    /// True when the owner ran on this host and its process no longer exists: its leases can be
    /// taken over at once instead of waiting for them to expire (a rerun after a kill).
    public var isDeadOnThisHost: Bool {
        guard host == ProcessInfo.processInfo.hostName else { return false }
        if pid == getpid() { return false }
        return kill(pid, 0) != 0 && errno == ESRCH
    }
}

extension Store {
    /// Claims `item` of `stage` for `owner` for `ttl` seconds. The claim is one conditional upsert
    /// (insert, or take over only when the row is this owner's, its lease expired, or another owner
    /// finished it before `since`), never a read followed by a write, so it carries over unchanged to
    /// a server database shared by several machines (the machines' clocks must agree to within the
    /// lease time). When that takes nothing, the holder is read to say who has it; a holder that is a
    /// dead process on this host is replaced by a compare-and-swap on its name (a rerun after a kill
    /// goes on at once instead of waiting for the lease to expire).
    public func claim(stage: String, item: String, owner: ClaimOwner, ttl: Double, since: Date) throws -> ClaimResult {
        let now = Date().timeIntervalSince1970
        let me = owner.description
        return try write { db in
            try db.execute(sql: """
                INSERT INTO work_claims (stage, item, owner, expires_at, done_at) VALUES (?, ?, ?, ?, NULL)
                ON CONFLICT(stage, item) DO UPDATE SET owner = excluded.owner, expires_at = excluded.expires_at, done_at = NULL
                WHERE work_claims.owner = excluded.owner
                   OR (work_claims.done_at IS NULL AND work_claims.expires_at <= ?)
                   OR (work_claims.done_at IS NOT NULL AND work_claims.done_at < ?)
                """, arguments: [stage, item, me, now + ttl, now, since.timeIntervalSince1970])
            if db.changesCount > 0 { return .claimed }
            guard let row = try Row.fetchOne(db, sql: "SELECT owner, done_at FROM work_claims WHERE stage = ? AND item = ?",
                                             arguments: [stage, item]) else { return .claimed }
            let holder: String = row["owner"]
            if (row["done_at"] as Double?) != nil { return .doneElsewhere(holder) }
            if ClaimOwner(holder)?.isDeadOnThisHost == true {
                try db.execute(sql: """
                    UPDATE work_claims SET owner = ?, expires_at = ?, done_at = NULL WHERE stage = ? AND item = ? AND owner = ? AND done_at IS NULL
                    """, arguments: [me, now + ttl, stage, item, holder])
                if db.changesCount > 0 { return .claimed }
            }
            return .heldBy(holder)
        }
    }

    /// Ends `owner`'s claim: `finished` marks the item handled (done, or failed for good) so other
    /// processes of the same moment skip it; otherwise the claim is dropped and anyone may take it.
    public func release(stage: String, item: String, owner: ClaimOwner, finished: Bool) throws {
        let now = Date().timeIntervalSince1970
        try write { db in
            if finished {
                try db.execute(sql: "UPDATE work_claims SET done_at = ?, expires_at = ? WHERE stage = ? AND item = ? AND owner = ?",
                               arguments: [now, now, stage, item, owner.description])
            } else {
                try db.execute(sql: "DELETE FROM work_claims WHERE stage = ? AND item = ? AND owner = ? AND done_at IS NULL",
                               arguments: [stage, item, owner.description])
            }
        }
    }

    /// Extends every unfinished claim of `owner` to `ttl` seconds from now (the heartbeat of a run).
    @discardableResult
    public func renewClaims(owner: ClaimOwner, ttl: Double) throws -> Int {
        let now = Date().timeIntervalSince1970
        return try write { db in
            try db.execute(sql: "UPDATE work_claims SET expires_at = ? WHERE owner = ? AND done_at IS NULL",
                           arguments: [now + ttl, owner.description])
            return db.changesCount
        }
    }

    /// Forgets the finished claims older than `age` seconds: they only matter to processes running
    /// at the same time (a later run finds the work done in the store), and the table stays small.
    public func pruneClaims(olderThan age: Double) throws {
        let cutoff = Date().timeIntervalSince1970 - age
        try write { db in
            try db.execute(sql: "DELETE FROM work_claims WHERE done_at IS NOT NULL AND done_at < ?", arguments: [cutoff])
        }
    }

    /// Drops every unfinished claim of `owner` (a run that ends, however it ends).
    public func releaseAll(owner: ClaimOwner) throws {
        try write { db in
            try db.execute(sql: "DELETE FROM work_claims WHERE owner = ? AND done_at IS NULL", arguments: [owner.description])
        }
    }
}

/// A judge that gave no verdict on a sample, and why.
public struct Abstention: Sendable, Equatable, Codable {
    public var sampleUID: String
    public var judge: String
    public var round: Int
    public var reason: String
    public var llmCall: String?
    public init(sampleUID: String, judge: String, round: Int, reason: String, llmCall: String?) {
        self.sampleUID = sampleUID
        self.judge = judge
        self.round = round
        self.reason = reason
        self.llmCall = llmCall
    }
}

extension Store {
    /// Records that `judge` abstained on a sample (replaced on the next abstention, removed when it votes).
    public func recordAbstention(_ a: Abstention) throws {
        try write { db in
            try db.execute(sql: """
                INSERT OR REPLACE INTO judge_abstentions (sample_uid, judge, round, reason, llm_call, updated_at) VALUES (?, ?, ?, ?, ?, ?)
                """, arguments: [a.sampleUID, a.judge, a.round, a.reason, a.llmCall, Store.timestamp()])
        }
    }

    /// The abstentions still standing (the judge has not voted since), by sample and judge.
    public func abstentions() throws -> [Abstention] {
        try read { db in
            try Row.fetchAll(db, sql: "SELECT * FROM judge_abstentions ORDER BY sample_uid, judge").map {
                Abstention(sampleUID: $0["sample_uid"], judge: $0["judge"], round: $0["round"], reason: $0["reason"], llmCall: $0["llm_call"])
            }
        }
    }
}

/// One run's claims on the work of a stage: claim before the item's first request, release when
/// it ends, renew all of them on a heartbeat while the run lasts, and clean up at the end. Shared by
/// annotate and verify; inactive for a dry run (which sends nothing and claims nothing).
public struct WorkClaims: Sendable {
    public let store: Store
    public let owner: ClaimOwner
    /// Seconds a claim lasts without renewal; the heartbeat renews every third of it.
    public let lease: Double
    /// The start of the run: items other processes finish after it are skipped.
    public let since: Date
    public let active: Bool

    public init(store: Store, owner: ClaimOwner, lease: Double = 300, since: Date = Date(), active: Bool = true) {
        self.store = store
        self.owner = owner
        self.lease = lease
        self.since = since
        self.active = active
    }

    /// True when the item is this run's to do; false when another process holds it or finished it.
    public func claim(_ stage: String, _ item: String) throws -> Bool {
        guard active else { return true }
        return try store.claim(stage: stage, item: item, owner: owner, ttl: lease, since: since) == .claimed
    }

    /// `finished`: the item was done or failed for good (others skip it); otherwise it is free again.
    public func release(_ stage: String, _ item: String, finished: Bool) throws {
        guard active else { return }
        try store.release(stage: stage, item: item, owner: owner, finished: finished)
    }

    /// Starts renewing this run's claims; cancel the task when the run ends.
    public func heartbeat() -> Task<Void, Never>? {
        guard active else { return nil }
        let store = store, owner = owner, lease = lease
        return Task.detached {
            while !Task.isCancelled {
                try? await Task.sleep(nanoseconds: UInt64(lease / 3 * 1e9))
                if Task.isCancelled { break }
                try? store.renewClaims(owner: owner, ttl: lease)
            }
        }
    }

    /// The end of the run, however it ends: unfinished claims are dropped, old finished ones pruned.
    public func end() {
        guard active else { return }
        try? store.releaseAll(owner: owner)
        try? store.pruneClaims(olderThan: 3600)
    }
}

/// What a claimed piece of work ended as, as far as its claim is concerned.
public protocol ClaimedOutcome {
    /// Another process holds the item, or finished it during this run.
    static var elsewhere: Self { get }
    /// True when the item was handled for good (done, or failed with its reason): other processes
    /// skip it. False sets it free (a budget stop, a fatal error).
    var finishesClaim: Bool { get }
    /// A stop of the whole run, which a failure to release the claim must not replace.
    var isFatal: Bool { get }
}

extension WorkClaims {
    /// Runs `body` on an item this run claimed and releases the claim after it; an item another
    /// process holds is left to it. `storeFailure` turns a failed claim write into the run's stop.
    public func run<O: ClaimedOutcome>(_ stage: String, _ item: String, storeFailure: (Error) -> O,
                                       _ body: () async -> O) async -> O {
        do {
            guard try claim(stage, item) else { return .elsewhere }
        } catch {
            return storeFailure(error)
        }
        let outcome = await body()
        do {
            try release(stage, item, finished: outcome.finishesClaim)
        } catch {
            return outcome.isFatal ? outcome : storeFailure(error)
        }
        return outcome
    }
}
