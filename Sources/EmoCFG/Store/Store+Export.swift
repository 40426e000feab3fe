import Foundation
import GRDB
import GRDBSQLite

/// What the export needs of a clip: where its video is, its side, and the label its samples are
/// stratified by when nothing finer is known.
public struct ExportClip: Sendable, Equatable {
    public var source: String
    public var path: String
    public var side: String
    /// The clip's primary emotion (or sentiment) label, if it has one.
    public var label: String?
    /// `video` for a whole video file (linked as it is); `frames` and `window` clips are rendered.
    public var kind: String = "video"
}

/// One accepted sample as `ExportReader.forEachAcceptedRaw` passes it (the exporter's hot loop):
/// the UTF-8 bytes of its columns and of the content fields the export uses (the instruct family
/// `kind`, the QA `aspect`, the instruct `label`, question, answer, the lettered options as JSON text
/// and the answer letters), nil for SQL NULL or an absent field, valid only during the call.
public struct ExportRawRow {
    public var uid: UnsafeBufferPointer<UInt8>
    public var clipUID: UnsafeBufferPointer<UInt8>
    public var stage: UnsafeBufferPointer<UInt8>
    public var task: UnsafeBufferPointer<UInt8>
    public var form: UnsafeBufferPointer<UInt8>
    public var kind: UnsafeBufferPointer<UInt8>?
    public var aspect: UnsafeBufferPointer<UInt8>?
    public var label: UnsafeBufferPointer<UInt8>?
    public var question: UnsafeBufferPointer<UInt8>?
    public var answer: UnsafeBufferPointer<UInt8>?
    public var options: UnsafeBufferPointer<UInt8>?
    public var answerLetters: UnsafeBufferPointer<UInt8>?
    /// The clip's number in the tally the scan counts into (`StatsSampleTally.clipNumber(_:)`; at or
    /// above its `clipCount` for no recorded clip); -1 when the scan counts into no tally.
    public var clip: Int = -1
}

/// Rows passed from the thread reading SQLite to the thread running the export's loop: batches of
/// rows whose fields are copied one after another into one buffer, a few batches in flight, the
/// emptied ones sent back for reuse. The loop sees every row once, in order. The batches are
/// values each side holds in a local variable while it works on them (no shared state per row).
struct RawRowBatch {
    /// Fields per row, in `ExportRawRow` order: uid, clip, stage, task, form, then the optional
    /// kind, aspect, label, question, answer, options and letters (start -1: nil).
    static let fields = 12
    static let rows = 2048

    var bytes: [UInt8] = []
    /// (start, count) per field, `fields` pairs per row.
    var spans: [Int] = []
    var clips: [Int] = []
    var count: Int { clips.count }

    mutating func clear() {
        bytes.removeAll(keepingCapacity: true)
        spans.removeAll(keepingCapacity: true)
        clips.removeAll(keepingCapacity: true)
    }

    @inline(__always)
    private mutating func put(_ f: UnsafeBufferPointer<UInt8>?) {
        guard let f else { spans.append(-1); spans.append(0); return }
        spans.append(bytes.count)
        spans.append(f.count)
        bytes.append(contentsOf: f)
    }

    mutating func append(_ row: ExportRawRow) {
        put(row.uid); put(row.clipUID); put(row.stage); put(row.task); put(row.form)
        put(row.kind); put(row.aspect); put(row.label); put(row.question); put(row.answer); put(row.options); put(row.answerLetters)
        clips.append(row.clip)
    }

