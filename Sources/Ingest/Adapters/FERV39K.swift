import EmoCFG
import Foundation

/// FERV39K: face-crop frame folders `2_ClipsforFaceCrop/<Scene>/<Emotion>/<4-digit clip>/*.jpg`, the
/// emotion and scene in the folder names, and the split files `4_setups/All_scenes/train_All.csv` and
/// `test_All.csv`.
///
/// The split files are space-separated despite `.csv` (`Action/Sad/0010 Sad`) and may or may not
/// start with a header line. The zip may unpack nested twice (`2_ClipsforFaceCrop/2_ClipsforFaceCrop/`,
/// or the whole dataset inside `FERV39K/`): every such nesting is followed, and the clip's path shows
/// which one was found. The per-scene split files under `4_setups/` repeat `All_scenes` and are not read.
///
/// Key `<Scene>/<Emotion>/<clip>`, as the split files write it. The emotion comes from the folder (the
/// split file's label is checked against it). FERV39K publishes no source-video or person ids, so each
/// clip is its own identity group. Frames carry no rate: `fps` (default 30, the rate the clips were
/// cut at [i]) gives their duration. The matching scene frames (`3_ClipsforScenImages/…`), when
/// present, are named in `facts["scene_frames"]`.
public struct FERV39KAdapter: DatasetAdapter {
    public static let name = "ferv39k"
    /// `fps`: the frame rate of the face-crop folders (default 30).
    public static let optionKeys = ["fps"]

    static let faceFolder = "2_ClipsforFaceCrop"
    static let sceneFolder = "3_ClipsforScenImages"
    static let setupFolder = "4_setups"
    static let splitFiles = [("All_scenes/train_All.csv", "train"), ("All_scenes/test_All.csv", "test")]
    static let emotions = ["Angry", "Disgust", "Fear", "Happy", "Neutral", "Sad", "Surprise"]
    static let scenes = [
        "Action", "Argue", "Business", "Conflict", "Contest", "Crime", "Crisis", "DailyLife", "ElegantArt",
        "Experiment", "History", "Interview", "Liveshow", "Medicine", "OfficialEvent", "ScholarReport", "School",
        "Social", "Speech", "Talkshow", "Terror", "War",
    ]

    var fps: Double

    public init(options: ConfigReader) throws {
        fps = try options.double("fps") ?? 30
        guard fps > 0 else { throw options.error("expected frames per second greater than 0, found \(fps)", key: "fps") }
    }

    /// A split-file row: which file and line, the side, the label as written.
    struct SplitRow {
        var file: String
        var line: Int
        var nativeSplit: String
        var split: String
        var label: String
    }

