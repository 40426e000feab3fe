import EmoCFG
import Foundation

/// MER2023: set folders `train/`, `test1/`, `test2/`, `test3/` of `sample_XXXXXXXX` clips, with the
/// label files `<set>-label.csv` (`name,discrete,valence`) at the root beside them.
///
/// Clips are a mix of `.avi` and `.mp4` while the label rows name them without an extension, so each
/// row is matched to whichever file exists. `test3` has no valence column. The set folder is the
/// native split. Sample names are unique across the sets and serve as key and identity (no speaker
/// ids are published); a name found in two sets is reported and only its first occurrence kept. An
/// optional transcript CSV `name,chinese,english` (blanks allowed) supplies texts.
public struct MER2023Adapter: DatasetAdapter {
    public static let name = "mer2023"
    /// `transcripts`: the transcript CSV relative to the root; by default any root CSV whose header
    /// has `name` and `chinese` or `english`.
    public static let optionKeys = ["transcripts"]

    static let classes = ["neutral", "angry", "happy", "sad", "worried", "surprise"]
    static let mediaExtensions: Set<String> = ["avi", "mp4"]

    var transcripts: String?

    public init(options: ConfigReader) throws {
        transcripts = try options.string("transcripts")
    }

    public func scan(_ context: ScanContext) throws -> [ClipRecord] {
        let rootFiles = context.entries(in: "").filter { !context.isDirectory($0) }
        var labelFiles: [String: String] = [:]  // set -> label CSV
        for file in rootFiles {
            guard let suffix = ["-label.csv", "_label.csv"].first(where: { file.hasSuffix($0) && file.count > $0.count })
            else { continue }
            let set = String(file.dropLast(suffix.count))
            if labelFiles[set] == nil { labelFiles[set] = file }
        }
        let folders = context.directories(in: "").filter { SplitName.normalize($0) != nil }
        let sets = Set(folders).union(labelFiles.keys).sorted { a, b in
            // train first, then test1, test2, … — the first occurrence of a duplicated name is kept.
            a != b && (a == "train" || (b != "train" && NaturalOrder.less(a, b)))
        }
        if sets.isEmpty {
            throw IngestError(
                source: context.sourceName,
                message: "no set folders (train/, test1/, …) and no <set>-label.csv under \(context.root.path)")
        }

        var records: [ClipRecord] = []
        var taken: [String: (index: Int, at: String)] = [:]  // name -> record and where it was first seen
        func add(_ r: ClipRecord, at place: String, file: String, line: Int?) {
            if let first = taken[r.key] {
                context.problem(.badRow, file: file, line: line, clip: r.key,
                                "sample '\(r.key)' of \(r.nativeSplit ?? "?") is already in \(first.at); sample names must be unique across the sets, this one is ignored")
                return
            }
            taken[r.key] = (records.count, place)
            records.append(r)
        }

        for set in sets {
            let media = mediaFiles(in: set, context: context)
            var labelled = Set<String>()
            if let file = labelFiles[set] {
                for r in labelRows(file: file, set: set, media: media, context: context) {
                    if !labelled.insert(r.record.key).inserted {
                        context.problem(.badRow, file: file, line: r.line, clip: r.record.key,
                                        "sample '\(r.record.key)' is listed twice in \(file); this row is ignored")
                        continue
                    }
                    add(r.record, at: "\(set) (\(file):\(r.line))", file: file, line: r.line)
                }
            }
            // Clips without a label row stay clips (test sets ship before their labels).
            for (name, path) in media.order where !labelled.contains(name) {
                add(ClipRecord(key: name, path: path, nativeSplit: set, split: SplitName.normalize(set), identity: name),
                    at: "\(set) (\(path))", file: path, line: nil)
            }
        }

        if let file = transcripts ?? findTranscripts(rootFiles, labelFiles: Set(labelFiles.values), context: context) {
            applyTranscripts(file, to: &records, index: taken.mapValues { $0.index }, context: context)
        }
        return records
    }

