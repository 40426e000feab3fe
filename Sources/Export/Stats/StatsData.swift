import EmoCFG
import Foundation

/// What the store holds, summarised for the statistics report (`emocfg stats`) and the dataset card
/// of an export: usable clips per source with their durations, face sizes, views, labels and sides,
/// samples by task, form and committee outcome, the judges' pass rates and agreement, and the words
/// the captions use most.
///
/// Gathered with counters only, in one pass over the clips, one pass per stage over its samples and
/// one over the verdicts: a store of 200k clips and 2M samples is summarised in about the time it
/// takes to read it, and only one stage's samples are in memory at a time.
public struct StatsData: Codable, Sendable, Equatable {
    /// Counts over fixed bins: bin `i` holds the values in `[lowerBounds[i], lowerBounds[i + 1])`, the
    /// last bin everything from its lower bound up. The bins are the same for every source, so
    /// sources can be compared side by side.
    public struct Histogram: Codable, Sendable, Equatable {
        public var lowerBounds: [Double]
        public var counts: [Int]
        /// Clips without the value (not probed, no face box).
        public var unknown = 0

        public init(lowerBounds: [Double]) {
            self.lowerBounds = lowerBounds
            counts = Array(repeating: 0, count: lowerBounds.count)
        }

        /// Clips with the value.
        public var total: Int { counts.reduce(0, +) }

        mutating func add(_ value: Double?) {
            guard let value, value.isFinite else {
                unknown += 1
                return
            }
            // Values below the first bound (none are expected) go in the first bin.
            var i = lowerBounds.count - 1
            while i > 0 && value < lowerBounds[i] { i -= 1 }
            counts[i] += 1
        }
    }

    /// Samples by where they stand with the committee; every sample is in exactly one of the four.
    public struct Outcomes: Codable, Sendable, Equatable {
        public var accepted = 0
        /// Failed by the committee and rewritten: a later-round sample names it as its parent (the
        /// rewrite is counted on its own).
        public var rewritten = 0
        /// Failed for good, after the last round.
        public var rejected = 0
        /// Not decided yet.
        public var pending = 0
        public init() {}
        public var total: Int { accepted + rewritten + rejected + pending }

        /// Counts a sample: rewritten when a rewrite names it (its status is then `rejected`), else by status.
        mutating func add(_ status: SampleStatus, rewritten wasRewritten: Bool) {
            if wasRewritten {
                rewritten += 1
                return
            }
            switch status {
            case .accepted: accepted += 1
            case .rejected: rejected += 1
            case .pending: pending += 1
            }
        }
    }

    /// Usable clips by how much of the person they show (from the face-area ratio).
    public struct Views: Codable, Sendable, Equatable {
        public var head = 0
        public var half = 0
        public var full = 0
        /// No face box, so no view.
        public var unknown = 0
        public init() {}
    }

    /// A name and how often it occurs (a label, a word).
    public struct Count: Codable, Sendable, Equatable {
        public var name: String
        public var count: Int
        public init(name: String, count: Int) {
            self.name = name
            self.count = count
        }
    }

    public struct Source: Codable, Sendable, Equatable {
        public var name: String
        /// As `sources.yaml` gives it; nil when it names none.
        public var licence: String?
        /// Usable clips (status `ok`): every other clip figure describes these.
        public var clips = 0
        /// Clips recorded but not usable (missing, unreadable, failed, gone).
        public var unusableClips = 0
        /// Total duration of the usable clips that were probed.
        public var seconds = 0.0
        /// Usable clips with a recorded side (decided by the first export).
        public var train = 0
        public var test = 0
        public var duration = Histogram(lowerBounds: StatsData.durationBins)
        public var faceRatio = Histogram(lowerBounds: StatsData.faceRatioBins)
        public var views = Views()
        /// Primary labels (see `primaryLabel`), most frequent first.
        public var labels: [Count] = []
        /// The samples of the source's clips, whatever the clip's status.
        public var samples = Outcomes()

        public init(name: String, licence: String?) {
            self.name = name
            self.licence = licence
        }
    }

    public struct TaskForm: Codable, Sendable, Equatable {
        public var task: String
        public var form: String
        public var samples = 0
        public var accepted = 0
    }

