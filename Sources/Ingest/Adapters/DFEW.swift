import EmoCFG
import Foundation

/// DFEW: clips under `Clip/` labelled by the five-fold split CSVs under `EmoLabel_DataSplit/` and
/// the annotators' votes in `Annotation/annotation.xlsx`.
///
/// Clip files are named by a 5-digit id (`00001.mp4`) but some copies are unpadded (`1.mp4`), and
/// the split CSVs name clips by the unpadded integer: every id is normalised to the 5-digit form.
/// The same single label appears in all five folds; the `fold` option picks which fold's side
/// becomes the clip's split, and `folds` keeps every fold's side. Clips in no fold CSV are the
/// multi-labelled ones: without an annotation row they stay unlabelled clips. DFEW publishes no
/// actor or movie ids, so each clip is its own identity group.
///
/// The `clips` option picks the media: the `original` mp4s, or one of the two face-aligned frame
/// variants, `clip_224x224/<5-digit>/00001_00001.jpg…` (every frame) and
/// `clip_224x224_16f/<id>/1.jpg…16.jpg` (16 frames sampled over the clip). Frame folders are
/// matched to ids like the mp4s (padded or not). A labelled clip without media points at the padded
/// name (`Clip/original/00010.mp4`, `Clip/clip_224x224/00010`), for the runner to report.
///
/// `Annotation/annotation.xlsx` (optional) has one row per clip: seven vote counts, the clip name
/// and the single label (`0` = not single-labelled). Its exact headers are not published, so the
/// first sheet that has a clip column is read and columns are found by name, compared on their
/// letters only (case, spaces, `_`, `-`, digits and brackets ignored):
/// - clip: `clip`, `clip name`, `clip id`, `video`, `video name`, `video id`, `name`, `file name`, `file`, `id`;
/// - single label: `single label`, `single labelled`/`labeled`, `label`, `emotion label`, `emotion`, `class`;
/// - votes: any header whose letters, after dropping a leading or trailing `votes`/`vote`/`count`/`num`,
///   are an emotion word of the seven classes (`Happy`, `happiness`, `1_Happy`, `angry_votes`, `fearful`…).
///
/// Every cell of the row is kept as a native label `annotation:<header>`. Normalised: facts
/// `votes_<emotion>` (the count, canonical emotion names), the attribute `voted_emotions` (classes
/// with at least one vote, in code order) and the fact `single_labelled` (`true`/`false`). A clip
/// with no fold row takes its emotion from the annotation's single label; a single label that
/// contradicts the fold CSVs is a label problem.
public struct DFEWAdapter: DatasetAdapter {
    public static let name = "dfew"
    /// Reads the annotation workbook and the frame variants since version 2.
    public static let version = 2
    /// `fold`: which of the five folds (1-5, default 1) gives `split` and `nativeSplit`.
    /// `clips`: `original` (default), `clip_224x224` or `clip_224x224_16f`.
    /// `fps`: the frame rate of a frame variant (default 25 for `clip_224x224`, 5 for
    /// `clip_224x224_16f`); unused for `original`, whose rate the runner probes.
    public static let optionKeys = ["fold", "clips", "fps"]

    static let clipRoot = "Clip"
    static let clipFolder = "Clip/original"
    static let labelFolder = "EmoLabel_DataSplit"
    static let annotationFile = "Annotation/annotation.xlsx"
    static let variants = ["original", "clip_224x224", "clip_224x224_16f"]
    /// `clip_224x224` holds every frame of the movie clip: 25 fps is the common rate of the film
    /// sources (not published). `clip_224x224_16f` holds 16 frames spread over the whole clip, so its
    /// rate is nominal: 5 fps makes 16 frames last 3.2 s, about DFEW's mean clip length.
    static let defaultFPS = ["clip_224x224": 25.0, "clip_224x224_16f": 5.0]
    static let codes = ["1": "Happy", "2": "Sad", "3": "Neutral", "4": "Angry",
                        "5": "Surprise", "6": "Disgust", "7": "Fear"]
    static let allowedCodes = (1...7).map { "\($0) (\(codes["\($0)"]!))" }.joined(separator: ", ")

