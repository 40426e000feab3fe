import Foundation

/// A rooted tree of string labels in canonical order, laid out for `TreeEditDistance`: nodes in
/// post-order, each with its label, a 64-bit hash of the label (compared first), and its leftmost
/// leaf; and the key roots of Zhang and Shasha's algorithm.
///
/// Children have no natural order (the three lists of an affective tree are written in whatever
/// order a model chose), so they are sorted before the layout: each node's children by their
/// subtree signature, the label followed by the sorted signatures of the children, compared as
/// UTF-8 bytes (code points, as Python compares strings). Two trees that differ only in sibling
/// order therefore get the same layout.
public struct LabelledTree: Sendable, Equatable {
    /// Labels in post-order (the root last).
    public let labels: [String]
    let hashes: [UInt64]
    /// The post-order index of each node's leftmost leaf.
    let leftmost: [Int]
    /// Nodes that are the root or have a left sibling, ascending.
    let keyRoots: [Int]

    public var count: Int { labels.count }

    /// Builds a tree node by node; `build()` sorts and lays it out.
    public struct Builder {
        var labels: [String]
        var children: [[Int]]

        public init(root: String) {
            labels = [root]
            children = [[]]
        }

        /// Adds a node under `parent` (0 is the root); returns its number.
        @discardableResult
        public mutating func add(_ label: String, under parent: Int) -> Int {
            labels.append(label)
            children.append([])
            children[parent].append(labels.count - 1)
            return labels.count - 1
        }

        public func build() -> LabelledTree {
            // Signatures bottom-up (children are always numbered after their parent).
            var signature = [String](repeating: "", count: labels.count)
            var sorted = children
            for n in stride(from: labels.count - 1, through: 0, by: -1) {
                sorted[n].sort { signature[$0].utf8.lexicographicallyPrecedes(signature[$1].utf8) }
                signature[n] = LabelledTree.escape(labels[n]) + "(" + sorted[n].map { signature[$0] }.joined(separator: ",") + ")"
            }
            var post: [String] = [], leftmost: [Int] = []
            post.reserveCapacity(labels.count)
            func visit(_ n: Int) -> Int {
                var first: Int?
                for c in sorted[n] {
                    let l = visit(c)
                    if first == nil { first = l }
                }
                post.append(labels[n])
                leftmost.append(first ?? post.count - 1)
                return leftmost[post.count - 1]
            }
            _ = visit(0)
            return LabelledTree(labels: post, leftmost: leftmost)
        }
    }

    init(labels: [String], leftmost: [Int]) {
        self.labels = labels
        self.leftmost = leftmost
        hashes = labels.map(Self.hash)
        // A key root: the highest node with its leftmost leaf.
        var highest: [Int: Int] = [:]
        for (i, l) in leftmost.enumerated() { highest[l] = i }
        keyRoots = highest.values.sorted()
    }

    /// Labels may hold the signature's own punctuation: escaped so a signature names one tree.
    static func escape(_ s: String) -> String {
        guard s.contains(where: { $0 == "(" || $0 == ")" || $0 == "," || $0 == "\\" }) else { return s }
        var out = ""
        for c in s {
            if c == "(" || c == ")" || c == "," || c == "\\" { out.append("\\") }
            out.append(c)
        }
        return out
    }

    /// FNV-1a over the label's UTF-8: equal labels have equal hashes; unequal ones are told apart by
    /// comparing the strings when their hashes meet.
    static func hash(_ s: String) -> UInt64 {
        var h: UInt64 = 0xCBF2_9CE4_8422_2325
        for b in s.utf8 {
            h ^= UInt64(b)
            h = h &* 0x0000_0100_0000_01B3
        }
        return h
    }
}
