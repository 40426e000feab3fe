import EmoCFG
import Foundation

/// What the three CASME datasets (CASME, CASME II, CAS(ME)^2) have in common, shared by their
/// adapters: a coding spreadsheet, subject folders (`sub01`, `s15`) that the sheet names by a bare
/// number (`1`), frame numbers where `0` means "not coded", and FACS action units written `4+L10`.
enum CASMECoding {
    /// One sample found on disk: its subject number, the name it has there and its path.
    struct DiskSample {
        var subject: Int
        var name: String
        var path: String
    }

    /// Samples under `<root>/<subject folder>/`, findable by subject number and name.
    struct DiskSamples {
        private(set) var all: [DiskSample] = []
        private var byName: [Int: [String: Int]] = [:]
        /// The subject folders as they are spelled on disk, by subject number.
        var subjectFolders: [Int: String] = [:]

        mutating func add(_ sample: DiskSample) {
            byName[sample.subject, default: [:]][CASMECoding.matchKey(sample.name)] = all.count
            all.append(sample)
        }

        /// The sample of `subject` called `name`, matched ignoring case and surrounding spaces.
        func find(subject: Int, name: String) -> DiskSample? {
            byName[subject]?[CASMECoding.matchKey(name)].map { all[$0] }
        }
    }

    /// How names are compared between the sheet and the disk: case and surrounding spaces differ
    /// between the two in the wild.
    static func matchKey(_ name: String) -> String {
        name.trimmingCharacters(in: .whitespacesAndNewlines).lowercased()
    }

    /// The `fps` option: the frame rate of a dataset's frame folders (images carry none).
    static func fps(_ options: ConfigReader, default rate: Double) throws -> Double {
        let fps = try options.double("fps") ?? rate
        guard fps > 0, fps.isFinite else {
            throw options.error("expected a frame rate above 0, found \(fps)", key: "fps")
        }
        return fps
    }

    // MARK: - Finding things on disk

    /// `folder`, or `folder/folder` when an archive unpacked into a folder of its own name
    /// (`CASME2_RAW_selected/CASME2_RAW_selected/sub01`, seen in public loaders).
    static func unnested(_ folder: String, _ context: ScanContext) -> String {
        let inner = context.join(folder, (folder as NSString).lastPathComponent)
        return context.isDirectory(inner) ? inner : folder
    }

    /// The subject folders directly inside `root` (`sub01`, `sub1`, `s15`: `prefix` then digits),
    /// by subject number. Anything else there is reported as a stray file.
    static func subjectFolders(in root: String, prefix: String, _ context: ScanContext) -> [(number: Int, folder: String)] {
        var out: [(Int, String)] = []
        for name in context.entries(in: root) {
            let path = context.join(root, name)
            if context.isDirectory(path), let n = number(after: prefix, in: name) {
                out.append((n, name))
            } else {
                context.problem(.strayFile, file: path, "not a subject folder (\(prefix)<NN>); ignored")
            }
        }
        return out
    }

    /// The samples under `<root>/<prefix><NN>/`: sub-folders when `videoExtension` is nil, else the
    /// files with that extension. Other entries in a subject folder (`Desktop - Shortcut.lnk` in
    /// CASME II's `sub01`) are reported as stray files, never clips.
    static func diskSamples(
        under root: String, prefix: String, videoExtension: String? = nil, _ context: ScanContext
    ) -> DiskSamples {
        var samples = DiskSamples()
        guard context.isDirectory(root) else { return samples }
        for (subject, folder) in subjectFolders(in: root, prefix: prefix, context) {
            samples.subjectFolders[subject] = folder
            let subjectPath = context.join(root, folder)
            for name in context.entries(in: subjectPath) {
                let path = context.join(subjectPath, name)
                let isDir = context.isDirectory(path)
                if let ext = videoExtension {
                    if !isDir, (name as NSString).pathExtension.lowercased() == ext {
                        samples.add(DiskSample(subject: subject, name: (name as NSString).deletingPathExtension, path: path))
                    } else {
                        context.problem(.strayFile, file: path, "not a .\(ext) sample video; ignored")
                    }
                } else if isDir {
                    samples.add(DiskSample(subject: subject, name: name, path: path))
                } else {
                    context.problem(.strayFile, file: path, "not a sample folder of frames; ignored")
                }
            }
        }
        return samples
    }

