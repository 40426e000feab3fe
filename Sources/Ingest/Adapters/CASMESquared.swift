import EmoCFG
import Foundation

/// CAS(ME)^2: long videos of 22 subjects as frame folders `rawpic/s<NN>/<NN>_<code><title>/img<N>.jpg`
/// and AVIs `rawvideo/s<NN>/<NN>_<code><title>.avi`, with every macro- and micro-expression in them
/// coded in `CAS(ME)^2code_final.xlsx`.
///
/// The main sheet (`CASFEcode_final` in the copies seen; the first sheet that is not a naming rule
/// unless `sheet` names one) has **no header row**: nine columns by position — subject, expression
/// (`disgust1_1`: video `disgust1`, its first expression), onset, apex, offset, action units,
/// emotion class, type, self-reported emotion. The sheet knows subjects by a serial number (1..22)
/// and videos by a word; the sheets `naming rule1` (folder number, name, serial) and `naming rule2`
/// (4-digit code, word) lead to the folders, which are then matched on `<NN>_<code>` only, because
/// the titles after the code carry typos.
///
/// One clip per coded expression, keyed `s<NN>/<expression>`, spanning the expression's frames of
/// its recording: onset..offset, or onset..apex when the offset is `0` (not coded), both ends
/// included. The media is the recording's frame folder when present (`kind: .frames`, the folder as
/// `path`, `frameRange` = the span, frames numbered by the `img<N>` in their names), else its AVI
/// (`media: video` prefers the AVI): a `window` of the AVI from `(onset - 1) / fps` to `last / fps`
/// seconds — frame N (1-based) shows during `[(N-1)/fps, N/fps)` — at the AVI's own rate (the `fps`
/// option when it cannot be probed). A row whose span cannot be told (no onset; neither offset nor
/// apex coded; onset after the end) is left out and reported naming the row: as the whole recording it
/// would answer for every other expression in it. A row whose video is on disk under neither is still a clip pointing at the folder it
/// implies, so the runner reports it missing with the sheet row. Videos no row names are unlabelled
/// whole-recording clips keyed `s<NN>/<folder>`. Onset, apex and offset go to `facts` as frame
/// numbers; `0` (an offset or apex not coded) is left out. The emotion class is `negative`, `positive`, `surprise` or `others`:
/// the first two are sentiments, not emotions (`labels.sentiment`), `surprise` and `others` are the
/// emotions `surprise` and `other`; the class as written is also `facts["emotion_class"]`.
/// `micro-expression`/`macro-expression` is `facts["expression_type"]` (`micro`/`macro`) and the
/// self-report `facts["self_report"]`. No split: exports group by subject (`identity` `s15`).
public struct CASMESquaredAdapter: DatasetAdapter {
    public static let name = "casme_sq"
    /// `fps`: the frame rate of the frame folders (30); `media`: `frames` (default) or `video`;
    /// `labels`: the coding spreadsheet relative to the root; `sheet`: the main sheet.
    public static let optionKeys = ["fps", "media", "labels", "sheet"]

    static let framesFolder = "rawpic"
    static let videosFolder = "rawvideo"
    static let labelFile = "CAS(ME)^2code_final.xlsx"
    static let subjectRule = "naming rule1"
    static let videoRule = "naming rule2"
    /// The main sheet's columns, by position; also the native label names.
    static let columns = ["subject", "expression", "onset", "apex", "offset", "action_units", "emotion", "type", "self_report"]
    static let classes: [String: (emotion: String?, sentiment: String?)] = [
        "negative": (nil, "negative"), "positive": (nil, "positive"), "surprise": ("surprise", nil), "others": ("other", nil),
    ]

    var fps: Double
    var preferVideo: Bool
    var labels: String?
    var sheet: String?

    public init(options: ConfigReader) throws {
        fps = try CASMECoding.fps(options, default: 30)
        preferVideo = try options.oneOf("media", ["frames", "video"]) == "video"
        labels = try options.string("labels")
        sheet = try options.string("sheet")
    }

    /// One video on disk: its subject folder's number, the 4-digit code in its name, its name.
    struct Video {
        var subject: Int
        var code: String?
        var name: String
        var path: String
    }

    /// One coded expression of the main sheet.
    struct Expression {
        var serial: Int
        var name: String
        var native: [String: String]
        var labels: NormalizedLabels
        var origin: SourceLocation
        var problems: [String]
        /// The frames the expression spans in its recording; nil when the row does not tell.
        var span: FrameRange?
    }