    var fold: Int
    var clips: String
    var fps: Double?

    public init(options: ConfigReader) throws {
        fold = try options.int("fold", range: 1...5) ?? 1
        clips = try options.oneOf("clips", Self.variants) ?? "original"
        if let rate = try options.double("fps") {
            guard rate > 0, rate.isFinite else {
                throw options.error("expected a frame rate above 0, found \(rate)", key: "fps")
            }
            fps = rate
        } else {
            fps = Self.defaultFPS[clips]
        }
    }

    var usesFrames: Bool { clips != "original" }
    var mediaFolder: String { "\(Self.clipRoot)/\(clips)" }

    /// One row of a fold CSV.
    struct LabelRow {
        var code: String
        var origin: SourceLocation
    }

    /// One row of `annotation.xlsx`.
    struct AnnotationRow {
        /// `(code, header, cell)` for each vote column found, in code order.
        var votes: [(code: Int, header: String, raw: String)]
        /// Every non-empty cell but the clip's, by header.
        var native: [String: String]
        var single: String?
        var origin: SourceLocation
    }

    public func scan(_ context: ScanContext) throws -> [ClipRecord] {
        let media = usesFrames ? frameFolders(context) : videoFiles(context)
        let labelDirs = labelFolders(context)
        let annotation = readAnnotation(context)
        if media.isEmpty && labelDirs.isEmpty && annotation == nil {
            throw IngestError(
                source: context.sourceName,
                message: "neither \(mediaFolder)/ with clips nor \(Self.labelFolder)/ with fold CSVs nor \(Self.annotationFile) under \(context.root.path)")
        }

        let (sides, rows) = readFolds(labelDirs, context)
        let notes = annotation ?? [:]

        var records: [ClipRecord] = []
        var seen: Set<String> = []
        for (id, path) in media {
            seen.insert(id)
            records.append(record(id: id, path: path, sides: sides[id] ?? [:], rows: rows[id] ?? [:], note: notes[id]))
        }
        // Label rows whose clip media is absent still become records; the runner reports the media.
        let labelled = Set(rows.keys).union(notes.keys)
        for id in NaturalOrder.sorted(Array(labelled)) where !seen.contains(id) {
            records.append(record(id: id, path: missingPath(id), sides: sides[id] ?? [:], rows: rows[id] ?? [:], note: notes[id]))
        }
        return records
    }

    /// Where the media of a labelled clip would be, in the padded form.
    func missingPath(_ id: String) -> String {
        usesFrames ? "\(mediaFolder)/\(id)" : "\(Self.clipFolder)/\(id).mp4"
    }

    /// Reads every fold CSV: per clip id, the side it takes in each fold and the row of each fold.
    func readFolds(
        _ folders: [(String, String)], _ context: ScanContext
    ) -> (sides: [String: [String: String]], rows: [String: [Int: LabelRow]]) {
        var sides: [String: [String: String]] = [:]
        var rows: [String: [Int: LabelRow]] = [:]
        for n in 1...5 {
            for (side, folder) in folders {
                let file = "\(folder)/set_\(n).csv"
                guard let table = context.csv(file) else { continue }
                let missing = table.missingColumns(["video_name", "label"])
                if !missing.isEmpty {
                    context.problem(.unreadableLabelFile, file: file, line: 1,
                                    "header lacks \(missing.joined(separator: ", ")); expected video_name,label")
                    continue
                }
                for row in context.wellFormedRows(table, file: file) {
                    let name = table.value(row, "video_name") ?? ""
                    guard let id = Self.clipID(name) else {
                        context.problem(.badRow, file: file, line: row.line, "video_name '\(name)' is not a clip number")
                        continue
                    }
                    if let other = sides[id]?["\(n)"] {
                        context.problem(.badRow, file: file, line: row.line, clip: id,
                                        "clip \(id) is listed twice in fold \(n) (already on the \(other) side); row ignored")
                        continue
                    }
                    sides[id, default: [:]]["\(n)"] = side
                    rows[id, default: [:]][n] = LabelRow(
                        code: table.value(row, "label") ?? "", origin: SourceLocation(file: file, line: row.line))
                }
            }
        }
        return (sides, rows)
    }