    /// The number after `prefix` in `name` (`sub01` → 1, `S15` → 15); nil when `name` is not
    /// `prefix` followed by digits only.
    static func number(after prefix: String, in name: String) -> Int? {
        guard name.lowercased().hasPrefix(prefix.lowercased()) else { return nil }
        let digits = name.dropFirst(prefix.count)
        guard !digits.isEmpty, digits.allSatisfy({ $0.isASCII && $0.isNumber }) else { return nil }
        return Int(digits)
    }

    // MARK: - The coding spreadsheet

    /// The coding spreadsheet's path: the `labels` option, else the first of `names` that exists,
    /// else the first `.xlsx` at the root whose name contains one of `hints`. Nil (and a problem)
    /// when there is none.
    static func labelFile(option: String?, names: [String], hints: [String], _ context: ScanContext) -> String? {
        if let option { return option }
        if let found = names.first(where: { context.exists($0) }) { return found }
        let sheets = context.files(in: "", extensions: ["xlsx"]).filter { !$0.hasPrefix("~$") }
        if let found = sheets.first(where: { f in hints.contains { f.lowercased().contains($0) } }) { return found }
        let expected = (names + hints.map { "*\($0)*.xlsx" }).joined(separator: " or ")
        context.problem(.unreadableLabelFile, file: names.first,
                        "no coding spreadsheet (\(expected)) at the root; clips are listed without labels")
        return nil
    }

    /// The workbook at `file`; a missing or damaged file is reported (naming the file) and gives nil.
    static func workbook(_ file: String, _ context: ScanContext) -> XLSXWorkbook? {
        do {
            return try XLSXWorkbook(url: context.url(file))
        } catch {
            context.problem(.unreadableLabelFile, file: file,
                            "cannot read the coding spreadsheet \(file): \(error.message); clips are listed without labels")
            return nil
        }
    }

    /// The sheet called `name`; a missing or damaged sheet is reported (listing the sheets the file
    /// has) and gives nil.
    static func sheet(_ name: String, of workbook: XLSXWorkbook, file: String, _ context: ScanContext) -> XLSXSheet? {
        do {
            return try workbook.sheet(named: name)
        } catch {
            context.problem(.unreadableLabelFile, file: file, "\(file) \(error.message)")
            return nil
        }
    }

    /// The spreadsheet's letter for a 0-based column index (0 → A, 27 → AB).
    static func columnLetter(_ index: Int) -> String {
        var n = index + 1, out = ""
        while n > 0 {
            let r = (n - 1) % 26
            out = String(UnicodeScalar(UInt8(65 + r))) + out
            n = (n - 1) / 26
        }
        return out
    }

    /// The sheet called `name`, or the first sheet when `name` is nil; a missing or damaged sheet
    /// is reported and gives nil.
    static func sheet(_ name: String?, of workbook: XLSXWorkbook, file: String, _ context: ScanContext) -> XLSXSheet? {
        guard let name else {
            do {
                return try workbook.firstSheet()
            } catch {
                context.problem(.unreadableLabelFile, file: file, "\(file) \(error.message)")
                return nil
            }
        }
        return sheet(name, of: workbook, file: file, context)
    }

    // MARK: - CASME and CASME II: a header row, one row per sample

    /// One coded row of a CASME or CASME II sheet.
    struct CodedRow {
        var subject: Int
        var filename: String
        var nativeLabels: [String: String]
        var labels: NormalizedLabels
        var origin: SourceLocation
        var problems: [String]
    }

