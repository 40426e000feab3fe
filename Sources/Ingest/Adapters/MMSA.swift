import EmoCFG
import Foundation

/// CMU-MOSI, CMU-MOSEI and CH-SIMS as the MMSA toolkit distributes them: `label.csv` plus
/// `Raw/<video_id>/<clip_id>.mp4`, one row per utterance with a continuous sentiment score.
///
/// MOSI also ships in its original CMU layout (`layout: mosi_raw`): segment videos
/// `Raw/Video/Segmented/<video_id>_<n>.mp4` and a headerless
/// `Raw/Labels/OpinionLevelSentiment.csv` (`start,end,video_id,segment_no,label`), without splits.
/// Both layouts key a clip as `<video_id>/<clip_id>`, so the same MOSI segment gets the same key.
///
/// `variant` (`mosi`, `mosei`, `sims`) sets the score range. When it is left out it is read from the
/// root folder's name (`…/MOSI`, `…/CMU-MOSEI`, `…/CH-SIMS`); a name that says none of them (or
/// several) makes the scan fail with a message asking for `variant`.
public struct MMSAAdapter: DatasetAdapter {
    public static let name = "mmsa"
    public static let optionKeys = ["variant", "layout"]

    /// Which of the three datasets a root holds; it decides the range of `label`.
    enum Variant: String, CaseIterable {
        case mosi, mosei, sims

        var scoreRange: ClosedRange<Double> { self == .sims ? -1...1 : -3...3 }
        var displayName: String { self == .sims ? "CH-SIMS" : "CMU-\(rawValue.uppercased())" }
    }

    enum Layout: String, CaseIterable {
        case mmsa
        case mosiRaw = "mosi_raw"
    }

    static let labelFile = "label.csv"
    static let rawLabelFile = "Raw/Labels/OpinionLevelSentiment.csv"
    static let rawSegmentFolder = "Raw/Video/Segmented"
    static let requiredColumns = ["video_id", "clip_id", "label"]
    static let unimodalColumns = ["label_T", "label_A", "label_V"]
    static let annotations = ["Positive", "Neutral", "Negative"]

    var variant: Variant?
    var layout: Layout

    public init(options: ConfigReader) throws {
        layout = try options.oneOf("layout", Layout.allCases.map(\.rawValue)).flatMap(Layout.init) ?? .mmsa
        variant = try options.oneOf("variant", Variant.allCases.map(\.rawValue)).flatMap(Variant.init)
        if layout == .mosiRaw {
            if let variant, variant != .mosi {
                throw options.error("layout mosi_raw is CMU-MOSI's own layout; variant must be mosi, found \(variant.rawValue)",
                                    key: "variant", line: options.value["variant"]?.line)
            }
            variant = .mosi
        }
    }

    public func scan(_ context: ScanContext) throws -> [ClipRecord] {
        let variant = try self.variant ?? Self.inferVariant(context)
        switch layout {
        case .mmsa: return try scanMMSA(context, variant: variant)
        case .mosiRaw: return try scanMOSIRaw(context)
        }
    }

    /// The variant the root folder's name spells, e.g. `CH-SIMS` or `CMU_MOSEI`.
    static func inferVariant(_ context: ScanContext) throws -> Variant {
        let folder = context.root.lastPathComponent
        let lower = folder.lowercased()
        let named = Variant.allCases.filter { lower.contains($0.rawValue) }
        guard named.count == 1 else {
            throw IngestError(
                source: context.sourceName,
                message: "cannot tell from the root folder name '\(folder)' whether this is MOSI, MOSEI or SIMS; "
                    + "set options.variant to mosi, mosei or sims")
        }
        return named[0]
    }

    // MARK: - MMSA layout

