import EmoCFG
import Foundation

/// MEAD: per actor `M003/video/<view>/<emotion>/level_<n>/<nnn>.mp4`, every label in the path.
///
/// Some actors ship their videos as several tars or as tars with an extra folder level. Both
/// unpacked forms are accepted: a second actor folder with a suffix (`M003_part2/video/…`) and a
/// nested prefix (`W011/video/1/front/…`). The path is therefore read from its end — the last four
/// parts are always view, emotion, level and file — and the key leaves the packaging out, so the
/// same clip has the same key however its tar was cut. Audio (`audio/…/*.m4a`) is not a clip.
public struct MEADAdapter: DatasetAdapter {
    public static let name = "mead"

    static let views = ["front", "down", "top", "left_30", "left_60", "right_30", "right_60"]
    static let emotions = ["angry", "contempt", "disgusted", "fear", "happy", "neutral", "sad", "surprised"]
    static let levels = 1...3

    public init(options: ConfigReader) throws {}

    public func scan(_ context: ScanContext) throws -> [ClipRecord] {
        let folders = context.directories(in: "").compactMap { folder in Self.actor(ofFolder: folder).map { (folder, $0) } }
        if folders.isEmpty {
            throw IngestError(
                source: context.sourceName,
                message: "no actor folders (M003, W011, …) under \(context.root.path)")
        }
        var records: [ClipRecord] = []
        var seen: [String: String] = [:]  // key -> path of the copy kept
        for (folder, actor) in folders {
            for file in context.files(in: folder, extensions: ["mp4"], recursive: true) {
                guard let r = record(file: file, actor: actor, context: context) else { continue }
                if let first = seen[r.key] {
                    // Split tars can overlap: the same clip unpacked from two parts.
                    context.problem(.strayFile, file: file, clip: r.key,
                                    "clip \(r.key) is already at \(first); this copy is ignored")
                    continue
                }
                seen[r.key] = file
                records.append(r)
            }
        }
        return records
    }

    /// The actor of a top-level folder: `M003`, or `M003_part2` / `M003-2` for a split tar unpacked
    /// beside the first part.
    static func actor(ofFolder name: String) -> String? {
        let chars = Array(name)
        guard chars.count >= 4, chars[0] == "M" || chars[0] == "W",
              chars[1...3].allSatisfy({ $0.isASCII && $0.isNumber }) else { return nil }
        if chars.count > 4 && chars[4] != "_" && chars[4] != "-" { return nil }
        return String(chars[0...3])
    }

    func record(file: String, actor: String, context: ScanContext) -> ClipRecord? {
        let parts = file.split(separator: "/").map(String.init).dropFirst()  // below the actor folder
        guard parts.count >= 4 else {
            context.problem(.strayFile, file: file,
                            "not at <actor>/video/<view>/<emotion>/level_<n>/<nnn>.mp4; ignored")
            return nil
        }
        let tail = Array(parts.suffix(4))
        let (view, emotion, levelFolder) = (tail[0], tail[1], tail[2])
        let number = (tail[3] as NSString).deletingPathExtension
        guard levelFolder.hasPrefix("level_"), let level = Int(levelFolder.dropFirst("level_".count)) else {
            context.problem(.strayFile, file: file,
                            "folder '\(levelFolder)' is not level_<n>: not at <actor>/video/<view>/<emotion>/level_<n>/<nnn>.mp4; ignored")
            return nil
        }

        let origin = SourceLocation(file: file)
        var problems: [String] = []
        var labels = NormalizedLabels()
        labels.emotion = context.emotion(emotion, allowed: Self.emotions, at: origin, into: &problems)
        if Self.views.contains(view) {
            labels.facts["view"] = view
        } else {
            problems.append("view '\(view)' (\(origin)) is not one of: \(Self.views.joined(separator: ", "))")
        }
        labels.intensity = levelFolder
        if !Self.levels.contains(level) {
            problems.append("level '\(levelFolder)' (\(origin)) is not one of: level_1, level_2, level_3")
        } else if emotion.lowercased() == "neutral" && level != 1 {
            problems.append("neutral is recorded at level_1 only, not '\(levelFolder)' (\(origin))")
        }
        labels.facts["gender"] = actor.hasPrefix("M") ? "male" : "female"

        return ClipRecord(
            key: [actor, view, emotion, levelFolder, number].joined(separator: "/"),
            path: file, identity: actor,
            nativeLabels: ["actor": actor, "view": view, "emotion": emotion, "level": levelFolder, "clip": number],
            labels: labels, labelOrigin: origin, labelProblems: problems)
    }
}
