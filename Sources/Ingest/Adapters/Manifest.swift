import EmoCFG
import Foundation

/// Any dataset described by a manifest: a CSV or JSONL file that lists each clip's media path and
/// its labels, with `sources.yaml` saying which column holds what. PERR, which has no public native
/// layout, is read this way.
///
/// ```yaml
/// PERR:
///   adapter: manifest
///   root: /data/PERR
///   options:
///     file: perr_manifest.csv          # relative to root; .csv, or .jsonl/.ndjson/.json for JSONL
///     columns: {path: path, emotion: label, identity: speaker, split: split}
///     vocabulary: [neutral, joy, sadness, anger, surprise, fear, disgust]
///     label_map: {"0": neutral}
/// ```
///
/// Only the clips the manifest lists are clips; media paths are relative to the root and are not
/// checked here (the ingest runner reports missing media with the manifest line).
public struct ManifestAdapter: DatasetAdapter {
    public static let name = "manifest"
    public static let optionKeys = ["file", "format", "columns", "separator", "vocabulary", "label_map"]
    /// The emocfg fields a manifest column can feed.
    public static let columnKeys = [
        "path", "key", "emotion", "emotions", "sentiment", "valence", "arousal", "split", "identity", "text",
    ]

    enum Format: String, CaseIterable {
        case csv, jsonl
    }

    var file: String
    var format: Format
    /// emocfg field → the manifest's column name, in `columnKeys` order.
    var columns: [(field: String, column: String)]
    var separator: String
    var vocabulary: [String]?
    var labelMap: [String: String]

    public init(options: ConfigReader) throws {
        file = try options.requiredString("file")
        if let f = try options.oneOf("format", Format.allCases.map(\.rawValue)) {
            format = Format(rawValue: f)!
        } else {
            switch (file as NSString).pathExtension.lowercased() {
            case "csv": format = .csv
            case "jsonl", "ndjson", "json": format = .jsonl
            default:
                throw options.error("cannot tell the format of '\(file)' from its extension; set format to csv or jsonl",
                                    key: "format", line: options.value["file"]?.line)
            }
        }
        guard let columnsReader = options.child("columns") else {
            throw options.error("is required: a map from emocfg fields (\(Self.columnKeys.joined(separator: ", "))) "
                                    + "to the manifest's column names, with at least path", key: "columns")
        }
        let entries = try columnsReader.requireMap(allowed: Self.columnKeys)
        var named: [String: String] = [:]
        for e in entries {
            guard let column = e.value.string, !column.isEmpty else {
                throw columnsReader.error("expected a column name, found \(e.value.shapeName)", key: e.key, line: e.keyLine)
            }
            named[e.key] = column
        }
        guard named["path"] != nil else {
            throw columnsReader.error("is required: the column that holds each clip's media path", key: "path")
        }
        columns = Self.columnKeys.compactMap { field in named[field].map { (field, $0) } }
        separator = try options.string("separator") ?? ","
        if separator.isEmpty {
            throw options.error("must not be empty", key: "separator", line: options.value["separator"]?.line)
        }
        vocabulary = try options.stringList("vocabulary")
        labelMap = try options.stringMap("label_map") ?? [:]
    }

    func column(_ field: String) -> String? { columns.first { $0.field == field }?.column }

    public func scan(_ context: ScanContext) throws -> [ClipRecord] {
        guard context.exists(file) else {
            throw IngestError(source: context.sourceName, message: "the manifest \(file) does not exist under \(context.root.path)")
        }
        let rows: [(line: Int, values: [String: String])]
        switch format {
        case .csv: rows = try csvRows(context)
        case .jsonl: rows = try jsonlRows(context)
        }
        var records: [ClipRecord] = []
        var seen: [String: Int] = [:]
        for row in rows {
            guard let r = record(row.values, line: row.line, context: context) else { continue }
            if let first = seen[r.key] {
                context.problem(.badRow, file: file, line: row.line, clip: r.key,
                                "clip key '\(r.key)' was already listed on line \(first); this row is ignored")
                continue
            }
            seen[r.key] = row.line
            records.append(r)
        }
        return records
    }