    func record(id: String, path: String, sides: [String: String], rows: [Int: LabelRow], note: AnnotationRow?) -> ClipRecord {
        var record = ClipRecord(
            key: id, path: path, kind: usesFrames ? .frames : .video, folds: sides, identity: "clip:\(id)",
            frameRate: usesFrames ? fps : nil)
        if let side = sides["\(fold)"] {
            record.nativeSplit = "set_\(fold):\(side)"
            record.split = side
        }
        // The chosen fold's row first; a clip missing from it keeps the label the other folds give.
        let chosen = rows[fold] ?? rows.keys.sorted().first.flatMap { rows[$0] }
        if let chosen {
            record.nativeLabels["label"] = chosen.code
            record.labelOrigin = chosen.origin
            if let name = Self.codes[chosen.code], let emotion = EmotionVocabulary.canonicalize(name) {
                record.labels.emotion = emotion
            } else {
                record.labelProblems.append("label '\(chosen.code)' (\(chosen.origin)) is not one of \(Self.allowedCodes)")
            }
            for (_, row) in rows.sorted(by: { $0.key < $1.key }) where row.code != chosen.code {
                record.labelProblems.append(
                    "label '\(row.code)' (\(row.origin)) disagrees with '\(chosen.code)' (\(chosen.origin))")
            }
        }
        if let note { apply(note, to: &record, foldLabel: chosen) }
        return record
    }

    /// Adds an annotation row's votes and single label to `record`.
    func apply(_ note: AnnotationRow, to record: inout ClipRecord, foldLabel: LabelRow?) {
        for (header, raw) in note.native { record.nativeLabels["annotation:\(header)"] = raw }
        var voted: [String] = []
        for vote in note.votes {
            // Unparsable counts were reported as bad rows when the sheet was read.
            guard let count = Self.wholeNumber(vote.raw), let emotion = EmotionVocabulary.canonicalize(Self.codes["\(vote.code)"]!)
            else { continue }
            record.labels.facts["votes_\(emotion)"] = "\(count)"
            if count > 0 { voted.append(emotion) }
        }
        if !voted.isEmpty { record.labels.attributes["voted_emotions"] = voted }
        if record.labelOrigin == nil { record.labelOrigin = note.origin }

        guard let raw = note.single else { return }
        let code = Self.wholeNumber(raw).map { "\($0)" }
        if code == "0" {
            record.labels.facts["single_labelled"] = "false"
            if let fold = foldLabel {
                record.labelProblems.append(
                    "annotation single label '\(raw)' (\(note.origin)) marks the clip not single-labelled, but the fold CSVs label it '\(fold.code)' (\(fold.origin))")
            }
        } else if let code, let name = Self.codes[code] {
            record.labels.facts["single_labelled"] = "true"
            if let fold = foldLabel {
                if Self.codes[fold.code] != nil && fold.code != code {
                    record.labelProblems.append(
                        "annotation single label '\(raw)' (\(note.origin)) disagrees with '\(fold.code)' (\(fold.origin))")
                }
            } else {
                record.labels.emotion = EmotionVocabulary.canonicalize(name)
            }
        } else {
            record.labelProblems.append(
                "annotation single label '\(raw)' (\(note.origin)) is not 0 (not single-labelled) or one of \(Self.allowedCodes)")
        }
    }

    // MARK: - Media

    /// `(id, path)` for every clip file, ids in the 5-digit form.
    func videoFiles(_ context: ScanContext) -> [(String, String)] {
        let paths = context.files(in: Self.clipFolder, extensions: ["mp4"])
        return byID(paths, context, example: "00001.mp4") { ($0 as NSString).deletingPathExtension }
    }

    /// `(id, path)` for every frame folder of the chosen variant, ids in the 5-digit form.
    func frameFolders(_ context: ScanContext) -> [(String, String)] {
        let paths = context.directories(in: mediaFolder).map { context.join(mediaFolder, $0) }
        return byID(paths, context, example: "00001/") { $0 }
    }

