import EmoCFG
import Foundation

/// AffWild2 (ABAW): long videos in `batch1/`, `batch2/` and `new_vids/` (the first editions) or one
/// `videos/` folder (later ABAW releases, sometimes nested: `videos/videos/`, `videos/both_batches/`),
/// annotated frame by frame for action units (AU), expression (EXPR) and valence-arousal (VA), cut
/// here into time windows. Every video folder is searched to any depth.
///
/// Annotations are `<Task folder>/<Set>/<name>.txt`, line 1 a header, then one line per video frame.
/// The task folders are named after the challenge edition (`AU_Set`, `EXPR_Set`, `VA_Set`, or
/// `AU_Detection_Challenge`, `EXPR_Classification_Challenge`, `VA_Estimation_Challenge`); any folder
/// whose name starts with `AU_`, `EXPR_` or `VA_` is read, at the root or one folder down. A video
/// with two annotated people has `<video>_left.txt` and `<video>_right.txt`, both about `<video>.*`.
///
/// Video names are irregular (`1-30-1280x720.mp4`, `122-60-1920x1080-1.mp4`, `video10_1.mp4`,
/// `46.avi`), so they are matched by stem. Each annotated video (or person) becomes windows of
/// `window` seconds every `stride` seconds over its annotated frames; the frame labels of each task
/// are aggregated per window (`aggregate`), invalid frames (`-1`, `-5`) left out. Key:
/// `<annotation name>/<first frame>-<end frame>` (0-based, end exclusive). Videos no annotation names
/// (the test set) are cut into unlabelled windows over all their frames. `cropped_aligned/` is not read.
public struct AffWild2Adapter: DatasetAdapter {
    public static let name = "affwild2"
    /// `window`: seconds per clip (default 4); `stride`: seconds between window starts (default =
    /// window); `aggregate`: `majority` or `any` (default majority); `fps`: the rate assumed for an
    /// annotated video that cannot be probed (default 30, AffWild2's most common rate).
    public static let optionKeys = ["window", "stride", "aggregate", "fps"]

    /// The video folders of every edition, at the root; each is searched to any depth.
    static let videoFolders = ["batch1", "batch2", "new_vids", "videos", "both_batches"]
    static let videoExtensions: Set<String> = ["mp4", "avi"]
    /// EXPR codes 0-7.
    static let expressions = ["Neutral", "Anger", "Disgust", "Fear", "Happiness", "Sadness", "Surprise", "Other"]
    /// The AU header of every edition; used when a file's own header does not name its columns.
    static let actionUnits = DatasetVocabulary.affwild2ActionUnits
    /// Beyond this many bad lines in one file, the rest are summed up in one problem.
    static let problemsPerFile = 20

    enum Task: String, CaseIterable {
        case au = "AU", expr = "EXPR", va = "VA"

        /// The task a folder's name announces, in any edition's spelling.
        init?(folder: String) {
            let name = folder.uppercased()
            guard let task = Task.allCases.first(where: { name.hasPrefix($0.rawValue + "_") }) else { return nil }
            self = task
        }
    }

    var window: Double
    var stride: Double
    var aggregate: WindowAggregate
    var fallbackFPS: Double

    public init(options: ConfigReader) throws {
        window = try options.double("window") ?? 4.0
        guard window > 0 else { throw options.error("expected seconds greater than 0, found \(window)", key: "window") }
        stride = try options.double("stride") ?? window
        guard stride > 0 else { throw options.error("expected seconds greater than 0, found \(stride)", key: "stride") }
        aggregate = try options.oneOf("aggregate", WindowAggregate.allCases.map(\.rawValue))
            .flatMap(WindowAggregate.init(rawValue:)) ?? .majority
        fallbackFPS = try options.double("fps") ?? 30
        guard fallbackFPS > 0 else { throw options.error("expected frames per second greater than 0, found \(fallbackFPS)", key: "fps") }
    }

    // MARK: - Scan

    /// One annotation file found on disk.
    struct AnnotationFile {
        var task: Task
        var file: String
        /// The set folder as named (`Train_Set`, `Validation_Set`).
        var set: String
    }