    // MARK: - Reading the manifest

    func csvRows(_ context: ScanContext) throws -> [(line: Int, values: [String: String])] {
        guard let table = context.csv(file) else {
            throw IngestError(source: context.sourceName, message: "the manifest \(file) cannot be read as CSV")
        }
        let missing = table.missingColumns(columns.map(\.column))
        if !missing.isEmpty {
            let fields = columns.filter { missing.contains($0.column) }.map { "'\($0.column)' (for \($0.field))" }
            throw IngestError(
                source: context.sourceName,
                message: "\(file) has no column \(fields.joined(separator: ", ")); header found: \(table.header.joined(separator: ","))")
        }
        var out: [(line: Int, values: [String: String])] = []
        for row in context.wellFormedRows(table, file: file) {
            var values: [String: String] = [:]
            for (_, column) in columns {
                if let v = table.value(row, column), !v.isEmpty { values[column] = v }
            }
            out.append((row.line, values))
        }
        return out
    }

    func jsonlRows(_ context: ScanContext) throws -> [(line: Int, values: [String: String])] {
        guard let lines = context.lines(file) else {
            throw IngestError(source: context.sourceName, message: "the manifest \(file) cannot be read as UTF-8 text")
        }
        var out: [(line: Int, values: [String: String])] = []
        var keysSeen = Set<String>()
        var objects = 0
        for (number, text) in lines {
            let object: [String: JSONValue]
            do {
                object = try JSONDecoder().decode([String: JSONValue].self, from: Data(text.utf8))
            } catch {
                context.problem(.badRow, file: file, line: number, "expected one JSON object on this line; it does not parse")
                continue
            }
            objects += 1
            keysSeen.formUnion(object.keys)
            var values: [String: String] = [:]
            for (field, column) in columns {
                guard let v = object[column], let s = v.text(joiningListsWith: field == "emotions" ? separator : ",")
                else { continue }
                if !s.isEmpty { values[column] = s }
            }
            out.append((number, values))
        }
        // A key no line has is a typo in `columns`, as a missing CSV header column would be.
        let absent = columns.filter { !keysSeen.contains($0.column) }
        if objects > 0 && !absent.isEmpty {
            throw IngestError(
                source: context.sourceName,
                message: "\(file) has no key \(absent.map { "'\($0.column)' (for \($0.field))" }.joined(separator: ", ")) "
                    + "on any line; keys found: \(keysSeen.sorted().joined(separator: ","))")
        }
        return out
    }

    // MARK: - One row

    func record(_ values: [String: String], line: Int, context: ScanContext) -> ClipRecord? {
        let origin = SourceLocation(file: file, line: line)
        guard let pathColumn = column("path"), var path = values[pathColumn] else {
            context.problem(.badRow, file: file, line: line, "the path column '\(column("path") ?? "path")' is empty or absent")
            return nil
        }
        while path.hasPrefix("./") { path.removeFirst(2) }
        if path.hasPrefix("/") {
            let root = context.root.path.hasSuffix("/") ? context.root.path : context.root.path + "/"
            guard path.hasPrefix(root) else {
                context.problem(.badRow, file: file, line: line,
                                "path '\(path)' is outside the source root \(context.root.path); paths must be relative to it")
                return nil
            }
            path.removeFirst(root.count)
        }
        let key = column("key").flatMap { values[$0] } ?? (path as NSString).deletingPathExtension

        // The split goes to nativeSplit and the text to texts; the rest are the row's labels as given.
        var native: [String: String] = [:]
        for (field, column) in columns where !["path", "key", "text", "split"].contains(field) {
            if let v = values[column] { native[column] = v }
        }
        var labels = NormalizedLabels()
        var problems: [String] = []

        if let c = column("emotion"), let raw = values[c] {
            labels.emotion = emotion(raw, origin: origin, problems: &problems)
        }
        if let c = column("emotions"), let raw = values[c] {
            let parts = raw.components(separatedBy: separator)
                .map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
            let mapped = parts.map { emotion($0, origin: origin, problems: &problems) }
            // A set with one unreadable member would silently drop a true label; keep none of it.
            if mapped.allSatisfy({ $0 != nil }) {
                for e in mapped.compactMap({ $0 }) where !labels.emotions.contains(e) { labels.emotions.append(e) }
            }
        }
        if let c = column("sentiment"), let raw = values[c] {
            let word = labelMap[raw] ?? raw
            if let s = SentimentVocabulary.canonicalize(word) {
                labels.sentiment = s
            } else {
                problems.append("sentiment '\(raw)' (\(origin)) is not one of: positive, neutral, negative")
            }
        }
        labels.valence = number("valence", values, line: line, context: context)
        labels.arousal = number("arousal", values, line: line, context: context)

        var nativeSplit: String?
        var split: String?
        if let c = column("split"), let raw = values[c] {
            nativeSplit = raw
            split = SplitName.normalize(raw)
            if split == nil { problems.append("split '\(raw)' (\(origin)) is not a train, val/dev or test split") }
        }
        let identity = column("identity").flatMap { c in values[c].map { "\(c):\($0)" } }
        var texts: [String: String] = [:]
        if let c = column("text"), let t = values[c] { texts["transcript"] = t }

        return ClipRecord(
            key: key, path: path, nativeSplit: nativeSplit, split: split, identity: identity,
            nativeLabels: native, labels: labels, texts: texts, labelOrigin: origin, labelProblems: problems)
    }