    /// `body` for each row, in order.
    func forEach(_ body: (ExportRawRow) throws -> Void) rethrows {
        try bytes.withUnsafeBufferPointer { bytes in
            try spans.withUnsafeBufferPointer { spans in
                let base = bytes.baseAddress
                let empty = UnsafeBufferPointer<UInt8>(start: nil, count: 0)
                for r in 0..<clips.count {
                    let s = r * 2 * Self.fields
                    @inline(__always) func field(_ i: Int) -> UnsafeBufferPointer<UInt8>? {
                        let start = spans[s + 2 * i]
                        guard start >= 0 else { return nil }
                        let n = spans[s + 2 * i + 1]
                        return n == 0 ? empty : UnsafeBufferPointer(start: base! + start, count: n)
                    }
                    try body(ExportRawRow(uid: field(0) ?? empty, clipUID: field(1) ?? empty, stage: field(2) ?? empty, task: field(3) ?? empty,
                                          form: field(4) ?? empty, kind: field(5), aspect: field(6), label: field(7), question: field(8),
                                          answer: field(9), options: field(10), answerLetters: field(11), clip: clips[r]))
                }
            }
        }
    }
}

/// The hand-over of `RawRowBatch`es between the reading thread and the loop's thread.
final class RawRowHandoff: @unchecked Sendable {
    struct Stopped: Error {}
    static let inFlight = 3

    private let condition = NSCondition()
    private var full: [RawRowBatch] = []
    private var free: [RawRowBatch]
    private var finished = false
    private var stopped = false
    /// The loop's error, which stops the reading.
    private(set) var failure: Error?

    init() { free = Array(repeating: RawRowBatch(), count: Self.inFlight) }

    /// Hands a filled batch over and returns an empty one; nil once the loop has stopped.
    func exchange(_ batch: RawRowBatch) -> RawRowBatch? {
        condition.lock()
        defer { condition.unlock() }
        full.append(batch)
        condition.broadcast()
        while free.isEmpty && !stopped { condition.wait() }
        return stopped ? nil : free.removeLast()
    }

    /// No more rows after `last`.
    func finish(_ last: RawRowBatch) {
        condition.lock()
        if last.count > 0 { full.append(last) }
        finished = true
        condition.broadcast()
        condition.unlock()
    }

    /// The loop's side: `body` for every row, in order, until the rows end or `body` throws.
    func consume(_ body: (ExportRawRow) throws -> Void) {
        while true {
            condition.lock()
            while full.isEmpty && !finished { condition.wait() }
            guard !full.isEmpty else { condition.unlock(); return }
            var batch = full.removeFirst()
            condition.unlock()
            do {
                try batch.forEach(body)
            } catch {
                condition.lock()
                failure = error
                stopped = true
                condition.broadcast()
                condition.unlock()
                return
            }
            batch.clear()
            condition.lock()
            free.append(batch)
            condition.broadcast()
            condition.unlock()
        }
    }
}

/// The counts of all samples (not only the accepted ones) that `ExportReader.forEachAcceptedRaw` saw.
public struct SampleTotals: Sendable, Equatable {
    public var samples = 0
    public var accepted = 0
    /// `max(decided_at)` and `max(created_at)`; nil when no sample has one.
    public var lastDecision: String?
    public var lastSample: String?
    public init() {}
}

/// A consistent view of the store for one export: every read inside sees the same snapshot, so
/// the clips, the samples and the counts a receipt records agree even while another process adds
/// samples.
public struct ExportReader {
    let db: Database

