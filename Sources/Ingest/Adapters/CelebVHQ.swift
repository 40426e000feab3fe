import EmoCFG
import Foundation

/// CelebV-HQ: `celebvhq_info.json` (appearance, action and emotion labels plus a face box per clip)
/// and the processed clips `<clip_id>.mp4`.
///
/// The clips usually sit in `35666/` next to the JSON, sometimes beside it at the root; both are
/// searched (and the `videos` option adds a folder). A clip listed in the JSON without its mp4 is
/// still a record: the runner reports the missing media. An mp4 the JSON does not list is kept as an
/// unlabelled clip. Clip ids are YouTube-derived and may start with `-` or `_`.
public struct CelebVHQAdapter: DatasetAdapter {
    public static let name = "celebvhq"
    /// `videos`: a folder (relative to the root) holding the clip mp4s, searched before `35666/` and the root.
    public static let optionKeys = ["videos"]

    static let infoFile = "celebvhq_info.json"
    static let defaultClipFolder = "35666"

    /// The 40 appearance names, used when the JSON's `meta_info.appearance_mapping` is absent or unusable.
    static let appearance = DatasetVocabulary.celebvhqAppearance
    /// The 35 action names, used when `meta_info.action_mapping` is absent or unusable.
    static let action = DatasetVocabulary.celebvhqAction
    static let emotions = ["neutral", "happy", "anger", "sadness", "contempt", "fear", "disgust", "surprise"]

    var videoFolder: String?

    public init(options: ConfigReader) throws {
        videoFolder = try options.string("videos")
    }

    public func scan(_ context: ScanContext) throws -> [ClipRecord] {
        let folders = clipFolders(context)
        var onDisk: [String: String] = [:]  // clip id -> path, first folder wins
        var diskOrder: [String] = []
        for folder in folders {
            for file in context.files(in: folder, extensions: ["mp4"]) {
                let id = ((file as NSString).lastPathComponent as NSString).deletingPathExtension
                if onDisk[id] == nil {
                    onDisk[id] = file
                    diskOrder.append(id)
                }
            }
        }
        let hasInfo = context.exists(Self.infoFile)
        if !hasInfo && onDisk.isEmpty {
            throw IngestError(
                source: context.sourceName,
                message: "neither \(Self.infoFile) nor any <clip_id>.mp4 (in \(Self.defaultClipFolder)/ or beside the JSON) under \(context.root.path)")
        }

        var records: [ClipRecord] = []
        var listed = Set<String>()
        if hasInfo, let data = context.read(Self.infoFile) {
            let info = parseInfo(data, context: context)
            let mappings = (appearance: mapping(info.meta, "appearance_mapping", expected: Self.appearance, context: context),
                            action: mapping(info.meta, "action_mapping", expected: Self.action, context: context))
            // A clip whose mp4 is nowhere gets the path most clips use, for the runner to report.
            let fallbackFolder = folders.first { !$0.isEmpty && context.isDirectory($0) } ?? ""
            for (id, line) in info.order {
                guard let entry = info.clips[id], listed.insert(id).inserted else { continue }
                let origin = SourceLocation(file: Self.infoFile, line: line)
                guard let clip = entry as? [String: Any] else {
                    context.problem(.badRow, file: Self.infoFile, line: line, clip: id,
                                    "clip '\(id)' is not an object with ytb_id, duration, bbox and attributes")
                    continue
                }
                let path = onDisk[id] ?? context.join(fallbackFolder, id + ".mp4")
                records.append(record(id: id, clip: clip, path: path, origin: origin, mappings: mappings, context: context))
            }
        }
        for id in diskOrder where !listed.contains(id) {
            guard let path = onDisk[id] else { continue }
            if hasInfo {
                context.problem(.strayFile, file: path, clip: id,
                                "clip '\(id)' is not listed in \(Self.infoFile); kept without labels")
            }
            records.append(ClipRecord(key: id, path: path, identity: Self.youTubeID(ofClip: id).map { "ytb:" + $0 }))
        }
        return records
    }

    /// The folders that may hold clips, in the order they are searched.
    func clipFolders(_ context: ScanContext) -> [String] {
        var out: [String] = []
        if let videoFolder {
            if context.isDirectory(videoFolder) {
                out.append(videoFolder)
            } else {
                context.problem(.unreadableMedia, file: videoFolder, "the folder named by the videos option is not there")
            }
        }
        out += [Self.defaultClipFolder, ""]
        return out.filter { $0.isEmpty || context.isDirectory($0) }
    }