    public func scan(_ context: ScanContext) throws -> [ClipRecord] {
        let videos = videoIndex(context)
        let (groups, order) = annotationIndex(context)
        if videos.paths.isEmpty && order.isEmpty {
            throw IngestError(
                source: context.sourceName,
                message: "no videos in \(Self.videoFolders.joined(separator: "/, "))/ and no AU_/EXPR_/VA_ annotation folders under \(context.root.path)")
        }

        var records: [ClipRecord] = []
        var annotatedVideos = Set<String>()
        for name in order {
            let (video, person) = Self.video(ofAnnotation: name, videos: videos.paths)
            annotatedVideos.insert(video)
            records += windows(annotation: name, video: video, person: person, files: groups[name] ?? [],
                               videos: videos, context: context)
        }
        for video in videos.order where !annotatedVideos.contains(video) {
            guard let path = videos.paths[video], let probe = context.probe(path) else { continue }
            guard let fps = probe.fps, fps > 0, let frames = Self.frameCount(probe, fps: fps) else {
                context.problem(.probeFailed, file: path, "cannot cut \(path) into windows: libavformat gives no frame rate or frame count")
                continue
            }
            for span in TimeWindows.cut(frameCount: frames, fps: fps, window: window, stride: stride) {
                records.append(ClipRecord(
                    key: "\(video)/\(span.firstFrame)-\(span.endFrame)", path: path, kind: .window, window: span.window,
                    identity: "video:" + video))
            }
        }
        return records
    }

    /// Videos by stem (`1-30-1280x720`), the first folder's copy winning, and the stems in order.
    func videoIndex(_ context: ScanContext) -> (paths: [String: String], order: [String]) {
        var paths: [String: String] = [:]
        var order: [String] = []
        for folder in Self.videoFolders where context.isDirectory(folder) {
            for file in context.files(in: folder, extensions: Self.videoExtensions, recursive: true) {
                let stem = ((file as NSString).lastPathComponent as NSString).deletingPathExtension
                if let first = paths[stem] {
                    context.problem(.strayFile, file: file, "video '\(stem)' is also \(first); that one is used")
                    continue
                }
                paths[stem] = file
                order.append(stem)
            }
        }
        return (paths, order)
    }

    /// Annotation files by annotation name (`video10_1_left`), and the names in natural order.
    func annotationIndex(_ context: ScanContext) -> (groups: [String: [AnnotationFile]], order: [String]) {
        var taskFolders: [(Task, String)] = []
        let skip = Set(Self.videoFolders + ["cropped_aligned", "cropped"])
        for top in context.directories(in: "") where !skip.contains(top) {
            if let task = Task(folder: top) {
                taskFolders.append((task, top))
                continue
            }
            // Some editions unpack into a parent folder (`annotations/`, `Third ABAW Annotations/`).
            for sub in context.directories(in: top) {
                if let task = Task(folder: sub) { taskFolders.append((task, context.join(top, sub))) }
            }
        }
        var groups: [String: [AnnotationFile]] = [:]
        for (task, folder) in taskFolders {
            for set in context.directories(in: folder) {
                for file in context.files(in: context.join(folder, set), extensions: ["txt"]) {
                    let name = ((file as NSString).lastPathComponent as NSString).deletingPathExtension
                    if let other = groups[name]?.first(where: { $0.task == task }) {
                        context.problem(.badRow, file: file,
                                        "\(task.rawValue) annotation '\(name)' is also \(other.file); that one is used")
                        continue
                    }
                    groups[name, default: []].append(AnnotationFile(task: task, file: file, set: set))
                }
            }
        }
        return (groups, NaturalOrder.sorted(Array(groups.keys)))
    }

    /// The video an annotation name is about, and the person (`left`/`right`) for two-person videos.
    static func video(ofAnnotation name: String, videos: [String: String]) -> (video: String, person: String?) {
        if videos[name] != nil { return (name, nil) }
        for person in ["left", "right"] where name.hasSuffix("_" + person) {
            return (String(name.dropLast(person.count + 1)), person)
        }
        return (name, nil)
    }

    static func frameCount(_ probe: ProbeResult, fps: Double) -> Int? {
        if let n = probe.frameCount, n > 0 { return n }
        guard let d = probe.duration, d > 0 else { return nil }
        return Int((d * fps).rounded())
    }

    // MARK: - One annotated video (or person)

