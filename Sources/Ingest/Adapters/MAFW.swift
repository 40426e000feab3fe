import EmoCFG
import Foundation
#if canImport(CoreFoundation)
import CoreFoundation
#endif

/// MAFW: `data/clips/NNNNN.mp4` clips labelled by four spreadsheets in `Labels/`, a gender list in
/// `Labels(auto)/` and the five-fold split files under `Train & Test Set/`.
///
/// Keys are the 5-digit clip ids; spreadsheets may store them as text (`00025`), as numbers that
/// lost their zeros (`25`) or with the extension (`00025.mp4`): all become `00025`. Class ids are
/// 1 anger … 11 disappointment. What each file gives a clip (every sheet is `Sheet1`):
/// - `annotation.xlsx` (`clip, invalid, anger … disappointment`): every cell as a native label under
///   its header; normalised, the facts `invalid` (as given) and `votes_<class>` (the count), and the
///   attribute `voted_emotions` (classes with at least one vote, in class order).
/// - `single-set.xlsx` (or `single_set.xlsx`, as the official README's figure names it), column
///   `single_label` (else the last column): the emotion.
/// - `multi-set.xlsx` (or `multi_set.xlsx`), column `multi_label` like `1,2` (else the last column): `emotions`, in class
///   order whatever order the cell lists them in.
/// - `descriptive_text.xlsx`, no header (clip, Chinese, English): `texts["description_zh"]` and
///   `texts["description_en"]`. Neutral clips have no row.
/// - `Labels(auto)/gender.txt`, lines `00019: 1`: native label and fact `gender`, the code as given
///   (the authors do not say which sex 0 and 1 stand for).
/// - The split files of the chosen `set` (`single` or `compound`): `split` from the chosen `fold`,
///   every fold's side in `folds`, and the line's label as the native label `split_label`
///   (compound labels join class names with `_`). When the spreadsheets give no emotion, the split
///   label does; when both do and disagree, that is a label problem. Folds are read from
///   `no_caption/` (plain ASCII); `with_caption/` (clip, label, Chinese, English, tab-separated, in
///   GBK) is read for the chosen fold only, to fill texts that `descriptive_text.xlsx` lacks, and
///   gives the folds when `no_caption/` is absent. A line that is neither UTF-8 nor GBK keeps its
///   clip and label; its texts are dropped and the line reported.
///
/// Files in `data/frames/` are not read. MAFW publishes no actor or movie ids, so each clip is its
/// own identity group (`clip:00025`).
public struct MAFWAdapter: DatasetAdapter {
    public static let name = "mafw"
    /// `set`: `single` (default) or `compound`, the split files that give `split`.
    /// `fold`: which of the five folds (1-5, default 1).
    public static let optionKeys = ["set", "fold"]

    static let clipFolder = "data/clips"
    static let annotationFile = "Labels/annotation.xlsx"
    /// Each label file as loaders spell it (hyphen) and as the official README's figure does
    /// (underscore); the first that exists is read.
    static let singleFiles = ["Labels/single-set.xlsx", "Labels/single_set.xlsx"]
    static let multiFiles = ["Labels/multi-set.xlsx", "Labels/multi_set.xlsx"]
    static let textFile = "Labels/descriptive_text.xlsx"
    static let genderFile = "Labels(auto)/gender.txt"
    static let splitRoot = "Train & Test Set"
    static let sheet = "Sheet1"
    /// Class names by id - 1.
    static let classes = ["anger", "disgust", "fear", "happiness", "neutral", "sadness", "surprise",
                          "contempt", "anxiety", "helplessness", "disappointment"]
    static let allowedIDs = classes.enumerated().map { "\($0.offset + 1) (\($0.element))" }.joined(separator: ", ")
    /// GB18030, the superset of GBK that Foundation on Linux can decode.
    static let gb18030 = String.Encoding(rawValue: CFStringConvertEncodingToNSStringEncoding(
        CFStringEncoding(CFStringEncodings.GB_18030_2000.rawValue)))

    var set: String
    var fold: Int

    public init(options: ConfigReader) throws {
        set = try options.oneOf("set", ["single", "compound"]) ?? "single"
        fold = try options.int("fold", range: 1...5) ?? 1
    }

    /// A value read from one place, with that place.
    struct Cell {
        var raw: String
        var origin: SourceLocation
    }

