import EmoCFG
import Foundation

/// MELD: Friends utterances, `MELD.Raw/<split folder>/dia<D>_utt<U>.mp4`, labelled by
/// `{train,dev,test}_sent_emo.csv`.
///
/// The CSVs sit in `MELD.Raw/` as the official tarball ships them; copies at the source root are
/// accepted too, and the root may also be `MELD.Raw/` itself. Dialogue ids restart in every split,
/// so the key is `<split>/dia<D>_utt<U>`. A dialogue is one scene with several speakers: the
/// dialogue, not the speaker, is the identity group, so a scene never straddles train and test
/// (the speaker is kept as a fact). The test folder also holds `final_videos_test dia…` re-cuts of
/// some clips; they are not clips of their own and are skipped.
public struct MELDAdapter: DatasetAdapter {
    public static let name = "meld"

    static let rawFolder = "MELD.Raw"
    /// Split name as used in keys and CSV names, and the folder of its clips.
    static let splits = [("train", "train_splits"), ("dev", "dev_splits_complete"),
                         ("test", "output_repeated_splits_test")]
    static let header = ["Sr No.", "Utterance", "Speaker", "Emotion", "Sentiment", "Dialogue_ID",
                         "Utterance_ID", "Season", "Episode", "StartTime", "EndTime"]
    static let emotions = ["neutral", "joy", "sadness", "anger", "surprise", "fear", "disgust"]
    static let sentiments = ["neutral", "positive", "negative"]
    static let recutPrefix = "final_videos_test"

    public init(options: ConfigReader) throws {}

    public func scan(_ context: ScanContext) throws -> [ClipRecord] {
        let base = context.isDirectory(Self.rawFolder) ? Self.rawFolder : ""
        var records: [ClipRecord] = []
        var foundAnything = false
        for (split, folder) in Self.splits {
            let clipFolder = context.join(base, folder)
            let csv = [context.join(base, "\(split)_sent_emo.csv"), "\(split)_sent_emo.csv"]
                .first { context.exists($0) }
            let hasFolder = context.isDirectory(clipFolder)
            guard hasFolder || csv != nil else { continue }
            foundAnything = true

            var labelled: [String: ClipRecord] = [:]
            var order: [String] = []
            if let csv {
                for r in readLabels(csv, split: split, clipFolder: clipFolder, context) {
                    labelled[r.key] = r
                    order.append(r.key)
                }
            } else {
                context.problem(.unreadableLabelFile, file: context.join(base, "\(split)_sent_emo.csv"),
                                "no \(split)_sent_emo.csv here or at the root; the \(folder) clips stay unlabelled")
            }
            // Clips on disk without a row are still clips of the split, unlabelled.
            for path in hasFolder ? context.files(in: clipFolder, extensions: ["mp4"]) : [] {
                let name = (path as NSString).lastPathComponent
                if name.hasPrefix(Self.recutPrefix) { continue }
                guard let (d, u) = Self.utteranceIDs(fileStem: (name as NSString).deletingPathExtension) else {
                    context.problem(.strayFile, file: path, "'\(name)' is not named dia<D>_utt<U>.mp4")
                    continue
                }
                let key = "\(split)/dia\(d)_utt\(u)"
                if labelled[key] != nil { continue }
                labelled[key] = ClipRecord(
                    key: key, path: path, nativeSplit: split, split: SplitName.normalize(split),
                    identity: "\(split)/dia\(d)")
                order.append(key)
            }
            records += order.map { labelled[$0]! }
        }
        if !foundAnything {
            throw IngestError(
                source: context.sourceName,
                message: "no MELD split folders (train_splits, dev_splits_complete, output_repeated_splits_test) "
                    + "or *_sent_emo.csv files under \(context.root.path) or its \(Self.rawFolder)/")
        }
        return records
    }

