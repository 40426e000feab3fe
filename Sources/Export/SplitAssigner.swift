import EmoCFG
import Foundation

/// Decides each clip's side once: the dataset's own test split where it defines one, otherwise a
/// seeded hash over the identity group (actor, subject, YouTube id, dialogue), so no person or
/// source video lands on both sides. Two exceptions (`assignCovering`): the source of identity
/// recognition (MEAD) is split per clip within each identity, and among the clips being assigned,
/// whole identity groups go to test where an evaluation task would otherwise have no test clip
/// (`EvaluationCoverage`). A side, once recorded with its reason, never changes: adding clips or
/// sources later moves nothing.
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
    public func assign(store: Store) throws -> [String: String] { try assignCovering(store: store).sides }

    /// Assigns every usable clip that has no side yet, so that every evaluation task gets test items
    /// where the clips being assigned now allow it (`EvaluationCoverage`), and returns all sides with
    /// what the coverage saw. Identity-recognition sources (MEAD) are split per clip within each
    /// identity; everything else as `side(for:)` says, then whole identity groups are moved to test
    /// where a task would otherwise have no test clip.
    public func assignCovering(store: Store) throws -> SideAssignment {
        var known = try store.clipSplits()
        let withTest = try store.sourcesWithNativeTest()
        let pending = try store.clipsWithoutSide()
        var decided: [String: (side: String, reason: String)] = [:]
        let identitySources = EvaluationFile.identitySources
        var byIdentity: [String: [StoredClip]] = [:]
        for c in pending {
            if identitySources.contains(c.source), c.record.split == nil {
                byIdentity[identityGroup(c), default: []].append(c)
            } else {
                decided[c.uid] = side(for: c, validationTests: !withTest.contains(c.source))
            }
        }
        // Identity sources: per clip, stratified, so that every identity with two clips or more
        // (counting clips that already have a side) has clips on both sides.
        if !byIdentity.isEmpty {
            var members: [String: Int] = [:], knownTest: [String: Int] = [:], knownTrain: [String: Int] = [:]
            for source in identitySources {
                for c in try store.clips(source: source) where c.status == .ok {
                    let g = identityGroup(c)
                    guard byIdentity[g] != nil else { continue }
                    members[g, default: 0] += 1
                    if let side = known[c.uid] {
                        if side == "test" { knownTest[g, default: 0] += 1 } else { knownTrain[g, default: 0] += 1 }
                    }
                }
            }
            for (g, clips) in byIdentity {
                let total = max(members[g] ?? clips.count, clips.count)
                let ordered = clips.sorted { (clipRank($0), $0.uid) < (clipRank($1), $1.uid) }
                var tests = 0
                if total >= 2 {
                    let target = min(total - 1, max(1, Int((Double(total) * testFraction).rounded())))
                    tests = max(0, target - (knownTest[g] ?? 0))
                    // Keep one clip of the identity for training.
                    if (knownTrain[g] ?? 0) == 0 { tests = min(tests, ordered.count - 1) }
                    tests = min(tests, ordered.count)
                }
                let name = clips[0].record.identity ?? "clip:\(clips[0].record.key)"
                for (i, c) in ordered.enumerated() {
                    decided[c.uid] = (i < tests ? "test" : "train", "identity-clips:\(name)")
                }
            }
        }
        // Every evaluation task gets a test clip if the clips assigned now can give it one.
        let coverage = pending.isEmpty
            ? EvaluationCoverage.deferred(sources: Set(try store.sources().map(\.name)))
            : try EvaluationCoverage(store: store)
        var sides = known
        for (uid, d) in decided { sides[uid] = d.side }
        let moves = coverage.cover(sides: &sides, pending: pending, assigner: self, identitySources: identitySources)
        for (uid, reason) in moves { decided[uid] = ("test", reason) }
        let new = pending.compactMap { c in decided[c.uid].map { (clip: c.uid, side: $0.side, reason: $0.reason) } }
        try store.recordSplits(new)
        for n in new { known[n.clip] = n.side }
        return SideAssignment(sides: known, coverage: coverage, moved: moves)
    }

    /// The identity group a clip's side follows (source-qualified).
    func identityGroup(_ c: StoredClip) -> String { "\(c.source)|\(c.record.identity ?? "clip:\(c.record.key)")" }

    /// The group's rank: the same seeded hash `side(for:)` compares with the test fraction.
    func groupRank(_ c: StoredClip) -> UInt64 {
        rank("\(seed)|\(c.source)|\(c.record.identity ?? "clip:\(c.record.key)")")
    }

    /// A clip's own rank (identity sources split per clip).
    func clipRank(_ c: StoredClip) -> UInt64 { rank("\(seed)|\(c.uid)") }

    func rank(_ text: String) -> UInt64 {
        let d = SHA256Digest.digest(Data(text.utf8))
        return (0..<8).reduce(0) { $0 << 8 | UInt64(d[$1]) }
    }
}

/// What `SplitAssigner.assignCovering` decided: every clip's side, the evaluation coverage it
/// checked, and the clips it moved to test for a task (with the reason recorded in `clip_splits`).
public struct SideAssignment: Sendable {
    public var sides: [String: String]
    public var coverage: EvaluationCoverage
    public var moved: [String: String]
}