    /// The span of a coded expression: onset..offset, or onset..apex when the offset is not coded
    /// (nil = 0 or empty). Nil, with the reason, when neither end can be told.
    static func span(onset: Int?, apex: Int?, offset: Int?, at origin: SourceLocation) -> (FrameRange?, String?) {
        let whole = "; the expression is left out (a span cannot be told)"
        guard let onset else { return (nil, "the onset frame is not coded (\(origin))\(whole)") }
        if let offset {
            // An onset after the offset is already reported by `checkOrder`.
            return onset <= offset ? (FrameRange(first: onset, last: offset), nil) : (nil, "onset frame \(onset) is after offset frame \(offset) (\(origin))\(whole)")
        }
        guard let apex else { return (nil, "neither the offset nor the apex frame is coded (both 0) (\(origin)), so the expression's end is unknown\(whole)") }
        guard apex >= onset else {
            return (nil, "the offset is not coded and apex frame \(apex) is before onset frame \(onset) (\(origin))\(whole)")
        }
        return (FrameRange(first: onset, last: apex), nil)
    }

    public func scan(_ context: ScanContext) throws -> [ClipRecord] {
        let framesRoot = CASMECoding.unnested(Self.framesFolder, context)
        let videosRoot = CASMECoding.unnested(Self.videosFolder, context)
        let (frames, frameSubjects) = videos(under: framesRoot, avi: false, context)
        let (avis, aviSubjects) = videos(under: videosRoot, avi: true, context)

        var expressions: [Expression] = []
        var subjectRule: [Int: Int] = [:]
        var videoRule: [String: String] = [:]
        if let file = CASMECoding.labelFile(option: labels, names: [Self.labelFile], hints: ["code", "cas(me)"], context),
           let workbook = CASMECoding.workbook(file, context) {
            let mainName = sheet ?? workbook.sheetNames.first { !$0.lowercased().hasPrefix("naming rule") }
            if let mainName, let main = CASMECoding.sheet(mainName, of: workbook, file: file, context) {
                expressions = read(main, file: file, context)
            } else if mainName == nil {
                context.problem(.unreadableLabelFile, file: file,
                                "\(file) has no coding sheet besides the naming rules; its sheets: \(workbook.sheetNames.joined(separator: ", "))")
            }
            if let s = CASMECoding.sheet(Self.subjectRule, of: workbook, file: file, context) {
                subjectRule = readSubjectRule(s, file: file, context)
            }
            if let s = CASMECoding.sheet(Self.videoRule, of: workbook, file: file, context) {
                videoRule = readVideoRule(s, file: file, context)
            }
        }
        if frames.isEmpty && avis.isEmpty && expressions.isEmpty {
            throw IngestError(source: context.sourceName,
                              message: "neither \(Self.framesFolder)/ nor \(Self.videosFolder)/ videos nor a readable \(Self.labelFile) under \(context.root.path)")
        }

        func find(_ list: [Video], _ subject: Int, _ code: String) -> Video? {
            list.first { $0.subject == subject && $0.code == code }
        }
        var out: [ClipRecord] = []
        var claimed = Set<String>()
        for e in expressions {
            var problems = e.problems
            let folderNumber = subjectRule[e.serial]
            if folderNumber == nil {
                problems.append("subject \(e.serial) (\(e.origin)) is not in '\(Self.subjectRule)'; its folder is unknown")
            }
            let word = String(e.name.split(separator: "_", maxSplits: 1).first ?? Substring(e.name))
            let code = videoRule[word.lowercased()]
            if code == nil {
                problems.append("video '\(word)' of expression '\(e.name)' (\(e.origin)) is not in '\(Self.videoRule)'; its folder is unknown")
            }
            let subjectName = folderNumber.map { "s\($0)" } ?? "subject\(e.serial)"
            var path: String
            var kind: ClipKind
            let f = folderNumber.flatMap { n in code.flatMap { find(frames, n, $0) } }
            let v = folderNumber.flatMap { n in code.flatMap { find(avis, n, $0) } }
            if let n = folderNumber, let code { claimed.insert("\(n)/\(code)") }
            if let chosen = preferVideo ? (v ?? f) : (f ?? v) {
                path = chosen.path
                kind = chosen.path.hasPrefix(videosRoot + "/") ? .video : .frames
            } else {
                let stem = folderNumber.map { "\($0)_\(code ?? word)" } ?? e.name
                if preferVideo {
                    let folder = folderNumber.flatMap { aviSubjects[$0] } ?? subjectName
                    (path, kind) = ("\(videosRoot)/\(folder)/\(stem).avi", .video)
                } else {
                    let folder = folderNumber.flatMap { frameSubjects[$0] } ?? subjectName
                    (path, kind) = ("\(framesRoot)/\(folder)/\(stem)", .frames)
                }
            }
            var record = ClipRecord(
                key: "\(subjectName)/\(e.name)", path: path, kind: kind, identity: subjectName,
                nativeLabels: e.native, labels: e.labels, labelOrigin: e.origin, labelProblems: problems,
                frameRate: kind == .frames ? fps : nil)
            if let span = e.span {
                if kind == .frames {
                    record.frameRange = span
                } else {
                    record.kind = .window
                    record.window = window(span, of: path, at: e.origin, problems: &record.labelProblems, context)
                }
            }
            out.append(record)
        }
        // Videos no expression names: unlabelled clips, the frame folder standing for its AVI.
        var listed = Set<String>()
        for video in frames + avis {
            if let code = video.code, claimed.contains("\(video.subject)/\(code)") { continue }
            let id = video.code.map { "\(video.subject)/\($0)" } ?? "\(video.subject)/\(video.name)"
            guard listed.insert(id).inserted else { continue }
            let twin = video.code.flatMap { find(video.path.hasPrefix(videosRoot + "/") ? frames : avis, video.subject, $0) }
            let isVideo = video.path.hasPrefix(videosRoot + "/")
            let chosen = (preferVideo == isVideo) ? video : (twin ?? video)
            let kind: ClipKind = chosen.path.hasPrefix(videosRoot + "/") ? .video : .frames
            out.append(ClipRecord(
                key: "s\(video.subject)/\(video.name)", path: chosen.path, kind: kind, identity: "s\(video.subject)",
                frameRate: kind == .frames ? fps : nil))
        }
        return out
    }

