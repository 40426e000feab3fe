import Foundation
import GRDB
import GRDBSQLite

/// One clip as the statistics read it: only the columns they summarise, decoded as `Store.decodeClip`
/// decodes them (an unknown status is `ok`, an unknown view none, unreadable labels empty).
public struct StatsClip: Sendable, Equatable {
    public var source: String
    public var status: ClipStatus
    /// The probed duration; nil when the clip was not probed or the probe found none.
    public var duration: Double?
    /// The face box's share of the frame; nil without a face box.
    public var faceRatio: Double?
    public var view: ViewClass?
    /// Where the face box came from (`dataset`, `sidecar`, `detector:<name>`); nil without one.
    public var faceOrigin: String?
    /// Whether the face detector searched the clip (with or without finding a face).
    public var faceSearched: Bool = false
    public var labels: NormalizedLabels
    /// The side recorded by the first export (`train`, `test`); nil before it.
    public var side: String?
}

/// A source's clips counted by the store: usable (`ok`) ones, the others, and usable ones per side.
public struct StatsClipCount: Sendable, Equatable {
    public var source: String
    public var usable: Int
    public var unusable: Int
    public var train: Int
    public var test: Int
}

/// Samples counted by the store per clip source, stage, task, form and status, with the rewritten
/// ones apart: a sample is rewritten when a sample of its stage names it as its parent in a round
/// after the first (the critic's rewrite). Task, form and status are decoded as `Store.samples`
/// decodes them, so an unknown value counts where a decoded sample would.
public struct StatsSampleCount: Sendable, Equatable, Hashable {
    /// The source of the sample's clip; nil when the clip is not recorded.
    public var source: String?
    public var stage: String
    public var task: SampleTask
    public var form: SampleForm
    public var status: SampleStatus
    public var rewritten: Bool
    public var count: Int

    public init(source: String?, stage: String, task: SampleTask, form: SampleForm, status: SampleStatus, rewritten: Bool, count: Int) {
        self.source = source
        self.stage = stage
        self.task = task
        self.form = form
        self.status = status
        self.rewritten = rewritten
        self.count = count
    }
}

/// One judge's verdicts and how many of them pass.
public struct StatsJudgeCount: Sendable, Equatable {
    public var judge: String
    public var verdicts: Int
    public var passes: Int

    public init(judge: String, verdicts: Int, passes: Int) {
        self.judge = judge
        self.verdicts = verdicts
        self.passes = passes
    }
}

/// Read-only aggregates of one snapshot of the store for `emocfg stats` and the dataset card. Every
/// read streams its rows one at a time into counters, or lets SQLite aggregate: nothing here holds
/// a table's rows in memory (the most is one entry per clip), so memory does not grow with the
/// number of samples or verdicts.
public struct StatsReader {
    let db: Database

    /// Every recorded source, by name.
    public func sources() throws -> [SourceRow] {
        try Row.fetchAll(db, sql: "SELECT name, root, adapter, adapter_version, licence FROM sources ORDER BY name").map {
            SourceRow(name: $0["name"], root: $0["root"], adapter: $0["adapter"], adapterVersion: $0["adapter_version"], licence: $0["licence"])
        }
    }

    /// Sources named by clips but not recorded in `sources` (only a hand-edited store has any), in the
    /// order their first clip comes by uid.
    public func unrecordedClipSources() throws -> [String] {
        try String.fetchAll(db, sql: """
            SELECT source FROM clips WHERE source NOT IN (SELECT name FROM sources) GROUP BY source ORDER BY min(uid)
            """)
    }

    /// Calls `body` for every clip, by uid, with its side.
    public func forEachClip(_ body: (StatsClip) throws -> Void) throws {
        let rows = try Row.fetchCursor(db, sql: """
            SELECT c.source, c.status, CASE WHEN c.probed_at IS NOT NULL THEN c.duration END,
                   c.face_x, c.face_y, c.face_w, c.face_h, c.view, c.labels, s.side, c.face_origin, c.face_searched_by
            FROM clips c LEFT JOIN clip_splits s ON s.clip_uid = c.uid
            ORDER BY c.uid
            """)
        while let r = try rows.next() {
            var ratio: Double?
            if let x: Double = r[3], let y: Double = r[4], let w: Double = r[5], let h: Double = r[6] {
                ratio = FaceBox(x: x, y: y, w: w, h: h, origin: .dataset).areaRatio
            }
            try body(StatsClip(
                source: r[0], status: ClipStatus(rawValue: r[1]) ?? .ok, duration: r[2], faceRatio: ratio,
                view: (r[7] as String?).flatMap(ViewClass.init(rawValue:)), faceOrigin: ratio == nil ? nil : r[10],
                faceSearched: (r[11] as String?) != nil, labels: NormalizedLabels.stored(r[8]), side: r[9]))
        }
    }