    /// Everything the label files say about one clip.
    struct Labels {
        var annotation: [String: String] = [:]
        var annotationOrigin: SourceLocation?
        var votes: [(emotion: String, raw: String)] = []
        var invalid: String?
        var single: Cell?
        var multi: Cell?
        var texts: [String: String] = [:]
        var textOrigin: SourceLocation?
        var gender: Cell?
        var sides: [String: String] = [:]
        var splitLabels: [Int: Cell] = [:]
        var captionTexts: [String: String] = [:]
    }

    public func scan(_ context: ScanContext) throws -> [ClipRecord] {
        let videos = videoFiles(context)
        let hasLabels = ["Labels", "Labels(auto)", Self.splitRoot].contains { context.isDirectory($0) }
        if videos.isEmpty && !hasLabels {
            throw IngestError(
                source: context.sourceName,
                message: "neither \(Self.clipFolder)/ with clips nor Labels/ or '\(Self.splitRoot)/' under \(context.root.path)")
        }
        var labels: [String: Labels] = [:]
        readAnnotation(context, into: &labels)
        readLabelColumn(context, file: Self.labelFile(Self.singleFiles, context), column: "single_label", into: &labels) { $0.single = $1 }
        readLabelColumn(context, file: Self.labelFile(Self.multiFiles, context), column: "multi_label", into: &labels) { $0.multi = $1 }
        readTexts(context, into: &labels)
        readGender(context, into: &labels)
        readSplits(context, into: &labels)

        var records: [ClipRecord] = []
        var seen: Set<String> = []
        for (id, path) in videos {
            seen.insert(id)
            records.append(record(id: id, path: path, labels: labels[id] ?? Labels()))
        }
        // Label rows whose clip file is absent still become records; the runner reports the media.
        for id in NaturalOrder.sorted(Array(labels.keys)) where !seen.contains(id) {
            records.append(record(id: id, path: "\(Self.clipFolder)/\(id).mp4", labels: labels[id]!))
        }
        return records
    }

    // MARK: - Records

    func record(id: String, path: String, labels l: Labels) -> ClipRecord {
        var r = ClipRecord(key: id, path: path, folds: l.sides, identity: "clip:\(id)")
        if let side = l.sides["\(fold)"] {
            r.nativeSplit = "\(set)/set_\(fold):\(side)"
            r.split = side
        }
        r.nativeLabels = l.annotation
        for (emotion, raw) in l.votes {
            // Unparsable counts were reported as bad rows when the sheet was read.
            guard let n = Self.wholeNumber(raw) else { continue }
            r.labels.facts["votes_\(emotion)"] = "\(n)"
            if n > 0 { r.labels.attributes["voted_emotions", default: []].append(emotion) }
        }
        if let invalid = l.invalid { r.labels.facts["invalid"] = invalid }

        if let single = l.single {
            r.nativeLabels["single_label"] = single.raw
            if let name = Self.className(single.raw) {
                r.labels.emotion = name
            } else {
                r.labelProblems.append("single_label '\(single.raw)' (\(single.origin)) is not one of \(Self.allowedIDs)")
            }
        }
        if let multi = l.multi {
            r.nativeLabels["multi_label"] = multi.raw
            let ids = Self.multiIDs(multi.raw)
            let bad = ids.filter { Self.className($0) == nil }
            if ids.isEmpty || !bad.isEmpty {
                let what = bad.isEmpty ? "'\(multi.raw)'" : bad.map { "'\($0)'" }.joined(separator: ", ")
                r.labelProblems.append("multi_label \(what) (\(multi.origin)) is not a list of \(Self.allowedIDs)")
            } else {
                let ordered = Set(ids.compactMap { Self.wholeNumber($0) }).sorted()
                r.labels.emotions = ordered.map { Self.classes[$0 - 1] }
            }
        }
        if let gender = l.gender {
            r.nativeLabels["gender"] = gender.raw
            if ["0", "1"].contains(gender.raw) {
                r.labels.facts["gender"] = gender.raw
            } else {
                r.labelProblems.append("gender '\(gender.raw)' (\(gender.origin)) is not 0 or 1")
            }
        }
        r.texts = l.texts
        for (key, text) in l.captionTexts where r.texts[key] == nil { r.texts[key] = text }

        // The chosen fold's line first; a clip missing from it keeps the label the other folds give.
        if let split = l.splitLabels[fold] ?? l.splitLabels.keys.sorted().first.flatMap({ l.splitLabels[$0] }) {
            r.nativeLabels["split_label"] = split.raw
            applySplitLabel(split, labels: l, to: &r)
        }
        r.labelOrigin = (set == "compound" ? [l.multi?.origin, l.single?.origin] : [l.single?.origin, l.multi?.origin])
            .compactMap { $0 }.first
            ?? l.annotationOrigin ?? l.splitLabels[fold]?.origin ?? l.textOrigin ?? l.gender?.origin
        return r
    }