    /// For an mp4 the JSON does not list: CelebV-HQ ids are the 11-character YouTube id, `_`, a number.
    static func youTubeID(ofClip id: String) -> String? {
        guard let cut = id.lastIndex(of: "_"), id.distance(from: id.startIndex, to: cut) == 11 else { return nil }
        let number = id[id.index(after: cut)...]
        guard !number.isEmpty, number.allSatisfy({ $0.isASCII && $0.isNumber }) else { return nil }
        return String(id[..<cut])
    }

    func record(
        id: String, clip: [String: Any], path: String, origin: SourceLocation,
        mappings: (appearance: [String], action: [String]), context: ScanContext
    ) -> ClipRecord {
        let info = CelebVClipInfo(id: id, clip: clip, origin: origin, fallbackIdentity: nil, pixelBoxes: .rejected)
        var problems = info.problems
        var labels = info.labels
        var native = info.native
        let identity = info.identity
        let faceBox = info.faceBox

        let attributes = clip["attributes"] as? [String: Any] ?? [:]
        for (field, names) in [("appearance", mappings.appearance), ("action", mappings.action)] {
            guard let raw = attributes[field] else { continue }
            let text = CelebVClipInfo.text(raw)
            native[field] = text
            if let set = Self.flagged(raw, names: names) {
                labels.attributes[field] = set
            } else {
                problems.append("\(field) \(text) (\(origin)) is not a list of \(names.count) values 0 or 1")
            }
        }

        if let emotion = attributes["emotion"] as? [String: Any] {
            if let flag = emotion["sep_flag"] { native["sep_flag"] = CelebVClipInfo.text(flag) }
            if let raw = emotion["labels"] {
                native["emotion"] = raw as? String ?? CelebVClipInfo.text(raw)
                readEmotion(raw, origin: origin, into: &labels, problems: &problems, context: context)
            }
        }

        return ClipRecord(
            key: id, path: path, identity: identity, nativeLabels: native, labels: labels, faceBox: faceBox,
            labelOrigin: origin, labelProblems: problems)
    }

    /// `labels` is one emotion for the whole clip, or (when `sep_flag` is set) a list of timed segments:
    /// the clip's emotion is then the one covering the longest total time.
    func readEmotion(
        _ raw: Any, origin: SourceLocation, into labels: inout NormalizedLabels, problems: inout [String],
        context: ScanContext
    ) {
        if let single = raw as? String {
            labels.emotion = context.emotion(single, allowed: Self.emotions, at: origin, into: &problems)
            return
        }
        guard let list = raw as? [Any] else {
            problems.append("emotion labels \(CelebVClipInfo.text(raw)) (\(origin)) are neither a name nor a list of segments")
            return
        }
        var segments: [(index: Int, emotion: String, start: Double?, length: Double)] = []
        for (i, item) in list.enumerated() {
            guard let seg = item as? [String: Any], let name = seg["emotion"] as? String else {
                problems.append("emotion segment \(CelebVClipInfo.text(item)) (\(origin)) has no emotion name")
                continue
            }
            let start = CelebVClipInfo.number(seg["start_sec"]), end = CelebVClipInfo.number(seg["end_sec"])
            if start == nil || end == nil {
                problems.append("emotion segment \(CelebVClipInfo.text(item)) (\(origin)) lacks a numeric start_sec or end_sec")
            }
            guard let canonical = context.emotion(name, allowed: Self.emotions, at: origin, into: &problems) else { continue }
            let length = start.flatMap { s in end.map { max($0 - s, 0) } } ?? 0
            segments.append((i, canonical, start, length))
        }
        segments.sort { ($0.start ?? .infinity, $0.index) < ($1.start ?? .infinity, $1.index) }
        var total: [String: Double] = [:]
        for s in segments {
            if total[s.emotion] == nil { labels.emotions.append(s.emotion) }
            total[s.emotion, default: 0] += s.length
        }
        // Ties go to the emotion that appears first in time.
        var longest: (emotion: String, seconds: Double)?
        for e in labels.emotions {
            let seconds = total[e] ?? 0
            if seconds > longest?.seconds ?? -1 { longest = (e, seconds) }
        }
        labels.emotion = longest?.emotion
    }