    /// Clips per source: usable and not, and usable ones per recorded side. Sources without clips are
    /// left out.
    public func clipCounts() throws -> [StatsClipCount] {
        // `Store.decodeClip` reads an unknown status as `ok`.
        let usable = "c.status NOT IN ('missing', 'unreadable', 'failed', 'gone')"
        return try Row.fetchAll(db, sql: """
            SELECT c.source, sum(\(usable)), sum(NOT (\(usable))),
                   sum(\(usable) AND s.side = 'train'), sum(\(usable) AND s.side = 'test')
            FROM clips c LEFT JOIN clip_splits s ON s.clip_uid = c.uid
            GROUP BY c.source
            """).map { StatsClipCount(source: $0[0], usable: $0[1] ?? 0, unusable: $0[2] ?? 0, train: $0[3] ?? 0, test: $0[4] ?? 0) }
    }

    /// Every stage that has samples or recorded failures (as `Store.sampleCounts` lists them), by name.
    public func stages() throws -> [String] {
        try String.fetchAll(db, sql: "SELECT DISTINCT stage FROM samples UNION SELECT stage FROM annotation_failures ORDER BY 1")
    }

    /// Samples counted per clip source, stage, task, form, status and whether they were rewritten.
    ///
    /// One pass over the samples table in its own order, counted into a table of a few hundred
    /// entries: SQLite's `GROUP BY` would sort all the rows first, which costs several times the
    /// read. The clip of a sample is mapped to its source through the clips' uids (read first, one
    /// entry per clip), the columns are compared as SQLite's bytes and no `String` is made per row.
    /// The parents of the rewrites (a few per hundred samples) are then looked up one by one and
    /// moved to the rewritten counts.
    public func sampleCounts() throws -> [StatsSampleCount] {
        var tally = try StatsSampleTally(self)
        try eachRow("""
            SELECT clip_uid, stage, task, form, status, CASE WHEN round > 0 THEN parent_uid END FROM samples
            """, "reading samples") { st in
            tally.add(clip: text(st, 0) ?? Self.empty, stage: text(st, 1) ?? Self.empty, task: text(st, 2) ?? Self.empty,
                      form: text(st, 3) ?? Self.empty, status: text(st, 4) ?? Self.empty, parent: text(st, 5))
        }
        return try tally.counts(self)
    }

    /// The stages named by an annotation failure (a stage can have failures and no sample).
    public func failureStages() throws -> [String] {
        try String.fetchAll(db, sql: "SELECT DISTINCT stage FROM annotation_failures ORDER BY 1")
    }

    /// The judges that have voted, by name: read from the verdicts' key (sample, judge) alone, without
    /// their rows.
    public func judges() throws -> [String] {
        try String.fetchAll(db, sql: "SELECT DISTINCT judge FROM verdicts").sorted()
    }

    /// The judges' counts, and the committee's votes as a table of counts: `tally[v][p] = n` says
    /// that `n` samples got `v` verdicts of which `p` pass. One pass over the verdicts by sample.
    public func verdictSummary() throws -> (judges: [StatsJudgeCount], tally: [Int: [Int: Int]]) {
        var judges = JudgeCounter()
        var tally: [Int: [Int: Int]] = [:]
        var current: [UInt8] = []
        var votes = 0, passed = 0
        try eachRow("SELECT sample_uid, judge, pass != 0 FROM verdicts ORDER BY sample_uid", "reading verdicts") { st in
            let sample = text(st, 0) ?? Self.empty
            if votes == 0 || !Self.same(current, sample) {
                if votes > 0 { tally[votes, default: [:]][passed, default: 0] += 1 }
                current = Array(sample)
                votes = 0
                passed = 0
            }
            let pass = Int(sqlite3_column_int64(st, 2))
            judges.add(text(st, 1) ?? Self.empty, pass: pass)
            votes += 1
            passed += pass
        }
        if votes > 0 { tally[votes, default: [:]][passed, default: 0] += 1 }
        return (judges.counts, tally)
    }

    // MARK: - Reading SQLite's bytes

    static var empty: UnsafeBufferPointer<UInt8> { UnsafeBufferPointer(start: nil, count: 0) }