    func windows(
        annotation name: String, video: String, person: String?, files: [AnnotationFile],
        videos: (paths: [String: String], order: [String]), context: ScanContext
    ) -> [ClipRecord] {
        let annotations = files.sorted { $0.task.rawValue < $1.task.rawValue }.compactMap { parse($0, context: context) }
        guard !annotations.isEmpty else { return [] }
        let annotated = annotations.map(\.frames).max() ?? 0

        var fps = fallbackFPS
        var limit = annotated
        let path: String
        if let found = videos.paths[video] {
            path = found
            if let probe = context.probe(found), let rate = probe.fps, rate > 0, let frames = Self.frameCount(probe, fps: rate) {
                fps = rate
                for a in annotations where a.frames != frames {
                    let what = a.frames < frames
                        ? "windows cover only the \(min(annotated, frames)) annotated frames"
                        : "lines past frame \(frames) are ignored"
                    context.problem(.badRow, file: a.file, line: a.lastLine,
                                    "\(a.file) has \(a.frames) frame lines but the video \(found) has \(frames) frames; \(what)")
                }
                limit = min(annotated, frames)
            } else {
                context.problem(.probeFailed, file: found,
                                "no frame count or rate for \(found); windows assume \(Self.format(fallbackFPS)) fps over the \(annotated) annotated frames")
            }
        } else {
            // The record still points where the video would be, so the runner reports it missing.
            let folder = Self.videoFolders.first { context.isDirectory($0) } ?? Self.videoFolders[0]
            path = context.join(folder, video + ".mp4")
        }

        let sets = annotations.map(\.set)
        let nativeSplit = Set(sets).count == 1 ? sets[0] : annotations.map { "\($0.task.rawValue):\($0.set)" }.joined(separator: " ")
        // A video one task trains on and another validates on counts as held out: none of its frames
        // may be trained on.
        let splits = Set(sets.compactMap(SplitName.normalize))
        let split = ["test", "val", "train"].first { splits.contains($0) }

        var records: [ClipRecord] = []
        for span in TimeWindows.cut(frameCount: limit, fps: fps, window: window, stride: stride) {
            var labels = NormalizedLabels()
            var native: [String: String] = [:]
            if let person { labels.facts["person"] = person }
            for a in annotations {
                let inFile = span.firstFrame..<min(span.endFrame, a.frames)
                guard !inFile.isEmpty else { continue }
                native[a.task.rawValue + "_rows"] = "\(a.file):\(a.firstLine + inFile.lowerBound)-\(a.firstLine + inFile.upperBound - 1)"
                switch a.values {
                case .expr(let codes):
                    native["EXPR"] = TimeWindows.runLength(a.raw[inFile])
                    let window = codes[inFile]
                    if let code = TimeWindows.majority(window) {
                        labels.emotion = EmotionVocabulary.canonicalize(Self.expressions[code])
                    }
                    if aggregate == .any {
                        labels.emotions = TimeWindows.present(window).compactMap { EmotionVocabulary.canonicalize(Self.expressions[$0]) }
                    }
                case .au(let names, let flags):
                    native["AU"] = TimeWindows.runLength(a.raw[inFile])
                    var on: [String] = []
                    var anyValid = false
                    for (column, unit) in names.enumerated() {
                        let column = inFile.lazy.map { flags[$0 * names.count + column] }
                        guard let state = TimeWindows.flag(column, rule: aggregate) else { continue }
                        anyValid = true
                        if state { on.append(unit) }
                    }
                    if anyValid { labels.attributes["action_units"] = on }
                case .va(let valence, let arousal):
                    labels.valence = TimeWindows.mean(valence[inFile])
                    labels.arousal = TimeWindows.mean(arousal[inFile])
                }
            }
            let first = annotations[0]
            records.append(ClipRecord(
                key: "\(name)/\(span.firstFrame)-\(span.endFrame)", path: path, kind: .window, window: span.window,
                nativeSplit: nativeSplit, split: split, identity: "video:" + video, nativeLabels: native, labels: labels,
                labelOrigin: SourceLocation(file: first.file, line: first.firstLine + min(span.firstFrame, max(first.frames - 1, 0)))))
        }
        return records
    }

    // MARK: - Annotation files

    /// One task's frame labels for one video, invalid frames as nil.
    struct Annotation {
        enum Values {
            case expr([Int?])
            /// `flags[frame * names.count + column]`.
            case au(names: [String], flags: [Bool?])
            case va(valence: [Double?], arousal: [Double?])
        }
        var task: Task
        var file: String
        var set: String
        /// The line holding frame 0 (2 below a header).
        var firstLine: Int
        var lastLine: Int
        /// Frames the file annotates (one per line after the header).
        var frames: Int
        /// Each frame's line as written (spaces removed), for `nativeLabels`.
        var raw: [String]
        var values: Values
    }

