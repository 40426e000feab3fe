import Foundation

/// Cohen's kappa: how much two raters agree beyond chance, over subjects each rated by both. 1 is
/// full agreement, 0 what chance alone gives, below 0 less than chance. Here the raters are a person
/// on the review page and the committee, each saying accept or reject.
public enum CohenKappa {
    /// `pairs[i]` = (first rater's category, second rater's category) for subject i. Nil when
    /// undefined (no subjects, or chance agreement is 1: both raters always gave one same category).
    public static func kappa<C: Hashable>(_ pairs: [(C, C)]) -> Double? {
        guard !pairs.isEmpty else { return nil }
        let n = Double(pairs.count)
        let observed = Double(pairs.filter { $0.0 == $0.1 }.count) / n
        var first: [C: Double] = [:], second: [C: Double] = [:]
        for (a, b) in pairs {
            first[a, default: 0] += 1
            second[b, default: 0] += 1
        }
        let chance = first.reduce(0.0) { $0 + ($1.value / n) * ((second[$1.key] ?? 0) / n) }
        guard chance < 1 else { return nil }
        return (observed - chance) / (1 - chance)
    }
}