    /// Checks a split file's label against the spreadsheets, or takes it when they give none.
    func applySplitLabel(_ split: Cell, labels l: Labels, to r: inout ClipRecord) {
        let words = split.raw.split(separator: "_").map { String($0).lowercased() }
        let unknown = words.filter { !Self.classes.contains($0) }
        guard !words.isEmpty, unknown.isEmpty else {
            r.labelProblems.append(
                "split label '\(split.raw)' (\(split.origin)) is not one of \(Self.classes.joined(separator: ", ")) or several joined with '_'")
            return
        }
        let ordered = Self.classes.filter { words.contains($0) }
        if set == "single" || words.count == 1 {
            if l.single == nil, words.count == 1 {
                r.labels.emotion = words[0]
            } else if let single = l.single, let name = Self.className(single.raw), words != [name] {
                r.labelProblems.append(
                    "split label '\(split.raw)' (\(split.origin)) disagrees with single_label '\(single.raw)' (\(name), \(single.origin))")
            }
        } else {
            if l.multi == nil {
                r.labels.emotions = ordered
            } else if let multi = l.multi, !r.labels.emotions.isEmpty, r.labels.emotions != ordered {
                r.labelProblems.append(
                    "split label '\(split.raw)' (\(split.origin)) disagrees with multi_label '\(multi.raw)' (\(multi.origin))")
            }
        }
    }

    // MARK: - Clip files

    /// `(id, path)` for every clip file, in natural order; a name that is not a number is reported.
    func videoFiles(_ context: ScanContext) -> [(String, String)] {
        var out: [(String, String)] = []
        var seen: [String: String] = [:]
        for path in context.files(in: Self.clipFolder, extensions: ["mp4"]) {
            let stem = ((path as NSString).lastPathComponent as NSString).deletingPathExtension
            guard let id = Self.clipID(stem) else {
                context.problem(.strayFile, file: path, "'\(stem)' is not a clip number; expected a name like 00025.mp4")
                continue
            }
            if let kept = seen[id] {
                context.problem(.strayFile, file: path, clip: id, "second copy of clip \(id) (kept \(kept))")
                continue
            }
            seen[id] = path
            out.append((id, path))
        }
        return out
    }

    // MARK: - Spreadsheets

    /// `Sheet1` of a label workbook as a table; nil (and a problem) when unreadable.
    /// The first of `names` (one file's spellings) that exists, else the first name, so that the
    /// missing-file problem names it. When two spellings exist, the one read is named.
    static func labelFile(_ names: [String], _ context: ScanContext) -> String {
        let present = names.filter { context.exists($0) }
        if present.count > 1 {
            context.problem(.strayFile, file: present[1], "both \(present.joined(separator: " and ")) exist; \(present[0]) is read")
        }
        return present.first ?? names[0]
    }

    func table(_ context: ScanContext, _ file: String) -> XLSXSheet? {
        guard context.exists(file) else {
            let spellings = [Self.singleFiles, Self.multiFiles].first { $0.contains(file) }
            let tried = spellings.map { " (nor \($0.filter { $0 != file }.joined(separator: ", ")))" } ?? ""
            context.problem(.unreadableLabelFile, file: file, "the label file is missing\(tried)")
            return nil
        }
        do {
            return try XLSXWorkbook(url: context.url(file)).sheet(named: Self.sheet)
        } catch {
            context.problem(.unreadableLabelFile, file: file, "cannot read the workbook: \(error)")
            return nil
        }
    }

    /// The clip id of a spreadsheet row, or nil after reporting the row.
    func clipID(_ row: XLSXSheet.Row, column: Int, _ context: ScanContext, file: String) -> String? {
        let raw = row[column]?.trimmingCharacters(in: .whitespaces) ?? ""
        guard let id = Self.spreadsheetClipID(raw) else {
            context.problem(.badRow, file: file, line: row.number, "clip '\(raw)' is not a clip number like 00025")
            return nil
        }
        return id
    }