    /// Media paths by clip id. When a padded and an unpadded copy of one clip both exist, the padded
    /// one is kept and the other reported; a name that is not a number is reported.
    func byID(_ paths: [String], _ context: ScanContext, example: String, stem: (String) -> String) -> [(String, String)] {
        var byID: [String: String] = [:]
        var order: [String] = []
        func stemOf(_ path: String) -> String { stem((path as NSString).lastPathComponent) }
        for path in paths {
            let name = stemOf(path)
            guard let id = Self.clipID(name) else {
                context.problem(.strayFile, file: path, "'\(name)' is not a clip number; expected a name like \(example)")
                continue
            }
            if let kept = byID[id] {
                let padded = stemOf(kept) == id
                let (keep, drop) = padded ? (kept, path) : (path, kept)
                byID[id] = keep
                context.problem(.strayFile, file: drop, clip: id, "second copy of clip \(id) (kept \(keep))")
                continue
            }
            byID[id] = path
            order.append(id)
        }
        return order.map { ($0, byID[$0]!) }
    }

    /// The `(side, folder)` pairs of the fold CSVs that exist. The zips are named
    /// `train(single_labeled).zip` but unpack to `train(single-labeled)/`; both spellings are accepted.
    func labelFolders(_ context: ScanContext) -> [(String, String)] {
        guard context.isDirectory(Self.labelFolder) else { return [] }
        var out: [(String, String)] = []
        for side in ["train", "test"] {
            let candidates = ["\(side)(single-labeled)", "\(side)(single_labeled)"].map { "\(Self.labelFolder)/\($0)" }
            if let folder = candidates.first(where: { context.isDirectory($0) }) {
                out.append((side, folder))
            } else {
                context.problem(.unreadableLabelFile, file: Self.labelFolder, "no \(side)(single-labeled)/ folder")
            }
        }
        return out
    }

    // MARK: - annotation.xlsx

    static let clipHeaders: Set<String> = ["clip", "clipname", "clipid", "video", "videoname", "videoid", "name",
                                           "filename", "file", "id"]
    static let singleHeaders: Set<String> = ["singlelabel", "singlelabelled", "singlelabeled", "label", "emotionlabel",
                                             "emotion", "class"]

    /// The letters of a header, lowercased: `Clip Name`, `clip_name` and `1_Clip-name` all give `clipname`.
    static func letters(_ header: String) -> String {
        String(header.lowercased().unicodeScalars.filter { ("a"..."z").contains($0) }.map(Character.init))
    }

    /// The DFEW code (1-7) whose class a vote column's header names, or nil.
    static func voteCode(_ header: String) -> Int? {
        var word = letters(header)
        for affix in ["votes", "vote", "count", "num"] {
            if word.hasPrefix(affix) && word.count > affix.count { word.removeFirst(affix.count) }
            if word.hasSuffix(affix) && word.count > affix.count { word.removeLast(affix.count) }
        }
        guard let emotion = EmotionVocabulary.canonicalize(word) else { return nil }
        return (1...7).first { EmotionVocabulary.canonicalize(codes["\($0)"]!) == emotion }
    }

