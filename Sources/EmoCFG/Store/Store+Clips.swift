import Foundation
import GRDB

/// A source as the store records it.
public struct SourceRow: Sendable, Equatable {
    public var name: String
    public var root: String
    public var adapter: String
    public var adapterVersion: Int
    public var licence: String?
    /// The folder name under the export's `videos/` (`export_name:` in sources.yaml), when set.
    public var exportName: String?
    public init(name: String, root: String, adapter: String, adapterVersion: Int, licence: String?, exportName: String? = nil) {
        self.name = name
        self.root = root
        self.adapter = adapter
        self.adapterVersion = adapterVersion
        self.licence = licence
        self.exportName = exportName
    }
}

/// Whether a clip's media could be used, as the store records it.
public enum ClipStatus: String, Codable, Sendable, CaseIterable {
    /// The media is there and was read.
    case ok
    /// A label row names media that does not exist.
    case missing
    /// The media exists but cannot be read (permissions, a directory, a broken symlink).
    case unreadable
    /// libavformat could not open or understand the media.
    case failed
    /// The clip was ingested before but its source no longer lists it.
    case gone
}

/// One clip row: the adapter's record plus what ingest learnt about its media.
public struct StoredClip: Sendable, Equatable {
    public var uid: String
    public var source: String
    public var record: ClipRecord
    public var probe: ProbeResult?
    /// The face box in use (from the dataset or a sidecar), normalised.
    public var face: FaceBox?
    public var view: ViewClass?
    public var fileSize: Int64?
    public var fileMtime: Double?
    public var recordHash: String
    public var status: ClipStatus
    public var error: String?
    /// The face detector (its identity) that searched this clip, with or without finding a face;
    /// nil when it has not (a box from the dataset or a sidecar, `faces: off`, `--no-faces`).
    public var faceSearchedBy: String?

    public init(
        uid: String, source: String, record: ClipRecord, probe: ProbeResult?, face: FaceBox?, view: ViewClass?,
        fileSize: Int64?, fileMtime: Double?, recordHash: String, status: ClipStatus, error: String?
    ) {
        self.uid = uid
        self.source = source
        self.record = record
        self.probe = probe
        self.face = face
        self.view = view
        self.fileSize = fileSize
        self.fileMtime = fileMtime
        self.recordHash = recordHash
        self.status = status
        self.error = error
    }

    public var faceRatio: Double? { face?.areaRatio }
}

/// A problem as stored: which source and clip, and whether the scan or the media check found it.
public struct StoredProblem: Sendable, Equatable {
    public enum Phase: String, Sendable {
        /// Label files, rows and values: recomputed by every scan.
        case scan
        /// Media files and probing: recomputed when the clip's file is checked again.
        case media
        /// Face search: recomputed when the clip is searched for faces again.
        case faces
    }
    public var source: String
    public var clipUID: String?
    public var phase: Phase
    public var problem: IngestProblem

    public init(source: String, clipUID: String?, phase: Phase, problem: IngestProblem) {
        self.source = source
        self.clipUID = clipUID
        self.phase = phase
        self.problem = problem
    }

    var fingerprint: String {
        StableHash.hex([source, phase.rawValue, clipUID ?? "", problem.kind.rawValue,
                        problem.location?.file ?? "", problem.location?.line.map(String.init) ?? "",
                        problem.message].joined(separator: "\u{1F}"))
    }
}