    /// The canonical emotion for a manifest word, after `label_map`; nil and a problem when the word is
    /// outside `vocabulary` or not an emotion emocfg knows.
    func emotion(_ raw: String, origin: SourceLocation, problems: inout [String]) -> String? {
        let word = labelMap[raw] ?? raw
        let shown = word == raw ? "'\(raw)'" : "'\(raw)' (mapped to '\(word)')"
        if let vocabulary {
            let known = vocabulary.contains { $0.caseInsensitiveCompare(raw) == .orderedSame || $0.caseInsensitiveCompare(word) == .orderedSame }
            guard known else {
                problems.append("emotion \(shown) (\(origin)) is not one of: \(vocabulary.joined(separator: ", "))")
                return nil
            }
        }
        guard let canonical = EmotionVocabulary.canonicalize(word) else {
            let hint = labelMap.isEmpty ? "; add it to label_map" : ""
            problems.append("emotion \(shown) (\(origin)) is not an emotion emocfg knows: "
                            + "\(EmotionVocabulary.canonical.joined(separator: ", "))\(hint)")
            return nil
        }
        return canonical
    }

    func number(_ field: String, _ values: [String: String], line: Int, context: ScanContext) -> Double? {
        guard let c = column(field), let raw = values[c] else { return nil }
        guard let d = Double(raw), d.isFinite else {
            context.problem(.badRow, file: file, line: line, "\(field) column '\(c)' holds '\(raw)', which is not a number")
            return nil
        }
        return d
    }
}

/// One value of a JSONL manifest line, read without caring about its JSON type.
private enum JSONValue: Decodable {
    case string(String)
    case bool(Bool)
    case int(Int)
    case double(Double)
    case list([JSONValue])
    case object
    case null

    init(from decoder: Decoder) throws {
        let c = try decoder.singleValueContainer()
        if c.decodeNil() { self = .null }
        else if let s = try? c.decode(String.self) { self = .string(s) }
        else if let b = try? c.decode(Bool.self) { self = .bool(b) }
        else if let i = try? c.decode(Int.self) { self = .int(i) }
        else if let d = try? c.decode(Double.self) { self = .double(d) }
        else if let l = try? c.decode([JSONValue].self) { self = .list(l) }
        else { _ = try c.decode([String: JSONValue].self); self = .object }
    }

    /// The value as manifest text; a list (multi-label emotions) is joined with `separator`.
    func text(joiningListsWith separator: String) -> String? {
        switch self {
        case .string(let s): return s.trimmingCharacters(in: .whitespaces)
        case .bool(let b): return b ? "true" : "false"
        case .int(let i): return String(i)
        case .double(let d): return String(d)
        case .list(let l): return l.compactMap { $0.text(joiningListsWith: separator) }.joined(separator: separator)
        case .object, .null: return nil
        }
    }
}
