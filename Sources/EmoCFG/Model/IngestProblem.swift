import Foundation

/// Something wrong with one file, row or value found during ingest. Recorded, counted, never fatal.
public struct IngestProblem: Codable, Sendable, Equatable, Hashable {
    /// What went wrong, for counting and filtering.
    public enum Kind: String, Codable, Sendable, CaseIterable {
        /// A label row names media that is not there.
        case missingFile = "missing_file"
        /// A label value outside the dataset's vocabulary, or a value that does not parse.
        case badLabel = "bad_label"
        /// A label file row that could not be read (wrong column count, bad encoding, …).
        case badRow = "bad_row"
        /// A label or manifest file that could not be read at all.
        case unreadableLabelFile = "unreadable_label_file"
        /// Media that exists but cannot be read (permissions, a directory, a broken symlink).
        case unreadableMedia = "unreadable_media"
        /// Media that libavformat could not open or understand.
        case probeFailed = "probe_failed"
        /// A file in the layout that does not belong there.
        case strayFile = "stray_file"
        /// A face-box sidecar row that could not be used.
        case badFaceBox = "bad_face_box"
        /// A clip whose frames the face detector could not read (the clip stays usable; it has no box).
        case faceSearchFailed = "face_search_failed"
    }

    /// The clip's native key, when the problem belongs to one clip.
    public var clipKey: String?
    public var kind: Kind
    /// Where: a file relative to the source root, and a line when the problem is a row.
    public var location: SourceLocation?
    public var message: String

    public init(clipKey: String? = nil, kind: Kind, location: SourceLocation? = nil, message: String) {
        self.clipKey = clipKey
        self.kind = kind
        self.location = location
        self.message = message
    }
}