/// Per-source counts, as `emocfg status` prints them.
public struct SourceCounts: Codable, Sendable, Equatable {
    public var clips: Int
    public var probed: Int
    public var labelled: Int
    public var errors: Int
    public var missing: Int
    public var unreadable: Int
    public var failed: Int
    public var withFace: Int
    /// Where the boxes of `withFace` came from.
    public var faceFromDataset: Int = 0
    public var faceFromSidecar: Int = 0
    public var faceFromDetector: Int = 0
    /// Clips the detector searched and found no face in.
    public var noFaceFound: Int = 0
    public init(clips: Int = 0, probed: Int = 0, labelled: Int = 0, errors: Int = 0, missing: Int = 0,
                unreadable: Int = 0, failed: Int = 0, withFace: Int = 0) {
        self.clips = clips
        self.probed = probed
        self.labelled = labelled
        self.errors = errors
        self.missing = missing
        self.unreadable = unreadable
        self.failed = failed
        self.withFace = withFace
    }
    enum CodingKeys: String, CodingKey {
        case clips, probed, labelled, errors, missing, unreadable, failed
        case withFace = "with_face"
        case faceFromDataset = "face_from_dataset"
        case faceFromSidecar = "face_from_sidecar"
        case faceFromDetector = "face_from_detector"
        case noFaceFound = "no_face_found"
    }
}

extension Store {
    /// Now in UTC as ISO 8601 (`2026-12-07T17:45:27Z`), without building a formatter per call
    /// (the batch lane stores 100,000 answers in one transaction).
    static let timestamp: @Sendable () -> String = {
        var t = time(nil)
        var parts = tm()
        gmtime_r(&t, &parts)
        func two(_ v: Int32) -> String { v < 10 ? "0\(v)" : "\(v)" }
        return "\(parts.tm_year + 1900)-\(two(parts.tm_mon + 1))-\(two(parts.tm_mday))T\(two(parts.tm_hour)):\(two(parts.tm_min)):\(two(parts.tm_sec))Z"
    }

    public func upsertSource(_ s: SourceRow) throws {
        try write { db in
            try db.execute(sql: """
                INSERT INTO sources (name, root, adapter, adapter_version, licence, export_name, ingested_at)
                VALUES (?, ?, ?, ?, ?, ?, ?)
                ON CONFLICT(name) DO UPDATE SET root = excluded.root, adapter = excluded.adapter,
                    adapter_version = excluded.adapter_version, licence = excluded.licence,
                    export_name = excluded.export_name, ingested_at = excluded.ingested_at
                """, arguments: [s.name, s.root, s.adapter, s.adapterVersion, s.licence, s.exportName, Store.timestamp()])
        }
    }

    public func sources() throws -> [SourceRow] {
        try read { db in
            try Row.fetchAll(db, sql: "SELECT name, root, adapter, adapter_version, licence, export_name FROM sources ORDER BY name").map {
                SourceRow(name: $0["name"], root: $0["root"], adapter: $0["adapter"],
                          adapterVersion: $0["adapter_version"], licence: $0["licence"], exportName: $0["export_name"])
            }
        }
    }

    static let clipColumns = """
        uid, source, key, path, kind, window_start, window_end, native_split, split, folds, identity,
        duration, width, height, fps, frame_count, frame_count_exact, codec, has_audio, container,
        file_size, file_mtime, probed_at, face_x, face_y, face_w, face_h, face_origin, face_ratio, view,
        native_labels, labels, labelled, texts, label_origin, record_hash, status, error, updated_at,
        frame_first, frame_last, face_searched_by
        """

    /// Inserts or replaces clip rows, in one transaction per call. Callers batch (a few hundred to a
    /// few thousand rows a call) so that a stop loses at most one batch.
    public func upsertClips(_ clips: [StoredClip]) throws {
        guard !clips.isEmpty else { return }
        let now = Store.timestamp()
        let placeholders = Array(repeating: "?", count: 42).joined(separator: ", ")
        try write { db in
            let statement = try db.cachedStatement(sql: "INSERT OR REPLACE INTO clips (\(Store.clipColumns)) VALUES (\(placeholders))")
            for c in clips {
                let r = c.record, p = c.probe
                let values: [(any DatabaseValueConvertible)?] = [
                    c.uid, c.source, r.key, r.path, r.kind.rawValue, r.window?.start, r.window?.end,
                    r.nativeSplit, r.split, CanonicalJSON.encode(r.folds), r.identity,
                    p?.duration, p?.width, p?.height, p?.fps, p?.frameCount, p.map { $0.frameCountExact },
                    p?.codec, p.map { $0.hasAudio }, p?.container,
                    c.fileSize, c.fileMtime, p == nil ? nil : now,
                    c.face?.x, c.face?.y, c.face?.w, c.face?.h, c.face?.origin.rawValue, c.face?.areaRatio, c.view?.rawValue,
                    CanonicalJSON.encode(r.nativeLabels), CanonicalJSON.encode(r.labels), !r.labels.isEmpty,
                    CanonicalJSON.encode(r.texts), r.labelOrigin?.description, c.recordHash, c.status.rawValue, c.error, now,
                    r.frameRange?.first, r.frameRange?.last, c.faceSearchedBy,
                ]
                statement.setUncheckedArguments(StatementArguments(values))
                try statement.execute()
            }
        }
    }

