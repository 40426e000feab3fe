import EmoCFG
import Foundation

/// CASME II: micro-expression samples as frame folders `CASME2_RAW_selected/sub<NN>/<Filename>/`
/// (`img<N>.jpg`, N the absolute frame number) and, where shipped, videos
/// `CASME2_compressed/sub<NN>/<Filename>.avi`, labelled by `CASME2-coding-20140508.xlsx` (`Sheet1`).
///
/// One clip per coded row, keyed `sub<NN>/<Filename>` (the sheet writes the subject as `1` or `01`,
/// the folder is `sub01`). Its media is the frame folder when present, else the AVI (`media: video`
/// prefers the AVI); a row whose sample is on disk under neither is still a clip, pointing at the
/// frame folder it names, and the runner reports it missing with the sheet row — the folder names
/// carry typos, so a folder no row names is also listed, as an unlabelled clip. The header
/// `Subject, Filename, <blank>, OnsetFrame, ApexFrame, OffsetFrame, <blank>, Action Units,
/// Estimated Emotion` is read by name. Frame numbers go to `facts` (`onset_frame`, `apex_frame`,
/// `offset_frame`); about 21 rows write a non-numeric apex (`/`), which stays a native label with
/// no `apex_frame` and no problem. `4+L10` becomes `attributes["action_units"]` `AU4`, `L-AU10`.
/// `others` is emocfg's `other`, `repression` is kept. Files beside the sample folders
/// (`Desktop - Shortcut.lnk` in `sub01`) are stray files. `Cropped/` is not read. No split: exports
/// group by subject (`identity` `sub01`).
public struct CASME2Adapter: DatasetAdapter {
    public static let name = "casme2"
    /// `fps`: the frame rate of the frame folders (200); `media`: `frames` (default) or `video`,
    /// which of a sample's frame folder and AVI is the clip when both exist; `labels`: the coding
    /// spreadsheet relative to the root; `sheet`: its sheet (`Sheet1`).
    public static let optionKeys = ["fps", "media", "labels", "sheet"]

    static let framesFolder = "CASME2_RAW_selected"
    static let videosFolder = "CASME2_compressed"
    static let labelFile = "CASME2-coding-20140508.xlsx"
    static let sheetSpec = CASMECoding.HeaderedSheet(
        onset: ["OnsetFrame", "OnsetF", "Onset"],
        apexes: [("apex_frame", ["ApexFrame", "ApexF", "Apex"])],
        offset: ["OffsetFrame", "OffsetF", "Offset"],
        emotion: ["Estimated Emotion", "Emotion"],
        emotionMap: ["happiness": "happiness", "disgust": "disgust", "repression": "repression", "surprise": "surprise",
                     "fear": "fear", "sadness": "sadness", "others": "other"],
        emotionWords: ["happiness", "disgust", "repression", "surprise", "fear", "sadness", "others"])

    var fps: Double
    var preferVideo: Bool
    var labels: String?
    var sheet: String

    public init(options: ConfigReader) throws {
        fps = try CASMECoding.fps(options, default: 200)
        preferVideo = try options.oneOf("media", ["frames", "video"]) == "video"
        labels = try options.string("labels")
        sheet = try options.string("sheet") ?? "Sheet1"
    }

    public func scan(_ context: ScanContext) throws -> [ClipRecord] {
        let framesRoot = CASMECoding.unnested(Self.framesFolder, context)
        let videosRoot = CASMECoding.unnested(Self.videosFolder, context)
        let frames = CASMECoding.diskSamples(under: framesRoot, prefix: "sub", context)
        let videos = CASMECoding.diskSamples(under: videosRoot, prefix: "sub", videoExtension: "avi", context)
        var rows: [CASMECoding.CodedRow] = []
        // The coding file was also handed round as `CASME2-coding-updated.xlsx`.
        if let file = CASMECoding.labelFile(option: labels, names: [Self.labelFile], hints: ["coding"], context),
           let workbook = CASMECoding.workbook(file, context),
           let sheet = CASMECoding.sheet(sheet, of: workbook, file: file, context) {
            rows = CASMECoding.codedRows(sheet, spec: Self.sheetSpec, file: file, context)
        }
        if frames.all.isEmpty && videos.all.isEmpty && rows.isEmpty {
            throw IngestError(source: context.sourceName,
                              message: "neither \(Self.framesFolder)/ nor \(Self.videosFolder)/ samples nor a readable \(Self.labelFile) under \(context.root.path)")
        }
        return CASMECoding.records(rows: rows, frames: frames, videos: videos, framesRoot: framesRoot,
                                   videosRoot: videosRoot, preferVideo: preferVideo, fps: fps)
    }
}
