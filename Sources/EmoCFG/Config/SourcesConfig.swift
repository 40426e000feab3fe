import Foundation

/// `sources.yaml`: which datasets a researcher has, where they are, and how to read them.
///
/// ```yaml
/// defaults:
///   view_thresholds: {head: 0.10, half: 0.02}
///   faces: {frames: 3, min_face: 40}   # the face detector at ingest (`faces: off` turns it off)
/// sources:
///   DFEW:
///     adapter: dfew
///     root: /data/DFEW          # relative paths are relative to this file
///     options: {fold: 1}
///     face_boxes: {file: faces.jsonl, units: pixels}
///     faces: {frames: 5}        # or `faces: off` for this source
///     licence: research only
/// ```
public struct SourcesConfig: Sendable {
    public var file: String
    public var viewThresholds: ViewThresholds
    /// The face detector's settings for sources that do not set their own.
    public var faces = FaceSettings()
    /// The sources in the order the file lists them.
    public var sources: [SourceConfig]

    public static let topLevelKeys = ["defaults", "sources"]
    public static let defaultsKeys = ["view_thresholds", "faces"]

    /// Reads and checks `url`. `adapters` is the list of adapter names the caller can run; any other
    /// name is an error naming the line and the allowed names.
    public static func load(_ url: URL, adapters: [String]) throws -> SourcesConfig {
        let text: String
        do {
            text = try String(contentsOf: url, encoding: .utf8)
        } catch {
            throw ConfigError(file: url.path, line: nil, key: nil, message: "cannot read the file: \(error.localizedDescription)")
        }
        return try parse(yaml: text, file: url.path, baseDirectory: url.deletingLastPathComponent(), adapters: adapters)
    }

    public static func parse(yaml: String, file: String, baseDirectory: URL, adapters: [String]) throws -> SourcesConfig {
        let root = ConfigReader(file: file, value: try ConfigValue.parse(yaml: yaml, file: file))
        _ = try root.requireMap(allowed: topLevelKeys)

        var thresholds = ViewThresholds()
        var faces = FaceSettings()
        if let defaults = root.child("defaults") {
            if let f = defaults.child("faces") { faces = try FaceSettings(reader: f, inheriting: faces) }
            _ = try defaults.requireMap(allowed: defaultsKeys)
            if let vt = defaults.child("view_thresholds") {
                _ = try vt.requireMap(allowed: ["head", "half"])
                thresholds.head = try vt.double("head") ?? thresholds.head
                thresholds.half = try vt.double("half") ?? thresholds.half
                guard thresholds.half < thresholds.head, thresholds.half >= 0, thresholds.head <= 1 else {
                    throw vt.error("expected 0 <= half < head <= 1, found half \(thresholds.half), head \(thresholds.head)")
                }
            }
        }

        guard let sourcesNode = root.child("sources") else {
            throw root.error("has no 'sources' map; add one entry per dataset", key: "sources")
        }
        guard let list = sourcesNode.value.entries else {
            throw sourcesNode.error("expected a map from source name to its settings, found \(sourcesNode.value.shapeName)")
        }
        var sources: [SourceConfig] = []
        for entry in list {
            let reader = ConfigReader(file: file, path: ["sources", entry.key], value: entry.value)
            var source = try SourceConfig(name: entry.key, line: entry.keyLine, reader: reader, baseDirectory: baseDirectory, adapters: adapters)
            source.faces = try reader.child("faces").map { try FaceSettings(reader: $0, inheriting: faces) } ?? faces
            sources.append(source)
        }
        var config = SourcesConfig(file: file, viewThresholds: thresholds, sources: sources)
        config.faces = faces
        return config
    }
}

/// One dataset entry of `sources.yaml`.
public struct SourceConfig: Sendable {
    public var name: String
    public var line: Int
    public var adapter: String
    public var root: URL
    /// The adapter's own options, still located in the file so the adapter's errors can name lines.
    public var options: ConfigReader
    public var faceBoxes: FaceBoxSidecarConfig?
    /// Whether and how the face detector searches this source's clips at ingest.
    public var faces = FaceSettings()
    public var licence: String?
    /// The folder under the export's `videos/` (default: the published Emo-CFG name for the source).
    public var exportName: String?
    public var enabled: Bool

    public static let allowedKeys = ["adapter", "root", "options", "face_boxes", "faces", "licence", "export_name", "enabled", "notes"]