    /// Usable (`ok`) clips that have a side, by uid.
    public func clips() throws -> [String: ExportClip] {
        var out: [String: ExportClip] = [:]
        // At most one a side: growing the table step by step would rehash it a dozen times.
        out.reserveCapacity(try Int.fetchOne(db, sql: "SELECT count(*) FROM clip_splits") ?? 0)
        let statement = try db.makeStatement(sql: """
            SELECT c.uid, c.source, c.path, s.side,
                   coalesce(json_extract(c.labels, '$.emotion'), json_extract(c.labels, '$.sentiment')) AS label, c.kind
            FROM clips c JOIN clip_splits s ON s.clip_uid = c.uid
            WHERE c.status = 'ok'
            """)
        // Straight from the statement: a `Row` per clip costs more than the rest of this.
        let st = statement.sqliteStatement
        defer { sqlite3_reset(st) }
        func text(_ i: Int32) -> String? {
            guard sqlite3_column_type(st, i) != SQLITE_NULL, let p = sqlite3_column_text(st, i) else { return nil }
            return String(decoding: UnsafeBufferPointer(start: p, count: Int(sqlite3_column_bytes(st, i))), as: UTF8.self)
        }
        while true {
            let rc = sqlite3_step(st)
            if rc == SQLITE_DONE { break }
            guard rc == SQLITE_ROW else {
                throw StoreError(path: sqlite3_db_filename(db.sqliteConnection, "main").map { String(cString: $0) } ?? "",
                                 message: "reading clips: \(String(cString: sqlite3_errmsg(db.sqliteConnection)))")
            }
            out[text(0) ?? ""] = ExportClip(source: text(1) ?? "", path: text(2) ?? "", side: text(3) ?? "", label: text(4),
                                               kind: text(5) ?? "video")
        }
        return out
    }

    /// Calls `body` for every accepted sample, in uid order, with its columns and content fields as
    /// UTF-8 bytes: no `String` is made per row (the export's hot loop renders straight from these
    /// bytes), and the content's top-level fields are found by one scan here rather than one
    /// `json_extract` each. The fields hold what `json_extract` gives: a string's value, an array's
    /// JSON text, nil for null or absent. The buffers are valid only during the call. The scan goes
    /// over every sample, so it also returns the counts `state(_:)` records, which would otherwise
    /// take another pass over the table.
    @discardableResult
    public func forEachAcceptedRaw(_ body: (ExportRawRow) throws -> Void) throws -> SampleTotals {
        var none: StatsSampleTally? = nil
        return try forEachAcceptedRaw(counting: &none, body)
    }

    /// `forEachAcceptedRaw(_:)` that also adds every sample it reads (accepted or not) to `tally`,
    /// when given, as `StatsReader.sampleCounts()` would count it: the dataset card's sample counts
    /// without a second pass over the table.
    ///
    /// `pipelined`: SQLite is read on this thread while `body` runs on another, in order and one
    /// row at a time as before, the rows handed over in batches of copied bytes (a few MB in
    /// flight). On two or more cores the reading and the caller's work then overlap; the rows and
    /// their order are the same either way.
    @discardableResult
    public func forEachAcceptedRaw(counting tally: inout StatsSampleTally?, pipelined: Bool = false,
                                   _ body: (ExportRawRow) throws -> Void) throws -> SampleTotals {
        guard pipelined else { return try scanAccepted(counting: &tally, body) }
        return try withoutActuallyEscaping(body) { body in
            let handoff = RawRowHandoff()
            // The worker holds `body` only while it runs: the Thread object outlives its block, and
            // `body` must not outlive this call.
            final class Held: @unchecked Sendable { var body: ((ExportRawRow) throws -> Void)? }
            let held = Held()
            held.body = body
            let done = DispatchSemaphore(value: 0)
            let worker = Thread {
                handoff.consume(held.body!)
                held.body = nil
                done.signal()
            }
            worker.stackSize = 8 << 20
            worker.start()
            let totals: SampleTotals
            var batch = RawRowBatch()
            do {
                totals = try scanAccepted(counting: &tally) { row in
                    batch.append(row)
                    guard batch.count >= RawRowBatch.rows else { return }
                    guard let empty = handoff.exchange(batch) else { throw RawRowHandoff.Stopped() }
                    batch = empty
                }
                handoff.finish(batch)
            } catch {
                handoff.finish(RawRowBatch())
                done.wait()
                // The loop's own error explains why reading stopped.
                if let failure = handoff.failure { throw failure }
                throw error
            }
            done.wait()
            if let failure = handoff.failure { throw failure }
            return totals
        }
    }

