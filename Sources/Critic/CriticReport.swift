import EmoCFG
import Foundation

/// What the committee decided, for `emocfg verify --report`: outcomes per source and task, each
/// judge's pass rate, the committee's agreement (Fleiss' kappa) per task, what judges found
/// wrong most often, and how far apart affective trees are (`TreeDistances`).
public struct CriticReport: Encodable, Sendable {
    public struct Outcomes: Encodable, Sendable, Equatable {
        public var source: String
        public var task: String
        /// Original samples (round 0) that were voted on or await a vote.
        public var samples = 0
        public var accepted = 0
        /// Originals that were rewritten at least once (whatever became of the rewrite).
        public var rewritten = 0
        public var rejected = 0
        public var pending = 0
    }

    public struct JudgeStats: Encodable, Sendable, Equatable {
        public var verdicts = 0
        public var passes = 0
        /// Samples the judge abstained on (its call failed) and has not voted on since.
        public var abstentions = 0
        public var passRate: Double { verdicts == 0 ? 0 : Double(passes) / Double(verdicts) }
        enum CodingKeys: String, CodingKey { case verdicts, passes, abstentions, passRate = "pass_rate" }
        public func encode(to encoder: Encoder) throws {
            var c = encoder.container(keyedBy: CodingKeys.self)
            try c.encode(verdicts, forKey: .verdicts)
            try c.encode(passes, forKey: .passes)
            try c.encode(abstentions, forKey: .abstentions)
            try c.encode(passRate, forKey: .passRate)
        }
    }

    /// Why judges abstained: the reasons standing in the store, most frequent first.
    public struct AbstentionReason: Encodable, Sendable, Equatable {
        public var judge: String
        public var reason: String
        public var count: Int
    }

    /// How often people on the review page agreed with the committee on one task: over the samples
    /// a person decided that the committee had accepted or rejected by a vote.
    public struct HumanAgreement: Encodable, Sendable, Equatable {
        /// Samples with a standing human decision and a committee decision.
        public var reviewed = 0
        /// Of them, those the person decided as the committee did (an edit counts as a rejection of the original).
        public var agreed = 0
        /// Cohen's kappa between the two; nil where undefined.
        public var kappa: Double?
    }

    public struct Aspect: Encodable, Sendable, Equatable {
        public var aspect: String
        public var count: Int
    }

    public var outcomes: [Outcomes]
    public var judges: [String: JudgeStats]
    /// Fleiss' kappa per task over the samples every judge voted on; nil where undefined.
    public var kappa: [String: Double?]
    public var wrongAspects: [Aspect]
    public var abstentions: [AbstentionReason] = []
    /// Per task with affective trees: median tree edit distances of rewrites and across models.
    public var trees: [TreeDistances] = []

    /// Agreement between human decisions and the committee's, per task (empty until someone reviews).
    public var human: [String: HumanAgreement] = [:]

    enum CodingKeys: String, CodingKey {
        case outcomes, judges, kappa, abstentions, trees, human
        case wrongAspects = "wrong_aspects"
    }

