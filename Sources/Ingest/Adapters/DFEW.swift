import EmoCFG
import Foundation

/// DFEW: `Clip/original/<id>.mp4` clips labelled by the five-fold split CSVs under
/// `EmoLabel_DataSplit/`.
///
/// Clip files are named by a 5-digit id (`00001.mp4`) but some copies are unpadded (`1.mp4`), and
/// the split CSVs name clips by the unpadded integer: every id is normalised to the 5-digit form.
/// The same single label appears in all five folds; the `fold` option picks which fold's side
/// becomes the clip's split, and `folds` keeps every fold's side. Clips in no fold CSV are the
/// multi-labelled ones: they stay as unlabelled clips. Frame folders (`Clip/clip_224x224*/`) and
/// `Annotation/annotation.xlsx` are not read. DFEW publishes no actor or movie ids, so each clip is
/// its own identity group.
public struct DFEWAdapter: DatasetAdapter {
    public static let name = "dfew"
    /// `fold`: which of the five folds (1-5, default 1) gives `split` and `nativeSplit`.
    public static let optionKeys = ["fold"]

    static let clipFolder = "Clip/original"
    static let labelFolder = "EmoLabel_DataSplit"
    static let codes = ["1": "Happy", "2": "Sad", "3": "Neutral", "4": "Angry",
                        "5": "Surprise", "6": "Disgust", "7": "Fear"]
    static let allowedCodes = (1...7).map { "\($0) (\(codes["\($0)"]!))" }.joined(separator: ", ")

    var fold: Int

    public init(options: ConfigReader) throws {
        fold = try options.int("fold", range: 1...5) ?? 1
    }

    /// One row of a fold CSV.
    struct LabelRow {
        var code: String
        var origin: SourceLocation
    }

    public func scan(_ context: ScanContext) throws -> [ClipRecord] {
        let videos = videoFiles(context)
        let labelDirs = labelFolders(context)
        if videos.isEmpty && labelDirs.isEmpty {
            throw IngestError(
                source: context.sourceName,
                message: "neither \(Self.clipFolder)/ with clips nor \(Self.labelFolder)/ with fold CSVs under \(context.root.path)")
        }

        let (sides, rows) = readFolds(labelDirs, context)

        var records: [ClipRecord] = []
        var seen: Set<String> = []
        for (id, path) in videos {
            seen.insert(id)
            records.append(record(id: id, path: path, sides: sides[id] ?? [:], rows: rows[id] ?? [:]))
        }
        // Label rows whose clip file is absent still become records; the runner reports the media.
        for id in NaturalOrder.sorted(Array(rows.keys)) where !seen.contains(id) {
            records.append(record(id: id, path: "\(Self.clipFolder)/\(id).mp4", sides: sides[id] ?? [:], rows: rows[id]!))
        }
        return records
    }

    /// Reads every fold CSV: per clip id, the side it takes in each fold and the row of each fold.
    func readFolds(
        _ folders: [(String, String)], _ context: ScanContext
    ) -> (sides: [String: [String: String]], rows: [String: [Int: LabelRow]]) {
        var sides: [String: [String: String]] = [:]
        var rows: [String: [Int: LabelRow]] = [:]
        for n in 1...5 {
            for (side, folder) in folders {
                let file = "\(folder)/set_\(n).csv"
                guard let table = context.csv(file) else { continue }
                let missing = table.missingColumns(["video_name", "label"])
                if !missing.isEmpty {
                    context.problem(.unreadableLabelFile, file: file, line: 1,
                                    "header lacks \(missing.joined(separator: ", ")); expected video_name,label")
                    continue
                }
                for row in context.wellFormedRows(table, file: file) {
                    let name = table.value(row, "video_name") ?? ""
                    guard let id = Self.clipID(name) else {
                        context.problem(.badRow, file: file, line: row.line, "video_name '\(name)' is not a clip number")
                        continue
                    }
                    if let other = sides[id]?["\(n)"] {
                        context.problem(.badRow, file: file, line: row.line, clip: id,
                                        "clip \(id) is listed twice in fold \(n) (already on the \(other) side); row ignored")
                        continue
                    }
                    sides[id, default: [:]]["\(n)"] = side
                    rows[id, default: [:]][n] = LabelRow(
                        code: table.value(row, "label") ?? "", origin: SourceLocation(file: file, line: row.line))
                }
            }
        }
        return (sides, rows)
    }

