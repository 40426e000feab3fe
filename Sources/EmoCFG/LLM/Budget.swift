import Foundation

/// The run's spending limit (`--max-cost`). Each request reserves its worst-case cost before it is
/// sent; a request that would take the run over the limit is not sent, so the run stops cleanly
/// before the budget is exceeded.
public actor Budget {
    public let limit: Double?
    public private(set) var spent = 0.0
    private var reserved = 0.0

    public init(limit: Double?) { self.limit = limit }

    /// Reserves `estimate`; false (and nothing reserved) when it would not fit.
    public func reserve(_ estimate: Double) -> Bool {
        if let limit, spent + reserved + estimate > limit { return false }
        reserved += estimate
        return true
    }

    /// Replaces a reservation with what the call really cost (0 when nothing was spent).
    public func settle(reserved estimate: Double, actual: Double) {
        reserved -= estimate
        spent += actual
    }
}
