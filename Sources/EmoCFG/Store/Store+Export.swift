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
}

/// One accepted sample as the export reads it: the stored columns and the content fields it uses,
/// extracted by SQLite (`json_extract`) rather than by parsing the content again in Swift.
public struct ExportSampleRow: Sendable {
    public var uid: String
    public var clipUID: String
    public var stage: String
    public var task: String
    public var form: String
    /// The instruct family (`content.kind`), the QA aspect, and the label the instruct stage answered.
    public var kind: String?
    public var aspect: String?
    public var label: String?
    /// Only in the full pass (`withContent`): question, answer, lettered options (JSON text) and letters.
    public var question: String?
    public var answer: String?
    public var options: String?
    public var answerLetters: String?
}

/// A consistent view of the store for one export: every read inside sees the same snapshot, so
/// the planning pass and the writing pass agree even while another process adds samples.
public struct ExportReader {
    let db: Database

    /// Usable (`ok`) clips that have a side, by uid.
    public func clips() throws -> [String: ExportClip] {
        var out: [String: ExportClip] = [:]
        let rows = try Row.fetchCursor(db, sql: """
            SELECT c.uid, c.source, c.path, s.side,
                   coalesce(json_extract(c.labels, '$.emotion'), json_extract(c.labels, '$.sentiment')) AS label
            FROM clips c JOIN clip_splits s ON s.clip_uid = c.uid
            WHERE c.status = 'ok'
            """)
        while let r = try rows.next() {
            out[r[0]] = ExportClip(source: r[1], path: r[2], side: r[3], label: r[4])
        }
        return out
    }

    /// Calls `body` for every accepted sample, in uid order.
    public func forEachAccepted(withContent: Bool, _ body: (ExportSampleRow) throws -> Void) throws {
        let extra = withContent
            ? ", json_extract(content, '$.question'), json_extract(content, '$.answer'), json_extract(content, '$.options'), json_extract(content, '$.answer_letters')"
            : ""
        let statement = try db.makeStatement(sql: """
            SELECT uid, clip_uid, stage, task, form, json_extract(content, '$.kind'), json_extract(content, '$.aspect'),
                   json_extract(content, '$.label')\(extra)
            FROM samples WHERE status = 'accepted' ORDER BY uid
            """)
        let rows = try Row.fetchCursor(statement)
        while let r = try rows.next() {
            var s = ExportSampleRow(uid: r[0], clipUID: r[1], stage: r[2], task: r[3], form: r[4], kind: r[5], aspect: r[6], label: r[7])
            if withContent {
                s.question = r[8]
                s.answer = r[9]
                s.options = r[10]
                s.answerLetters = r[11]
            }
            try body(s)
        }
    }

    /// Counts that say which state of the store an export saw.
    public func state() throws -> [String: JSONValue] {
        let clips = try Int.fetchOne(db, sql: "SELECT count(*) FROM clips WHERE status = 'ok'") ?? 0
        let samples = try Int.fetchOne(db, sql: "SELECT count(*) FROM samples") ?? 0
        let accepted = try Int.fetchOne(db, sql: "SELECT count(*) FROM samples WHERE status = 'accepted'") ?? 0
        let splits = try Int.fetchOne(db, sql: "SELECT count(*) FROM clip_splits") ?? 0
        let decided = try String.fetchOne(db, sql: "SELECT max(decided_at) FROM samples") ?? ""
        let created = try String.fetchOne(db, sql: "SELECT max(created_at) FROM samples") ?? ""
        return ["usable_clips": .number(Double(clips)), "samples": .number(Double(samples)), "accepted": .number(Double(accepted)),
                "clips_with_side": .number(Double(splits)), "last_decision": .string(decided), "last_sample": .string(created)]
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
        let uids = try read { db in
            try String.fetchAll(db, sql: """
                SELECT uid FROM clips WHERE status = 'ok' AND uid NOT IN (SELECT clip_uid FROM clip_splits) ORDER BY uid
                """)
        }
        return try uids.compactMap { try clip(uid: $0) }
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