    public func scan(_ context: ScanContext) throws -> [ClipRecord] {
        let base = context.isDirectory(Self.faceFolder) || context.isDirectory(Self.setupFolder) || !context.isDirectory("FERV39K")
            ? "" : "FERV39K"
        let faces = Self.unnest(Self.faceFolder, in: base, context)
        let scenes = Self.unnest(Self.sceneFolder, in: base, context)
        let setups = Self.unnest(Self.setupFolder, in: base, context)

        // The clip folders on disk, by key.
        var onDisk: [String] = []
        if context.isDirectory(faces) {
            for scene in context.directories(in: faces) {
                for emotion in context.directories(in: context.join(faces, scene)) {
                    for clip in context.directories(in: context.join(faces, context.join(scene, emotion))) {
                        onDisk.append("\(scene)/\(emotion)/\(clip)")
                    }
                }
            }
        }

        var rows: [String: SplitRow] = [:]
        var rowOrder: [String] = []
        var anySplitFile = false
        for (name, split) in Self.splitFiles {
            let file = context.join(setups, name)
            guard context.exists(file) else { continue }
            anySplitFile = true
            guard let lines = context.lines(file) else { continue }
            let nativeSplit = ((name as NSString).lastPathComponent as NSString).deletingPathExtension
            for (line, text) in lines {
                let f = text.split(whereSeparator: { $0 == " " || $0 == "\t" }).map(String.init)
                // A header line, when present, is the first line and names columns instead of a clip.
                if line == 1 && !(f.first?.contains("/") ?? false) { continue }
                guard f.count == 2 else {
                    context.problem(.badRow, file: file, line: line,
                                    "expected '<Scene>/<Emotion>/<clip> <label>' (two space-separated fields), found \(f.count): '\(text)'")
                    continue
                }
                let key = Self.trimSlashes(f[0])
                guard key.split(separator: "/").count == 3 else {
                    context.problem(.badRow, file: file, line: line,
                                    "clip '\(f[0])' is not <Scene>/<Emotion>/<clip>")
                    continue
                }
                if let first = rows[key] {
                    context.problem(.badRow, file: file, line: line, clip: key,
                                    "clip '\(key)' is listed again (first at \(first.file):\(first.line)); the first row is kept")
                    continue
                }
                rows[key] = SplitRow(file: file, line: line, nativeSplit: nativeSplit, split: split, label: f[1])
                rowOrder.append(key)
            }
        }
        if onDisk.isEmpty && !anySplitFile {
            throw IngestError(
                source: context.sourceName,
                message: "neither \(Self.faceFolder)/<Scene>/<Emotion>/<clip>/ frame folders nor \(Self.setupFolder)/All_scenes/train_All.csv or test_All.csv under \(context.root.path)")
        }

        var records: [ClipRecord] = []
        var done = Set<String>()
        for key in onDisk + rowOrder where done.insert(key).inserted {
            records.append(record(key: key, row: rows[key], faces: faces, scenes: scenes, context: context))
        }
        return records
    }

    func record(key: String, row: SplitRow?, faces: String, scenes: String, context: ScanContext) -> ClipRecord {
        let parts = key.split(separator: "/").map(String.init)
        let (scene, emotion) = (parts[0], parts[1])
        let origin = row.map { SourceLocation(file: $0.file, line: $0.line) } ?? SourceLocation(file: context.join(faces, key))
        var problems: [String] = []
        var labels = NormalizedLabels()
        var native = ["scene": scene, "emotion": emotion]

        labels.emotion = context.emotion(emotion, allowed: Self.emotions, at: origin, into: &problems)
        if Self.scenes.contains(scene) {
            labels.facts["scene"] = scene
        } else {
            problems.append("scene '\(scene)' (\(origin)) is not one of: \(Self.scenes.joined(separator: ", "))")
        }
        if let row {
            native["label"] = row.label
            if !Self.emotions.contains(row.label) {
                problems.append("label '\(row.label)' (\(origin)) is not one of: \(Self.emotions.joined(separator: ", "))")
            } else if row.label != emotion {
                problems.append("label '\(row.label)' (\(origin)) disagrees with the folder '\(emotion)'; the folder's emotion is kept")
            }
        }
        let sceneFrames = context.join(scenes, key)
        if context.isDirectory(sceneFrames) { labels.facts["scene_frames"] = sceneFrames }

        return ClipRecord(
            key: key, path: context.join(faces, key), kind: .frames, nativeSplit: row?.nativeSplit, split: row?.split,
            identity: "clip:" + key, nativeLabels: native, labels: labels, labelOrigin: origin,
            labelProblems: problems, frameRate: fps)
    }

    /// `name` under `base`, followed down while the zip nested it inside a folder of the same name.
    static func unnest(_ name: String, in base: String, _ context: ScanContext) -> String {
        var path = context.join(base, name)
        while context.isDirectory(context.join(path, name)) { path = context.join(path, name) }
        return path
    }

    static func trimSlashes(_ s: String) -> String {
        var t = Substring(s)
        while t.hasPrefix("./") { t = t.dropFirst(2) }
        while t.hasPrefix("/") { t = t.dropFirst() }
        while t.hasSuffix("/") { t = t.dropLast() }
        return String(t)
    }
}