    func readAnnotation(_ context: ScanContext, into labels: inout [String: Labels]) {
        let file = Self.annotationFile
        guard let sheet = table(context, file) else { return }
        let t = XLSXTable(sheet: sheet)
        let headerLine = sheet.rows.first { !$0.isBlank }?.number ?? 1
        guard let clipColumn = t.column(matching: ["clip"]) else {
            context.problem(.unreadableLabelFile, file: file, line: headerLine,
                            "no 'clip' column; header: \(t.header.joined(separator: ", "))")
            return
        }
        let invalidColumn = t.column(matching: ["invalid"])
        let voteColumns = Self.classes.map { (emotion: $0, column: t.column(matching: [$0])) }
        let lacking = voteColumns.filter { $0.column == nil }.map(\.emotion) + (invalidColumn == nil ? ["invalid"] : [])
        if !lacking.isEmpty {
            context.problem(.badRow, file: file, line: headerLine,
                            "header lacks \(lacking.joined(separator: ", ")); expected clip, invalid, \(Self.classes.joined(separator: ", ")); the rest is read")
        }
        var seen: Set<String> = []
        for row in t.rows {
            guard let id = clipID(row, column: clipColumn, context, file: file) else { continue }
            guard seen.insert(id).inserted else {
                context.problem(.badRow, file: file, line: row.number, clip: id, "clip \(id) is listed again; row ignored")
                continue
            }
            var l = labels[id] ?? Labels()
            for (i, h) in t.header.enumerated() where i != clipColumn {
                if let v = row[i]?.trimmingCharacters(in: .whitespaces), !v.isEmpty { l.annotation[h.isEmpty ? "column \(i + 1)" : h] = v }
            }
            l.annotationOrigin = SourceLocation(file: file, line: row.number)
            l.invalid = invalidColumn.flatMap { row[$0] }
            var bad: [String] = []
            for (emotion, column) in voteColumns {
                guard let column else { continue }
                let raw = row[column]?.trimmingCharacters(in: .whitespaces) ?? ""
                if Self.wholeNumber(raw) == nil { bad.append("\(emotion) '\(raw)'") }
                l.votes.append((emotion, raw))
            }
            if !bad.isEmpty {
                context.problem(.badRow, file: file, line: row.number, clip: id,
                                "vote counts must be whole numbers: \(bad.joined(separator: ", "))")
            }
            labels[id] = l
        }
    }

    /// Reads `single-set.xlsx` or `multi-set.xlsx`: the clip and the label column (by name, else the
    /// last column).
    func readLabelColumn(
        _ context: ScanContext, file: String, column name: String, into labels: inout [String: Labels],
        store: (inout Labels, Cell) -> Void
    ) {
        guard let sheet = table(context, file) else { return }
        let t = XLSXTable(sheet: sheet)
        let clipColumn = t.column(matching: ["clip"]) ?? 0
        let labelColumn = t.column(matching: [name]) ?? max(t.header.count - 1, 0)
        var seen: Set<String> = []
        for row in t.rows {
            guard let id = clipID(row, column: clipColumn, context, file: file) else { continue }
            guard seen.insert(id).inserted else {
                context.problem(.badRow, file: file, line: row.number, clip: id, "clip \(id) is listed again; row ignored")
                continue
            }
            let raw = row[labelColumn]?.trimmingCharacters(in: .whitespaces) ?? ""
            store(&labels[id, default: Labels()], Cell(raw: raw, origin: SourceLocation(file: file, line: row.number)))
        }
    }

    /// `descriptive_text.xlsx`: no header row, columns clip, Chinese, English.
    func readTexts(_ context: ScanContext, into labels: inout [String: Labels]) {
        let file = Self.textFile
        guard let sheet = table(context, file) else { return }
        for (i, row) in sheet.rows.enumerated() where !row.isBlank {
            let first = row[0]?.trimmingCharacters(in: .whitespaces) ?? ""
            // Some copies may carry a header row after all; it is not a clip.
            if i == 0, Self.spreadsheetClipID(first) == nil, ["clip", "video", "name", "id"].contains(first.lowercased()) { continue }
            guard let id = clipID(row, column: 0, context, file: file) else { continue }
            let zh = row[1]?.trimmingCharacters(in: .whitespacesAndNewlines) ?? ""
            let en = row[2]?.trimmingCharacters(in: .whitespacesAndNewlines) ?? ""
            if zh.isEmpty && en.isEmpty {
                context.problem(.badRow, file: file, line: row.number, clip: id, "no Chinese (column B) or English (column C) text")
                continue
            }
            var l = labels[id] ?? Labels()
            if !zh.isEmpty { l.texts["description_zh"] = zh }
            if !en.isEmpty { l.texts["description_en"] = en }
            l.textOrigin = SourceLocation(file: file, line: row.number)
            labels[id] = l
        }
    }

