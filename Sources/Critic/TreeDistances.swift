import EmoCFG
import Foundation

/// How far apart the affective trees of one task are, for `emocfg verify --report`: the median tree
/// edit distance between a rewrite and the sample it rewrote (how much the committee's feedback
/// changed the tree), and between trees written for the same clip by different models (how much
/// the models agree). Samples whose answer holds no valid `<tree>` block are counted, not compared.
public struct TreeDistances: Encodable, Sendable, Equatable {
    public var task: String
    /// Rewrite–parent pairs with a tree on both sides, and their median distance.
    public var rewritePairs = 0
    public var rewriteMedian: Double?
    /// Pairs of trees of one clip by different models, and their median distance.
    public var modelPairs = 0
    public var modelMedian: Double?
    /// Samples of the task whose answer holds no valid tree.
    public var unparsable = 0

    enum CodingKeys: String, CodingKey {
        case task, unparsable
        case rewritePairs = "rewrite_pairs", rewriteMedian = "rewrite_median"
        case modelPairs = "model_pairs", modelMedian = "model_median"
    }

    /// Per task with any tree-holding sample; `distance` sets the costs.
    public static func make(samples: [NewSample], distance: TreeEditDistance = TreeEditDistance()) -> [TreeDistances] {
        var trees: [String: LabelledTree] = [:]
        var out: [String: TreeDistances] = [:]
        for s in samples where s.task == .tree || (s.content["answer"]?.stringValue?.contains("<tree>") ?? false) {
            if let t = try? AffectiveTree.parse(description: s.content["answer"]?.stringValue ?? "") {
                trees[s.uid] = t.labelled
            } else {
                out[s.task.rawValue, default: TreeDistances(task: s.task.rawValue)].unparsable += 1
            }
        }
        var rewrite: [String: [Double]] = [:], models: [String: [Double]] = [:]
        let byUID = Dictionary(samples.map { ($0.uid, $0) }, uniquingKeysWith: { a, _ in a })
        for s in samples where s.round > 0 {
            guard let parent = s.parentUID, let a = trees[parent], let b = trees[s.uid], byUID[parent]?.task == s.task else { continue }
            rewrite[s.task.rawValue, default: []].append(distance.distance(a, b))
        }
        let holding = samples.filter { trees[$0.uid] != nil && $0.model != nil }
        for (_, group) in Dictionary(grouping: holding, by: { "\($0.task.rawValue)|\($0.clipUID)" }) where group.count > 1 {
            let sorted = group.sorted { $0.uid < $1.uid }
            for i in sorted.indices {
                for j in sorted.indices where j > i && sorted[i].model != sorted[j].model {
                    models[sorted[i].task.rawValue, default: []].append(distance.distance(trees[sorted[i].uid]!, trees[sorted[j].uid]!))
                }
            }
        }
        for task in Set(trees.keys.compactMap { byUID[$0]?.task.rawValue }) { out[task, default: TreeDistances(task: task)].task = task }
        for (task, d) in rewrite { out[task]!.rewritePairs = d.count; out[task]!.rewriteMedian = median(d) }
        for (task, d) in models { out[task]!.modelPairs = d.count; out[task]!.modelMedian = median(d) }
        return out.values.sorted { $0.task < $1.task }
    }

    static func median(_ values: [Double]) -> Double? {
        guard !values.isEmpty else { return nil }
        let s = values.sorted()
        return s.count % 2 == 1 ? s[s.count / 2] : (s[s.count / 2 - 1] + s[s.count / 2]) / 2
    }
}