    /// The rows of `annotation.xlsx` by clip id; nil when the file is absent or unreadable.
    func readAnnotation(_ context: ScanContext) -> [String: AnnotationRow]? {
        let file = Self.annotationFile
        guard context.exists(file) else { return nil }
        let workbook: XLSXWorkbook
        do { workbook = try XLSXWorkbook(url: context.url(file)) } catch {
            context.problem(.unreadableLabelFile, file: file, "cannot read the annotation workbook: \(error)")
            return nil
        }
        // The data sheet is the first one with a clip column (a notes sheet may come first).
        var found: (XLSXSheet, XLSXTable, Int)?
        var headers: [String] = []
        var damaged: [String] = []
        for name in workbook.sheetNames {
            let sheet: XLSXSheet
            do { sheet = try workbook.sheet(named: name) } catch {
                damaged.append(error.message)
                continue
            }
            let table = XLSXTable(sheet: sheet)
            if headers.isEmpty { headers = table.header }
            if let clip = table.header.firstIndex(where: { Self.clipHeaders.contains(Self.letters($0)) }) {
                found = (sheet, table, clip)
                break
            }
        }
        guard let (sheet, table, clipColumn) = found else {
            let why = damaged.isEmpty ? "" : "; unreadable: \(damaged.joined(separator: "; "))"
            context.problem(.unreadableLabelFile, file: file,
                            "no sheet has a clip column (a header like 'clip', 'clip name', 'video name'); first sheet's header: \(headers.joined(separator: ", "))\(why)")
            return nil
        }
        let headerLine = sheet.rows.first { !$0.isBlank }?.number ?? 1
        var voteColumns: [(code: Int, column: Int)] = []
        for (i, h) in table.header.enumerated() where i != clipColumn {
            if let code = Self.voteCode(h), !voteColumns.contains(where: { $0.code == code }) { voteColumns.append((code, i)) }
        }
        voteColumns.sort { $0.code < $1.code }
        let singleColumn = table.header.firstIndex { Self.singleHeaders.contains(Self.letters($0)) }
        let lacking = (1...7).filter { c in !voteColumns.contains { $0.code == c } }.map { Self.codes["\($0)"]! }
        if !lacking.isEmpty || singleColumn == nil {
            let what = (lacking.isEmpty ? [] : ["vote columns for \(lacking.joined(separator: ", "))"])
                + (singleColumn == nil ? ["a single-label column"] : [])
            context.problem(.badRow, file: file, line: headerLine,
                            "sheet '\(sheet.name)' header lacks \(what.joined(separator: " and ")); found: \(table.header.joined(separator: ", ")); the rest is read")
        }

        var rows: [String: AnnotationRow] = [:]
        for row in table.rows {
            let name = row[clipColumn]?.trimmingCharacters(in: .whitespaces) ?? ""
            // Clip names may be stored as numbers (`3`, `3.0`) or with the file extension (`00003.mp4`).
            let stem = name.lowercased().hasSuffix(".mp4") ? String(name.dropLast(4)) : name
            guard let id = Self.clipID(Self.wholeNumber(stem).map { "\($0)" } ?? stem) else {
                context.problem(.badRow, file: file, line: row.number, "clip name '\(name)' is not a clip number")
                continue
            }
            let origin = SourceLocation(file: file, line: row.number)
            if rows[id] != nil {
                context.problem(.badRow, file: file, line: row.number, clip: id, "clip \(id) is listed again; row ignored")
                continue
            }
            var native: [String: String] = [:]
            for (i, h) in table.header.enumerated() where i != clipColumn {
                if let v = row[i]?.trimmingCharacters(in: .whitespaces), !v.isEmpty { native[h.isEmpty ? "column \(i + 1)" : h] = v }
            }
            let votes = voteColumns.map { (code: $0.code, header: table.header[$0.column], raw: row[$0.column] ?? "") }
            let bad = votes.filter { Self.wholeNumber($0.raw) == nil }
            if !bad.isEmpty {
                context.problem(.badRow, file: file, line: row.number, clip: id,
                                bad.map { "vote count \($0.header) '\($0.raw)' is not a whole number" }.joined(separator: "; "))
            }
            rows[id] = AnnotationRow(votes: votes, native: native, single: singleColumn.flatMap { row[$0] }, origin: origin)
        }
        return rows
    }

    // MARK: - Ids and numbers

    /// The 5-digit id for `1`, `00001` or `001`; nil for anything that is not a whole number.
    static func clipID(_ raw: String) -> String? {
        guard !raw.isEmpty, raw.allSatisfy({ $0.isASCII && $0.isNumber }), let n = Int(raw) else { return nil }
        let digits = String(n)
        return digits.count >= 5 ? digits : String(repeating: "0", count: 5 - digits.count) + digits
    }

    /// A spreadsheet count: `3` or `3.0`; nil for anything else.
    static func wholeNumber(_ raw: String) -> Int? {
        let t = raw.trimmingCharacters(in: .whitespaces)
        if let n = Int(t), n >= 0 { return n }
        if let d = Double(t), d >= 0, d == d.rounded(), d < 1e9 { return Int(d) }
        return nil
    }
}
