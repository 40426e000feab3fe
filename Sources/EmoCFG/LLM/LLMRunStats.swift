import Foundation

/// Counters of one run's model calls, read by the progress display and the closing summary.
public struct LLMRunCounts: Sendable, Equatable, Codable {
    /// HTTP requests sent (every attempt counts).
    public var requests = 0
    /// Answers received and stored.
    public var answered = 0
    /// Answers taken from the store without sending anything.
    public var cacheHits = 0
    public var retries = 0
    /// Calls given up on (fail-fast or attempts exhausted).
    public var failed = 0
    public var tokensIn = 0
    public var tokensOut = 0
    public var cost = 0.0
    /// With `--dry-run`: requests that would have been sent, and their estimated tokens and cost.
    public var wouldSend = 0
    public var estimatedTokensIn = 0
    public var estimatedTokensOut = 0
    public var estimatedCost = 0.0
    /// The same requests' worst-case cost through the batch lane (batch prices).
    public var estimatedBatchCost = 0.0
    /// Batch lane: requests written into jobs this run, jobs submitted, and answers collected
    /// (counted in `answered` and `cost` too) and failed rows.
    public var batchQueued = 0
    /// Requests answered later: queued for the batch lane or carried by a job in flight.
    public var deferred = 0
    public var batchJobsSubmitted = 0
    public var batchAnswered = 0
    public var batchFailed = 0
    /// Requests not sent because the budget would have been exceeded.
    public var stoppedByBudget = 0
    /// Models whose circuit is open now (nothing sent until a probe is answered), and how often
    /// a circuit opened.
    public var paused: [String] = []
    public var circuitOpened = 0
    public init() {}
}

/// Thread-safe holder of the counts.
public actor LLMRunStats {
    public private(set) var counts = LLMRunCounts()
    public init() {}
    public func update(_ change: (inout LLMRunCounts) -> Void) { change(&counts) }
}

extension LLMRunCounts {
    /// The counts of a part of a run: `self` minus an earlier snapshot.
    public func minus(_ o: LLMRunCounts) -> LLMRunCounts {
        var d = LLMRunCounts()
        d.requests = requests - o.requests
        d.answered = answered - o.answered
        d.cacheHits = cacheHits - o.cacheHits
        d.retries = retries - o.retries
        d.failed = failed - o.failed
        d.tokensIn = tokensIn - o.tokensIn
        d.tokensOut = tokensOut - o.tokensOut
        d.cost = cost - o.cost
        d.wouldSend = wouldSend - o.wouldSend
        d.estimatedTokensIn = estimatedTokensIn - o.estimatedTokensIn
        d.estimatedTokensOut = estimatedTokensOut - o.estimatedTokensOut
        d.estimatedCost = estimatedCost - o.estimatedCost
        d.estimatedBatchCost = estimatedBatchCost - o.estimatedBatchCost
        d.batchQueued = batchQueued - o.batchQueued
        d.deferred = deferred - o.deferred
        d.batchJobsSubmitted = batchJobsSubmitted - o.batchJobsSubmitted
        d.batchAnswered = batchAnswered - o.batchAnswered
        d.batchFailed = batchFailed - o.batchFailed
        d.stoppedByBudget = stoppedByBudget - o.stoppedByBudget
        d.paused = paused
        d.circuitOpened = circuitOpened - o.circuitOpened
        return d
    }
}