    func record(id: String, path: String, sides: [String: String], rows: [Int: LabelRow]) -> ClipRecord {
        var record = ClipRecord(key: id, path: path, folds: sides, identity: "clip:\(id)")
        if let side = sides["\(fold)"] {
            record.nativeSplit = "set_\(fold):\(side)"
            record.split = side
        }
        // The chosen fold's row first; a clip missing from it keeps the label the other folds give.
        guard let chosen = rows[fold] ?? rows.keys.sorted().first.flatMap({ rows[$0] }) else { return record }
        record.nativeLabels["label"] = chosen.code
        record.labelOrigin = chosen.origin
        if let name = Self.codes[chosen.code], let emotion = EmotionVocabulary.canonicalize(name) {
            record.labels.emotion = emotion
        } else {
            record.labelProblems.append("label '\(chosen.code)' (\(chosen.origin)) is not one of \(Self.allowedCodes)")
        }
        for (_, row) in rows.sorted(by: { $0.key < $1.key }) where row.code != chosen.code {
            record.labelProblems.append(
                "label '\(row.code)' (\(row.origin)) disagrees with '\(chosen.code)' (\(chosen.origin))")
        }
        return record
    }

    /// `(id, path)` for every clip file, ids in the 5-digit form. When a padded and an unpadded
    /// copy of one clip both exist, the padded one is kept and the other reported.
    func videoFiles(_ context: ScanContext) -> [(String, String)] {
        var byID: [String: String] = [:]
        var order: [String] = []
        for path in context.files(in: Self.clipFolder, extensions: ["mp4"]) {
            let stem = ((path as NSString).lastPathComponent as NSString).deletingPathExtension
            guard let id = Self.clipID(stem) else {
                context.problem(.strayFile, file: path, "'\(stem)' is not a clip number; expected a name like 00001.mp4")
                continue
            }
            if let kept = byID[id] {
                let padded = ((kept as NSString).lastPathComponent as NSString).deletingPathExtension == id
                let (keep, drop) = padded ? (kept, path) : (path, kept)
                byID[id] = keep
                context.problem(.strayFile, file: drop, clip: id, "second copy of clip \(id) (kept \(keep))")
                continue
            }
            byID[id] = path
            order.append(id)
        }
        return order.map { ($0, byID[$0]!) }
    }

    /// The `(side, folder)` pairs of the fold CSVs that exist. The zips are named
    /// `train(single_labeled).zip` but unpack to `train(single-labeled)/`; both spellings are accepted.
    func labelFolders(_ context: ScanContext) -> [(String, String)] {
        guard context.isDirectory(Self.labelFolder) else { return [] }
        var out: [(String, String)] = []
        for side in ["train", "test"] {
            let candidates = ["\(side)(single-labeled)", "\(side)(single_labeled)"].map { "\(Self.labelFolder)/\($0)" }
            if let folder = candidates.first(where: { context.isDirectory($0) }) {
                out.append((side, folder))
            } else {
                context.problem(.unreadableLabelFile, file: Self.labelFolder, "no \(side)(single-labeled)/ folder")
            }
        }
        return out
    }

    /// The 5-digit id for `1`, `00001` or `001`; nil for anything that is not a whole number.
    static func clipID(_ raw: String) -> String? {
        guard !raw.isEmpty, raw.allSatisfy({ $0.isASCII && $0.isNumber }), let n = Int(raw) else { return nil }
        let digits = String(n)
        return digits.count >= 5 ? digits : String(repeating: "0", count: 5 - digits.count) + digits
    }
}
