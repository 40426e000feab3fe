import EmoCFG
import Foundation

/// Which samples the review page lists (`--queue`), by the committee's view of them.
public enum QueueKind: String, Sendable, CaseIterable {
    /// Samples the judges split on (some passed, some failed).
    case disputed
    /// Samples the committee rejected (after its rewrites).
    case rejected
    /// Samples the committee has not decided yet.
    case pending
    /// Samples the committee accepted (or that were accepted without a vote, as label-derived ones are).
    case accepted
    case all
}

/// Where an item stands in the queue: the most useful items to look at come first.
public enum QueueGroup: Int, Sendable, Comparable, CaseIterable {
    /// The judges split: one person's look settles what the committee could not agree on.
    case split = 0
    /// Rejected by every judge that voted, after the rewrites.
    case rejected = 1
    /// Not decided by the committee yet.
    case pending = 2
    /// Accepted unanimously or without a vote.
    case accepted = 3

    public static func < (a: QueueGroup, b: QueueGroup) -> Bool { a.rawValue < b.rawValue }

    public var label: String {
        switch self {
        case .split: return "judges split"
        case .rejected: return "rejected"
        case .pending: return "pending"
        case .accepted: return "accepted"
        }
    }
}

/// The review page's filters: the command line's, narrowed further by the page's own.
public struct ReviewFilter: Sendable, Equatable {
    /// Clips of these sources only (empty: all).
    public var sources: [String] = []
    /// Samples of these tasks or stages only (empty: all).
    public var tasks: [String] = []
    public var queue: QueueKind = .all
    /// Samples this judge failed.
    public var judge: String?
    /// Reviewed by a person (true), not yet (false), either (nil).
    public var reviewed: Bool?

    public init(sources: [String] = [], tasks: [String] = [], queue: QueueKind = .all, judge: String? = nil, reviewed: Bool? = nil) {
        self.sources = sources
        self.tasks = tasks
        self.queue = queue
        self.judge = judge
        self.reviewed = reviewed
    }

    func admits(_ c: ReviewCandidate, group: QueueGroup) -> Bool {
        if !sources.isEmpty && !sources.contains(c.source) { return false }
        if !tasks.isEmpty && !tasks.contains(c.task) && !tasks.contains(c.stage) { return false }
        if let judge, !c.failedBy.contains(judge) { return false }
        if let reviewed, reviewed != (c.human != nil) { return false }
        switch queue {
        case .all: return true
        case .disputed: return group == .split
        case .rejected: return c.committee == .rejected
        case .pending: return c.committee == .pending
        case .accepted: return c.committee == .accepted
        }
    }
}

/// The ordered list of samples to review, with the progress made on it.
///
/// Order: samples the judges split on, then the ones they rejected (with their rewrites shown on
/// the item), then pending, then accepted ones; within a group by sample uid, which keeps a clip's
/// samples of one stage together. The order uses the committee's decisions only, so an item does
/// not move while people decide on it.
public struct ReviewQueue: Sendable {
    public struct Item: Sendable, Equatable {
        public var candidate: ReviewCandidate
        public var group: QueueGroup
    }

    public var items: [Item]
    /// Items with a standing human decision.
    public var reviewed: Int { items.filter { $0.candidate.human != nil }.count }
    public var total: Int { items.count }

    /// What the filters can choose from: the sources, tasks and judges of all candidates.
    public var sources: [String] = []
    public var tasks: [String] = []
    public var judges: [String] = []

    public static func group(of c: ReviewCandidate) -> QueueGroup {
        if c.passes > 0 && c.passes < c.votes { return .split }
        switch c.committee {
        case .rejected: return .rejected
        case .pending: return .pending
        case .accepted: return .accepted
        }
    }

    /// The queue of `store` under `filter`.
    public static func make(store: Store, filter: ReviewFilter) throws -> ReviewQueue {
        let all = try store.reviewCandidates()
        var items: [Item] = []
        for c in all {
            let g = group(of: c)
            if filter.admits(c, group: g) { items.append(Item(candidate: c, group: g)) }
        }
        // Stable: uid order within a group.
        items = items.enumerated().sorted { ($0.element.group, $0.offset) < ($1.element.group, $1.offset) }.map(\.element)
        var q = ReviewQueue(items: items)
        q.sources = Set(all.map(\.source)).sorted()
        q.tasks = Set(all.map(\.task)).sorted()
        q.judges = Set(all.flatMap(\.failedBy)).sorted()
        return q
    }

    /// The position of `uid` in the queue.
    public func index(of uid: String) -> Int? { items.firstIndex { $0.candidate.uid == uid } }

    /// The item after `uid` (the first one when `uid` is not in the queue), nil at the end.
    public func next(after uid: String) -> Item? {
        guard let i = index(of: uid) else { return items.first }
        return i + 1 < items.count ? items[i + 1] : nil
    }

    /// The item before `uid`, nil at the start.
    public func previous(before uid: String) -> Item? {
        guard let i = index(of: uid), i > 0 else { return nil }
        return items[i - 1]
    }

    /// The next item after `uid` that no person has decided on yet, wrapping around; nil when every item is reviewed.
    public func nextUnreviewed(after uid: String) -> Item? {
        let start = (index(of: uid) ?? -1) + 1
        let order = items[min(start, items.count)...] + items[..<min(start, items.count)]
        return order.first { $0.candidate.human == nil && $0.candidate.uid != uid }
    }
}