    public struct Stage: Codable, Sendable, Equatable {
        public var name: String
        public var outcomes = Outcomes()
    }

    public struct Judge: Codable, Sendable, Equatable {
        public var judge: String
        public var verdicts = 0
        public var passes = 0
        public var passRate = 0.0
    }

    /// The committee's agreement beyond chance on pass/fail.
    public struct Agreement: Codable, Sendable, Equatable {
        /// Fleiss' kappa; nil when undefined (no sample voted on by every judge, or all votes alike).
        public var kappa: Double?
        /// The number of judges per sample the kappa is over: the most common number of verdicts on
        /// a sample, so that a judge added or renamed midway does not leave the kappa undefined.
        public var raters = 0
        /// Samples with exactly `raters` verdicts.
        public var subjects = 0

        enum CodingKeys: String, CodingKey { case kappa, raters, subjects }

        /// An undefined kappa is written as `null`, not left out, so readers of `stats.json` see it is undefined.
        public func encode(to encoder: Encoder) throws {
            var c = encoder.container(keyedBy: CodingKeys.self)
            try c.encode(kappa, forKey: .kappa)
            try c.encode(raters, forKey: .raters)
            try c.encode(subjects, forKey: .subjects)
        }
    }

    /// Duration bins in seconds: the short clips of acted datasets and the long ones of in-the-wild
    /// datasets each get several bins.
    public static let durationBins: [Double] = [0, 1, 2, 3, 5, 10, 20, 60]
    /// Face-area ratio bins; 0.02 and 0.10 are the default half-body and head thresholds.
    public static let faceRatioBins: [Double] = [0, 0.01, 0.02, 0.05, 0.10, 0.20, 0.40]
    /// How many caption words `terms` keeps.
    public static let termCount = 30
    /// The annotate stages in pipeline order; other stages found in the store follow by name.
    static let stageOrder = ["instruct", "caption", "qa", "rationale"]

    /// Every source the store records, by name.
    public var sources: [Source] = []
    /// Samples per task and form, by task then form.
    public var tasks: [TaskForm] = []
    /// Committee outcomes per stage, in pipeline order.
    public var stages: [Stage] = []
    /// Every judge that has voted, by name.
    public var judges: [Judge] = []
    public var agreement = Agreement()
    /// The most frequent words of caption-stage answers (see `TermCounter`), most frequent first.
    public var terms: [Count] = []

    public init() {}