    private func scanAccepted(counting tally: inout StatsSampleTally?, _ body: (ExportRawRow) throws -> Void) throws -> SampleTotals {
        let counting = tally != nil
        let statement = try db.makeStatement(sql: """
            SELECT status, decided_at, created_at, uid, clip_uid, stage, task, form, content\(counting ? ", CASE WHEN round > 0 THEN parent_uid END" : "")
            FROM samples ORDER BY uid
            """)
        let st = statement.sqliteStatement
        defer { sqlite3_reset(st) }
        func text(_ i: Int32) -> UnsafeBufferPointer<UInt8>? {
            // NULL for SQL NULL (an empty text is a pointer to its terminating zero): no type call per column.
            guard let p = sqlite3_column_text(st, i) else { return nil }
            return UnsafeBufferPointer(start: p, count: Int(sqlite3_column_bytes(st, i)))
        }
        /// `max()` of a text column as SQLite orders text (bytes, a prefix first).
        func keepMax(_ value: UnsafeBufferPointer<UInt8>?, in latest: inout [UInt8]?) {
            guard let value else { return }
            if let l = latest {
                let n = min(l.count, value.count)
                let c = n == 0 ? 0 : l.withUnsafeBufferPointer { memcmp($0.baseAddress!, value.baseAddress!, n) }
                guard c < 0 || (c == 0 && value.count > l.count) else { return }
            }
            latest = Array(value)
        }
        let empty = UnsafeBufferPointer<UInt8>(start: nil, count: 0)
        var totals = SampleTotals()
        var decided: [UInt8]?, created: [UInt8]?
        let fields = ContentFields()
        let accepted = StaticString("accepted").utf8Start
        while true {
            let rc = sqlite3_step(st)
            if rc == SQLITE_DONE { break }
            guard rc == SQLITE_ROW else {
                throw StoreError(path: sqlite3_db_filename(db.sqliteConnection, "main").map { String(cString: $0) } ?? "",
                                 message: "reading samples: \(String(cString: sqlite3_errmsg(db.sqliteConnection)))")
            }
            totals.samples += 1
            keepMax(text(1), in: &decided)
            keepMax(text(2), in: &created)
            let status = text(0) ?? empty
            var clip = -1
            if counting {
                clip = tally!.add(clip: text(4) ?? empty, stage: text(5) ?? empty, task: text(6) ?? empty, form: text(7) ?? empty,
                                  status: status, parent: text(9))
            }
            guard status.count == 8, memcmp(status.baseAddress!, accepted, 8) == 0 else { continue }
            totals.accepted += 1
            let uid = text(3) ?? empty
            guard fields.scan(text(8) ?? empty) else {
                throw StoreError(path: sqlite3_db_filename(db.sqliteConnection, "main").map { String(cString: $0) } ?? "",
                                 message: "sample \(String(decoding: uid, as: UTF8.self)): its content is malformed JSON")
            }
            try body(ExportRawRow(uid: uid, clipUID: text(4) ?? empty, stage: text(5) ?? empty, task: text(6) ?? empty,
                                  form: text(7) ?? empty, kind: fields.value(0), aspect: fields.value(1), label: fields.value(2),
                                  question: fields.value(3), answer: fields.value(4), options: fields.value(5),
                                  answerLetters: fields.value(6), clip: clip))
        }
        totals.lastDecision = decided.map { String(decoding: $0, as: UTF8.self) }
        totals.lastSample = created.map { String(decoding: $0, as: UTF8.self) }
        return totals
    }

    /// The statistics' reader over this snapshot (the dataset card's figures, as the export saw the store).
    public var stats: StatsReader { StatsReader(db: db) }

    /// Counts that say which state of the store an export saw; the sample counts are the ones a raw
    /// scan took on the way (`forEachAcceptedRaw`).
    public func state(_ totals: SampleTotals) throws -> [String: JSONValue] {
        let clips = try Int.fetchOne(db, sql: "SELECT count(*) FROM clips WHERE status = 'ok'") ?? 0
        let splits = try Int.fetchOne(db, sql: "SELECT count(*) FROM clip_splits") ?? 0
        return ["usable_clips": .number(Double(clips)), "samples": .number(Double(totals.samples)), "accepted": .number(Double(totals.accepted)),
                "clips_with_side": .number(Double(splits)), "last_decision": .string(totals.lastDecision ?? ""),
                "last_sample": .string(totals.lastSample ?? "")]
    }
}