    /// The names whose bit is 1, in vocabulary order; nil when `raw` is not `names.count` bits.
    static func flagged(_ raw: Any, names: [String]) -> [String]? {
        guard let bits = raw as? [Any], bits.count == names.count else { return nil }
        var out: [String] = []
        for (bit, name) in zip(bits, names) {
            guard let b = CelebVClipInfo.number(bit), b == 0 || b == 1 else { return nil }
            if b == 1 { out.append(name) }
        }
        return out
    }

    /// The attribute names from `meta_info`, or the published vocabulary when the JSON's list is unusable.
    func mapping(_ meta: [String: Any]?, _ field: String, expected: [String], context: ScanContext) -> [String] {
        guard let raw = meta?[field] else { return expected }
        if let names = raw as? [String], names.count == expected.count { return names }
        context.problem(.badRow, file: Self.infoFile,
                        "meta_info.\(field) is not a list of \(expected.count) names; using the published names instead")
        return expected
    }

    // MARK: - The info file

    struct Info {
        var meta: [String: Any]?
        var clips: [String: Any] = [:]
        /// Clip ids in the order the file lists them, with the line each starts on.
        var order: [(String, Int?)] = []
    }

    func parseInfo(_ data: Data, context: ScanContext) -> Info {
        var info = Info()
        let object: Any
        do {
            object = try JSONSerialization.jsonObject(with: data)
        } catch {
            context.problem(.unreadableLabelFile, file: Self.infoFile, "not valid JSON: \(error.localizedDescription)")
            return info
        }
        guard let root = object as? [String: Any] else {
            context.problem(.unreadableLabelFile, file: Self.infoFile, "expected a JSON object with meta_info and clips")
            return info
        }
        info.meta = root["meta_info"] as? [String: Any]
        let flat = root["clips"] == nil
        if flat {
            // Tolerated: the clip map without its `meta_info`/`clips` wrapper.
            info.clips = root.filter { $0.key != "meta_info" }
        } else if let clips = root["clips"] as? [String: Any] {
            info.clips = clips
        } else {
            context.problem(.unreadableLabelFile, file: Self.infoFile, "'clips' is not an object of clip id -> clip")
            return info
        }
        let lines = Self.keyLines(in: data, under: flat ? nil : "clips")
        var seen = Set<String>()
        for (key, line) in lines where info.clips[key] != nil && seen.insert(key).inserted {
            info.order.append((key, line))
        }
        for key in NaturalOrder.sorted(Array(info.clips.keys)) where !seen.contains(key) {
            info.order.append((key, nil))
        }
        return info
    }

    /// The keys of the clip map with the line each appears on, in file order: the keys of the object
    /// under the root key `container`, or of the root itself when `container` is nil.
    static func keyLines(in data: Data, under container: String?) -> [(String, Int)] {
        let bytes = [UInt8](data)
        var out: [(String, Int)] = []
        var depth = 0
        var rootKey: String?
        var line = 1
        var i = 0
        let quote = UInt8(ascii: "\""), backslash = UInt8(ascii: "\\"), newline = UInt8(ascii: "\n")
        while i < bytes.count {
            let b = bytes[i]
            switch b {
            case quote:
                let start = i + 1
                var j = start
                var escaped = false
                while j < bytes.count && bytes[j] != quote {
                    if bytes[j] == backslash { escaped = true; j += 1 }
                    j += 1
                }
                let end = min(j, bytes.count)
                var k = end + 1
                while k < bytes.count, [0x20, 0x09, 0x0D, 0x0A].contains(bytes[k]) {
                    if bytes[k] == newline { line += 1 }
                    k += 1
                }
                if k < bytes.count && bytes[k] == UInt8(ascii: ":") {
                    var key = String(decoding: bytes[start..<end], as: UTF8.self)
                    if escaped, let s = try? JSONSerialization.jsonObject(
                        with: Data(bytes[(start - 1)...min(end, bytes.count - 1)]), options: [.fragmentsAllowed]) as? String {
                        key = s
                    }
                    if depth == 1 { rootKey = key }
                    if container == nil ? depth == 1 : (depth == 2 && rootKey == container) {
                        out.append((key, line))
                    }
                }
                i = k
                continue
            case UInt8(ascii: "{"), UInt8(ascii: "["):
                depth += 1
            case UInt8(ascii: "}"), UInt8(ascii: "]"):
                depth -= 1
            case newline:
                line += 1
            default:
                break
            }
            i += 1
        }
        return out
    }
}
