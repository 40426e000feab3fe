import Foundation
import GRDB

/// A clip whose media is not a whole video file (a frame folder, a part of one, or a time window of
/// a longer video): the export renders it to a video file.
public struct ClipToRender: Sendable, Equatable {
    public var uid: String
    public var source: String
    /// Relative to the source root: the frame folder or the longer video.
    public var path: String
    public var kind: ClipKind
    public var window: TimeWindow?
    public var frameRange: FrameRange?
    /// The dataset's frame rate for frame folders (images carry none).
    public var fps: Double?
    /// What ingest recorded of the file or folder: together with the path, its identity.
    public var fileSize: Int64?
    public var fileMtime: Double?
    public var frameCount: Int?

    public init(uid: String, source: String, path: String, kind: ClipKind, window: TimeWindow? = nil, frameRange: FrameRange? = nil,
                fps: Double? = nil, fileSize: Int64? = nil, fileMtime: Double? = nil, frameCount: Int? = nil) {
        self.uid = uid
        self.source = source
        self.path = path
        self.kind = kind
        self.window = window
        self.frameRange = frameRange
        self.fps = fps
        self.fileSize = fileSize
        self.fileMtime = fileMtime
        self.frameCount = frameCount
    }
}

/// One rendered clip as the store records it (`rendered_media`), by its content key.
public struct RenderedMediaRow: Sendable, Equatable {
    public var key: String
    public var clipUID: String
    /// `ok` or `failed`.
    public var status: String
    /// Relative to the export's media cache folder.
    public var file: String?
    public var encoder: String?
    /// Canonical JSON of what the key covers.
    public var settings: String
    public var frames: Int?
    public var duration: Double?
    public var width: Int?
    public var height: Int?
    public var hasAudio: Bool?
    public var bytes: Int64?
    public var error: String?

    public init(key: String, clipUID: String, status: String, file: String?, encoder: String?, settings: String,
                frames: Int? = nil, duration: Double? = nil, width: Int? = nil, height: Int? = nil, hasAudio: Bool? = nil,
                bytes: Int64? = nil, error: String? = nil) {
        self.key = key
        self.clipUID = clipUID
        self.status = status
        self.file = file
        self.encoder = encoder
        self.settings = settings
        self.frames = frames
        self.duration = duration
        self.width = width
        self.height = height
        self.hasAudio = hasAudio
        self.bytes = bytes
        self.error = error
    }
}

extension Store {
    /// Usable clips with a side and at least one accepted sample whose media must be rendered for
    /// the export (kind `frames` or `window`), by uid.
    public func clipsToRender() throws -> [ClipToRender] {
        try read { db in
            try Row.fetchAll(db, sql: """
                SELECT c.uid, c.source, c.path, c.kind, c.window_start, c.window_end, c.frame_first, c.frame_last,
                       c.fps, c.file_size, c.file_mtime, c.frame_count
                FROM clips c JOIN clip_splits s ON s.clip_uid = c.uid
                WHERE c.status = 'ok' AND c.kind != 'video'
                  AND EXISTS (SELECT 1 FROM samples x WHERE x.clip_uid = c.uid AND x.status = 'accepted')
                ORDER BY c.uid
                """).map { row in
                var window: TimeWindow?
                if let s: Double = row["window_start"], let e: Double = row["window_end"] { window = TimeWindow(start: s, end: e) }
                var range: FrameRange?
                if let f: Int = row["frame_first"], let l: Int = row["frame_last"] { range = FrameRange(first: f, last: l) }
                return ClipToRender(uid: row["uid"], source: row["source"], path: row["path"],
                                    kind: ClipKind(rawValue: row["kind"]) ?? .video, window: window, frameRange: range,
                                    fps: row["fps"], fileSize: row["file_size"], fileMtime: row["file_mtime"], frameCount: row["frame_count"])
            }
        }
    }

    /// The rendered media recorded under `keys` (those that exist).
    public func renderedMedia(keys: [String]) throws -> [String: RenderedMediaRow] {
        guard !keys.isEmpty else { return [:] }
        return try read { db in
            var out: [String: RenderedMediaRow] = [:]
            for chunk in stride(from: 0, to: keys.count, by: 500).map({ Array(keys[$0..<min($0 + 500, keys.count)]) }) {
                let marks = Array(repeating: "?", count: chunk.count).joined(separator: ",")
                for row in try Row.fetchAll(db, sql: "SELECT * FROM rendered_media WHERE key IN (\(marks))", arguments: StatementArguments(chunk)) {
                    let r = RenderedMediaRow(
                        key: row["key"], clipUID: row["clip_uid"], status: row["status"], file: row["file"], encoder: row["encoder"],
                        settings: row["settings"], frames: row["frames"], duration: row["duration"], width: row["width"],
                        height: row["height"], hasAudio: row["has_audio"], bytes: row["bytes"], error: row["error"])
                    out[r.key] = r
                }
            }
            return out
        }
    }

    /// Records renders (done or failed), replacing earlier rows of the same keys.
    public func recordRenderedMedia(_ rows: [RenderedMediaRow]) throws {
        guard !rows.isEmpty else { return }
        let now = Store.timestamp()
        try write { db in
            let st = try db.cachedStatement(sql: """
                INSERT OR REPLACE INTO rendered_media
                    (key, clip_uid, status, file, encoder, settings, frames, duration, width, height, has_audio, bytes, error, created_at)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                """)
            for r in rows {
                try st.execute(arguments: [r.key, r.clipUID, r.status, r.file, r.encoder, r.settings, r.frames, r.duration,
                                           r.width, r.height, r.hasAudio, r.bytes, r.error, now])
            }
        }
    }
}