/// A curation version as recorded in the store.
public struct ExportRecord: Sendable, Equatable {
    public var outDir: String
    public var version: Int
    public var mix: String
    public var configHash: String
    public var toolVersion: String
    public var mixLines: Int
    public var sourceSHA256: String
    public var receipt: String
    public init(outDir: String, version: Int, mix: String, configHash: String, toolVersion: String, mixLines: Int, sourceSHA256: String, receipt: String) {
        self.outDir = outDir
        self.version = version
        self.mix = mix
        self.configHash = configHash
        self.toolVersion = toolVersion
        self.mixLines = mixLines
        self.sourceSHA256 = sourceSHA256
        self.receipt = receipt
    }
}

extension Store {
    /// Runs `body` against one snapshot of the store.
    public func withExportReader<T>(_ body: (ExportReader) throws -> T) throws -> T {
        try read { db in try body(ExportReader(db: db)) }
    }

    /// Usable clips that have no side yet.
    public func clipsWithoutSide() throws -> [StoredClip] {
        try read { db in
            try Row.fetchAll(db, sql: """
                SELECT \(Store.clipColumns) FROM clips
                WHERE status = 'ok' AND uid NOT IN (SELECT clip_uid FROM clip_splits) ORDER BY uid
                """).map(Store.decodeClip)
        }
    }

    /// Sources with at least one clip in a native test split.
    public func sourcesWithNativeTest() throws -> Set<String> {
        try read { db in Set(try String.fetchAll(db, sql: "SELECT DISTINCT source FROM clips WHERE split = 'test'")) }
    }

    public func recordExports(_ records: [ExportRecord]) throws {
        let now = Store.timestamp()
        try write { db in
            for r in records {
                try db.execute(sql: """
                    INSERT OR REPLACE INTO exports (out_dir, version, mix, config_hash, tool_version, mix_lines, source_sha256, receipt, created_at)
                    VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
                    """, arguments: [r.outDir, r.version, r.mix, r.configHash, r.toolVersion, r.mixLines, r.sourceSHA256, r.receipt, now])
            }
        }
    }

    public func exports(outDir: String? = nil) throws -> [ExportRecord] {
        try read { db in
            try Row.fetchAll(db, sql: "SELECT * FROM exports" + (outDir == nil ? "" : " WHERE out_dir = ?") + " ORDER BY out_dir, version",
                             arguments: outDir.map { [$0] } ?? []).map {
                ExportRecord(outDir: $0["out_dir"], version: $0["version"], mix: $0["mix"], configHash: $0["config_hash"],
                             toolVersion: $0["tool_version"], mixLines: $0["mix_lines"], sourceSHA256: $0["source_sha256"], receipt: $0["receipt"])
            }
        }
    }
}

/// Finds the top-level fields the export reads in a sample's content (JSON text) and gives their
/// values as `json_extract` does: a string decoded to UTF-8, an array or object as its JSON text,
/// a number as written, true/false as 1/0, nil for null or absent; the first of duplicate keys.
/// Decoded strings live in buffers of its own, valid until the next `scan`.
final class ContentFields {
    static let keys: [[UInt8]] = ["kind", "aspect", "label", "question", "answer", "options", "answer_letters"].map { Array($0.utf8) }
    private var spans: [UnsafeBufferPointer<UInt8>?] = Array(repeating: nil, count: keys.count)
    private var decoded: [UnsafeMutablePointer<UInt8>] = []
    private var capacity: [Int] = []
    /// "1" and "0", for true and false.
    private let digits: UnsafeMutablePointer<UInt8> = .allocate(capacity: 2)