    /// One record per row of a split's CSV; the clip's media need not exist.
    func readLabels(_ file: String, split: String, clipFolder: String, _ context: ScanContext) -> [ClipRecord] {
        guard let table = context.csv(file) else { return [] }
        let missing = table.missingColumns(Self.header)
        if !missing.isEmpty {
            context.problem(.unreadableLabelFile, file: file, line: 1,
                            "header lacks \(missing.joined(separator: ", ")); expected \(Self.header.joined(separator: ","))")
            return []
        }
        var out: [ClipRecord] = []
        var firstLine: [String: Int] = [:]
        for row in context.wellFormedRows(table, file: file) {
            let origin = SourceLocation(file: file, line: row.line)
            func field(_ name: String) -> String { table.value(row, name) ?? "" }
            let d = field("Dialogue_ID"), u = field("Utterance_ID")
            guard Self.isNumber(d), Self.isNumber(u) else {
                context.problem(.badRow, file: file, line: row.line,
                                "Dialogue_ID '\(d)' and Utterance_ID '\(u)' must be whole numbers")
                continue
            }
            let key = "\(split)/dia\(d)_utt\(u)"
            if let first = firstLine[key] {
                context.problem(.badRow, file: file, line: row.line, clip: key,
                                "dia\(d)_utt\(u) already has a row at line \(first); row ignored")
                continue
            }
            firstLine[key] = row.line

            var problems: [String] = []
            var labels = NormalizedLabels()
            labels.emotion = context.emotion(field("Emotion"), allowed: Self.emotions, at: origin, into: &problems)
            let sentiment = field("Sentiment")
            if Self.sentiments.contains(sentiment.lowercased()), let s = SentimentVocabulary.canonicalize(sentiment) {
                labels.sentiment = s
            } else {
                problems.append("sentiment '\(sentiment)' (\(origin)) is not one of: \(Self.sentiments.joined(separator: ", "))")
            }
            labels.facts["speaker"] = field("Speaker")
            labels.facts["season"] = field("Season")
            labels.facts["episode"] = field("Episode")
            for (column, fact) in [("StartTime", "start_seconds"), ("EndTime", "end_seconds")] {
                let raw = field(column)
                if let seconds = Self.seconds(raw) {
                    labels.facts[fact] = String(format: "%.3f", seconds)
                } else {
                    context.problem(.badRow, file: file, line: row.line, clip: key,
                                    "\(column) '\(raw)' is not a time like 0:10:44,769 (H:MM:SS,fraction)")
                }
            }

            var native: [String: String] = [:]
            for name in Self.header where name != "Utterance" { native[name] = field(name) }
            out.append(ClipRecord(
                key: key, path: "\(clipFolder)/dia\(d)_utt\(u).mp4", nativeSplit: split,
                split: SplitName.normalize(split), identity: "\(split)/dia\(d)", nativeLabels: native,
                labels: labels, texts: ["utterance": field("Utterance")], labelOrigin: origin,
                labelProblems: problems))
        }
        return out
    }

    static func isNumber(_ s: String) -> Bool { !s.isEmpty && s.allSatisfy { $0.isASCII && $0.isNumber } }

    /// `(D, U)` from `dia<D>_utt<U>`.
    static func utteranceIDs(fileStem stem: String) -> (String, String)? {
        guard stem.hasPrefix("dia"), let sep = stem.range(of: "_utt") else { return nil }
        let d = String(stem[stem.index(stem.startIndex, offsetBy: 3)..<sep.lowerBound])
        let u = String(stem[sep.upperBound...])
        return isNumber(d) && isNumber(u) ? (d, u) : nil
    }

    /// Seconds from MELD's `HH:MM:SS,mmm`. Hours are often one digit (`0:10:44,769`), and the part
    /// after the comma is sometimes two digits (`00:06:47,28`): it is read as a decimal fraction of
    /// a second (`,28` = 0.28 s, `,769` = 0.769 s), which equals milliseconds when three digits long.
    static func seconds(_ raw: String) -> Double? {
        let parts = raw.split(separator: ",", omittingEmptySubsequences: false)
        guard parts.count <= 2 else { return nil }
        let hms = parts[0].split(separator: ":", omittingEmptySubsequences: false)
        guard hms.count == 3, hms.allSatisfy({ isNumber(String($0)) }),
              let h = Int(hms[0]), let m = Int(hms[1]), let s = Int(hms[2]), m < 60, s < 60,
              hms[1].count == 2, hms[2].count == 2 else { return nil }
        var fraction = 0.0
        if parts.count == 2 {
            let f = String(parts[1])
            guard isNumber(f), f.count <= 3, let value = Double("0." + f) else { return nil }
            fraction = value
        }
        return Double(h * 3600 + m * 60 + s) + fraction
    }
}