    public static func make(store: Store, judges: [String]) throws -> CriticReport {
        // Corrections made on the review page are no committee's work; a sample a person decided
        // counts here with the committee's own status.
        let humanMade = try store.humanRevisionUIDs()
        let committee = try store.committeeStatuses()
        let samples = try store.samples().filter { !humanMade.contains($0.uid) }
        let verdicts = try store.verdicts()
        let voted = Set(verdicts.map(\.sampleUID))
        let clips = Dictionary(try store.clips().map { ($0.uid, $0.source) }, uniquingKeysWith: { a, _ in a })
        let children = Dictionary(grouping: samples.filter { $0.parentUID != nil && $0.round > 0 }, by: { $0.parentUID! })
        let byUID = Dictionary(samples.map { ($0.uid, $0) }, uniquingKeysWith: { a, _ in a })

        var groups: [String: Outcomes] = [:]
        for s in samples where s.round == 0 && (s.stage != "instruct" || voted.contains(s.uid)) {
            let source = clips[s.clipUID] ?? "?"
            var g = groups["\(source)|\(s.task.rawValue)"] ?? Outcomes(source: source, task: s.task.rawValue)
            g.samples += 1
            var last = s
            if children[s.uid] != nil { g.rewritten += 1 }
            while let child = children[last.uid]?.first { last = byUID[child.uid] ?? child }
            switch committee[last.uid] ?? last.status {
            case .accepted: g.accepted += 1
            case .rejected: g.rejected += 1
            case .pending: g.pending += 1
            }
            groups["\(source)|\(s.task.rawValue)"] = g
        }

        var judgeStats: [String: JudgeStats] = Dictionary(judges.map { ($0, JudgeStats()) }, uniquingKeysWith: { a, _ in a })
        var aspects: [String: Int] = [:]
        for v in verdicts {
            judgeStats[v.judge, default: JudgeStats()].verdicts += 1
            if v.pass { judgeStats[v.judge, default: JudgeStats()].passes += 1 } else {
                for a in v.wrongAspects where !a.isEmpty { aspects[a.lowercased(), default: 0] += 1 }
            }
        }

        var reasons: [String: AbstentionReason] = [:]
        for a in try store.abstentions() {
            judgeStats[a.judge, default: JudgeStats()].abstentions += 1
            // The reason without the attempt count, so the same failure groups together.
            let reason = String(a.reason.prefix(300))
            reasons["\(a.judge)|\(reason)", default: AbstentionReason(judge: a.judge, reason: reason, count: 0)].count += 1
        }

        var tables: [String: [[Int]]] = [:]
        for (uid, vs) in Dictionary(grouping: verdicts, by: \.sampleUID) where Set(vs.map(\.judge)).isSuperset(of: judges) {
            guard let task = byUID[uid]?.task.rawValue else { continue }
            let passes = vs.filter(\.pass).count
            tables[task, default: []].append([passes, vs.count - passes])
        }
        var agreement: [String: [(Bool, Bool)]] = [:]
        for h in try store.standingHumanVerdicts().values where voted.contains(h.sampleUID) && h.committee != .pending {
            guard let task = byUID[h.sampleUID]?.task.rawValue else { continue }
            agreement[task, default: []].append((h.pass, h.committee == .accepted))
        }
        var report = CriticReport(
            outcomes: groups.values.sorted { ($0.source, $0.task) < ($1.source, $1.task) }, judges: judgeStats,
            kappa: tables.mapValues { FleissKappa.kappa($0) },
            wrongAspects: aspects.map { Aspect(aspect: $0.key, count: $0.value) }.sorted { ($1.count, $0.aspect) < ($0.count, $1.aspect) }
                .prefix(10).map { $0 },
            abstentions: reasons.values.sorted { ($1.count, $0.judge, $0.reason) < ($0.count, $1.judge, $1.reason) })
        report.trees = TreeDistances.make(samples: samples)
        report.human = agreement.mapValues { pairs in
            HumanAgreement(reviewed: pairs.count, agreed: pairs.filter { $0.0 == $0.1 }.count, kappa: CohenKappa.kappa(pairs))
        }
        return report
    }

    /// Judges that are one model under different names (as configured, or as their servers say):
    /// a committee of one model agrees with itself, whatever its kappa says.
    public static func sameModelWarnings(store: Store, judges: [ModelConfig]) -> [String] {
        let served = (try? store.servedModels(stage: "verify")) ?? [:]
        var byModel: [String: [String]] = [:]
        for j in judges {
            for m in Set([j.model]).union(served[j.model] ?? []) { byModel[m, default: []].append(j.alias) }
        }
        return byModel.filter { Set($0.value).count > 1 }.sorted { $0.key < $1.key }.map {
            "judges \(Set($0.value).sorted().joined(separator: ", ")) are the same model (\($0.key)): the committee is meant to be three "
                + "different models; point critic.judges at models of different families"
        }
    }

}
