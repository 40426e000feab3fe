import EmoCFG
import Foundation

/// CASME: micro-expression samples as frame folders `CASME_raw_selected/sub<NN>/<Filename>/`
/// (`<Filename>-<n>.jpg`, later samples with zero-padded `n`), labelled by a coding spreadsheet.
///
/// One clip per coded row, keyed `sub<NN>/<Filename>`; the sheet writes the subject as a bare
/// number (`1`) while the folder is `sub01`. Its header is `Subject, Filename, <blank>, OnsetF,
/// ApexF1, ApexF2, OffsetF, <blank>, Emotion` plus an action-unit column; columns are found by
/// name. The spreadsheet's name is not fixed: the `labels` option, else the root `.xlsx` whose
/// name mentions `coding` or `casme`; its first sheet unless `sheet` names one. Frame numbers go to
/// `facts` (`onset_frame`, `apex_frame`, `apex_frame_2`, `offset_frame`; `0` and non-numeric apexes
/// left out); action units to `attributes["action_units"]` (`4+L10` → `AU4`, `L-AU10`). CASME's
/// `tense` is kept as its own emotion (`EmotionVocabulary` has it for CASME). Folders no
/// row names are unlabelled clips. No split: exports group by subject (`identity` `sub01`).
public struct CASMEAdapter: DatasetAdapter {
    public static let name = "casme"
    /// `fps`: the frame rate of the frame folders (60); `labels`: the coding spreadsheet, relative
    /// to the root; `sheet`: its sheet (the first sheet by default).
    public static let optionKeys = ["fps", "labels", "sheet"]

    static let framesFolder = "CASME_raw_selected"
    static let sheetSpec = CASMECoding.HeaderedSheet(
        onset: ["OnsetF", "OnsetFrame", "Onset"],
        apexes: [("apex_frame", ["ApexF1", "ApexF", "ApexFrame", "Apex"]), ("apex_frame_2", ["ApexF2"])],
        offset: ["OffsetF", "OffsetFrame", "Offset"],
        emotion: ["Emotion", "Estimated Emotion"],
        emotionMap: ["happiness": "happiness", "disgust": "disgust", "sadness": "sadness", "surprise": "surprise",
                     "contempt": "contempt", "fear": "fear", "repression": "repression", "tense": "tense"],
        emotionWords: ["happiness", "disgust", "sadness", "surprise", "contempt", "fear", "repression", "tense"])

    var fps: Double
    var labels: String?
    var sheet: String?

    public init(options: ConfigReader) throws {
        fps = try CASMECoding.fps(options, default: 60)
        labels = try options.string("labels")
        sheet = try options.string("sheet")
    }

    public func scan(_ context: ScanContext) throws -> [ClipRecord] {
        let framesRoot = CASMECoding.unnested(Self.framesFolder, context)
        let frames = CASMECoding.diskSamples(under: framesRoot, prefix: "sub", context)
        var rows: [CASMECoding.CodedRow] = []
        if let file = CASMECoding.labelFile(option: labels, names: [], hints: ["coding", "casme"], context),
           let workbook = CASMECoding.workbook(file, context),
           let sheet = CASMECoding.sheet(sheet, of: workbook, file: file, context) {
            rows = CASMECoding.codedRows(sheet, spec: Self.sheetSpec, file: file, context)
        }
        if frames.all.isEmpty && rows.isEmpty {
            throw IngestError(source: context.sourceName,
                              message: "neither \(Self.framesFolder)/sub<NN>/<Filename>/ frame folders nor a readable coding spreadsheet under \(context.root.path)")
        }
        return CASMECoding.records(rows: rows, frames: frames, videos: CASMECoding.DiskSamples(), framesRoot: framesRoot,
                                   videosRoot: "", preferVideo: false, fps: fps)
    }
}
