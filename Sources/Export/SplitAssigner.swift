import EmoCFG
import Foundation

/// Decides each clip's side once: the dataset's own test split where it defines one, otherwise a
/// seeded hash over the identity group (actor, subject, YouTube id, dialogue), so no person or
/// source video lands on both sides. A side, once recorded, never changes: adding clips or sources
/// later moves nothing.
public struct SplitAssigner: Sendable {
    /// The share of identity groups that go to test where the dataset has no split of its own.
    public var testFraction: Double
    public var seed: String

    public init(testFraction: Double = 0.1, seed: String = "emocfg") {
        self.testFraction = testFraction
        self.seed = seed
    }

    /// The side of a clip not yet assigned, and why. `validationTests`: the clip's dataset has no
    /// test split of its own (AffWild2 withholds its test labels), so its validation split is the
    /// held-out side; otherwise a validation split trains, as the evaluation reads only test files.
    public func side(for clip: StoredClip, validationTests: Bool = false) -> (side: String, reason: String) {
        if let split = clip.record.split {
            let test = split == "test" || (split == "val" && validationTests)
            return (test ? "test" : "train", "native:\(clip.record.nativeSplit ?? split)")
        }
        let group = clip.record.identity ?? "clip:\(clip.record.key)"
        let digest = SHA256Digest.digest(Data("\(seed)|\(clip.source)|\(group)".utf8))
        let x = Double(UInt64(digest[0]) << 24 | UInt64(digest[1]) << 16 | UInt64(digest[2]) << 8 | UInt64(digest[3])) / Double(UInt32.max)
        // Clips without a native split (also the unlabelled extras of a dataset that has one) go by group.
        return (x < testFraction ? "test" : "train", "group:\(group)")
    }

    /// Assigns every usable clip that has no side yet and returns all sides, old and new.
    public func assign(store: Store) throws -> [String: String] {
        var known = try store.clipSplits()
        var new: [(clip: String, side: String, reason: String)] = []
        let withTest = try store.sourcesWithNativeTest()
        for c in try store.clipsWithoutSide() {
            let s = side(for: c, validationTests: !withTest.contains(c.source))
            new.append((c.uid, s.side, s.reason))
            known[c.uid] = s.side
        }
        try store.recordSplits(new)
        return known
    }
}
