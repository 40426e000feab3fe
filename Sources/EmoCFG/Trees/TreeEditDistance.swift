import Foundation

/// What each edit of a tree costs.
public struct TreeEditCosts: Sendable, Equatable, Codable {
    /// Adding a node (to the first tree, to make the second).
    public var insert: Double
    /// Removing a node; its children move up to its parent.
    public var delete: Double
    /// Changing a node's label (nothing when the labels are equal).
    public var relabel: Double

    public init(insert: Double = 1, delete: Double = 1, relabel: Double = 1) {
        self.insert = insert
        self.delete = delete
        self.relabel = relabel
    }
}

/// The tree edit distance between two affective trees, and VidEmo's reward `exp(-λ·d)`.
///
/// **Ordered, on canonically ordered trees.** Children of a node have no natural order, so the
/// natural measure is the *unordered* edit distance; but that is NP-hard (MAX SNP-hard, Zhang,
/// Statman and Shasha 1992), while the ordered one is polynomial. The trees are therefore put in a
/// canonical order first (`LabelledTree`: siblings sorted by subtree signature, label first), and
/// the ordered distance of Zhang and Shasha (1989) is computed on them. The result does not depend
/// on the order siblings were written in, since both orders give the same canonical tree; it is an
/// upper bound of the unordered distance (every ordered mapping is an unordered one) and equals it
/// whenever matching siblings sort alike, which is the common case here: labels are compared
/// whole, and matching cues have equal labels. Trees of the sizes the `tree` stage writes (at most
/// 12 attributes, 8 expressions, 4 emotions, three levels deep) make this cheap: the cost is
/// O(n₁·n₂·min(depth, leaves)²) with a depth of four.
///
/// `plugins/affective_tree_reward.py` implements the same distance for ms-swift's GRPO trainer; a
/// test runs both on the same trees.
public struct TreeEditDistance: Sendable {
    public var costs: TreeEditCosts
    /// λ of the reward.
    public var lambda: Double

    /// λ = 0.1 by default: VidEmo's public code does not give its value; with unit costs a tree that
    /// misses one cue of a typical 15-node tree still earns 0.90, one that gets nothing right ~0.05.
    public static let defaultLambda = 0.1

    public init(costs: TreeEditCosts = TreeEditCosts(), lambda: Double = TreeEditDistance.defaultLambda) {
        self.costs = costs
        self.lambda = lambda
    }

    /// The reward of a distance: `exp(-λ·d)`, 1 for identical trees.
    public func reward(distance d: Double) -> Double { exp(-lambda * d) }

    public func reward(_ a: LabelledTree, _ b: LabelledTree) -> Double { reward(distance: distance(a, b)) }

    public func distance(_ a: AffectiveTree, _ b: AffectiveTree) -> Double { distance(a.labelled, b.labelled) }

    /// The edit distance from `a` to `b` (symmetric when insert and delete cost the same).
    public func distance(_ a: LabelledTree, _ b: LabelledTree) -> Double {
        let n = a.count, m = b.count
        if n == 0 { return Double(m) * costs.insert }
        if m == 0 { return Double(n) * costs.delete }
        // One allocation for everything: the relabel cost of each pair of nodes, the tree distances,
        // and the forest distances of the current pair of key roots.
        let width = m + 1
        let buffer = UnsafeMutablePointer<Double>.allocate(capacity: 2 * n * m + (n + 1) * width)
        defer { buffer.deallocate() }
        let relabel = buffer, td = buffer + n * m, fd = buffer + 2 * n * m
        for x in 0..<n {
            let hx = a.hashes[x]
            for y in 0..<m {
                relabel[x * m + y] = hx == b.hashes[y] && a.labels[x] == b.labels[y] ? 0 : costs.relabel
            }
        }
        let ins = costs.insert, del = costs.delete
        a.leftmost.withUnsafeBufferPointer { la in
            b.leftmost.withUnsafeBufferPointer { lb in
                for i in a.keyRoots {
                    for j in b.keyRoots {
                        // The forests a[l1...i] and b[l2...j], indexed from 1 (0 is the empty forest).
                        let l1 = la[i], l2 = lb[j]
                        let rows = i - l1 + 1, cols = j - l2 + 1
                        fd[0] = 0
                        for y in 1...cols { fd[y] = fd[y - 1] + ins }
                        for x in 1...rows {
                            let nx = l1 + x - 1
                            let whole1 = la[nx] == l1
                            let row = fd + x * width, up = fd + (x - 1) * width
                            row[0] = up[0] + del
                            let back = fd + (la[nx] - l1) * width - l2
                            let tdRow = td + nx * m, relabelRow = relabel + nx * m
                            for y in 1...cols {
                                let ny = l2 + y - 1
                                let viaDelete = up[y] + del
                                let viaInsert = row[y - 1] + ins
                                var best = viaDelete < viaInsert ? viaDelete : viaInsert
                                if whole1 && lb[ny] == l2 {
                                    let viaMatch = up[y - 1] + relabelRow[ny]
                                    if viaMatch < best { best = viaMatch }
                                    tdRow[ny] = best
                                } else {
                                    let viaTrees = back[lb[ny]] + tdRow[ny]
                                    if viaTrees < best { best = viaTrees }
                                }
                                row[y] = best
                            }
                        }
                    }
                }
            }
        }
        return td[(n - 1) * m + (m - 1)]
    }
}