    /// Steps through `sql`'s rows, calling `body` with the statement on each.
    func eachRow(_ sql: String, _ what: String, _ body: (SQLiteStatement) throws -> Void) throws {
        let statement = try db.makeStatement(sql: sql)
        let st = statement.sqliteStatement
        defer { sqlite3_reset(st) }
        while true {
            let rc = sqlite3_step(st)
            if rc == SQLITE_DONE { return }
            guard rc == SQLITE_ROW else {
                throw StoreError(path: sqlite3_db_filename(db.sqliteConnection, "main").map { String(cString: $0) } ?? "",
                                 message: "\(what): \(String(cString: sqlite3_errmsg(db.sqliteConnection)))")
            }
            try body(st)
        }
    }

    /// A column's text as SQLite holds it (by its length, not up to a NUL); nil for NULL. Valid until
    /// the next step.
    @inline(__always)
    func text(_ st: SQLiteStatement, _ i: Int32) -> UnsafeBufferPointer<UInt8>? {
        // NULL for SQL NULL (an empty text is a pointer to its terminating zero).
        guard let p = sqlite3_column_text(st, i) else { return nil }
        return UnsafeBufferPointer(start: p, count: Int(sqlite3_column_bytes(st, i)))
    }

    @inline(__always)
    static func same(_ a: [UInt8], _ b: UnsafeBufferPointer<UInt8>) -> Bool {
        guard a.count == b.count else { return false }
        guard b.count > 0 else { return true }
        return a.withUnsafeBufferPointer { memcmp($0.baseAddress!, b.baseAddress!, b.count) == 0 }
    }

    /// A sample's column values as `TextIDs` ids (source -1: the clip is not recorded).
    struct IDs: Hashable {
        var source: Int
        var stage: Int
        var task: Int
        var form: Int
        var status: Int
    }

    /// Calls `body` with the `answer` of every caption-stage sample that is not rejected (a sample
    /// without a string answer is skipped), as `JSONValue.parse` reads it from the stored content.
    /// SQLite extracts the answer (`json_extract`), except from content it does not take as JSON or
    /// that holds a `\u` escape (a NUL, a control character, a lone surrogate), where it and the
    /// Swift parser could differ: that content is parsed here. The bytes are UTF-8, valid only
    /// during the call.
    public func forEachCaptionAnswer(_ body: (UnsafeBufferPointer<UInt8>) throws -> Void) throws {
        try eachRow("""
            SELECT CASE WHEN NOT json_valid(content) OR instr(content, '\\u') THEN content END,
                   CASE WHEN json_valid(content) AND NOT instr(content, '\\u') AND json_type(content, '$.answer') = 'text'
                        THEN json_extract(content, '$.answer') END
            FROM samples WHERE stage = 'caption' AND status != 'rejected'
            """, "reading caption answers") { st in
            if let raw = text(st, 0) {
                guard var answer = (try? JSONValue.parse(bytes: raw))?["answer"]?.stringValue else { return }
                try answer.withUTF8 { try body($0) }
            } else if let answer = text(st, 1) {
                try body(answer)
            }
        }
    }
}

/// The samples counted as `StatsReader.sampleCounts()` counts them, a row at a time, so that a pass
/// over the samples made for another purpose (the export's) can count them on the way instead of the
/// statistics reading the table again. Made from a snapshot's clips (uid → source, one entry per
/// clip); rows are added as SQLite's bytes, valid only during the call.
public struct StatsSampleTally {
    private var sources = TextIDs()
    /// The clips by uid (entry i) and their sources' ids; a uid not among them is added to the
    /// table when seen (it then has no source).
    private var clips = ByteTable()
    private var clipSource: [Int] = []
    private var stages = TextIDs(), tasks = TextIDs(), forms = TextIDs(), statuses = TextIDs()
    private var counts: [StatsReader.IDs: Int] = [:]
    /// [stage, uid] of every sample a later-round sample of its stage names.
    private var parents = Set<[String]>()
    private var lastClip: [UInt8] = [], lastNumber = -1, lastSource = -1, first = true

    /// Reads the clips' sources from `reader`'s snapshot, which `counts(_:)` must also be given.
    public init(_ reader: StatsReader) throws {
        clipSource.reserveCapacity(try Int.fetchOne(reader.db, sql: "SELECT count(*) FROM clips") ?? 0)
        try reader.eachRow("SELECT uid, source FROM clips", "reading clips") { st in
            let (i, new) = clips.index(0, reader.text(st, 0) ?? StatsReader.empty)
            if new { clipSource.append(sources.id(reader.text(st, 1) ?? StatsReader.empty)) } else { clipSource[i] = sources.id(reader.text(st, 1) ?? StatsReader.empty) }
        }
    }