    /// The seconds of the AVI at `path` that show frames `span` (1-based): frame N shows during
    /// `[(N-1)/fps, N/fps)`, at the AVI's own rate (the `fps` option when it cannot be probed). A span
    /// ending after the video is named in `problems`.
    func window(_ span: FrameRange, of path: String, at origin: SourceLocation, problems: inout [String], _ context: ScanContext) -> TimeWindow {
        let probe = context.exists(path) ? context.probe(path) : nil
        let rate = probe?.fps.flatMap { $0 > 0 && $0.isFinite ? $0 : nil } ?? fps
        let w = TimeWindow(start: Double(span.first - 1) / rate, end: Double(span.last) / rate)
        if let frames = probe?.frameCount ?? probe?.duration.map({ Int(($0 * rate).rounded()) }), span.last > frames {
            problems.append("frames \(span.first)..\(span.last) (\(origin)) end after the last frame (\(frames)) of \(path)")
        }
        return w
    }

    /// The videos under `root/s<NN>/`: folders of frames, or `.avi` files when `avi`. Also the
    /// subject folders as spelled on disk.
    func videos(under root: String, avi: Bool, _ context: ScanContext) -> ([Video], [Int: String]) {
        let samples = CASMECoding.diskSamples(under: root, prefix: "s", videoExtension: avi ? "avi" : nil, context)
        let list = samples.all.map { s in
            Video(subject: s.subject, code: Self.code(inName: s.name), name: s.name, path: s.path)
        }
        return (list, samples.subjectFolders)
    }

    /// The 4-digit video code in a folder or file name: `15_0101disgustingteeth` → `0101`.
    static func code(inName name: String) -> String? {
        let parts = name.split(separator: "_", maxSplits: 1)
        guard parts.count == 2, Int(parts[0]) != nil else { return nil }
        let digits = parts[1].prefix { $0.isASCII && $0.isNumber }
        return digits.count == 4 ? String(digits) : nil
    }

    /// A naming-rule code as stored: `101` (a number cell) or `0101` (text) → `0101`.
    static func code(fromCell raw: String?) -> String? {
        guard let n = CASMECoding.wholeNumber(raw ?? ""), n > 0, n < 10000 else { return nil }
        let s = String(n)
        return String(repeating: "0", count: 4 - s.count) + s
    }