    /// Every clip of a source (or of all sources), ordered by uid.
    public func clips(source: String? = nil) throws -> [StoredClip] {
        try read { db in
            let sql = "SELECT \(Store.clipColumns) FROM clips" + (source == nil ? "" : " WHERE source = ?") + " ORDER BY uid"
            return try Row.fetchAll(db, sql: sql, arguments: source.map { [$0] } ?? []).map(Store.decodeClip)
        }
    }

    public func clip(uid: String) throws -> StoredClip? {
        try read { db in
            try Row.fetchOne(db, sql: "SELECT \(Store.clipColumns) FROM clips WHERE uid = ?", arguments: [uid]).map(Store.decodeClip)
        }
    }

    static func decodeClip(_ row: Row) -> StoredClip {
        let labelOrigin: SourceLocation? = (row["label_origin"] as String?).map { text in
            if let colon = text.lastIndex(of: ":"), let line = Int(text[text.index(after: colon)...]) {
                return SourceLocation(file: String(text[..<colon]), line: line)
            }
            return SourceLocation(file: text)
        }
        var window: TimeWindow?
        if let s: Double = row["window_start"], let e: Double = row["window_end"] { window = TimeWindow(start: s, end: e) }
        var record = ClipRecord(
            key: row["key"], path: row["path"], kind: ClipKind(rawValue: row["kind"]) ?? .video, window: window,
            nativeSplit: row["native_split"], split: row["split"],
            folds: CanonicalJSON.decode([String: String].self, row["folds"]) ?? [:], identity: row["identity"],
            nativeLabels: CanonicalJSON.decode([String: String].self, row["native_labels"]) ?? [:],
            labels: CanonicalJSON.decode(NormalizedLabels.self, row["labels"]) ?? NormalizedLabels(),
            faceBox: nil, texts: CanonicalJSON.decode([String: String].self, row["texts"]) ?? [:],
            labelOrigin: labelOrigin)
        if let first: Int = row["frame_first"], let last: Int = row["frame_last"] { record.frameRange = FrameRange(first: first, last: last) }
        // A frame folder's rate is the dataset's, stored as the probe's fps.
        if record.kind == .frames { record.frameRate = row["fps"] }
        var probe: ProbeResult?
        if (row["probed_at"] as String?) != nil {
            probe = ProbeResult(
                duration: row["duration"], width: row["width"], height: row["height"], fps: row["fps"],
                frameCount: row["frame_count"], frameCountExact: (row["frame_count_exact"] as Bool?) ?? false,
                codec: row["codec"], hasAudio: (row["has_audio"] as Bool?) ?? false, container: row["container"])
        }
        var face: FaceBox?
        if let x: Double = row["face_x"], let y: Double = row["face_y"], let w: Double = row["face_w"], let h: Double = row["face_h"] {
            face = FaceBox(x: x, y: y, w: w, h: h, origin: FaceBox.Origin(rawValue: row["face_origin"] ?? "dataset"))
        }
        var clip = StoredClip(
            uid: row["uid"], source: row["source"], record: record, probe: probe, face: face,
            view: (row["view"] as String?).flatMap(ViewClass.init(rawValue:)),
            fileSize: row["file_size"], fileMtime: row["file_mtime"], recordHash: row["record_hash"],
            status: ClipStatus(rawValue: row["status"]) ?? .ok, error: row["error"])
        clip.faceSearchedBy = row["face_searched_by"]
        return clip
    }