    init() {
        digits[0] = UInt8(ascii: "1")
        digits[1] = UInt8(ascii: "0")
        for _ in Self.keys {
            decoded.append(.allocate(capacity: 1024))
            capacity.append(1024)
        }
    }

    deinit {
        decoded.forEach { $0.deallocate() }
        digits.deallocate()
    }

    func value(_ i: Int) -> UnsafeBufferPointer<UInt8>? { spans[i] }

    /// False when `text` is a malformed object (or nothing at all). Other JSON values have no fields.
    func scan(_ text: UnsafeBufferPointer<UInt8>) -> Bool {
        for i in spans.indices { spans[i] = nil }
        guard let p = text.baseAddress else { return false }
        let n = text.count
        var i = 0
        @inline(__always) func space() { while i < n, p[i] == 0x20 || p[i] == 0x0A || p[i] == 0x0D || p[i] == 0x09 { i += 1 } }
        space()
        guard i < n else { return false }
        guard p[i] == UInt8(ascii: "{") else { return true }
        i += 1
        space()
        if i < n, p[i] == UInt8(ascii: "}") { return true }
        var found = 0
        var seen: UInt32 = 0
        while true {
            // The key.
            guard i < n, p[i] == 0x22, let keyEnd = Self.stringEnd(p, n, i) else { return false }
            var field = -1
            if found < Self.keys.count {
                let key = UnsafeBufferPointer(start: p + i + 1, count: keyEnd - i - 1)
                for (k, name) in Self.keys.enumerated() where seen & (1 << k) == 0 && name.count == key.count
                    && name.withUnsafeBufferPointer({ memcmp($0.baseAddress!, key.baseAddress!, key.count) == 0 }) {
                    field = k
                    break
                }
            }
            i = keyEnd + 1
            space()
            guard i < n, p[i] == UInt8(ascii: ":") else { return false }
            i += 1
            space()
            // The value.
            guard i < n else { return false }
            let start = i
            guard let end = Self.valueEnd(p, n, i) else { return false }
            if field >= 0 {
                found += 1
                seen |= 1 << field
                switch p[start] {
                case 0x22:
                    guard let v = decode(field, UnsafeBufferPointer(start: p + start + 1, count: end - start - 2)) else { return false }
                    spans[field] = v
                case UInt8(ascii: "n"):
                    break
                case UInt8(ascii: "t"):
                    spans[field] = UnsafeBufferPointer(start: digits, count: 1)
                case UInt8(ascii: "f"):
                    spans[field] = UnsafeBufferPointer(start: digits + 1, count: 1)
                default:
                    spans[field] = UnsafeBufferPointer(start: p + start, count: end - start)
                }
            }
            i = end
            space()
            guard i < n else { return false }
            if p[i] == UInt8(ascii: "}") { return true }
            guard p[i] == UInt8(ascii: ",") else { return false }
            i += 1
            space()
        }
    }

    /// The index of the closing quote of the string whose opening quote is at `start`.
    private static func stringEnd(_ p: UnsafePointer<UInt8>, _ n: Int, _ start: Int) -> Int? {
        var i = start + 1
        while i < n {
            // The next quote; it closes the string unless an odd number of backslashes precede it.
            guard let q = memchr(p + i, 0x22, n - i) else { return nil }
            let at = p.distance(to: q.assumingMemoryBound(to: UInt8.self))
            var backslashes = 0
            while at - backslashes - 1 > start && p[at - backslashes - 1] == 0x5C { backslashes += 1 }
            if backslashes % 2 == 0 { return at }
            i = at + 1
        }
        return nil
    }

