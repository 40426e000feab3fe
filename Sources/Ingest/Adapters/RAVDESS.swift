import EmoCFG
import Foundation

/// RAVDESS: `Actor_NN/MM-VC-EE-II-SS-RR-AA.mp4`, every label in the file name.
///
/// Speech and song zips unpack into the same `Actor_NN/` folders, and audio-video (`01-`) and
/// video-only (`02-`) files sit side by side. Audio-only files (`03-`, `.wav`) are not clips.
/// Optional OpenFace CSVs share the mp4's stem and are ignored here.
public struct RAVDESSAdapter: DatasetAdapter {
    public static let name = "ravdess"
    /// `modalities`: which of `av` (01) and `video` (02) to keep; both by default.
    public static let optionKeys = ["modalities"]

    static let emotions = ["01": "neutral", "02": "calm", "03": "happy", "04": "sad",
                           "05": "angry", "06": "fearful", "07": "disgust", "08": "surprised"]
    static let modalities = ["01": "av", "02": "video", "03": "audio"]
    static let channels = ["01": "speech", "02": "song"]
    static let intensities = ["01": "normal", "02": "strong"]
    static let statements = ["01": "Kids are talking by the door", "02": "Dogs are sitting by the door"]

    var keep: Set<String>

    public init(options: ConfigReader) throws {
        let list = try options.stringList("modalities") ?? ["av", "video"]
        for m in list where !["av", "video"].contains(m) {
            throw options.error("'\(m)' is not a video modality; expected av or video", key: "modalities")
        }
        keep = Set(list)
    }

    public func scan(_ context: ScanContext) throws -> [ClipRecord] {
        var records: [ClipRecord] = []
        let actors = context.directories(in: "").filter { $0.hasPrefix("Actor_") }
        if actors.isEmpty {
            throw IngestError(source: context.sourceName, message: "no Actor_NN folders under \(context.root.path)")
        }
        for actor in actors {
            for file in context.files(in: actor, extensions: ["mp4"]) {
                if let r = record(file: file, context: context) { records.append(r) }
            }
        }
        return records
    }

    func record(file: String, context: ScanContext) -> ClipRecord? {
        let stem = ((file as NSString).lastPathComponent as NSString).deletingPathExtension
        let f = stem.split(separator: "-").map(String.init)
        let origin = SourceLocation(file: file)
        guard f.count == 7, f.allSatisfy({ $0.count == 2 && Int($0) != nil }) else {
            context.problem(.badRow, file: file, "file name '\(stem)' is not MM-VC-EE-II-SS-RR-AA (seven two-digit fields)")
            return nil
        }
        guard let modality = Self.modalities[f[0]] else {
            context.problem(.badLabel, file: file, "modality '\(f[0])' is not 01 (audio-video), 02 (video-only) or 03 (audio-only)")
            return nil
        }
        if modality == "audio" || !keep.contains(modality) { return nil }

        var problems: [String] = []
        var labels = NormalizedLabels()
        let channel = Self.channels[f[1]]
        if channel == nil { problems.append("vocal channel '\(f[1])' is not 01 (speech) or 02 (song)") }
        if let e = Self.emotions[f[2]] {
            labels.emotion = EmotionVocabulary.canonicalize(e)
            // Song covers neutral, calm, happy, sad, angry and fearful only.
            if channel == "song", Int(f[2])! > 6 { problems.append("emotion '\(f[2])' (\(e)) does not occur in song files") }
        } else {
            problems.append("emotion '\(f[2])' is not one of 01-08")
        }
        if let i = Self.intensities[f[3]] {
            labels.intensity = i
            if f[2] == "01" && f[3] == "02" { problems.append("neutral has no strong intensity (02)") }
        } else {
            problems.append("intensity '\(f[3])' is not 01 (normal) or 02 (strong)")
        }
        if Self.statements[f[4]] == nil { problems.append("statement '\(f[4])' is not 01 or 02") }
        if !["01", "02"].contains(f[5]) { problems.append("repetition '\(f[5])' is not 01 or 02") }
        let actorNumber = Int(f[6]) ?? 0
        if !(1...24).contains(actorNumber) { problems.append("actor '\(f[6])' is not 01-24") }

        labels.facts["modality"] = modality
        if let channel { labels.facts["vocal_channel"] = channel }
        labels.facts["statement"] = f[4]
        labels.facts["repetition"] = f[5]
        labels.facts["gender"] = actorNumber % 2 == 1 ? "male" : "female"

        return ClipRecord(
            key: stem, path: file, identity: "Actor_\(f[6])",
            nativeLabels: ["modality": f[0], "vocal_channel": f[1], "emotion": f[2], "intensity": f[3],
                           "statement": f[4], "repetition": f[5], "actor": f[6]],
            labels: labels, labelOrigin: origin, labelProblems: problems)
    }
}
