import EmoCFG
import Foundation

/// What one stage did in one run: the compact counters every command ends with.
public struct StageSummary: Codable, Sendable, Equatable {
    public var stage: String
    /// Items that needed work at the start of the run.
    public var itemsIn = 0
    /// Items finished (their samples stored).
    public var done = 0
    /// Items given up on, each recorded with its reason.
    public var failed = 0
    /// Items not started: already done before the run, or left by `--limit`.
    public var skipped = 0
    /// Samples written.
    public var samples = 0
    /// Answers that passed their schema but a content gate kept out (recorded in `gated_content`).
    public var gated = 0
    public var llm = LLMRunCounts()
    public var seconds = 0.0
    /// Items another process sharing the store held or finished (counted in `skipped` too).
    public var elsewhere = 0
    /// Items waiting for the batch lane: a request of theirs is in a job submitted now or earlier
    /// (counted in `skipped` too; a later run or `run --batch` finishes them).
    public var waiting = 0
    /// The budget (`--max-cost`) stopped the stage before all its items were done.
    public var stoppedByBudget = false
    /// Why the run stopped early (budget), what a dry run would do, where failures are listed.
    public var note: String?

    public init(stage: String) { self.stage = stage }
}

/// Progress of a stage, for the command line to draw.
public enum AnnotateEvent: Sendable {
    case started(stage: String, items: Int)
    case progress(stage: String, done: Int, failed: Int, total: Int, llm: LLMRunCounts, elapsed: Double)
}