    /// Reads the store's clips, splits, samples and verdicts.
    public static func gather(from store: Store) throws -> StatsData {
        var data = StatsData()
        var index: [String: Int] = [:]
        for row in try store.sources() {
            index[row.name] = data.sources.count
            data.sources.append(Source(name: row.name, licence: row.licence))
        }
        // A clip's source is always recorded (foreign key); the fallback keeps a hand-edited store readable.
        func slot(_ name: String) -> Int {
            if let i = index[name] { return i }
            index[name] = data.sources.count
            data.sources.append(Source(name: name, licence: nil))
            return data.sources.count - 1
        }

        let sides = try store.clipSplits()
        var clipSource: [String: Int] = [:]
        var labels: [Int: [String: Int]] = [:]
        for clip in try store.clips() {
            let i = slot(clip.source)
            clipSource[clip.uid] = i
            guard clip.status == .ok else {
                data.sources[i].unusableClips += 1
                continue
            }
            data.sources[i].clips += 1
            data.sources[i].seconds += clip.probe?.duration ?? 0
            data.sources[i].duration.add(clip.probe?.duration)
            data.sources[i].faceRatio.add(clip.faceRatio)
            switch clip.view {
            case .head: data.sources[i].views.head += 1
            case .half: data.sources[i].views.half += 1
            case .full: data.sources[i].views.full += 1
            case nil: data.sources[i].views.unknown += 1
            }
            labels[i, default: [:]][primaryLabel(clip.record.labels), default: 0] += 1
            switch sides[clip.uid] {
            case "train": data.sources[i].train += 1
            case "test": data.sources[i].test += 1
            default: break
            }
        }
        for (i, counts) in labels { data.sources[i].labels = ranked(counts) }

        var tasks: [String: TaskForm] = [:]
        var terms = TermCounter()
        let stageNames = try store.sampleCounts().keys.sorted { a, b in
            (stageOrder.firstIndex(of: a) ?? stageOrder.count, a) < (stageOrder.firstIndex(of: b) ?? stageOrder.count, b)
        }
        for name in stageNames {
            let samples = try store.samples(stage: name)
            // CriticRunner stores a rewrite in its parent's stage, one round later, naming the parent.
            // Derived samples (a QA pair's caption, a rationale's sample) name a parent too, in round 0.
            let rewritten = Set(samples.lazy.filter { $0.round > 0 }.compactMap(\.parentUID))
            var stage = Stage(name: name)
            for s in samples {
                let wasRewritten = rewritten.contains(s.uid)
                stage.outcomes.add(s.status, rewritten: wasRewritten)
                if let i = clipSource[s.clipUID] { data.sources[i].samples.add(s.status, rewritten: wasRewritten) }
                let key = "\(s.task.rawValue)\u{1F}\(s.form.rawValue)"
                tasks[key, default: TaskForm(task: s.task.rawValue, form: s.form.rawValue)].samples += 1
                if s.status == .accepted { tasks[key]!.accepted += 1 }
                // Rejected text is not in the dataset (a rewritten parent's text was replaced).
                if name == "caption" && s.status != .rejected, let answer = s.content["answer"]?.stringValue {
                    terms.add(answer)
                }
            }
            data.stages.append(stage)
        }
        data.tasks = tasks.values.sorted { ($0.task, $0.form) < ($1.task, $1.form) }
        data.terms = Array(ranked(terms.counts).prefix(termCount))

        // Verdicts come ordered by sample: a sample's votes are consecutive.
        var judges: [String: Judge] = [:]
        var tallies: [Int: [Int: Int]] = [:]  // verdicts on a sample -> passes -> samples
        var current: String?
        var votes = 0, passes = 0
        for v in try store.verdicts() {
            judges[v.judge, default: Judge(judge: v.judge)].verdicts += 1
            if v.pass { judges[v.judge]!.passes += 1 }
            if v.sampleUID != current {
                if votes > 0 { tallies[votes, default: [:]][passes, default: 0] += 1 }
                current = v.sampleUID
                votes = 0
                passes = 0
            }
            votes += 1
            if v.pass { passes += 1 }
        }
        if votes > 0 { tallies[votes, default: [:]][passes, default: 0] += 1 }
        data.judges = judges.values.sorted { $0.judge < $1.judge }.map { j in
            var j = j
            j.passRate = j.verdicts == 0 ? 0 : Double(j.passes) / Double(j.verdicts)
            return j
        }
        let committee = tallies.filter { $0.key >= 2 }
            .max { ($0.value.values.reduce(0, +), $0.key) < ($1.value.values.reduce(0, +), $1.key) }
        if let committee {
            let (raters, bySubject) = (committee.key, committee.value)
            data.agreement = Agreement(kappa: fleissKappa(raters: raters, subjectsByPasses: bySubject), raters: raters,
                                       subjects: bySubject.values.reduce(0, +))
        }
        return data
    }

    /// Fleiss' kappa for two categories (pass, fail): `subjectsByPasses[p]` is how many samples got
    /// `p` passes from `raters` judges. Computed here because Export does not import Critic; the same
    /// formula as `FleissKappa` there, on counts instead of rows. Nil when undefined: fewer than two
    /// raters, no samples, or every vote alike (chance agreement 1).
    public static func fleissKappa(raters n: Int, subjectsByPasses: [Int: Int]) -> Double? {
        let subjects = subjectsByPasses.values.reduce(0, +)
        guard n >= 2, subjects > 0, subjectsByPasses.keys.allSatisfy({ (0...n).contains($0) }) else { return nil }
        var passes = 0
        var agreement = 0.0
        for (p, count) in subjectsByPasses {
            passes += p * count
            agreement += Double(count) * Double(p * p + (n - p) * (n - p) - n) / Double(n * (n - 1))
        }
        let pass = Double(passes) / Double(subjects * n)
        let chance = pass * pass + (1 - pass) * (1 - pass)
        guard chance < 1 else { return nil }
        return (agreement / Double(subjects) - chance) / (1 - chance)
    }

