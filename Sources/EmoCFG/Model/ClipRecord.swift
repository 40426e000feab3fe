import Foundation

/// What a clip's media is: a video file, a folder of frame images, or a time window of a longer video.
public enum ClipKind: String, Codable, Sendable, CaseIterable {
    case video
    case frames
    case window
}

/// A `[start, end)` span of a longer video, in seconds.
public struct TimeWindow: Codable, Sendable, Equatable, Hashable {
    public var start: Double
    public var end: Double
    public init(start: Double, end: Double) {
        self.start = start
        self.end = end
    }
    public var length: Double { end - start }
}

/// A span of a frame folder, inclusive at both ends, by the frame numbers in the images' names
/// (`img123.jpg` is frame 123); images without a number count by their 1-based place in natural order.
/// CAS(ME)^2 codes each expression as onset..offset frames of one long recording.
public struct FrameRange: Codable, Sendable, Equatable, Hashable {
    public var first: Int
    public var last: Int
    public init(first: Int, last: Int) {
        self.first = first
        self.last = last
    }
    public func contains(_ frame: Int) -> Bool { frame >= first && frame <= last }
}

/// Where a label or a clip came from in the dataset's own files, for error messages and provenance.
public struct SourceLocation: Codable, Sendable, Equatable, Hashable, CustomStringConvertible {
    /// Path relative to the source root.
    public var file: String
    /// 1-based line (or spreadsheet row) number, when the origin is a row.
    public var line: Int?
    public init(file: String, line: Int? = nil) {
        self.file = file
        self.line = line
    }
    public var description: String { line.map { "\(file):\($0)" } ?? file }
}

/// One clip as an adapter reads it from a dataset's native layout, before probing.
///
/// Adapters know the layout and nothing about SQLite or media; the ingest runner probes the media,
/// attaches face boxes and stores the record.
public struct ClipRecord: Codable, Sendable, Equatable {
    /// The dataset's native key, unique within the source (kept as a string: leading zeros and
    /// leading `-`/`_` matter).
    public var key: String
    /// Path of the media relative to the source root (a file, or a folder for `frames`).
    public var path: String
    public var kind: ClipKind
    /// For `window` clips: the span of `path` this clip covers.
    public var window: TimeWindow?
    /// For `frames` clips that are a part of a longer recording's folder: the frames it covers.
    public var frameRange: FrameRange?
    /// The split as the dataset names it (`dev`, `Train_AFEW`, `set_1:test`, …), if it defines one.
    public var nativeSplit: String?
    /// The split normalised to `train`, `val` or `test`.
    public var split: String?
    /// Per-fold sides for datasets with several folds (`["1": "train", "2": "test", …]`).
    public var folds: [String: String]
    /// The identity group (actor, subject, YouTube id) that must never straddle train and test.
    public var identity: String?
    /// Labels exactly as the dataset gives them, by the dataset's own field names.
    public var nativeLabels: [String: String]
    /// Labels mapped to emocfg's vocabularies.
    public var labels: NormalizedLabels
    /// A face box the dataset itself ships (CelebV-HQ, CelebV-Text).
    public var faceBox: FaceBox?
    /// Descriptive texts shipped with the clip (MELD utterance, MAFW description, …), by kind.
    public var texts: [String: String]
    /// Where the labels were read (label file and line), when they came from a row.
    public var labelOrigin: SourceLocation?
    /// Problems with this clip's labels that the adapter found (out-of-vocabulary values, …).
    public var labelProblems: [String]
    /// For `frames` clips: the dataset's known frame rate (images carry none), from `sources.yaml`.
    public var frameRate: Double?

    public init(
        key: String, path: String, kind: ClipKind = .video, window: TimeWindow? = nil,
        nativeSplit: String? = nil, split: String? = nil, folds: [String: String] = [:],
        identity: String? = nil, nativeLabels: [String: String] = [:],
        labels: NormalizedLabels = NormalizedLabels(), faceBox: FaceBox? = nil,
        texts: [String: String] = [:], labelOrigin: SourceLocation? = nil, labelProblems: [String] = [],
        frameRate: Double? = nil, frameRange: FrameRange? = nil
    ) {
        self.key = key
        self.path = path
        self.kind = kind
        self.window = window
        self.nativeSplit = nativeSplit
        self.split = split
        self.folds = folds
        self.identity = identity
        self.nativeLabels = nativeLabels
        self.labels = labels
        self.faceBox = faceBox
        self.texts = texts
        self.labelOrigin = labelOrigin
        self.labelProblems = labelProblems
        self.frameRate = frameRate
        self.frameRange = frameRange
    }
}

/// Maps the many ways datasets name their splits onto `train`, `val` and `test`.
public enum SplitName {
    public static func normalize(_ raw: String) -> String? {
        let s = raw.lowercased()
        if s.contains("train") { return "train" }
        if s.contains("val") || s.contains("dev") { return "val" }
        if s.contains("test") { return "test" }
        return nil
    }
}
