import EmoCFG
import Foundation

/// One thing VidEmo's evaluation scores separately: an evaluation file, or (the open-attribute QA
/// file) one attribute of it. Each must have at least one item, or the evaluation divides by zero.
public struct EvaluationTask: Sendable, Equatable {
    /// The evaluation file's name.
    public var file: String
    /// The QA attribute, for the attribute QA file.
    public var attribute: String?
    public var rule: EvaluationFile.Rule

    /// `<file>` or `<file>#<Attribute>`, as reasons and gaps name it.
    public var label: String { attribute.map { "\(file)#\($0)" } ?? file }

    /// Every task, in `EvaluationFile.all` order; the QA file gives one task per attribute.
    public static var all: [EvaluationTask] {
        EvaluationFile.all.flatMap { e -> [EvaluationTask] in
            if case .sampledAttributeQA = e.rule {
                return EvaluationFile.qaAttributeOrder.map { EvaluationTask(file: e.name, attribute: $0, rule: e.rule) }
            }
            return [EvaluationTask(file: e.name, attribute: nil, rule: e.rule)]
        }
    }
}

/// A task the export could not give any item, and why.
public struct EvaluationGap: Sendable, Equatable, Codable {
    /// The evaluation file (for a QA attribute, `QA_test_sampling_all.json#<Attribute>`).
    public var file: String
    public var reason: String

    public init(file: String, reason: String) {
        self.file = file
        self.reason = reason
    }
}

/// Which clips can give items to each evaluation task, and the rule that makes sure each task gets
/// test clips: a clip is eligible for a task when it has an accepted sample of the kind the file
/// takes (`instruct`: that source, family and form; captions: a `caption`-stage sample; attribute
/// QA: a `qa` sample of that attribute). The export reads the samples (it runs after annotate and
/// verify), so eligibility is exactly what could reach the file.
public struct EvaluationCoverage: Sendable {
    public var tasks: [EvaluationTask]
    /// Per task, the eligible clip uids (sorted).
    public var eligible: [[String]]
    /// The sources in the store.
    public var sources: Set<String>
    /// Whether `eligible` was read for every task. When no clip is waiting for a side there is
    /// nothing to cover, and reading every accepted sample (millions at full scale) would cost more
    /// than the rest of the export: `gaps` then reads the eligible clips of an empty task only.
    public var complete = true

    /// Coverage that read nothing: for an export whose clips all have their sides already.
    public static func deferred(sources: Set<String>) -> EvaluationCoverage {
        var c = EvaluationCoverage(rows: [], sources: sources)
        c.complete = false
        return c
    }

    public init(tasks: [EvaluationTask] = EvaluationTask.all, rows: [EvaluationSampleRow], sources: Set<String>) {
        self.tasks = tasks
        self.sources = sources
        var sets = [Set<String>](repeating: [], count: tasks.count)
        var byInstruct: [String: [Int]] = [:], captionTasks: [Int] = [], byAspect: [String: [Int]] = [:]
        for (i, t) in tasks.enumerated() {
            switch t.rule {
            case let .instruct(source, family, form): byInstruct["\(source)\u{0}\(family)\u{0}\(form)", default: []].append(i)
            case .sampledCaptions: captionTasks.append(i)
            case .sampledAttributeQA: if let a = t.attribute { byAspect[a, default: []].append(i) }
            }
        }
        for r in rows {
            switch r.stage {
            case "instruct":
                guard let kind = r.kind else { continue }
                for i in byInstruct["\(r.source)\u{0}\(kind)\u{0}\(r.form)"] ?? [] { sets[i].insert(r.clip) }
            case "caption":
                for i in captionTasks { sets[i].insert(r.clip) }
            case "qa":
                guard let a = r.aspect else { continue }
                for i in byAspect[a] ?? [] { sets[i].insert(r.clip) }
            default: continue
            }
        }
        eligible = sets.map { $0.sorted() }
    }

    public init(store: Store) throws {
        self.init(rows: try store.evaluationSampleRows(), sources: Set(try store.sources().map(\.name)))
    }

