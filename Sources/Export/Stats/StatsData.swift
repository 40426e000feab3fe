import EmoCFG
import Foundation

/// What the store holds, summarised for the statistics report (`emocfg stats`) and the dataset card
/// of an export: usable clips per source with their durations, face sizes, views, labels and sides,
/// samples by task, form and committee outcome, the judges' pass rates and agreement, and the words
/// the captions use most.
///
/// Gathered from one snapshot through `StatsReader`, which streams every table it reads one row at a
/// time into counters (clips in uid order, samples and verdicts in one pass each, the caption
/// answers): memory stays flat however many samples and verdicts the store holds. The dataset card
/// reads only what it shows (`gather(from:detail: .card)`), a few seconds' work on 2M samples.
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

        /// Counts `count` samples: rewritten when a rewrite names them (their status is then `rejected`),
        /// else by status.
        mutating func add(_ status: SampleStatus, rewritten wasRewritten: Bool, count: Int = 1) {
            if wasRewritten {
                rewritten += count
                return
            }
            switch status {
            case .accepted: accepted += count
            case .rejected: rejected += count
            case .pending: pending += count
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

    /// Usable clips by where their face box came from.
    public struct FaceBoxes: Codable, Sendable, Equatable {
        /// The dataset's own annotation.
        public var dataset = 0
        /// A sidecar file named in sources.yaml.
        public var sidecar = 0
        /// emocfg's face detector at ingest.
        public var detector = 0
        /// Searched by the detector, no face found.
        public var noFaceFound = 0
        /// No box and not searched (the detector off, or its search failed).
        public var notSearched = 0
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
        public var faceBoxes = FaceBoxes()
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
    /// Samples people reviewed on the review page (`emocfg review`), by standing decision.
    public var humanReview = HumanReviewCounts()

    public init() {}

    /// How much `gather` reads.
    public enum Detail: Sendable {
        /// Everything: the report's figures.
        case full
        /// What the dataset card shows: sources with their licence, clip counts (usable, unusable,
        /// per side) and sample outcomes; stages; tasks and forms; the judges by name (their verdicts
        /// and passes left 0). Durations, face sizes, views, labels, the judges' pass rates, the
        /// agreement and the caption terms are left empty: they need a pass over every clip, over
        /// every verdict's row, or over every caption's text.
        case card
    }

    /// Reads the store's clips, splits, samples and verdicts: everything the report shows.
    public static func gather(from store: Store) throws -> StatsData {
        try gather(from: store, detail: .full)
    }

    /// Reads the store at the given detail, from one snapshot. Samples and verdicts are only ever
    /// streamed into counters, so memory does not grow with their number.
    public static func gather(from store: Store, detail: Detail) throws -> StatsData {
        try store.withStatsReader { reader in try gather(from: reader, detail: detail) }
    }

    /// Reads `reader`'s snapshot at the given detail; with `samples`, a tally of every sample of
    /// that snapshot taken on another pass over them (the export's), the samples are not read again.
    public static func gather(from reader: StatsReader, detail: Detail, samples: StatsSampleTally? = nil) throws -> StatsData {
        var data = StatsData()
        var index: [String: Int] = [:]
        for row in try reader.sources() {
            index[row.name] = data.sources.count
            data.sources.append(Source(name: row.name, licence: row.licence))
        }
        // A clip's source is always recorded (foreign key); the fallback keeps a hand-edited store readable.
        for name in try reader.unrecordedClipSources() where index[name] == nil {
            index[name] = data.sources.count
            data.sources.append(Source(name: name, licence: nil))
        }
        switch detail {
        case .full: try data.addClips(reader, index: index)
        case .card: try data.addClipCounts(reader, index: index)
        }
        try data.addSamples(reader, index: index, tally: samples)
        if detail == .full {
            var terms = TermCounter()
            // Rejected text is not in the dataset (a rewritten parent's text was replaced).
            try reader.forEachCaptionAnswer { terms.add(utf8: $0) }
            data.terms = Array(ranked(terms.counts).prefix(termCount))
        }

        // The card names the judges: their names are in the verdicts' key, a fraction of the rows.
        let verdicts: (judges: [StatsJudgeCount], tally: [Int: [Int: Int]]) = detail == .full
            ? try reader.verdictSummary()
            : (try reader.judges().map { StatsJudgeCount(judge: $0, verdicts: 0, passes: 0) }, [:])
        var judges: [String: Judge] = [:]
        for j in verdicts.judges {
            judges[j.judge, default: Judge(judge: j.judge)].verdicts += j.verdicts
            judges[j.judge]!.passes += j.passes
        }
        data.judges = judges.values.sorted { $0.judge < $1.judge }.map { j in
            var j = j
            j.passRate = j.verdicts == 0 ? 0 : Double(j.passes) / Double(j.verdicts)
            return j
        }
        if detail == .full { data.agreement = agreement(tally: verdicts.tally) }
        data.humanReview = try reader.humanReviewCounts()
        return data
    }

    /// Every clip, one at a time: counts, durations, face sizes, views, primary labels and sides.
    /// In uid order, so that the durations are summed in the same order every time.
    mutating func addClips(_ reader: StatsReader, index: [String: Int]) throws {
        var labels: [Int: [String: Int]] = [:]
        try reader.forEachClip { clip in
            guard let i = index[clip.source] else { return }
            guard clip.status == .ok else {
                sources[i].unusableClips += 1
                return
            }
            sources[i].clips += 1
            sources[i].seconds += clip.duration ?? 0
            sources[i].duration.add(clip.duration)
            sources[i].faceRatio.add(clip.faceRatio)
            switch clip.view {
            case .head: sources[i].views.head += 1
            case .half: sources[i].views.half += 1
            case .full: sources[i].views.full += 1
            case nil: sources[i].views.unknown += 1
            }
            switch clip.faceOrigin {
            case "dataset"?: sources[i].faceBoxes.dataset += 1
            case "sidecar"?: sources[i].faceBoxes.sidecar += 1
            case .some: sources[i].faceBoxes.detector += 1
            case nil:
                if clip.faceSearched { sources[i].faceBoxes.noFaceFound += 1 } else { sources[i].faceBoxes.notSearched += 1 }
            }
            labels[i, default: [:]][Self.primaryLabel(clip.labels), default: 0] += 1
            switch clip.side {
            case "train": sources[i].train += 1
            case "test": sources[i].test += 1
            default: break
            }
        }
        for (i, counts) in labels { sources[i].labels = Self.ranked(counts) }
    }

    /// Clip counts per source, counted by SQLite (`GROUP BY` over the clips).
    mutating func addClipCounts(_ reader: StatsReader, index: [String: Int]) throws {
        for c in try reader.clipCounts() {
            guard let i = index[c.source] else { continue }
            sources[i].clips += c.usable
            sources[i].unusableClips += c.unusable
            sources[i].train += c.train
            sources[i].test += c.test
        }
    }

    /// Sample outcomes per source and stage, and samples per task and form, from the store's counts.
    mutating func addSamples(_ reader: StatsReader, index: [String: Int], tally: StatsSampleTally? = nil) throws {
        // Stages in pipeline order, then by name; a stage with recorded failures and no samples is listed too.
        let order = Self.stageOrder
        let names = try tally.map { Array(Set($0.sampleStages).union(try reader.failureStages())) } ?? reader.stages()
        let stageNames = names.sorted { a, b in
            (order.firstIndex(of: a) ?? order.count, a) < (order.firstIndex(of: b) ?? order.count, b)
        }
        var stageIndex: [String: Int] = [:]
        for name in stageNames where stageIndex[name] == nil {
            stageIndex[name] = stages.count
            stages.append(Stage(name: name))
        }
        var tasks: [String: TaskForm] = [:]
        for g in try tally?.counts(reader) ?? reader.sampleCounts() {
            if let i = stageIndex[g.stage] { stages[i].outcomes.add(g.status, rewritten: g.rewritten, count: g.count) }
            if let s = g.source, let i = index[s] { sources[i].samples.add(g.status, rewritten: g.rewritten, count: g.count) }
            let key = "\(g.task.rawValue)\u{1F}\(g.form.rawValue)"
            tasks[key, default: TaskForm(task: g.task.rawValue, form: g.form.rawValue)].samples += g.count
            if g.status == .accepted { tasks[key]!.accepted += g.count }
        }
        self.tasks = tasks.values.sorted { ($0.task, $0.form) < ($1.task, $1.form) }
    }

    /// The committee's agreement from the table of votes per sample (see `StatsReader.verdictSummary`):
    /// over the samples with the most common number of verdicts, at least two.
    static func agreement(tally: [Int: [Int: Int]]) -> Agreement {
        let committee = tally.filter { $0.key >= 2 }
            .max { ($0.value.values.reduce(0, +), $0.key) < ($1.value.values.reduce(0, +), $1.key) }
        guard let committee else { return Agreement() }
        let (raters, bySubject) = (committee.key, committee.value)
        return Agreement(kappa: fleissKappa(raters: raters, subjectsByPasses: bySubject), raters: raters,
                         subjects: bySubject.values.reduce(0, +))
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
        // By number of passes: summed in a fixed order, the kappa is the same to the last bit every time.
        for (p, count) in subjectsByPasses.sorted(by: { $0.key < $1.key }) {
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

    /// Words counted so far (stopwords left out), by word.
    var counts: [String: Int] {
        var out: [String: Int] = [:]
        table.forEach { bytes, n in
            let w = String(decoding: bytes, as: UTF8.self)
            guard !Self.stopwords.contains(w) else { return }
            out[w, default: 0] += n
        }
        return out
    }

    /// Every word read, stopwords included, by its lowercased UTF-8: the stopwords are left out
    /// when `counts` is made, so a word costs a hash and a comparison of its bytes.
    private var table = WordTable()
    /// The word being read, lowercased UTF-8; kept between calls for its capacity.
    private var word: [UInt8] = []
    private var letters = 0
    private var digits = false

    /// Reads one answer.
    mutating func add(_ text: String) {
        var text = text
        text.withUTF8 { add(utf8: $0) }
    }

    /// Reads one answer given as UTF-8. ASCII, nearly all of the text, is lowercased and classified
    /// by its byte value; other characters are decoded and classified through their Unicode
    /// properties. A byte that does not begin a valid UTF-8 sequence ends the word, as the
    /// replacement character that decoding it as a `String` would give. Millions of captions go
    /// through here.
    mutating func add(utf8 bytes: UnsafeBufferPointer<UInt8>) {
        let n = bytes.count
        var i = 0
        while i < n {
            let c = bytes[i]
            if c < 0x80 {
                switch c {
                case 0x61...0x7A: word.append(c); letters += 1
                case 0x41...0x5A: word.append(c + 0x20); letters += 1
                case 0x27 where letters > 0: word.append(0x27)
                case 0x30...0x39: digits = true
                default: flush()
                }
                i += 1
                continue
            }
            guard let (scalar, length) = Self.decode(bytes, at: i) else {
                flush()
                i += 1
                continue
            }
            i += length
            if scalar.properties.isAlphabetic {
                word.append(contentsOf: scalar.properties.lowercaseMapping.utf8)
                letters += 1
            } else if scalar.value == 0x2019 && letters > 0 {  // ’, the typographic apostrophe
                word.append(0x27)
            } else {
                flush()
            }
        }
        flush()
    }

    /// The scalar of the well-formed UTF-8 sequence of two to four bytes at `i`, and its length.
    @inline(__always)
    static func decode(_ b: UnsafeBufferPointer<UInt8>, at i: Int) -> (Unicode.Scalar, Int)? {
        let b0 = b[i]
        func cont(_ k: Int, _ range: ClosedRange<UInt8> = 0x80...0xBF) -> UInt32? {
            guard i + k < b.count, range.contains(b[i + k]) else { return nil }
            return UInt32(b[i + k] & 0x3F)
        }
        switch b0 {
        case 0xC2...0xDF:
            guard let c1 = cont(1) else { return nil }
            return Unicode.Scalar(UInt32(b0 & 0x1F) << 6 | c1).map { ($0, 2) }
        case 0xE0...0xEF:
            let range: ClosedRange<UInt8> = b0 == 0xE0 ? 0xA0...0xBF : (b0 == 0xED ? 0x80...0x9F : 0x80...0xBF)
            guard let c1 = cont(1, range), let c2 = cont(2) else { return nil }
            return Unicode.Scalar(UInt32(b0 & 0x0F) << 12 | c1 << 6 | c2).map { ($0, 3) }
        case 0xF0...0xF4:
            let range: ClosedRange<UInt8> = b0 == 0xF0 ? 0x90...0xBF : (b0 == 0xF4 ? 0x80...0x8F : 0x80...0xBF)
            guard let c1 = cont(1, range), let c2 = cont(2), let c3 = cont(3) else { return nil }
            return Unicode.Scalar(UInt32(b0 & 0x07) << 18 | c1 << 12 | c2 << 6 | c3).map { ($0, 4) }
        default:
            return nil
        }
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
        word.withUnsafeBufferPointer { table.add($0) }
    }
}

/// Counts of byte strings: open addressing over FNV-1a hashes, the bytes kept in one buffer. Words
/// are short and few are new, so a word costs its hash and one comparison.
struct WordTable {
    private var slots = [Int32](repeating: -1, count: 1 << 12)
    private var arena: [UInt8] = []
    private var starts: [Int] = []
    private var lengths: [Int] = []
    private var hashes: [UInt64] = []
    private var counts: [Int] = []

    mutating func add(_ w: UnsafeBufferPointer<UInt8>) {
        var h: UInt64 = 0xcbf2_9ce4_8422_2325
        for c in w { h = (h ^ UInt64(c)) &* 0x0000_0100_0000_01b3 }
        let mask = slots.count - 1
        var i = Int(truncatingIfNeeded: h ^ (h >> 29)) & mask
        while true {
            let e = Int(slots[i])
            if e < 0 { break }
            if hashes[e] == h && lengths[e] == w.count && equal(e, w) {
                counts[e] += 1
                return
            }
            i = (i + 1) & mask
        }
        slots[i] = Int32(counts.count)
        starts.append(arena.count)
        lengths.append(w.count)
        hashes.append(h)
        counts.append(1)
        arena.append(contentsOf: w)
        if counts.count * 2 > slots.count { grow() }
    }

    private func equal(_ e: Int, _ w: UnsafeBufferPointer<UInt8>) -> Bool {
        w.isEmpty || arena.withUnsafeBufferPointer { memcmp($0.baseAddress! + starts[e], w.baseAddress!, w.count) == 0 }
    }

    private mutating func grow() {
        slots = [Int32](repeating: -1, count: slots.count * 2)
        let mask = slots.count - 1
        for (e, h) in hashes.enumerated() {
            var i = Int(truncatingIfNeeded: h ^ (h >> 29)) & mask
            while slots[i] >= 0 { i = (i + 1) & mask }
            slots[i] = Int32(e)
        }
    }

    /// Calls `body` with every distinct byte string and its count, in the order first added.
    func forEach(_ body: (UnsafeBufferPointer<UInt8>, Int) -> Void) {
        arena.withUnsafeBufferPointer { a in
            for e in counts.indices {
                body(UnsafeBufferPointer(rebasing: a[starts[e]..<starts[e] + lengths[e]]), counts[e])
            }
        }
    }
}