    /// The index just past the value starting at `i`.
    private static func valueEnd(_ p: UnsafePointer<UInt8>, _ n: Int, _ start: Int) -> Int? {
        var i = start
        switch p[i] {
        case 0x22:
            guard let e = stringEnd(p, n, i) else { return nil }
            return e + 1
        case UInt8(ascii: "{"), UInt8(ascii: "["):
            var depth = 0
            while i < n {
                switch p[i] {
                case 0x22:
                    guard let e = stringEnd(p, n, i) else { return nil }
                    i = e + 1
                    continue
                case UInt8(ascii: "{"), UInt8(ascii: "["):
                    depth += 1
                case UInt8(ascii: "}"), UInt8(ascii: "]"):
                    depth -= 1
                    if depth == 0 { return i + 1 }
                default:
                    break
                }
                i += 1
            }
            return nil
        default:
            // A number, true, false or null.
            while i < n, p[i] != UInt8(ascii: ","), p[i] != UInt8(ascii: "}"), p[i] != UInt8(ascii: "]"),
                  p[i] != 0x20, p[i] != 0x0A, p[i] != 0x0D, p[i] != 0x09 { i += 1 }
            return i > start ? i : nil
        }
    }

    /// A string's content (between the quotes) decoded: the bytes themselves when there is no escape.
    private func decode(_ field: Int, _ raw: UnsafeBufferPointer<UInt8>) -> UnsafeBufferPointer<UInt8>? {
        guard let base = raw.baseAddress, let first = memchr(base, 0x5C, raw.count) else { return raw }
        if capacity[field] < raw.count {
            decoded[field].deallocate()
            capacity[field] = max(raw.count, 2 * capacity[field])
            decoded[field] = .allocate(capacity: capacity[field])
        }
        let out = decoded[field]
        var o = base.distance(to: first.assumingMemoryBound(to: UInt8.self))
        out.update(from: base, count: o)
        var i = o
        let n = raw.count
        func hex4(_ at: Int) -> UInt32? {
            guard at + 4 <= n else { return nil }
            var v: UInt32 = 0
            for k in 0..<4 {
                let c = base[at + k]
                switch c {
                case UInt8(ascii: "0")...UInt8(ascii: "9"): v = v << 4 | UInt32(c - UInt8(ascii: "0"))
                case UInt8(ascii: "a")...UInt8(ascii: "f"): v = v << 4 | UInt32(c - UInt8(ascii: "a") + 10)
                case UInt8(ascii: "A")...UInt8(ascii: "F"): v = v << 4 | UInt32(c - UInt8(ascii: "A") + 10)
                default: return nil
                }
            }
            return v
        }
        while i < n {
            let b = base[i]
            guard b == 0x5C else {
                out[o] = b
                o += 1
                i += 1
                continue
            }
            guard i + 1 < n else { return nil }
            switch base[i + 1] {
            case 0x22: out[o] = 0x22
            case 0x5C: out[o] = 0x5C
            case UInt8(ascii: "/"): out[o] = UInt8(ascii: "/")
            case UInt8(ascii: "b"): out[o] = 0x08
            case UInt8(ascii: "f"): out[o] = 0x0C
            case UInt8(ascii: "n"): out[o] = 0x0A
            case UInt8(ascii: "r"): out[o] = 0x0D
            case UInt8(ascii: "t"): out[o] = 0x09
            case UInt8(ascii: "u"):
                guard var scalar = hex4(i + 2) else { return nil }
                i += 6
                if scalar >= 0xD800 && scalar < 0xDC00, i + 1 < n, base[i] == 0x5C, base[i + 1] == UInt8(ascii: "u"),
                   let low = hex4(i + 2), low >= 0xDC00 && low < 0xE000 {
                    scalar = 0x10000 + ((scalar - 0xD800) << 10) + (low - 0xDC00)
                    i += 6
                } else if scalar >= 0xD800 && scalar < 0xE000 {
                    scalar = 0xFFFD  // a lone surrogate
                }
                // UTF-8 is never longer than the escape it came from (6 bytes for 3, 12 for 4).
                switch scalar {
                case ..<0x80:
                    out[o] = UInt8(scalar); o += 1
                case ..<0x800:
                    out[o] = UInt8(0xC0 | scalar >> 6); out[o + 1] = UInt8(0x80 | scalar & 0x3F); o += 2
                case ..<0x10000:
                    out[o] = UInt8(0xE0 | scalar >> 12); out[o + 1] = UInt8(0x80 | scalar >> 6 & 0x3F)
                    out[o + 2] = UInt8(0x80 | scalar & 0x3F); o += 3
                default:
                    out[o] = UInt8(0xF0 | scalar >> 18); out[o + 1] = UInt8(0x80 | scalar >> 12 & 0x3F)
                    out[o + 2] = UInt8(0x80 | scalar >> 6 & 0x3F); out[o + 3] = UInt8(0x80 | scalar & 0x3F); o += 4
                }
                continue
            default:
                return nil
            }
            o += 1
            i += 2
        }
        return UnsafeBufferPointer(start: out, count: o)
    }
}