    func scanMMSA(_ context: ScanContext, variant: Variant) throws -> [ClipRecord] {
        var records: [ClipRecord] = []
        var seen: [String: Int] = [:]
        var labelsRead = false
        if context.exists(Self.labelFile), let table = context.csv(Self.labelFile) {
            labelsRead = true
            let missing = table.missingColumns(Self.requiredColumns)
            guard missing.isEmpty else {
                throw IngestError(
                    source: context.sourceName,
                    message: "\(Self.labelFile) lacks the column(s) \(missing.joined(separator: ", ")); "
                        + "header found: \(table.header.joined(separator: ","))")
            }
            for row in context.wellFormedRows(table, file: Self.labelFile) {
                guard let r = labelledRecord(row, table: table, variant: variant, context: context) else { continue }
                if let first = seen[r.key] {
                    context.problem(.badRow, file: Self.labelFile, line: row.line, clip: r.key,
                                    "clip \(r.key) was already listed on line \(first); this row is ignored")
                    continue
                }
                seen[r.key] = row.line
                records.append(r)
            }
        } else if !context.exists(Self.labelFile) {
            context.problem(.unreadableLabelFile, file: Self.labelFile,
                            "no \(Self.labelFile) at the root; the clips under Raw/ are ingested without labels")
        }

        // Videos under Raw/ that no row names are still utterance clips, just unlabelled.
        for videoID in context.directories(in: "Raw") {
            for file in context.files(in: "Raw/" + videoID, extensions: ["mp4"]) {
                let clipID = ((file as NSString).lastPathComponent as NSString).deletingPathExtension
                let key = videoID + "/" + clipID
                if seen[key] != nil { continue }
                seen[key] = 0
                records.append(ClipRecord(key: key, path: file, identity: "video:" + videoID))
            }
        }

        if records.isEmpty && !labelsRead {
            let hint = context.exists(Self.rawLabelFile) ? " (this looks like CMU-MOSI's own layout: set options.layout to mosi_raw)" : ""
            throw IngestError(
                source: context.sourceName,
                message: "no readable \(Self.labelFile) and no Raw/<video_id>/<clip_id>.mp4 under \(context.root.path)\(hint)")
        }
        return records
    }

    func labelledRecord(_ row: CSVRow, table: CSVTable, variant: Variant, context: ScanContext) -> ClipRecord? {
        let file = Self.labelFile
        let videoID = table.value(row, "video_id") ?? ""
        let clipID = table.value(row, "clip_id") ?? ""
        guard !videoID.isEmpty, !clipID.isEmpty else {
            context.problem(.badRow, file: file, line: row.line, "video_id and clip_id must both be present")
            return nil
        }
        let key = videoID + "/" + clipID
        let origin = SourceLocation(file: file, line: row.line)
        var problems: [String] = []
        var labels = NormalizedLabels()
        var native: [String: String] = [:]

        let range = variant.scoreRange
        let rangeText = "[\(Self.format(range.lowerBound)), \(Self.format(range.upperBound))]"
        func score(_ column: String) -> Double? {
            guard let raw = table.value(row, column), !raw.isEmpty else { return nil }
            native[column] = raw
            guard let value = Double(raw), value.isFinite else {
                context.problem(.badRow, file: file, line: row.line, clip: key,
                                "\(column) '\(raw)' is not a number; expected a decimal in \(rangeText)")
                return nil
            }
            guard range.contains(value) else {
                problems.append("\(column) '\(raw)' (\(origin)) is outside \(rangeText), the range of \(variant.displayName)")
                return nil
            }
            return value
        }

        if let s = score("label") {
            labels.sentimentScore = s
            // The annotation column does not always agree with the score's sign; both are kept.
            labels.facts["sentiment_from_score"] = SentimentVocabulary.fromScore(s)
        }
        for column in Self.unimodalColumns {
            if score(column) != nil, let raw = native[column] { labels.facts[column] = raw }
        }
        if let a = table.value(row, "annotation"), !a.isEmpty {
            native["annotation"] = a
            if Self.annotations.contains(a), let s = SentimentVocabulary.canonicalize(a) {
                labels.sentiment = s
            } else {
                problems.append("annotation '\(a)' (\(origin)) is not one of: \(Self.annotations.joined(separator: ", "))")
            }
        }

        var nativeSplit: String?
        var split: String?
        if let mode = table.value(row, "mode"), !mode.isEmpty {
            nativeSplit = mode
            switch mode {
            case "train": split = "train"
            case "valid": split = "val"
            case "test": split = "test"
            default: problems.append("mode '\(mode)' (\(origin)) is not one of: train, valid, test")
            }
        }

        var texts: [String: String] = [:]
        if let text = table.value(row, "text"), !text.isEmpty { texts["transcript"] = text }

        return ClipRecord(
            key: key, path: "Raw/\(videoID)/\(clipID).mp4", nativeSplit: nativeSplit, split: split,
            identity: "video:" + videoID, nativeLabels: native, labels: labels, texts: texts,
            labelOrigin: origin, labelProblems: problems)
    }

    // MARK: - CMU-MOSI's own layout

