import EmoCFG
import Foundation

/// CelebV-Text: `celebvtext_info.json` (source video, time span and face box per clip), the clips
/// `videos/celebvtext_<N>/<clip_id>.mp4`, and descriptive sentences `texts/<kind>/<clip_id>.txt`.
///
/// The JSON comes in two shapes: the older `{"clips": {<clip_id>: …}}` and the newer flat
/// `{<clip_key>: …}`, whose keys may end in `.mp4` (the key is the id without it). Face boxes are
/// `top/bottom/left/right` in fractions of the frame or in pixels; pixel boxes are normalised by the
/// clip's own frame size, probed only for them. The text folders are `action_dur`, `emotion`,
/// `face40_details_new`, `light_dir`, `light_intensity` and the light colour temperature, spelled
/// `light_colot_temp` in the release and `light_color_temp` elsewhere: both are read into
/// `texts["light_color_temp"]`. Each text keeps its sentences one per line.
///
/// The dataset has no split and no categorical labels; the identity is the YouTube video
/// (`ytb:<ytb_id>`). A listed clip without its mp4 is still a record (the runner reports it missing);
/// an mp4 the JSON does not list is kept, its YouTube id taken from the clip id.
public struct CelebVTextAdapter: DatasetAdapter {
    public static let name = "celebvtext"

    static let infoFile = "celebvtext_info.json"
    static let videoFolder = "videos"
    static let textFolder = "texts"
    /// Text folder -> key in `texts`.
    static let textKinds: [(folder: String, key: String)] = [
        ("action_dur", "action_dur"), ("emotion", "emotion"), ("face40_details_new", "face40_details_new"),
        ("light_dir", "light_dir"), ("light_intensity", "light_intensity"),
        ("light_colot_temp", "light_color_temp"), ("light_color_temp", "light_color_temp"),
    ]

    public init(options: ConfigReader) throws {}

    public func scan(_ context: ScanContext) throws -> [ClipRecord] {
        // Videos by clip id; `videos/celebvtext_<N>/` folders, or mp4s directly in `videos/`.
        var onDisk: [String: String] = [:]
        var diskOrder: [String] = []
        for file in context.files(in: Self.videoFolder, extensions: ["mp4"], recursive: true) {
            let id = ((file as NSString).lastPathComponent as NSString).deletingPathExtension
            if let first = onDisk[id] {
                context.problem(.strayFile, file: file, clip: id, "clip '\(id)' is also \(first); that one is used")
                continue
            }
            onDisk[id] = file
            diskOrder.append(id)
        }
        let texts = textIndex(context)
        let hasInfo = context.exists(Self.infoFile)
        if !hasInfo && onDisk.isEmpty {
            throw IngestError(
                source: context.sourceName,
                message: "neither \(Self.infoFile) nor any \(Self.videoFolder)/celebvtext_<N>/<clip_id>.mp4 under \(context.root.path)")
        }

        var records: [ClipRecord] = []
        var listed = Set<String>()
        if hasInfo, let data = context.read(Self.infoFile) {
            let fallbackFolder = context.directories(in: Self.videoFolder).first.map { context.join(Self.videoFolder, $0) }
                ?? Self.videoFolder
            for (jsonKey, clip, line) in parseInfo(data, context: context) {
                let id = jsonKey.hasSuffix(".mp4") ? String(jsonKey.dropLast(4)) : jsonKey
                let origin = SourceLocation(file: Self.infoFile, line: line)
                guard listed.insert(id).inserted else {
                    context.problem(.badRow, file: Self.infoFile, line: line, clip: id,
                                    "clip '\(id)' is listed again (as '\(jsonKey)'); the first entry is kept")
                    continue
                }
                guard let clip = clip as? [String: Any] else {
                    context.problem(.badRow, file: Self.infoFile, line: line, clip: id,
                                    "clip '\(jsonKey)' is not an object with ytb_id, duration, bbox and version")
                    continue
                }
                let path = onDisk[id] ?? context.join(fallbackFolder, id + ".mp4")
                var r = record(id: id, clip: clip, path: path, onDisk: onDisk[id] != nil, origin: origin, context: context)
                r.texts = readTexts(id, index: texts, context: context)
                records.append(r)
            }
        }
        for id in diskOrder where !listed.contains(id) {
            guard let path = onDisk[id] else { continue }
            if hasInfo {
                context.problem(.strayFile, file: path, clip: id, "clip '\(id)' is not listed in \(Self.infoFile); kept without its box and span")
            }
            listed.insert(id)
            records.append(ClipRecord(key: id, path: path, identity: Self.youTubeID(ofClip: id).map { "ytb:" + $0 },
                                      texts: readTexts(id, index: texts, context: context)))
        }
        for (id, files) in texts.files.sorted(by: { NaturalOrder.less($0.key, $1.key) }) where !listed.contains(id) {
            for file in files.values.sorted() {
                context.problem(.strayFile, file: file, clip: id, "\(file) describes clip '\(id)', which neither \(Self.infoFile) nor \(Self.videoFolder)/ has")
            }
        }
        return records
    }