    // MARK: - Text files

    /// `Labels(auto)/gender.txt`: lines `00019: 1`.
    func readGender(_ context: ScanContext, into labels: inout [String: Labels]) {
        let file = Self.genderFile
        guard context.exists(file), let data = context.read(file) else { return }
        for (number, raw) in Self.lines(data) {
            let text = String(decoding: raw, as: UTF8.self)
            let parts = text.split(separator: ":", maxSplits: 1).map { $0.trimmingCharacters(in: .whitespaces) }
            guard parts.count == 2, let id = Self.clipID(parts[0]), !parts[1].isEmpty else {
                context.problem(.badRow, file: file, line: number, "expected '<clip>: <code>' like '00019: 1', found '\(text)'")
                continue
            }
            labels[id, default: Labels()].gender = Cell(raw: parts[1], origin: SourceLocation(file: file, line: number))
        }
    }

    /// One line of a split file.
    struct SplitLine {
        var id: String
        var label: String
        var texts: [String: String]
        var line: Int
    }

    /// The split files of the chosen set: every fold's sides, the split labels, and the chosen
    /// fold's captions.
    func readSplits(_ context: ScanContext, into labels: inout [String: Labels]) {
        let base = "\(Self.splitRoot)/\(set)"
        let plain = "\(base)/no_caption", captioned = "\(base)/with_caption"
        let hasPlain = context.isDirectory(plain), hasCaptioned = context.isDirectory(captioned)
        guard hasPlain || hasCaptioned else {
            if context.isDirectory(Self.splitRoot) {
                context.problem(.unreadableLabelFile, file: base, "no no_caption/ or with_caption/ folder for the \(set) set")
            }
            return
        }
        for n in 1...5 {
            for side in ["train", "test"] {
                let folder = hasPlain ? plain : captioned
                let file = "\(folder)/set_\(n)/\(side).txt"
                guard let lines = readSplitFile(context, file, captioned: !hasPlain) else { continue }
                for s in lines {
                    if let other = labels[s.id]?.sides["\(n)"] {
                        context.problem(.badRow, file: file, line: s.line, clip: s.id,
                                        "clip \(s.id) is listed twice in set_\(n) (already on the \(other) side); line ignored")
                        continue
                    }
                    var l = labels[s.id] ?? Labels()
                    l.sides["\(n)"] = side
                    l.splitLabels[n] = Cell(raw: s.label, origin: SourceLocation(file: file, line: s.line))
                    if n == fold { for (k, v) in s.texts { l.captionTexts[k] = v } }
                    labels[s.id] = l
                }
            }
        }
        // The plain files carry no texts: the chosen fold's captioned files give them.
        guard hasPlain && hasCaptioned else { return }
        for side in ["train", "test"] {
            let file = "\(captioned)/set_\(fold)/\(side).txt"
            guard let lines = readSplitFile(context, file, captioned: true) else { continue }
            for s in lines where !s.texts.isEmpty {
                for (k, v) in s.texts { labels[s.id, default: Labels()].captionTexts[k] = v }
            }
        }
    }

    /// The lines of one split file; nil (and a problem) when it cannot be read.
    func readSplitFile(_ context: ScanContext, _ file: String, captioned: Bool) -> [SplitLine]? {
        guard let data = context.read(file) else { return nil }
        var out: [SplitLine] = []
        for (number, raw) in Self.lines(data) {
            if captioned {
                if let s = captionedLine(raw, context, file: file, line: number) { out.append(s) }
            } else {
                let text = String(decoding: raw, as: UTF8.self)
                let fields = text.split(whereSeparator: { $0 == " " || $0 == "\t" }).map(String.init)
                guard fields.count == 2, let id = Self.fileClipID(fields[0]) else {
                    context.problem(.badRow, file: file, line: number,
                                    "expected '<clip>.mp4 <label>' like '00025.mp4 anger', found '\(text)'")
                    continue
                }
                out.append(SplitLine(id: id, label: fields[1], texts: [:], line: number))
            }
        }
        return out
    }

