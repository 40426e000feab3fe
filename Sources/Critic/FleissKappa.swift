import Foundation

/// Fleiss' kappa: how much a fixed number of raters agree beyond chance, over subjects each rated
/// by all of them. 1 is full agreement, 0 what chance alone gives, below 0 less than chance.
public enum FleissKappa {
    /// `counts[i][j]` = how many raters put subject i in category j; every row must sum to the same
    /// number of raters (at least 2). Nil when undefined (no subjects, or chance agreement is 1).
    public static func kappa(_ counts: [[Int]]) -> Double? {
        guard let first = counts.first, !first.isEmpty else { return nil }
        let n = first.reduce(0, +)
        guard n >= 2, counts.allSatisfy({ $0.reduce(0, +) == n && $0.count == first.count }) else { return nil }
        let subjects = Double(counts.count), raters = Double(n)
        let p = (0..<first.count).map { j in Double(counts.reduce(0) { $0 + $1[j] }) / (subjects * raters) }
        let agreement = counts.map { row in (Double(row.reduce(0) { $0 + $1 * $1 }) - raters) / (raters * (raters - 1)) }
        let pBar = agreement.reduce(0, +) / subjects
        let pe = p.reduce(0) { $0 + $1 * $1 }
        guard pe < 1 else { return nil }
        return (pBar - pe) / (1 - pe)
    }
}