    /// Text files by clip id and text key.
    struct TextIndex {
        var files: [String: [String: String]] = [:]
    }

    func textIndex(_ context: ScanContext) -> TextIndex {
        var index = TextIndex()
        for (folder, key) in Self.textKinds {
            let dir = context.join(Self.textFolder, folder)
            guard context.isDirectory(dir) else { continue }
            for file in context.files(in: dir, extensions: ["txt"]) {
                let id = ((file as NSString).lastPathComponent as NSString).deletingPathExtension
                if let other = index.files[id]?[key] {
                    context.problem(.strayFile, file: file, clip: id, "\(file) repeats \(other) (both spellings of the light colour folder); that one is used")
                    continue
                }
                index.files[id, default: [:]][key] = file
            }
        }
        return index
    }

    /// The clip's texts, sentences one per line (CR and blank lines dropped).
    func readTexts(_ id: String, index: TextIndex, context: ScanContext) -> [String: String] {
        var out: [String: String] = [:]
        for (key, file) in index.files[id] ?? [:] {
            guard let lines = context.lines(file) else { continue }
            out[key] = lines.map { $0.text.trimmingCharacters(in: .whitespaces) }.joined(separator: "\n")
        }
        return out
    }

    func record(id: String, clip: [String: Any], path: String, onDisk: Bool, origin: SourceLocation, context: ScanContext) -> ClipRecord {
        let info = CelebVClipInfo(
            id: id, clip: clip, origin: origin, fallbackIdentity: Self.youTubeID(ofClip: id).map { "ytb:" + $0 },
            pixelBoxes: .normalised(frameSize: {
                guard onDisk, let p = context.probe(path) else { return nil }
                return (p.width, p.height)
            }, path: path))
        let (problems, labels, native, identity, faceBox) = (info.problems, info.labels, info.native, info.identity, info.faceBox)

        return ClipRecord(
            key: id, path: path, identity: identity, nativeLabels: native, labels: labels, faceBox: faceBox,
            labelOrigin: origin, labelProblems: problems)
    }

    /// CelebV-Text ids are the 11-character YouTube id, then `_<n>_<m>` (`zYeLz4c4qYc_15_0`).
    static func youTubeID(ofClip id: String) -> String? {
        guard id.count > 12, id[id.index(id.startIndex, offsetBy: 11)] == "_" else { return nil }
        return String(id.prefix(11))
    }

    // MARK: - The info file

    /// The clip entries in file order, with the line each key is on: from `clips` in the older shape,
    /// from the root in the flat one.
    func parseInfo(_ data: Data, context: ScanContext) -> [(key: String, clip: Any, line: Int?)] {
        let object: Any
        do {
            object = try JSONSerialization.jsonObject(with: data)
        } catch {
            context.problem(.unreadableLabelFile, file: Self.infoFile, "not valid JSON: \(error.localizedDescription)")
            return []
        }
        guard let root = object as? [String: Any] else {
            context.problem(.unreadableLabelFile, file: Self.infoFile, "expected a JSON object of clip id -> clip (or {\"clips\": {…}})")
            return []
        }
        let clips: [String: Any]
        let container: String?
        if let wrapped = root["clips"] as? [String: Any], wrapped["ytb_id"] == nil {
            clips = wrapped
            container = "clips"
        } else {
            clips = root.filter { $0.key != "meta_info" }
            container = nil
        }
        var out: [(String, Any, Int?)] = []
        var seen = Set<String>()
        for (key, line) in CelebVHQAdapter.keyLines(in: data, under: container) where seen.insert(key).inserted {
            if let clip = clips[key] { out.append((key, clip, line)) }
        }
        for key in NaturalOrder.sorted(Array(clips.keys)) where !seen.contains(key) {
            out.append((key, clips[key]!, nil))
        }
        return out
    }
}