    /// The main sheet's rows. A first row whose subject is not a number is taken for a header;
    /// any later such row, or one with more than nine columns, is a bad row.
    func read(_ sheet: XLSXSheet, file: String, _ context: ScanContext) -> [Expression] {
        var out: [Expression] = []
        let rows = sheet.rows.filter { !$0.isBlank }
        let expected = "expected \(Self.columns.count) columns (\(Self.columns.joined(separator: ", ")))"
        for (i, row) in rows.enumerated() {
            let origin = SourceLocation(file: file, line: row.number)
            let used = (row.cells.lastIndex { !($0 ?? "").trimmingCharacters(in: .whitespaces).isEmpty } ?? -1) + 1
            guard used <= Self.columns.count else {
                context.problem(.badRow, file: file, line: row.number, "\(expected), found \(used); row skipped")
                continue
            }
            guard let serial = CASMECoding.subjectNumber(row[0]) else {
                if i == 0 { continue }
                context.problem(.badRow, file: file, line: row.number,
                                "subject '\(row[0] ?? "")' is not a subject number; \(expected); row skipped")
                continue
            }
            let name = (row[1] ?? "").trimmingCharacters(in: .whitespacesAndNewlines)
            guard !name.isEmpty else {
                context.problem(.badRow, file: file, line: row.number, "the expression name (column B) is empty; row skipped")
                continue
            }
            var native: [String: String] = [:]
            for (col, field) in Self.columns.enumerated() {
                if let v = row[col]?.trimmingCharacters(in: .whitespacesAndNewlines), !v.isEmpty { native[field] = v }
            }
            var labels = NormalizedLabels()
            var problems: [String] = []
            let onset = CASMECoding.frame(row[2], fact: "onset_frame", column: "onset", at: origin, textAllowed: false,
                                          into: &labels, problems: &problems)
            let apex = CASMECoding.frame(row[3], fact: "apex_frame", column: "apex", at: origin, textAllowed: true,
                                         into: &labels, problems: &problems)
            let offset = CASMECoding.frame(row[4], fact: "offset_frame", column: "offset", at: origin, textAllowed: false,
                                           into: &labels, problems: &problems)
            let (span, why) = Self.span(onset: onset, apex: apex, offset: offset, at: origin)
            if let why {
                // Without its span the expression would stand for the whole recording, answering
                // for every other expression in it: left out, and reported with its row.
                context.problem(.badRow, file: origin.file, line: origin.line, clip: "\(serial)/\(name)", why)
                continue
            } else { CASMECoding.checkOrder(onset: onset, offset: offset, at: origin, problems: &problems) }
            CASMECoding.actionUnits(row[5], column: "action units", at: origin, into: &labels, problems: &problems)

            let emotionClass = (row[6] ?? "").trimmingCharacters(in: .whitespaces).lowercased()
            if let c = Self.classes[emotionClass] {
                labels.emotion = c.emotion
                labels.sentiment = c.sentiment
                labels.facts["emotion_class"] = emotionClass
            } else {
                problems.append("emotion '\(row[6] ?? "")' (\(origin)) is not one of: negative, positive, surprise, others")
            }
            let type = (row[7] ?? "").trimmingCharacters(in: .whitespaces).lowercased()
            switch type {
            case "micro-expression", "micro": labels.facts["expression_type"] = "micro"
            case "macro-expression", "macro": labels.facts["expression_type"] = "macro"
            default: problems.append("type '\(row[7] ?? "")' (\(origin)) is not micro-expression or macro-expression")
            }
            if let report = row[8]?.trimmingCharacters(in: .whitespacesAndNewlines), !report.isEmpty {
                labels.facts["self_report"] = EmotionVocabulary.canonicalize(report) ?? report.lowercased()
            }
            out.append(Expression(serial: serial, name: name, native: native, labels: labels, origin: origin, problems: problems, span: span))
        }
        return out
    }

    /// `naming rule1`: folder number, a name, the main sheet's subject serial (no header) →
    /// serial → folder number.
    func readSubjectRule(_ sheet: XLSXSheet, file: String, _ context: ScanContext) -> [Int: Int] {
        var out: [Int: Int] = [:]
        for (i, row) in sheet.rows.filter({ !$0.isBlank }).enumerated() {
            guard let folder = CASMECoding.wholeNumber(row[0] ?? ""), let serial = CASMECoding.wholeNumber(row[2] ?? "") else {
                if i == 0 { continue }  // a header, if a copy has one
                context.problem(.badRow, file: file, line: row.number,
                                "sheet '\(sheet.name)': expected the folder number (column A) and the subject (column C)")
                continue
            }
            out[serial] = folder
        }
        return out
    }

    /// `naming rule2`: 4-digit code, video word (no header) → lowercased word → code.
    func readVideoRule(_ sheet: XLSXSheet, file: String, _ context: ScanContext) -> [String: String] {
        var out: [String: String] = [:]
        for (i, row) in sheet.rows.filter({ !$0.isBlank }).enumerated() {
            let word = (row[1] ?? "").trimmingCharacters(in: .whitespaces)
            guard let code = Self.code(fromCell: row[0]), !word.isEmpty else {
                if i == 0 { continue }
                context.problem(.badRow, file: file, line: row.number,
                                "sheet '\(sheet.name)': expected a video code (column A) and its name (column B)")
                continue
            }
            out[word.lowercased()] = code
        }
        return out
    }
}