    /// How a headered coding sheet names its columns (any of the names, ignoring case and spaces)
    /// and which emotion words it uses.
    struct HeaderedSheet {
        var onset: [String]
        /// The apex columns and the fact each fills (CASME has two apexes).
        var apexes: [(fact: String, names: [String])]
        var offset: [String]
        var emotion: [String]
        /// Lowercased word → canonical emotion.
        var emotionMap: [String: String]
        /// The words as the dataset writes them, for messages.
        var emotionWords: [String]
        var subject = ["Subject"]
        var filename = ["Filename", "File name"]
        var actionUnits = ["Action Units", "AUs", "AU"]
    }

    /// The rows of a coding sheet whose first non-blank row is the header. Blank header cells
    /// (two in each CASME sheet) are separators: a value under one is still kept as a native label
    /// named by its column letter. A row without a subject number or a file name is a bad row.
    static func codedRows(_ sheet: XLSXSheet, spec: HeaderedSheet, file: String, _ context: ScanContext) -> [CodedRow] {
        let table = XLSXTable(sheet: sheet)
        let headerLine = sheet.rows.first { !$0.isBlank }?.number ?? 1
        let expected = [spec.subject[0], spec.filename[0], spec.onset[0]] + spec.apexes.map { $0.names[0] }
            + [spec.offset[0], spec.actionUnits[0], spec.emotion[0]]
        guard let subjectCol = table.column(matching: spec.subject), let fileCol = table.column(matching: spec.filename) else {
            let lacking = [spec.subject, spec.filename].filter { table.column(matching: $0) == nil }.map { $0[0] }
            context.problem(.unreadableLabelFile, file: file, line: headerLine,
                            "sheet '\(sheet.name)' header lacks \(lacking.joined(separator: ", ")); expected \(expected.joined(separator: ", "))")
            return []
        }
        func optional(_ names: [String]) -> Int? {
            if let c = table.column(matching: names) { return c }
            context.problem(.unreadableLabelFile, file: file, line: headerLine,
                            "sheet '\(sheet.name)' has no \(names[0]) column; that label is left out")
            return nil
        }
        let onsetCol = optional(spec.onset), offsetCol = optional(spec.offset)
        let apexCols = spec.apexes.map { (fact: $0.fact, col: optional($0.names)) }
        let auCol = optional(spec.actionUnits), emotionCol = optional(spec.emotion)
        func name(_ col: Int) -> String {
            col < table.header.count && !table.header[col].isEmpty ? table.header[col] : "column \(columnLetter(col))"
        }

        var out: [CodedRow] = []
        for row in table.rows {
            let origin = SourceLocation(file: file, line: row.number)
            guard let subject = subjectNumber(row[subjectCol]) else {
                context.problem(.badRow, file: file, line: row.number,
                                "\(name(subjectCol)) '\(row[subjectCol] ?? "")' is not a subject number (1, 01 or sub01); row skipped")
                continue
            }
            let filename = (row[fileCol] ?? "").trimmingCharacters(in: .whitespacesAndNewlines)
            guard !filename.isEmpty else {
                context.problem(.badRow, file: file, line: row.number, "\(name(fileCol)) is empty; row skipped")
                continue
            }
            var native: [String: String] = [:]
            for (col, cell) in row.cells.enumerated() {
                if let v = cell?.trimmingCharacters(in: .whitespacesAndNewlines), !v.isEmpty { native[name(col)] = v }
            }
            var labels = NormalizedLabels()
            var problems: [String] = []
            let onset = onsetCol.flatMap {
                frame(row[$0], fact: "onset_frame", column: name($0), at: origin, textAllowed: false, into: &labels, problems: &problems)
            }
            for apex in apexCols {
                if let c = apex.col {
                    _ = frame(row[c], fact: apex.fact, column: name(c), at: origin, textAllowed: true, into: &labels, problems: &problems)
                }
            }
            let offset = offsetCol.flatMap {
                frame(row[$0], fact: "offset_frame", column: name($0), at: origin, textAllowed: false, into: &labels, problems: &problems)
            }
            checkOrder(onset: onset, offset: offset, at: origin, problems: &problems)
            if let c = auCol { actionUnits(row[c], column: name(c), at: origin, into: &labels, problems: &problems) }
            if let c = emotionCol {
                labels.emotion = emotion(row[c], map: spec.emotionMap, allowed: spec.emotionWords, column: name(c),
                                         at: origin, problems: &problems)
            }
            out.append(CodedRow(subject: subject, filename: filename, nativeLabels: native, labels: labels,
                                origin: origin, problems: problems))
        }
        return out
    }