    init(name: String, line: Int, reader: ConfigReader, baseDirectory: URL, adapters: [String]) throws {
        self.name = name
        self.line = line
        _ = try reader.requireMap(allowed: Self.allowedKeys)
        guard name.range(of: "^[A-Za-z0-9][A-Za-z0-9._()^-]*$", options: .regularExpression) != nil else {
            throw reader.error("a source name may hold letters, digits and . _ - ( ) ^ only", line: line)
        }
        adapter = try reader.requiredString("adapter")
        guard adapters.contains(adapter) else {
            throw reader.error(
                "unknown adapter '\(adapter)'; known adapters: \(adapters.joined(separator: ", "))",
                key: "adapter", line: reader.value["adapter"]?.line)
        }
        let rootPath = try reader.requiredString("root")
        root = Self.resolve(rootPath, against: baseDirectory)
        options = reader.child("options") ?? ConfigReader(file: reader.file, path: reader.path + ["options"], value: .map([], line: line))
        if case .null = options.value {
            options = ConfigReader(file: reader.file, path: reader.path + ["options"], value: .map([], line: options.value.line))
        }
        if let fb = reader.child("face_boxes") {
            faceBoxes = try FaceBoxSidecarConfig(reader: fb, baseDirectory: baseDirectory)
        }
        licence = try reader.string("licence")
        exportName = try reader.string("export_name")
        if let n = exportName, n.isEmpty || n.hasPrefix(".") || n.contains("/") || n.contains("\u{0}") {
            throw reader.error("'\(n)' cannot be a folder name; give one folder name without '/', not starting with '.'",
                               key: "export_name", line: reader.value["export_name"]?.line)
        }
        enabled = try reader.bool("enabled") ?? true
        _ = try reader.string("notes")
    }

    static func resolve(_ path: String, against base: URL) -> URL {
        var p = path
        if p.hasPrefix("~/") { p = FileManager.default.homeDirectoryForCurrentUser.path + String(p.dropFirst(1)) }
        if p.hasPrefix("/") { return URL(fileURLWithPath: p).standardizedFileURL }
        return base.appendingPathComponent(p).standardizedFileURL
    }
}

/// A face-box file made elsewhere (a detector's output), named per source in `sources.yaml`.
///
/// Rows carry a clip key (`key`, `clip` or `path`), optionally `frame` or `time`, and a box as
/// `x, y, w, h` or `left, top, right, bottom`, in pixels or normalised. Several rows for one clip
/// (one per frame) are combined into their median box.
public struct FaceBoxSidecarConfig: Sendable, Equatable {
    public enum Format: String, Sendable {
        case csv
        case jsonl
    }
    public var file: URL
    public var format: Format
    public var units: BoxUnits

    public static let allowedKeys = ["file", "format", "units"]

    init(reader: ConfigReader, baseDirectory: URL) throws {
        if let s = reader.value.string {
            file = SourceConfig.resolve(s, against: baseDirectory)
            format = file.pathExtension.lowercased() == "csv" ? .csv : .jsonl
            units = .auto
            return
        }
        _ = try reader.requireMap(allowed: Self.allowedKeys)
        file = SourceConfig.resolve(try reader.requiredString("file"), against: baseDirectory)
        if let f = try reader.oneOf("format", ["csv", "jsonl"]) {
            format = Format(rawValue: f)!
        } else {
            format = file.pathExtension.lowercased() == "csv" ? .csv : .jsonl
        }
        units = BoxUnits(rawValue: try reader.oneOf("units", ["pixels", "normalized", "auto"]) ?? "auto")!
    }
}

/// The face detector's settings in `sources.yaml` (`defaults.faces` and per source `faces`):
/// `faces: off` (or `false`), or a map `{enabled: true, frames: 3, min_face: 40}` whose missing keys
/// come from the defaults.
public struct FaceSettings: Sendable, Equatable {
    public var enabled: Bool
    public var options: FaceSearchOptions

    public static let allowedKeys = ["enabled", "frames", "min_face"]

    public init(enabled: Bool = true, options: FaceSearchOptions = FaceSearchOptions()) {
        self.enabled = enabled
        self.options = options
    }

    init(reader: ConfigReader, inheriting base: FaceSettings) throws {
        self = base
        if let word = reader.value.string {
            switch word.lowercased() {
            case "off", "false", "no": enabled = false
            case "on", "true", "yes": enabled = true
            default: throw reader.error("expected off, on, or a map with \(Self.allowedKeys.joined(separator: ", ")); found '\(word)'")
            }
            return
        }
        _ = try reader.requireMap(allowed: Self.allowedKeys)
        enabled = try reader.bool("enabled") ?? enabled
        options.frames = try reader.int("frames", range: 1...64) ?? options.frames
        options.minFace = try reader.int("min_face", range: 8...4096) ?? options.minFace
    }
}