    func scanMOSIRaw(_ context: ScanContext) throws -> [ClipRecord] {
        let file = Self.rawLabelFile
        var records: [ClipRecord] = []
        var seen: [String: Int] = [:]
        let parsed = context.exists(file) ? context.csvRows(file) : nil
        let rows = parsed ?? []
        if !context.exists(file) {
            context.problem(.unreadableLabelFile, file: file,
                            "no \(file); the segments under \(Self.rawSegmentFolder) are ingested without labels")
        }
        for row in rows {
            // The file has no header; tolerate a copy that added one.
            if row.line == 1, row.fields.map({ $0.lowercased() }) == ["start", "end", "video_id", "segment_no", "label"] {
                continue
            }
            guard let r = rawRecord(row, context: context) else { continue }
            if let first = seen[r.key] {
                context.problem(.badRow, file: file, line: row.line, clip: r.key,
                                "segment \(r.key) was already listed on line \(first); this row is ignored")
                continue
            }
            seen[r.key] = row.line
            records.append(r)
        }

        for path in context.files(in: Self.rawSegmentFolder, extensions: ["mp4"]) {
            let stem = ((path as NSString).lastPathComponent as NSString).deletingPathExtension
            guard let (videoID, segment) = Self.splitSegmentName(stem) else {
                context.problem(.strayFile, file: path, "'\(stem)' is not <video_id>_<segment number>")
                continue
            }
            let key = videoID + "/" + segment
            if seen[key] != nil { continue }
            seen[key] = 0
            records.append(ClipRecord(key: key, path: path, identity: "video:" + videoID))
        }

        if records.isEmpty && parsed == nil {
            throw IngestError(
                source: context.sourceName,
                message: "no readable \(file) and no \(Self.rawSegmentFolder)/<video_id>_<n>.mp4 under \(context.root.path)")
        }
        return records
    }

    func rawRecord(_ row: CSVRow, context: ScanContext) -> ClipRecord? {
        let file = Self.rawLabelFile
        let f = row.fields.map { $0.trimmingCharacters(in: .whitespaces) }
        guard f.count == 5 else {
            context.problem(.badRow, file: file, line: row.line,
                            "expected 5 fields (start,end,video_id,segment_no,label), found \(f.count)")
            return nil
        }
        let (videoID, segment, rawLabel) = (f[2], f[3], f[4])
        guard !videoID.isEmpty, !segment.isEmpty else {
            context.problem(.badRow, file: file, line: row.line, "video_id and segment_no must both be present")
            return nil
        }
        let key = videoID + "/" + segment
        let origin = SourceLocation(file: file, line: row.line)
        var labels = NormalizedLabels()
        var problems: [String] = []
        if let start = Double(f[0]), let end = Double(f[1]) {
            // Where the segment sits in the full video; the segment file itself is already cut.
            labels.facts["source_start"] = f[0]
            labels.facts["source_end"] = f[1]
            if end <= start { problems.append("segment end \(f[1]) is not after its start \(f[0]) (\(origin))") }
        } else {
            context.problem(.badRow, file: file, line: row.line, clip: key,
                            "start '\(f[0])' and end '\(f[1])' must be numbers of seconds")
        }
        if let value = Double(rawLabel), value.isFinite {
            if Variant.mosi.scoreRange.contains(value) {
                labels.sentimentScore = value
                labels.facts["sentiment_from_score"] = SentimentVocabulary.fromScore(value)
            } else {
                problems.append("label '\(rawLabel)' (\(origin)) is outside [-3, 3], the range of CMU-MOSI")
            }
        } else {
            context.problem(.badRow, file: file, line: row.line, clip: key,
                            "label '\(rawLabel)' is not a number; expected a decimal in [-3, 3]")
        }
        return ClipRecord(
            key: key, path: "\(Self.rawSegmentFolder)/\(videoID)_\(segment).mp4", identity: "video:" + videoID,
            nativeLabels: ["start": f[0], "end": f[1], "label": rawLabel], labels: labels,
            labelOrigin: origin, labelProblems: problems)
    }

    /// `<video_id>_<n>` split on the last underscore: YouTube ids contain underscores themselves
    /// (`_dI--eQ6qVU_12` is video `_dI--eQ6qVU`, segment 12).
    static func splitSegmentName(_ stem: String) -> (String, String)? {
        guard let cut = stem.lastIndex(of: "_") else { return nil }
        let videoID = String(stem[..<cut])
        let segment = String(stem[stem.index(after: cut)...])
        guard !videoID.isEmpty, !segment.isEmpty, segment.allSatisfy({ $0.isASCII && $0.isNumber }) else { return nil }
        return (videoID, segment)
    }

    static func format(_ d: Double) -> String {
        d == d.rounded() ? String(Int(d)) : String(d)
    }
}