/// An accepted sample as the export's evaluation coverage sees it: which evaluation task it could
/// give items to (its clip, the clip's source, stage, form, instruct family and QA aspect).
public struct EvaluationSampleRow: Sendable, Equatable {
    public var clip: String
    public var source: String
    public var stage: String
    public var form: String
    public var kind: String?
    public var aspect: String?
}

extension Store {
    /// The distinct (clip, stage, form, family, aspect) of accepted samples of the stages that feed
    /// evaluation files (`instruct`, `caption`, `qa`), on usable clips.
    /// `source` and `stage` narrow the read (one source's clips by the source index; one stage's
    /// samples by the stage index): what the export reads when it only has to explain an empty file.
    public func evaluationSampleRows(source: String? = nil, stage: String? = nil) throws -> [EvaluationSampleRow] {
        try read { db in
            var conditions = ["s.status = 'accepted'", "c.status = 'ok'", "s.stage IN ('instruct', 'caption', 'qa')"]
            var arguments: [String] = []
            if let source { conditions.append("c.source = ?"); arguments.append(source) }
            if let stage { conditions.append("s.stage = ?"); arguments.append(stage) }
            return try Row.fetchAll(db, sql: """
                SELECT DISTINCT s.clip_uid, c.source, s.stage, s.form,
                       json_extract(s.content, '$.kind') AS kind, json_extract(s.content, '$.aspect') AS aspect
                FROM samples s JOIN clips c ON c.uid = s.clip_uid
                WHERE \(conditions.joined(separator: " AND "))
                ORDER BY s.clip_uid
                """, arguments: StatementArguments(arguments)).map {
                EvaluationSampleRow(clip: $0["clip_uid"], source: $0["source"], stage: $0["stage"], form: $0["form"],
                                    kind: $0["kind"], aspect: $0["aspect"])
            }
        }
    }
}

extension Store {
    /// Every recorded side's reason (`native:…`, `group:…`, `identity-clips:…`, `eval-cover:…`), by clip uid.
    public func clipSplitReasons() throws -> [String: String] {
        try read { db in
            Dictionary(try Row.fetchAll(db, sql: "SELECT clip_uid, reason FROM clip_splits").map { ($0["clip_uid"], $0["reason"]) },
                       uniquingKeysWith: { a, _ in a })
        }
    }
}

extension Store {
    /// Whether an export would write anything: an accepted sample on a readable clip. SQLite stops
    /// at the first one (counting them all reads the whole samples table).
    public func hasAcceptedSample() throws -> Bool {
        try read { db in
            try Bool.fetchOne(db, sql: """
                SELECT EXISTS (SELECT 1 FROM samples s JOIN clips c ON c.uid = s.clip_uid WHERE s.status = 'accepted' AND c.status = 'ok')
                """) ?? false
        }
    }

    /// How many accepted samples on readable clips an export would write (0: nothing to export).
    public func acceptedSampleCount() throws -> Int {
        try read { db in
            try Int.fetchOne(db, sql: """
                SELECT count(*) FROM samples s JOIN clips c ON c.uid = s.clip_uid WHERE s.status = 'accepted' AND c.status = 'ok'
                """) ?? 0
        }
    }
}
