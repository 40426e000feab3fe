import EmoCFG
import Foundation

/// CAER: TV-show clips in `CAER/{train,validation,test}/<Class>/<NNNN>.avi`, labelled by their
/// class folder.
///
/// The source root may be the folder that holds `CAER/` or `CAER/` itself. Clip numbers restart in
/// every class folder, so the key is `<split>/<Class>/<NNNN>`. CAER publishes no actor or show ids:
/// each clip is its own identity group (`clip:<key>`); the native split keeps the sets apart.
public struct CAERAdapter: DatasetAdapter {
    public static let name = "caer"

    static let splits = ["train", "validation", "test"]
    static let classes = ["Anger", "Disgust", "Fear", "Happy", "Neutral", "Sad", "Surprise"]
    static let videoExtensions: Set<String> = ["avi", "mp4"]

    public init(options: ConfigReader) throws {}

    public func scan(_ context: ScanContext) throws -> [ClipRecord] {
        let base = Self.splits.contains { context.isDirectory("CAER/\($0)") } ? "CAER" : ""
        let present = Self.splits.filter { context.isDirectory(context.join(base, $0)) }
        if present.isEmpty {
            throw IngestError(source: context.sourceName,
                              message: "no train, validation or test folder under \(context.root.path) or its CAER/")
        }
        var records: [ClipRecord] = []
        for split in present {
            let splitFolder = context.join(base, split)
            for path in context.files(in: splitFolder, extensions: Self.videoExtensions) {
                context.problem(.strayFile, file: path, "clip outside a class folder; expected \(split)/<Class>/<NNNN>.avi")
            }
            for label in context.directories(in: splitFolder) {
                let classFolder = "\(splitFolder)/\(label)"
                for path in context.files(in: classFolder, extensions: Self.videoExtensions) {
                    let stem = ((path as NSString).lastPathComponent as NSString).deletingPathExtension
                    let key = "\(split)/\(label)/\(stem)"
                    var record = ClipRecord(
                        key: key, path: path, nativeSplit: split, split: SplitName.normalize(split),
                        identity: "clip:\(key)", nativeLabels: ["class": label],
                        labelOrigin: SourceLocation(file: classFolder))
                    record.labels.emotion = context.emotion(
                        label, allowed: Self.classes, at: record.labelOrigin, into: &record.labelProblems)
                    records.append(record)
                }
            }
        }
        return records
    }
}
