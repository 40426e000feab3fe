import EmoCFG
import Foundation

/// The committee's rule: a sample is accepted when at least `quorum` judges pass it, and fails
/// once so many judges have failed it that `quorum` passes can no longer be reached. A judge that
/// did not answer (it failed after its retries) abstains; with too few answers the sample stays
/// pending, so an outage never rejects data.
public struct CommitteeVote: Sendable, Equatable {
    public enum Decision: String, Sendable, Equatable {
        case accept
        case fail
        case pending
    }

    public var judges: Int
    public var quorum: Int

    public init(judges: Int, quorum: Int) {
        self.judges = judges
        self.quorum = quorum
    }

    /// The decision from the verdicts received so far (`true` = pass).
    public func decide(_ verdicts: [Bool]) -> Decision {
        let passes = verdicts.filter { $0 }.count
        let fails = verdicts.count - passes
        if passes >= quorum { return .accept }
        if fails > judges - quorum { return .fail }
        return .pending
    }
}
