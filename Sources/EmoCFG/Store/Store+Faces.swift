import Foundation
import GRDB

extension Store {
    /// One face search as stored: the media it searched, the file's size and mtime then, the
    /// detector and settings, and what it found (or why it could not search).
    public struct FaceSearchRow: Sendable, Equatable {
        public var media: String
        public var size: Int64?
        public var mtime: Double?
        public var detector: String
        public var settings: String
        public var result: FaceSearchResult?
        public var error: String?

        public init(media: String, size: Int64?, mtime: Double?, detector: String, settings: String,
                    result: FaceSearchResult?, error: String?) {
            self.media = media
            self.size = size
            self.mtime = mtime
            self.detector = detector
            self.settings = settings
            self.result = result
            self.error = error
        }

        /// Whether this search stands for the media as it is now, with this detector and settings.
        public func matches(size: Int64?, mtime: Double?, detector: String, settings: String) -> Bool {
            self.size == size && self.mtime == mtime && self.detector == detector && self.settings == settings
        }
    }

    /// The stored searches of a source, by media key.
    public func faceSearches(source: String) throws -> [String: FaceSearchRow] {
        try read { db in
            var out: [String: FaceSearchRow] = [:]
            for r in try Row.fetchAll(db, sql: "SELECT * FROM face_searches WHERE source = ?", arguments: [source]) {
                let detector: String = r["detector"]
                var result: FaceSearchResult?
                if (r["error"] as String?) == nil {
                    var box: FaceBox?
                    if let x: Double = r["face_x"], let y: Double = r["face_y"], let w: Double = r["face_w"], let h: Double = r["face_h"] {
                        box = FaceBox(x: x, y: y, w: w, h: h, origin: .detector(detector))
                    }
                    result = FaceSearchResult(box: box, facesSeen: r["faces_seen"], framesSearched: r["frames_searched"],
                                              framesWithFace: r["frames_with_face"], detector: detector)
                }
                out[r["media"]] = FaceSearchRow(media: r["media"], size: r["file_size"], mtime: r["file_mtime"], detector: detector,
                                                settings: r["settings"], result: result, error: r["error"])
            }
            return out
        }
    }

    public func saveFaceSearches(source: String, _ rows: [FaceSearchRow]) throws {
        guard !rows.isEmpty else { return }
        let now = Store.timestamp()
        try write { db in
            let st = try db.cachedStatement(sql: """
                INSERT OR REPLACE INTO face_searches (source, media, file_size, file_mtime, detector, settings,
                    face_x, face_y, face_w, face_h, faces_seen, frames_searched, frames_with_face, error, searched_at)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                """)
            for r in rows {
                let b = r.result?.box
                try st.execute(arguments: [source, r.media, r.size, r.mtime, r.detector, r.settings, b?.x, b?.y, b?.w, b?.h,
                                           r.result?.facesSeen ?? 0, r.result?.framesSearched ?? 0, r.result?.framesWithFace ?? 0,
                                           r.error, now])
            }
        }
    }

    /// What the detector last wrote on each clip of a source: its identity and the faces it saw
    /// (nil for clips it has not searched).
    public func clipFaceSearchState(source: String) throws -> [String: (searchedBy: String, facesSeen: Int)] {
        try read { db in
            var out: [String: (searchedBy: String, facesSeen: Int)] = [:]
            for r in try Row.fetchAll(db, sql: "SELECT uid, face_searched_by, faces_seen FROM clips WHERE source = ? AND face_searched_by IS NOT NULL",
                                      arguments: [source]) {
                out[r["uid"]] = (r["face_searched_by"], r["faces_seen"] ?? 0)
            }
            return out
        }
    }

    /// Writes the detector's findings on clips (box, origin, area ratio, view, who searched, faces
    /// seen), one transaction per call. A nil result clears what a detector wrote on the clip.
    /// Boxes from the dataset or a sidecar are never touched.
    public func applyFaceSearches(_ updates: [(uid: String, result: FaceSearchResult?)], thresholds: ViewThresholds) throws {
        guard !updates.isEmpty else { return }
        let now = Store.timestamp()
        try write { db in
            let st = try db.cachedStatement(sql: """
                UPDATE clips SET face_x = ?, face_y = ?, face_w = ?, face_h = ?, face_origin = ?, face_ratio = ?, view = ?,
                    face_searched_by = ?, faces_seen = ?, updated_at = ?
                WHERE uid = ? AND (face_origin IS NULL OR face_origin LIKE 'detector:%')
                """)
            for (uid, result) in updates {
                let b = result?.box
                try st.execute(arguments: [b?.x, b?.y, b?.w, b?.h, b?.origin.rawValue, b?.areaRatio,
                                           b.map { thresholds.classify($0.areaRatio).rawValue },
                                           result?.detector, result?.facesSeen, now, uid])
            }
        }
    }
}