    /// A clip's label for the distributions: its emotion, else the first of its emotions, else its
    /// sentiment (marked, since `neutral` is both an emotion and a sentiment), else whether it has
    /// other labels (valence and arousal, attributes) or none.
    public static func primaryLabel(_ labels: NormalizedLabels) -> String {
        if let emotion = labels.emotion ?? labels.emotions.first { return emotion }
        if let sentiment = labels.sentiment { return "\(sentiment) (sentiment)" }
        return labels.isEmpty ? "unlabelled" : "other labels"
    }

    /// Most frequent first, ties by name, so the order never depends on hashing.
    static func ranked(_ counts: [String: Int]) -> [Count] {
        counts.map { Count(name: $0.key, count: $0.value) }.sorted { ($1.count, $0.name) < ($0.count, $1.name) }
    }

    /// The JSON form written to `stats.json` and printed by `emocfg stats --json`: snake_case keys,
    /// sorted, so two reports of the same store are byte for byte equal.
    public func jsonData() throws -> Data {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        encoder.keyEncodingStrategy = .convertToSnakeCase
        return try encoder.encode(self)
    }
}

/// Counts the content words of caption answers: lowercased runs of letters of at least three letters,
/// without a small list of English function words, so that the words left say what the captions
/// describe. A possessive `'s` is dropped; other words with an apostrophe are contractions of
/// function words (`doesn't`, `they're`) and are skipped, and so are runs mixing letters and digits
/// (`1080p`, `mp4`, hex digests), which are not words.
struct TermCounter {
    static let stopwords: Set<String> = [
        "the", "and", "for", "with", "are", "was", "were", "this", "that", "these", "those", "his", "her", "hers",
        "him", "she", "they", "them", "their", "theirs", "there", "then", "than", "has", "have", "had", "having",
        "its", "from", "into", "onto", "upon", "over", "under", "about", "above", "below", "while", "which", "who",
        "whom", "whose", "what", "when", "where", "why", "how", "not", "but", "nor", "yet", "all", "any", "both",
        "each", "few", "more", "most", "other", "some", "such", "only", "own", "same", "very", "can", "will",
        "just", "also", "being", "been", "does", "did", "doing", "would", "should", "could", "may", "might",
        "must", "shall", "our", "ours", "you", "your", "yours", "out", "off", "too", "again", "further", "once",
        "here", "because", "until", "between", "through", "during", "before", "after", "itself", "himself",
        "herself", "themselves", "one", "per", "via", "within", "without", "against", "toward", "towards",
    ]

    var counts: [String: Int] = [:]
    /// The word being read, lowercased UTF-8; kept between calls for its capacity.
    private var word: [UInt8] = []
    private var letters = 0
    private var digits = false

    /// Reads one answer. ASCII, nearly all of the text, is lowercased and classified by its byte
    /// value; other characters through their Unicode properties. Millions of captions go through here.
    mutating func add(_ text: String) {
        for scalar in text.unicodeScalars {
            let v = scalar.value
            if v < 0x80 {
                switch UInt8(v) {
                case 0x61...0x7A: word.append(UInt8(v)); letters += 1
                case 0x41...0x5A: word.append(UInt8(v) + 0x20); letters += 1
                case 0x27 where letters > 0: word.append(0x27)
                case 0x30...0x39: digits = true
                default: flush()
                }
            } else if scalar.properties.isAlphabetic {
                word.append(contentsOf: scalar.properties.lowercaseMapping.utf8)
                letters += 1
            } else if v == 0x2019 && letters > 0 {  // ’, the typographic apostrophe
                word.append(0x27)
            } else {
                flush()
            }
        }
        flush()
    }

    private mutating func flush() {
        defer {
            word.removeAll(keepingCapacity: true)
            letters = 0
            digits = false
        }
        guard letters >= 3, !digits else { return }
        while word.last == 0x27 { word.removeLast() }
        var n = letters
        if word.count >= 2 && word[word.count - 2] == 0x27 && word[word.count - 1] == 0x73 {  // 's
            word.removeLast(2)
            n -= 1
        }
        guard n >= 3, !word.contains(0x27) else { return }
        let w = String(decoding: word, as: UTF8.self)
        guard !Self.stopwords.contains(w) else { return }
        counts[w, default: 0] += 1
    }
}