    /// `sub` and the subject number padded to two digits, as CASME and CASME II name their folders.
    static func subjectName(_ n: Int) -> String {
        n < 10 && n >= 0 ? "sub0\(n)" : "sub\(n)"
    }

    /// The clips of CASME or CASME II: one per coded row, keyed `sub<NN>/<Filename>`, then one per
    /// sample on disk that no row names (unlabelled). A row's media is its frame folder, else its
    /// video, else — the sample is missing — the frame folder the row names, so the runner reports
    /// it with the sheet row. `preferVideo` swaps frames and video.
    static func records(
        rows: [CodedRow], frames: DiskSamples, videos: DiskSamples, framesRoot: String, videosRoot: String,
        preferVideo: Bool, fps: Double
    ) -> [ClipRecord] {
        func media(_ f: DiskSample?, _ v: DiskSample?) -> (String, ClipKind)? {
            let framesMedia = f.map { ($0.path, ClipKind.frames) }, videoMedia = v.map { ($0.path, ClipKind.video) }
            return preferVideo ? (videoMedia ?? framesMedia) : (framesMedia ?? videoMedia)
        }
        func record(key: String, subject: Int, path: String, kind: ClipKind) -> ClipRecord {
            ClipRecord(key: key, path: path, kind: kind, identity: subjectName(subject),
                       frameRate: kind == .frames ? fps : nil)
        }
        var out: [ClipRecord] = []
        var claimed = Set<String>()
        for row in rows {
            let f = frames.find(subject: row.subject, name: row.filename)
            let v = videos.find(subject: row.subject, name: row.filename)
            claimed.insert("\(row.subject)/\(matchKey(row.filename))")
            let (path, kind) = media(f, v) ?? {
                if preferVideo {
                    let folder = videos.subjectFolders[row.subject] ?? subjectName(row.subject)
                    return ("\(videosRoot)/\(folder)/\(row.filename).avi", .video)
                }
                let folder = frames.subjectFolders[row.subject] ?? subjectName(row.subject)
                return ("\(framesRoot)/\(folder)/\(row.filename)", .frames)
            }()
            var r = record(key: "\(subjectName(row.subject))/\(row.filename)", subject: row.subject, path: path, kind: kind)
            r.nativeLabels = row.nativeLabels
            r.labels = row.labels
            r.labelOrigin = row.origin
            r.labelProblems = row.problems
            out.append(r)
        }
        for sample in frames.all + videos.all {
            let id = "\(sample.subject)/\(matchKey(sample.name))"
            guard claimed.insert(id).inserted else { continue }
            let f = frames.find(subject: sample.subject, name: sample.name)
            let v = videos.find(subject: sample.subject, name: sample.name)
            guard let (path, kind) = media(f, v) else { continue }
            out.append(record(key: "\(subjectName(sample.subject))/\(sample.name)", subject: sample.subject, path: path, kind: kind))
        }
        return out
    }

    // MARK: - Values

    /// A subject as a coding sheet writes it: `1`, `01`, `1.0` (a number cell) or `sub01`.
    static func subjectNumber(_ raw: String?) -> Int? {
        guard let s = raw?.trimmingCharacters(in: .whitespaces), !s.isEmpty else { return nil }
        if let n = wholeNumber(s) { return n }
        for prefix in ["sub", "s"] { if let n = number(after: prefix, in: s) { return n } }
        return nil
    }