    /// The clips read from the snapshot: their numbers are `0..<clipCount`.
    public var clipCount: Int { clipSource.count }

    /// The number of the clip with uid `uid` (below `clipCount`), nil when the snapshot has no such clip.
    public func clipNumber(_ uid: UnsafeBufferPointer<UInt8>) -> Int? {
        clips.find(0, uid).flatMap { $0 < clipSource.count ? $0 : nil }
    }

    /// One sample: its clip's uid, stage, task, form and status, and its `parent_uid` when its
    /// round is after the first (nil otherwise). Returns the clip's number (`clipNumber(_:)`; at or
    /// above `clipCount` for a uid that is no recorded clip), so that the caller need not look the
    /// clip up again.
    @inline(__always) @discardableResult
    public mutating func add(
        clip: UnsafeBufferPointer<UInt8>, stage: UnsafeBufferPointer<UInt8>, task: UnsafeBufferPointer<UInt8>,
        form: UnsafeBufferPointer<UInt8>, status: UnsafeBufferPointer<UInt8>, parent: UnsafeBufferPointer<UInt8>?
    ) -> Int {
        if first || !StatsReader.same(lastClip, clip) {
            first = false
            lastClip.removeAll(keepingCapacity: true)
            lastClip.append(contentsOf: clip)
            lastNumber = clips.index(0, clip).index
            lastSource = lastNumber < clipSource.count ? clipSource[lastNumber] : -1
        }
        let stageID = stages.id(stage)
        let ids = StatsReader.IDs(source: lastSource, stage: stageID, task: tasks.id(task), form: forms.id(form), status: statuses.id(status))
        counts[ids, default: 0] += 1
        if let parent { parents.insert([stages.strings[stageID], String(decoding: parent, as: UTF8.self)]) }
        return lastNumber
    }

    /// The distinct stages of the samples added, in the order first seen.
    public var sampleStages: [String] { stages.strings }

    /// The counts, the rewritten ones apart: the parents are looked up in `reader`'s snapshot.
    public func counts(_ reader: StatsReader) throws -> [StatsSampleCount] {
        struct Key: Hashable {
            var source: String?
            var stage: String
            var task: SampleTask
            var form: SampleForm
            var status: SampleStatus
        }
        // Decoded as `Store.decodeSample` decodes them.
        func decoded(source: String?, stage: String, task: String, form: String, status: String) -> Key {
            Key(source: source, stage: stage, task: SampleTask(rawValue: task) ?? .emotion, form: SampleForm(rawValue: form) ?? .open,
                status: SampleStatus(rawValue: status) ?? .pending)
        }
        var plain: [Key: Int] = [:]
        for (ids, n) in counts {
            let key = decoded(source: ids.source < 0 ? nil : sources.strings[ids.source], stage: stages.strings[ids.stage],
                              task: tasks.strings[ids.task], form: forms.strings[ids.form], status: statuses.strings[ids.status])
            plain[key, default: 0] += n
        }
        var rewritten: [Key: Int] = [:]
        let lookup = try reader.db.cachedStatement(sql: """
            SELECT c.source, p.task, p.form, p.status FROM samples p LEFT JOIN clips c ON c.uid = p.clip_uid
            WHERE p.uid = ? AND p.stage = ?
            """)
        for parent in parents {
            guard let r = try Row.fetchOne(lookup, arguments: [parent[1], parent[0]]) else { continue }
            let key = decoded(source: r[0], stage: parent[0], task: r[1], form: r[2], status: r[3])
            plain[key, default: 0] -= 1
            rewritten[key, default: 0] += 1
        }
        var out: [StatsSampleCount] = []
        for (wasRewritten, table) in [(false, plain), (true, rewritten)] {
            for (k, n) in table where n > 0 {
                out.append(StatsSampleCount(source: k.source, stage: k.stage, task: k.task, form: k.form, status: k.status,
                                            rewritten: wasRewritten, count: n))
            }
        }
        return out
    }
}

/// Small ids for the few distinct texts of a column, from SQLite's bytes: the text of the previous
/// row is tried first (rows come in runs), then the others, compared in place; a `String` is made
/// once per distinct text. For columns of a few dozen distinct values (stages, tasks, judges).
struct TextIDs {
    private(set) var strings: [String] = []
    private var known: [[UInt8]] = []
    private var index: [ByteKey: Int] = [:]  // once there are many
    private var last = -1