    /// The clips of one set folder by sample name; a name present as both `.avi` and `.mp4` keeps the first.
    func mediaFiles(in set: String, context: ScanContext) -> (paths: [String: String], order: [(String, String)]) {
        var paths: [String: String] = [:]
        var order: [(String, String)] = []
        guard context.isDirectory(set) else { return (paths, order) }
        for file in context.files(in: set, extensions: Self.mediaExtensions) {
            let name = ((file as NSString).lastPathComponent as NSString).deletingPathExtension
            if let first = paths[name] {
                context.problem(.strayFile, file: file, clip: name, "sample '\(name)' is already at \(first); this copy is ignored")
                continue
            }
            paths[name] = file
            order.append((name, file))
        }
        return (paths, order)
    }

    func labelRows(
        file: String, set: String, media: (paths: [String: String], order: [(String, String)]), context: ScanContext
    ) -> [(record: ClipRecord, line: Int)] {
        guard let table = context.csv(file) else { return [] }
        let missing = table.missingColumns(["name", "discrete"])
        if !missing.isEmpty {
            context.problem(.badRow, file: file, line: 1,
                            "header '\(table.header.joined(separator: ","))' lacks \(missing.joined(separator: ", ")); expected name,discrete,valence (valence optional)")
            return []
        }
        let hasValence = table.column("valence") != nil
        var out: [(ClipRecord, Int)] = []
        for row in context.wellFormedRows(table, file: file) {
            var name = table.value(row, "name") ?? ""
            let ext = (name as NSString).pathExtension.lowercased()
            if Self.mediaExtensions.contains(ext) { name = (name as NSString).deletingPathExtension }
            guard !name.isEmpty else {
                context.problem(.badRow, file: file, line: row.line, "the name field is empty")
                continue
            }
            let origin = SourceLocation(file: file, line: row.line)
            var problems: [String] = []
            var labels = NormalizedLabels()
            let discrete = table.value(row, "discrete") ?? ""
            var native = ["name": name, "discrete": discrete]
            labels.emotion = context.emotion(discrete, allowed: Self.classes, at: origin, into: &problems)
            if hasValence, let raw = table.value(row, "valence") {
                native["valence"] = raw
                if !raw.isEmpty {
                    if let v = Double(raw), v.isFinite {
                        labels.valence = v
                    } else {
                        context.problem(.badRow, file: file, line: row.line, clip: name,
                                        "valence '\(raw)' is not a number")
                    }
                }
            }
            // The label names no extension: the clip is whichever of .avi/.mp4 is there.
            let path = media.paths[name] ?? context.join(set, name + ".mp4")
            out.append((ClipRecord(
                key: name, path: path, nativeSplit: set, split: SplitName.normalize(set), identity: name,
                nativeLabels: native, labels: labels, labelOrigin: origin, labelProblems: problems), row.line))
        }
        return out
    }

    /// The first root CSV (other than a label file) whose header has `name` and `chinese` or `english`.
    func findTranscripts(_ rootFiles: [String], labelFiles: Set<String>, context: ScanContext) -> String? {
        for file in rootFiles where file.lowercased().hasSuffix(".csv") && !labelFiles.contains(file) {
            guard let data = try? Data(contentsOf: context.url(file)),
                  let rows = try? CSVReader().parse(data), let header = rows.first?.fields else { continue }
            let names = Set(header.map { $0.trimmingCharacters(in: .whitespaces) })
            if names.contains("name") && (names.contains("chinese") || names.contains("english")) { return file }
        }
        return nil
    }

    func applyTranscripts(_ file: String, to records: inout [ClipRecord], index: [String: Int], context: ScanContext) {
        guard let table = context.csv(file) else { return }
        let languages = ["chinese", "english"].filter { table.column($0) != nil }
        if table.column("name") == nil || languages.isEmpty {
            context.problem(.badRow, file: file, line: 1,
                            "header '\(table.header.joined(separator: ","))' is not name,chinese,english")
            return
        }
        for row in context.wellFormedRows(table, file: file) {
            guard let name = table.value(row, "name"), let i = index[name] else { continue }
            for language in languages {
                // Blank transcripts are common (no speech, failed ASR): no text rather than an empty one.
                if let text = table.value(row, language), !text.isEmpty { records[i].texts[language] = text }
            }
        }
    }
}