    /// Reads one annotation file; bad lines become invalid frames and recorded problems.
    func parse(_ found: AnnotationFile, context: ScanContext) -> Annotation? {
        guard let lines = context.lines(found.file) else { return nil }
        let file = found.file
        var reported = 0
        func bad(_ kind: IngestProblem.Kind, _ line: Int, _ message: String) {
            reported += 1
            if reported <= Self.problemsPerFile { context.problem(kind, file: file, line: line, message) }
        }
        // Line 1 is a header in every edition; a file starting with numbers has none.
        let hasHeader = lines.first.map { $0.line == 1 && $0.text.contains { $0.isLetter } } ?? false
        let header = hasHeader ? Self.fields(lines[0].text) : []
        let firstLine = hasHeader ? 2 : 1
        let body = hasHeader ? Array(lines.dropFirst()) : lines
        guard let last = body.last else {
            context.problem(.badRow, file: file, line: 1, "\(file) has a header but no frame lines")
            return nil
        }
        let frames = last.line - firstLine + 1
        var raw = [String](repeating: "", count: frames)

        let values: Annotation.Values
        switch found.task {
        case .expr:
            var codes = [Int?](repeating: nil, count: frames)
            for (line, text) in body {
                let f = Self.fields(text), i = line - firstLine
                raw[i] = f.joined(separator: ",")
                guard f.count == 1, let code = Int(f[0]) else {
                    bad(.badRow, line, "expected one expression code (-1, or 0-7), found '\(text)'")
                    continue
                }
                if code == -1 { continue }
                guard Self.expressions.indices.contains(code) else {
                    bad(.badLabel, line, "EXPR value '\(code)' (\(file):\(line)) is not -1 (invalid) or one of: "
                        + Self.expressions.enumerated().map { "\($0.offset) \($0.element)" }.joined(separator: ", "))
                    continue
                }
                codes[i] = code
            }
            values = .expr(codes)
        case .au:
            var names = header
            let looksRight = !names.isEmpty && names.allSatisfy { $0.uppercased().hasPrefix("AU") && Int($0.dropFirst(2)) != nil }
            if !looksRight {
                if hasHeader {
                    context.problem(.badRow, file: file, line: 1,
                                    "header '\(lines[0].text)' does not name action units (AU1,AU2,…); columns read as \(Self.actionUnits.joined(separator: ","))")
                }
                names = Self.actionUnits
            }
            var flags = [Bool?](repeating: nil, count: frames * names.count)
            for (line, text) in body {
                let f = Self.fields(text), i = line - firstLine
                raw[i] = f.joined(separator: ",")
                guard f.count == names.count else {
                    bad(.badRow, line, "expected \(names.count) action-unit values (\(names.joined(separator: ","))), found \(f.count)")
                    continue
                }
                for (column, value) in f.enumerated() {
                    switch value {
                    case "1": flags[i * names.count + column] = true
                    case "0": flags[i * names.count + column] = false
                    case "-1": break
                    default: bad(.badLabel, line, "\(names[column]) value '\(value)' (\(file):\(line)) is not 0, 1 or -1 (invalid)")
                    }
                }
            }
            values = .au(names: names, flags: flags)
        case .va:
            let lower = header.map { $0.lowercased() }
            let vi = lower.firstIndex(of: "valence") ?? 0, ai = lower.firstIndex(of: "arousal") ?? 1
            var valence = [Double?](repeating: nil, count: frames), arousal = valence
            for (line, text) in body {
                let f = Self.fields(text), i = line - firstLine
                raw[i] = f.joined(separator: ",")
                guard f.count == 2, let v = Double(f[vi]), let a = Double(f[ai]) else {
                    bad(.badRow, line, "expected two numbers valence,arousal, found '\(text)'")
                    continue
                }
                for (value, name, slot) in [(v, "valence", 0), (a, "arousal", 1)] {
                    if value == -5 { continue }
                    guard (-1.0...1.0).contains(value) else {
                        bad(.badLabel, line, "\(name) '\(Self.format(value))' (\(file):\(line)) is not in [-1, 1] or -5 (invalid)")
                        continue
                    }
                    if slot == 0 { valence[i] = value } else { arousal[i] = value }
                }
            }
            values = .va(valence: valence, arousal: arousal)
        }
        if reported > Self.problemsPerFile {
            context.problem(.badRow, file: file, "\(reported - Self.problemsPerFile) more bad lines in \(file) not listed")
        }
        return Annotation(task: found.task, file: file, set: found.set, firstLine: firstLine, lastLine: last.line,
                          frames: frames, raw: raw, values: values)
    }

    static func fields(_ text: String) -> [String] {
        text.split(separator: ",", omittingEmptySubsequences: false).map { $0.trimmingCharacters(in: .whitespaces) }
    }

    static func format(_ value: Double) -> String {
        value == value.rounded() && abs(value) < 1e15 ? String(Int(value)) : String(value)
    }
}