    mutating func id(_ b: UnsafeBufferPointer<UInt8>) -> Int {
        if last >= 0 && StatsReader.same(known[last], b) { return last }
        if known.count <= 32 {
            for i in known.indices where StatsReader.same(known[i], b) {
                last = i
                return i
            }
        } else if let i = index[ByteKey(b)] {
            last = i
            return i
        }
        last = known.count
        known.append(Array(b))
        if known.count > 32 {
            if index.isEmpty { for (i, k) in known.enumerated() { index[ByteKey(k)] = i } } else { index[ByteKey(b)] = last }
        }
        strings.append(String(decoding: b, as: UTF8.self))
        return last
    }
}

/// Bytes as a dictionary key, hashed in one call (an array of bytes hashes byte by byte).
struct ByteKey: Hashable {
    let bytes: [UInt8]
    init(_ b: UnsafeBufferPointer<UInt8>) { bytes = Array(b) }
    init(_ b: [UInt8]) { bytes = b }
    func hash(into hasher: inout Hasher) { bytes.withUnsafeBytes { hasher.combine(bytes: $0) } }
}

/// Verdicts and passes per judge, from SQLite's bytes.
struct JudgeCounter {
    private var names = TextIDs()
    private var verdicts: [Int] = []
    private var passes: [Int] = []

    mutating func add(_ judge: UnsafeBufferPointer<UInt8>, pass: Int) {
        let j = names.id(judge)
        if j == verdicts.count {
            verdicts.append(0)
            passes.append(0)
        }
        verdicts[j] += 1
        passes[j] += pass
    }

    /// By judge.
    var counts: [StatsJudgeCount] {
        names.strings.indices.map { StatsJudgeCount(judge: names.strings[$0], verdicts: verdicts[$0], passes: passes[$0]) }
            .sorted { $0.judge < $1.judge }
    }
}

extension Store {
    /// Runs `body` against one snapshot of the store.
    public func withStatsReader<T>(_ body: (StatsReader) throws -> T) throws -> T {
        try read { db in try body(StatsReader(db: db)) }
    }
}

extension NormalizedLabels {
    /// Labels as the store holds them (`clips.labels`), read the way `Store.decodeClip` reads them:
    /// empty when the text is not valid labels. Most rows go through the fast JSON parser; one it
    /// does not take is handed to `JSONDecoder` so that the outcome is the same.
    static func stored(_ text: String?) -> NormalizedLabels {
        guard let text else { return NormalizedLabels() }
        if let value = try? JSONValue.parse(text), let labels = NormalizedLabels(strict: value) { return labels }
        return CanonicalJSON.decode(NormalizedLabels.self, text) ?? NormalizedLabels()
    }

    /// The labels in `value` when `JSONDecoder` would certainly decode them the same: every
    /// non-optional field present, every field of its type. Nil when in doubt.
    init?(strict value: JSONValue) {
        guard case .object(let o) = value else { return nil }
        func string(_ key: String) -> String?? {
            switch o[key] {
            case nil, .null?: return .some(nil)
            case .string(let s)?: return .some(s)
            default: return nil
            }
        }
        func number(_ key: String) -> Double?? {
            switch o[key] {
            case nil, .null?: return .some(nil)
            case .number(let d)? where d.isFinite: return .some(d)
            default: return nil
            }
        }
        func strings(_ v: JSONValue?) -> [String]? {
            guard case .array(let a)? = v else { return nil }
            var out: [String] = []
            out.reserveCapacity(a.count)
            for e in a {
                guard case .string(let s) = e else { return nil }
                out.append(s)
            }
            return out
        }
        guard let emotion = string("emotion"), let sentiment = string("sentiment"), let intensity = string("intensity"),
              let score = number("sentimentScore"), let valence = number("valence"), let arousal = number("arousal"),
              let emotions = strings(o["emotions"]), case .object(let attrs)? = o["attributes"], case .object(let facts)? = o["facts"]
        else { return nil }
        var attributes: [String: [String]] = [:]
        for (k, v) in attrs {
            guard let list = strings(v) else { return nil }
            attributes[k] = list
        }
        var factMap: [String: String] = [:]
        for (k, v) in facts {
            guard case .string(let s) = v else { return nil }
            factMap[k] = s
        }
        self.init(emotion: emotion, emotions: emotions, sentiment: sentiment, sentimentScore: score, valence: valence,
                  arousal: arousal, intensity: intensity, attributes: attributes, facts: factMap)
    }
}
