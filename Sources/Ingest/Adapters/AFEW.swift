import EmoCFG
import Foundation

/// AFEW: movie clips in `Train_AFEW/<Class>/<9-digit>.avi` and `Val_AFEW/<Class>/…`, labelled by
/// their class folder; `Test_AFEW/` holds clips without class folders, i.e. unlabelled.
///
/// The same id can occur in Train and Val, so the key is `<split>/<id>` (`Train/000149120`). The
/// `Train_6.xml`/`Val_6.xml` metadata has no published schema and is not read, so no actor is
/// known: the clip id is the identity group, shared by same-id clips of Train and Val in case they
/// come from the same scene. `AlignedFaces_LBPTOP_Points/` (face frames) is skipped.
public struct AFEWAdapter: DatasetAdapter {
    public static let name = "afew"

    /// Native split folder and the split name used in keys.
    static let splits = [("Train_AFEW", "Train"), ("Val_AFEW", "Val"), ("Test_AFEW", "Test")]
    static let classes = ["Angry", "Disgust", "Fear", "Happy", "Neutral", "Sad", "Surprise"]
    static let ignoredFolders: Set<String> = ["AlignedFaces_LBPTOP_Points"]
    static let videoExtensions: Set<String> = ["avi", "mp4"]

    public init(options: ConfigReader) throws {}

    public func scan(_ context: ScanContext) throws -> [ClipRecord] {
        let present = Self.splits.filter { context.isDirectory($0.0) }
        if present.isEmpty {
            throw IngestError(source: context.sourceName,
                              message: "no Train_AFEW, Val_AFEW or Test_AFEW folder under \(context.root.path)")
        }
        var records: [ClipRecord] = []
        for (folder, split) in present {
            var seen: [String: String] = [:]
            func add(_ path: String, label: String?) {
                let id = ((path as NSString).lastPathComponent as NSString).deletingPathExtension
                let key = "\(split)/\(id)"
                if let first = seen[key] {
                    context.problem(.badLabel, file: path, clip: key,
                                    "clip \(id) is also in \(first); the first one is kept")
                    return
                }
                seen[key] = path
                var record = ClipRecord(
                    key: key, path: path, nativeSplit: folder, split: SplitName.normalize(split), identity: "clip:\(id)")
                if let label {
                    record.nativeLabels["class"] = label
                    record.labelOrigin = SourceLocation(file: (path as NSString).deletingLastPathComponent)
                    record.labels.emotion = context.emotion(
                        label, allowed: Self.classes, at: record.labelOrigin, into: &record.labelProblems)
                }
                records.append(record)
            }
            // Test_AFEW has its clips directly inside, without class folders.
            for path in context.files(in: folder, extensions: Self.videoExtensions) {
                add(path, label: nil)
            }
            for label in context.directories(in: folder) where !Self.ignoredFolders.contains(label) {
                for path in context.files(in: "\(folder)/\(label)", extensions: Self.videoExtensions) {
                    add(path, label: label)
                }
            }
        }
        return records
    }
}