    /// A `with_caption` line: clip, label, Chinese, English separated by tabs, in GBK. A line that
    /// decodes as neither UTF-8 nor GB18030 keeps its ASCII clip and label and loses its texts.
    func captionedLine(_ raw: Data, _ context: ScanContext, file: String, line: Int) -> SplitLine? {
        // Tabs never occur inside a GBK character (trail bytes are 0x40 and above), so the fields
        // can be cut before decoding.
        let fieldBytes = raw.split(separator: 0x09, omittingEmptySubsequences: false).map { Data($0) }
        var fields: [String] = []
        var undecodable = false
        for bytes in fieldBytes {
            if let s = String(data: bytes, encoding: .utf8) ?? String(data: bytes, encoding: Self.gb18030) {
                fields.append(s.trimmingCharacters(in: .whitespaces))
            } else {
                undecodable = true
                fields.append("")
            }
        }
        guard fields.count >= 2, let id = Self.fileClipID(fields[0]), !fields[1].isEmpty else {
            context.problem(.badRow, file: file, line: line,
                            "expected '<clip>.mp4<TAB><label><TAB><Chinese><TAB><English>', found \(fields.count) field(s) starting '\(fields.first ?? "")'")
            return nil
        }
        if fields.count != 4 {
            context.problem(.badRow, file: file, line: line, clip: id,
                            "expected 4 tab-separated fields (clip, label, Chinese, English), found \(fields.count); clip and label kept")
        }
        if undecodable {
            context.problem(.badRow, file: file, line: line, clip: id,
                            "text is neither UTF-8 nor GBK; clip \(id) and label '\(fields[1])' kept, its texts dropped")
            return SplitLine(id: id, label: fields[1], texts: [:], line: line)
        }
        var texts: [String: String] = [:]
        if fields.count > 2, !fields[2].isEmpty { texts["description_zh"] = fields[2] }
        if fields.count > 3, !fields[3].isEmpty { texts["description_en"] = fields[3] }
        return SplitLine(id: id, label: fields[1], texts: texts, line: line)
    }

    /// A file's non-blank lines as bytes with their 1-based numbers, LF or CRLF ended. Split on the
    /// bytes because the split files are not UTF-8 (and Swift reads `\r\n` as one character).
    static func lines(_ data: Data) -> [(Int, Data)] {
        var out: [(Int, Data)] = []
        for (i, bytes) in data.split(separator: UInt8(ascii: "\n"), omittingEmptySubsequences: false).enumerated() {
            var raw = Data(bytes)
            if raw.last == UInt8(ascii: "\r") { raw.removeLast() }
            if !raw.allSatisfy({ $0 == 0x20 || $0 == 0x09 }) { out.append((i + 1, raw)) }
        }
        return out
    }

    // MARK: - Ids and numbers

    /// The class name of an id (`1` … `11`, also `1.0`), or nil.
    static func className(_ raw: String) -> String? {
        guard let n = wholeNumber(raw), (1...classes.count).contains(n) else { return nil }
        return classes[n - 1]
    }

    /// The ids of a `multi_label` cell: `1,2`, also with `;`, full-width commas or spaces.
    static func multiIDs(_ raw: String) -> [String] {
        raw.split(whereSeparator: { [",", "，", ";", "、", " "].contains($0) }).map { $0.trimmingCharacters(in: .whitespaces) }
    }

    /// The 5-digit id for `25`, `00025` or `025`; nil for anything that is not a whole number.
    static func clipID(_ raw: String) -> String? {
        guard !raw.isEmpty, raw.allSatisfy({ $0.isASCII && $0.isNumber }), let n = Int(raw) else { return nil }
        let digits = String(n)
        return digits.count >= 5 ? digits : String(repeating: "0", count: 5 - digits.count) + digits
    }

    /// A clip as a file name in a split file: `00025.mp4` (the extension optional).
    static func fileClipID(_ raw: String) -> String? {
        clipID(raw.lowercased().hasSuffix(".mp4") ? String(raw.dropLast(4)) : raw)
    }

    /// A clip as a spreadsheet stores it: `00025`, `25`, `25.0` or `00025.mp4`.
    static func spreadsheetClipID(_ raw: String) -> String? {
        if let id = fileClipID(raw) { return id }
        if let d = Double(raw), d >= 0, d == d.rounded(), d < 1e9 { return clipID(String(Int(d))) }
        return nil
    }

    /// A count: `3` or `3.0`; nil for anything else.
    static func wholeNumber(_ raw: String) -> Int? {
        let t = raw.trimmingCharacters(in: .whitespaces)
        if let n = Int(t), n >= 0 { return n }
        if let d = Double(t), d >= 0, d == d.rounded(), d < 1e9 { return Int(d) }
        return nil
    }
}
