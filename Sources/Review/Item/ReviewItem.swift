import EmoCFG
import Foundation

/// Everything the item page shows about one sample: the sample, its clip, the chain of committee
/// rewrites that led to it, every judge's verdict on each of them, and what people decided.
public struct ReviewItem: Sendable {
    /// One sample of the chain, with the committee's verdicts on it.
    public struct Step: Sendable {
        public var sample: ReviewedSample
        public var verdicts: [Verdict]
    }

    public var sample: ReviewedSample
    public var clip: StoredClip
    /// The rewrites that led to this sample, the original first and this sample last.
    public var chain: [Step]
    /// The sample a rationale explains (another stage's sample), when this is one.
    public var about: ReviewedSample?
    /// People's decisions on this sample, oldest first, and the corrections they made.
    public var decisions: [HumanVerdict]
    public var corrections: [ReviewedSample]

    /// The standing human decision.
    public var standing: HumanVerdict? { decisions.last }
    /// The correction in force (the latest edit's), if the standing decision is an edit.
    public var correction: ReviewedSample? {
        guard let uid = standing?.revisionUID else { return nil }
        return corrections.first { $0.sample.uid == uid }
    }

    /// Loads the item `uid`; nil when the store has no such sample.
    public static func load(store: Store, uid: String) throws -> ReviewItem? {
        guard let sample = try store.reviewSample(uid: uid), let clip = try store.clip(uid: sample.sample.clipUID) else { return nil }
        var chain = [Step(sample: sample, verdicts: try store.verdicts(sample: uid))]
        var current = sample
        var about: ReviewedSample?
        var seen: Set<String> = [uid]
        while let parentUID = current.sample.parentUID, !seen.contains(parentUID), let parent = try store.reviewSample(uid: parentUID) {
            seen.insert(parentUID)
            // A parent of another stage is what this sample is about (a rationale's caption), not an earlier draft.
            guard parent.sample.stage == current.sample.stage, current.sample.round > 0 else {
                about = parent
                break
            }
            chain.insert(Step(sample: parent, verdicts: try store.verdicts(sample: parentUID)), at: 0)
            current = parent
        }
        let corrections = try store.childSamples(of: uid).filter { $0.origin == "human" }
        return ReviewItem(sample: sample, clip: clip, chain: chain, about: about, decisions: try store.humanVerdicts(sample: uid),
                          corrections: corrections)
    }
}