    /// Marks every clip of `source` not in `present` as gone (its rows and samples stay for history).
    @discardableResult
    public func markGone(source: String, present: Set<String>) throws -> Int {
        try write { db in
            let uids = try String.fetchAll(db, sql: "SELECT uid FROM clips WHERE source = ? AND status != 'gone'", arguments: [source])
            let gone = uids.filter { !present.contains($0) }
            let st = try db.cachedStatement(sql: "UPDATE clips SET status = 'gone', updated_at = ? WHERE uid = ?")
            let now = Store.timestamp()
            for uid in gone { try st.execute(arguments: [now, uid]) }
            if !gone.isEmpty {
                let del = try db.cachedStatement(sql: "DELETE FROM ingest_problems WHERE clip_uid = ?")
                for uid in gone { try del.execute(arguments: [uid]) }
            }
            return gone.count
        }
    }

    /// Replaces the stored problems of one phase: for `.scan`, all of the source's scan problems;
    /// for `.media` and `.faces`, those of the clips in `clips`. Unchanged problems are left as they are (no new
    /// rows on a rerun). Returns how many rows were inserted.
    @discardableResult
    public func replaceProblems(source: String, phase: StoredProblem.Phase, clips: Set<String>? = nil, with problems: [StoredProblem]) throws -> Int {
        try write { db in
            let keep = Set(problems.map(\.fingerprint))
            let existing: [Row]
            if phase == .scan {
                existing = try Row.fetchAll(db, sql: "SELECT id, fingerprint FROM ingest_problems WHERE source = ? AND phase = 'scan'", arguments: [source])
            } else {
                var rows: [Row] = []
                let st = try db.cachedStatement(sql: "SELECT id, fingerprint FROM ingest_problems WHERE clip_uid = ? AND phase = ?")
                for uid in clips ?? [] { rows += try Row.fetchAll(st, arguments: [uid, phase.rawValue]) }
                existing = rows
            }
            let del = try db.cachedStatement(sql: "DELETE FROM ingest_problems WHERE id = ?")
            for row in existing where !keep.contains(row["fingerprint"] as String) {
                try del.execute(arguments: [row["id"] as Int64])
            }
            let ins = try db.cachedStatement(sql: """
                INSERT OR IGNORE INTO ingest_problems (source, clip_uid, kind, file, line, message, phase, fingerprint)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?)
                """)
            var inserted = 0
            for p in problems {
                try ins.execute(arguments: [p.source, p.clipUID, p.problem.kind.rawValue, p.problem.location?.file,
                                            p.problem.location?.line, p.problem.message, p.phase.rawValue, p.fingerprint])
                inserted += db.changesCount
            }
            return inserted
        }
    }

    public func problems(source: String? = nil) throws -> [StoredProblem] {
        try read { db in
            let sql = "SELECT * FROM ingest_problems" + (source == nil ? "" : " WHERE source = ?")
                + " ORDER BY source, file, line, id"
            return try Row.fetchAll(db, sql: sql, arguments: source.map { [$0] } ?? []).map { row in
                let file: String? = row["file"]
                let problem = IngestProblem(
                    clipKey: (row["clip_uid"] as String?).map { uid in
                        let s: String = row["source"]
                        return uid.hasPrefix(s + "/") ? String(uid.dropFirst(s.count + 1)) : uid
                    },
                    kind: IngestProblem.Kind(rawValue: row["kind"]) ?? .badRow,
                    location: file.map { SourceLocation(file: $0, line: row["line"]) }, message: row["message"])
                return StoredProblem(source: row["source"], clipUID: row["clip_uid"],
                                     phase: StoredProblem.Phase(rawValue: row["phase"]) ?? .scan, problem: problem)
            }
        }
    }