    /// `46` or `46.0` (how a number cell may be stored) as 46; nil for anything else.
    static func wholeNumber(_ raw: String) -> Int? {
        let s = raw.trimmingCharacters(in: .whitespaces)
        if let n = Int(s) { return n }
        if let d = Double(s), d.isFinite, d == d.rounded(), abs(d) < 1e9 { return Int(d) }
        return nil
    }

    /// A frame number cell read into `facts[fact]`. Frames are numbered from 1, so `0` means "not
    /// coded" (CAS(ME)^2's offsets) and is left out, as is an empty cell. A value that is not a
    /// whole number is left out of the facts; it is a problem unless `textAllowed` (CASME II writes
    /// `/` for an apex it could not place — the native label keeps it).
    static func frame(
        _ raw: String?, fact: String, column: String, at origin: SourceLocation, textAllowed: Bool,
        into labels: inout NormalizedLabels, problems: inout [String]
    ) -> Int? {
        guard let s = raw?.trimmingCharacters(in: .whitespaces), !s.isEmpty else { return nil }
        guard let n = wholeNumber(s), n >= 0 else {
            if !textAllowed { problems.append("\(column) '\(s)' (\(origin)) is not a frame number") }
            return nil
        }
        if n == 0 { return nil }
        labels.facts[fact] = String(n)
        return n
    }

    /// Reports an onset after the offset, both coded.
    static func checkOrder(onset: Int?, offset: Int?, at origin: SourceLocation, problems: inout [String]) {
        if let onset, let offset, onset > offset {
            problems.append("onset frame \(onset) is after offset frame \(offset) (\(origin))")
        }
    }

    /// FACS action units as the CASME sheets write them (`4+L10`, `R12`, `1+2+4`, `12, 15`) into
    /// `attributes["action_units"]`: `AU<n>`, with a side prefix kept in front (`L10` → `L-AU10`,
    /// so a search for the suffix `AU10` still finds it). `/`, `?` and empty cells mean none were
    /// coded. A token that is not a FACS code is named in `problems` and left out.
    static func actionUnits(
        _ raw: String?, column: String, at origin: SourceLocation, into labels: inout NormalizedLabels, problems: inout [String]
    ) {
        guard let s = raw?.trimmingCharacters(in: .whitespaces), !s.isEmpty, s != "/", s != "?" else { return }
        var units: [String] = []
        for token in s.split(whereSeparator: { $0 == "+" || $0 == "," || $0 == ";" || $0.isWhitespace }) {
            if let unit = actionUnit(String(token)) {
                if !units.contains(unit) { units.append(unit) }
            } else {
                problems.append("\(column) '\(s)' (\(origin)): '\(token)' is not a FACS action unit like 4, L10 or R12")
            }
        }
        if !units.isEmpty { labels.attributes["action_units"] = units }
    }

    /// `4` → `AU4`, `AU04` → `AU4`, `L10` → `L-AU10`, `r12` → `R-AU12`; nil for anything else.
    static func actionUnit(_ token: String) -> String? {
        var t = Substring(token.uppercased())
        var side = ""
        if let first = t.first, "LRBU".contains(first), t.count > 1, !t.hasPrefix("AU") {
            side = String(first) + "-"
            t = t.dropFirst()
        }
        if t.hasPrefix("AU") { t = t.dropFirst(2) }
        guard !t.isEmpty, t.count <= 3, t.allSatisfy({ $0.isASCII && $0.isNumber }), let n = Int(t), n > 0 else { return nil }
        return "\(side)AU\(n)"
    }

    /// The canonical emotion for a CASME word through the dataset's own map (lowercased word →
    /// canonical), or nil after naming the value, its row and the allowed words in `problems`.
    static func emotion(
        _ raw: String?, map: [String: String], allowed: [String], column: String, at origin: SourceLocation,
        problems: inout [String]
    ) -> String? {
        let s = (raw ?? "").trimmingCharacters(in: .whitespaces)
        if let e = map[s.lowercased()] { return e }
        problems.append("\(column) '\(s)' (\(origin)) is not one of: \(allowed.joined(separator: ", "))")
        return nil
    }
}