    /// Moves clips being assigned now (`pending`, whose provisional sides are in `sides`) to test
    /// until every task with an eligible clip has a test clip, where the pending clips allow it:
    /// per task in order, the eligible identity group with the smallest seeded hash, whole (every
    /// pending clip of the group); for identity sources, whose clips are split one by one, the
    /// single clip with the smallest hash whose identity keeps a clip on train. Clips without a
    /// native split are taken first; a clip of the dataset's own train (or validation) split only
    /// when no other clip could fill the task, and the reason says so. Returns uid → reason.
    func cover(sides: inout [String: String], pending: [StoredClip], assigner: SplitAssigner,
               identitySources: Set<String>) -> [String: String] {
        let pendingByUID = Dictionary(pending.map { ($0.uid, $0) }, uniquingKeysWith: { a, _ in a })
        let pendingByGroup = Dictionary(grouping: pending, by: assigner.identityGroup)
        var moved: [String: String] = [:]
        for (t, task) in tasks.enumerated() {
            let clips = eligible[t]
            guard !clips.isEmpty, !clips.contains(where: { sides[$0] == "test" }) else { continue }
            let candidates = clips.compactMap { pendingByUID[$0] }
            guard !candidates.isEmpty else { continue }
            let free = candidates.filter { $0.record.split == nil }
            let native = free.isEmpty
            let tier = native ? candidates : free
            func reason(_ c: StoredClip) -> String {
                "eval-cover:\(task.label)" + (native
                    ? "; moved from the dataset's own \(c.record.nativeSplit ?? c.record.split ?? "split"): no other clip could give this task a test item"
                    : "")
            }
            func rank(_ c: StoredClip) -> UInt64 { identitySources.contains(c.source) ? assigner.clipRank(c) : assigner.groupRank(c) }
            let first = tier.min { (rank($0), $0.uid) < (rank($1), $1.uid) }!
            if identitySources.contains(first.source) {
                let identityClip = first
                // Split per clip: prefer a clip whose identity keeps another clip on train.
                let source = identityClip.source
                var trainPerIdentity: [String: Int] = [:]
                for (g, members) in pendingByGroup where members.first?.source == source {
                    trainPerIdentity[g] = members.filter { sides[$0.uid] == "train" }.count
                }
                let pick = tier.filter { $0.source == source }.min {
                    let a = (trainPerIdentity[assigner.identityGroup($0)] ?? 0) > 1 ? 0 : 1
                    let b = (trainPerIdentity[assigner.identityGroup($1)] ?? 0) > 1 ? 0 : 1
                    return (a, assigner.clipRank($0), $0.uid) < (b, assigner.clipRank($1), $1.uid)
                }!
                sides[pick.uid] = "test"
                moved[pick.uid] = reason(pick)
                continue
            }
            for c in pendingByGroup[assigner.identityGroup(first)] ?? [] where sides[c.uid] != "test" {
                // The whole group; native test clips are already on test, and in the first tier the
                // clips of a native split stay where their split puts them.
                guard native || c.record.split == nil else { continue }
                sides[c.uid] = "test"
                moved[c.uid] = reason(c)
            }
        }
        return moved
    }

    /// The gaps of an export: every task that ended with no item, with the reason. `lines`: the
    /// evaluation files' line counts by name; `qaItems`: the QA ground truth's items per attribute;
    /// `sides`: every clip's side.
    public func gaps(lines: [String: Int], qaItems: [String: Int], sides: [String: String], duplicates: Int,
                     store: Store? = nil) throws -> [EvaluationGap] {
        var out: [EvaluationGap] = []
        var stageRows: [String: [EvaluationSampleRow]] = [:]
        /// The task's eligible clips: as read, or (deferred coverage) read now for this task alone.
        func eligibleClips(_ t: Int) throws -> [String] {
            guard !complete, let store else { return eligible[t] }
            let rows: [EvaluationSampleRow]
            switch tasks[t].rule {
            case let .instruct(source, _, _): rows = try store.evaluationSampleRows(source: source, stage: "instruct")
            case .sampledCaptions:
                if stageRows["caption"] == nil { stageRows["caption"] = try store.evaluationSampleRows(stage: "caption") }
                rows = stageRows["caption"]!
            case .sampledAttributeQA:
                if stageRows["qa"] == nil { stageRows["qa"] = try store.evaluationSampleRows(stage: "qa") }
                rows = stageRows["qa"]!
            }
            return EvaluationCoverage(tasks: [tasks[t]], rows: rows, sources: sources).eligible[0]
        }
        for (t, task) in tasks.enumerated() {
            let count = task.attribute.map { qaItems[$0] ?? 0 } ?? (lines[task.file] ?? 0)
            guard count == 0 else { continue }
            let clips = try eligibleClips(t)
            let onTest = clips.filter { sides[$0] == "test" }.count
            let what: String
            switch task.rule {
            case let .instruct(source, family, form):
                if !sources.contains(source) {
                    out.append(EvaluationGap(file: task.label, reason: "the dataset \(source) is not in the store (not ingested; sources.yaml must name it \(source))"))
                    continue
                }
                what = "accepted `\(family)` (\(form)) instruct sample of \(source)"
            case .sampledCaptions: what = "accepted caption sample"
            case .sampledAttributeQA: what = "accepted QA pair about \(task.attribute ?? "?")"
            }
            let reason: String
            if clips.isEmpty {
                reason = "no usable clip has an \(what)" + (task.attribute == nil ? "" : " (the qa stage or the committee gave none)")
            } else if onTest == 0 {
                reason = "all \(clips.count) clip(s) with an \(what) are on the train side, decided at an earlier export (sides never move)"
            } else {
                reason = "\(onTest) test clip(s) have an \(what), but no item reached the file"
                    + (duplicates > 0 ? " (\(duplicates) QA item(s) were dropped as duplicates of an earlier item's user content and video)" : "")
            }
            out.append(EvaluationGap(file: task.label, reason: reason))
        }
        return out
    }
}

/// The QA evaluation file's items as the export writes them: per attribute, and the keys VidEmo
/// looks them up by (user content + first video path), so that no two items share one.
struct QATally {
    var items: [String: Int] = [:]
    var duplicates = 0
    private var keys: Set<String> = []

    /// Whether the line's key is new (and notes it); a line that cannot be read is admitted.
    mutating func admit(_ line: [UInt8]) -> Bool {
        guard let json = try? JSONValue.parse(Data(line)),
              let user = json["messages"]?.arrayValue?.first(where: { $0["role"]?.stringValue == "user" })?["content"]?.stringValue,
              let video = json["videos"]?.arrayValue?.first?.stringValue else { return true }
        guard keys.insert(user + video).inserted else {
            duplicates += 1
            return false
        }
        return true
    }
}