    /// Counts per source for `emocfg status` (gone clips excluded).
    public func sourceCounts() throws -> [String: SourceCounts] {
        try read { db in
            var out: [String: SourceCounts] = [:]
            for name in try String.fetchAll(db, sql: "SELECT name FROM sources") { out[name] = SourceCounts() }
            let rows = try Row.fetchAll(db, sql: """
                SELECT source, COUNT(*) AS clips,
                    SUM(probed_at IS NOT NULL AND status = 'ok') AS probed,
                    SUM(labelled) AS labelled,
                    SUM(status = 'missing') AS missing, SUM(status = 'unreadable') AS unreadable,
                    SUM(status = 'failed') AS failed, SUM(face_w IS NOT NULL) AS with_face,
                    SUM(face_w IS NOT NULL AND face_origin = 'dataset') AS face_dataset,
                    SUM(face_w IS NOT NULL AND face_origin = 'sidecar') AS face_sidecar,
                    SUM(face_w IS NOT NULL AND face_origin LIKE 'detector:%') AS face_detector,
                    SUM(face_w IS NULL AND face_searched_by IS NOT NULL AND status = 'ok') AS no_face
                FROM clips WHERE status != 'gone' GROUP BY source
                """)
            for r in rows {
                var c = out[r["source"]] ?? SourceCounts()
                c.clips = r["clips"]
                c.probed = r["probed"] ?? 0
                c.labelled = r["labelled"] ?? 0
                c.missing = r["missing"] ?? 0
                c.unreadable = r["unreadable"] ?? 0
                c.failed = r["failed"] ?? 0
                c.withFace = r["with_face"] ?? 0
                c.faceFromDataset = r["face_dataset"] ?? 0
                c.faceFromSidecar = r["face_sidecar"] ?? 0
                c.faceFromDetector = r["face_detector"] ?? 0
                c.noFaceFound = r["no_face"] ?? 0
                out[r["source"]] = c
            }
            for r in try Row.fetchAll(db, sql: "SELECT source, COUNT(*) AS n FROM ingest_problems GROUP BY source") {
                out[r["source"], default: SourceCounts()].errors = r["n"]
            }
            return out
        }
    }
}

extension Store {
    /// A file's probe result as stored, with the size and mtime it had when probed.
    public struct MediaProbeRow: Sendable, Equatable {
        public var path: String
        public var size: Int64?
        public var mtime: Double?
        public var probe: ProbeResult
        public init(path: String, size: Int64?, mtime: Double?, probe: ProbeResult) {
            self.path = path
            self.size = size
            self.mtime = mtime
            self.probe = probe
        }
    }

    /// Every stored file probe of a source, by path.
    public func mediaProbes(source: String) throws -> [String: MediaProbeRow] {
        try read { db in
            var out: [String: MediaProbeRow] = [:]
            for r in try Row.fetchAll(db, sql: "SELECT path, file_size, file_mtime, probe FROM media_probes WHERE source = ?", arguments: [source]) {
                if let p = CanonicalJSON.decode(ProbeResult.self, r["probe"]) {
                    out[r["path"]] = MediaProbeRow(path: r["path"], size: r["file_size"], mtime: r["file_mtime"], probe: p)
                }
            }
            return out
        }
    }

    public func saveMediaProbes(source: String, _ rows: [MediaProbeRow]) throws {
        guard !rows.isEmpty else { return }
        try write { db in
            let st = try db.cachedStatement(sql: "INSERT OR REPLACE INTO media_probes (source, path, file_size, file_mtime, probe) VALUES (?, ?, ?, ?, ?)")
            for r in rows { try st.execute(arguments: [source, r.path, r.size, r.mtime, CanonicalJSON.encode(r.probe)]) }
        }
    }
}

extension Store {
    /// How many readable clips the store holds.
    public func clipCount() throws -> Int {
        try read { db in try Int.fetchOne(db, sql: "SELECT count(*) FROM clips WHERE status = 'ok'") ?? 0 }
    }
}
