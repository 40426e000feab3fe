import EmoCFG
import Foundation

/// One curation version of an export, as the caller's receipt records it: the file it wrote, the
/// mix it was drawn from, its line count and SHA-256.
public struct CardVersion: Codable, Sendable, Equatable {
    public var version: String
    public var mix: String
    public var lines: Int
    public var sha256: String
    /// The mix's sample tasks, in order (empty when unknown).
    public var tasks: [String] = []

    public init(version: String, mix: String, lines: Int, sha256: String, tasks: [String] = []) {
        self.version = version
        self.mix = mix
        self.lines = lines
        self.sha256 = sha256
        self.tasks = tasks
    }
}

/// The `README.md` of an export folder: what is in it (sources, tasks, sides, versions), under which
/// terms each source may be used, and how it was made, so that the folder can be handed on without
/// the store it came from.
public struct DatasetCard: Sendable {
    public var stats: StatsData
    public var versions: [CardVersion]
    /// The emocfg version that wrote the export, as the caller names it.
    public var toolVersion: String
    /// What the export wrote (files, evaluation gaps, models); nil: the card shows the store only.
    public var export: CardExport?

    public init(stats: StatsData, versions: [CardVersion], toolVersion: String, export: CardExport? = nil) {
        self.stats = stats
        self.versions = versions
        self.toolVersion = toolVersion
        self.export = export
    }

    /// Gathers what the card shows from the store's aggregates (`StatsData.Detail.card`): cheap
    /// enough for every export to write the card.
    public init(store: Store, versions: [CardVersion], toolVersion: String, export: CardExport? = nil) throws {
        self.init(stats: try StatsData.gather(from: store, detail: .card), versions: versions, toolVersion: toolVersion, export: export)
    }

    /// What the card says of a source with no licence in `sources.yaml`.
    public static let unknownLicence = "see the dataset's own terms"

    /// Writes `README.md` into `folder` and returns it.
    @discardableResult
    public func write(to folder: URL) throws -> URL {
        let file = folder.appendingPathComponent("README.md")
        do {
            try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
            try Data(markdown().utf8).write(to: file, options: .atomic)
        } catch {
            throw StatsError(message: "cannot write the dataset card \(file.path): \(error.localizedDescription)")
        }
        return file
    }

    public func markdown() -> String {
        let clips = stats.sources.reduce(0) { $0 + $1.clips }
        let accepted = stats.tasks.reduce(0) { $0 + $1.accepted }
        var md = """
            # Emotion video instruction dataset

            Made with emocfg \(toolVersion): \(clips) usable clips from \(stats.sources.count) sources and \(accepted) \
            accepted instruction samples in the store\(exportedLines).

            ## Sources

            | source | usable clips | samples | accepted samples | licence |
            |---|---:|---:|---:|---|

            """
        for s in stats.sources {
            md += row([s.name, "\(s.clips)", "\(s.samples.total)", "\(s.samples.accepted)", s.licence ?? Self.unknownLicence])
        }
        md += """

            Using a dataset's videos and labels (linked from `videos/`, or rendered from them into `media/`) is \
            governed by that dataset's licence.

            ## Tasks


            """
        if export != nil {
            md += "Samples in the store; the lines actually exported (test-side rationales are not) are under Exported files.\n\n"
        }
        md += "| task | form | samples | accepted samples |\n|---|---|---:|---:|\n"
        for t in stats.tasks { md += row([t.task, t.form, "\(t.samples)", "\(t.accepted)"]) }
        md += row(["**total**", "", "\(stats.tasks.reduce(0) { $0 + $1.samples })", "\(accepted)"])
        let boxes = stats.sources.map(\.faceBoxes)
        func total(_ k: KeyPath<StatsData.FaceBoxes, Int>) -> Int { boxes.reduce(0) { $0 + $1[keyPath: k] } }
        md += """

            ## Face boxes

            Each usable clip's face box (used for the face-area ratio, the head / half-body / full-body view and \
            face-cropped frames) came from the dataset's own annotation, from a sidecar file of a detector run \
            elsewhere, or from emocfg's face detector at ingest (dlib's HOG frontal-face detector on a few frames \
            per clip; the main face's median box). Dataset and sidecar boxes take precedence.

            | source | from the dataset | from a sidecar | from the detector | no face found | not searched |
            |---|---:|---:|---:|---:|---:|

            """
        for s in stats.sources {
            let f = s.faceBoxes
            md += row([s.name, "\(f.dataset)", "\(f.sidecar)", "\(f.detector)", "\(f.noFaceFound)", "\(f.notSearched)"])
        }
        md += row(["**total**", "\(total(\.dataset))", "\(total(\.sidecar))", "\(total(\.detector))",
                   "\(total(\.noFaceFound))", "\(total(\.notSearched))"])
        md += """

            ## Train / test split

            | source | train clips | test clips |
            |---|---:|---:|

            """
        for s in stats.sources { md += row([s.name, "\(s.train)", "\(s.test)"]) }
        md += row(["**total**", "\(stats.sources.reduce(0) { $0 + $1.train })", "\(stats.sources.reduce(0) { $0 + $1.test })"])
        md += """

            Each clip's side was decided once, at its first export, and never moves: the dataset's own test split \
            where it has one, otherwise a seeded hash over the clip's identity group (actor, subject, source video), \
            so that no person is on both sides. Two exceptions, each recorded with its reason in the store \
            (`clip_splits`): identity recognition (MEAD) holds out clips *within* each identity (every identity with \
            two clips or more is on both sides, so MEAD's other tasks share identities across sides too), and when an \
            evaluation task would otherwise have no test clip, the identity group with the smallest hash among the \
            clips being assigned is moved to test (`eval-cover:<file>`).

            """
        if let export { md += export.markdown(row: row) }
        md += """

            ## Versions

            Each version is one training mix: the train shards of its tasks concatenated in order. The default \
            mixes are cumulative (attribute, + expression, + emotion, + rationale, everything), so a later version \
            contains the earlier ones' lines: train on one version, never on several. `jsons/curation/vN/source.txt` \
            lists its shards (path, line count, SHA-256 of the shard's content, decompressed for `.jsonl.zst`); the \
            SHA-256 below is that of `source.txt`, so it covers the list and, through the shard hashes, every byte \
            of the mix; `receipt.json` adds the settings and their hash. Rebuild and check a version with \
            `emocfg receipt reproduce vN --out .`, or without emocfg: `python3 jsons/curation/concat_receipt.py vN`.


            """
        if versions.isEmpty {
            md += "No curation version has been written yet.\n"
        } else {
            md += "| version | mix | tasks | lines | SHA-256 of source.txt |\n|---|---|---|---:|---|\n"
            for v in versions { md += row([v.version, v.mix, v.tasks.joined(separator: ", "), "\(v.lines)", "`\(v.sha256)`"]) }
        }
        // The design's committee has three judges; the store says who actually voted.
        let committee = stats.judges.isEmpty ? "three judge models"
            : "\(stats.judges.count) judge models (" + stats.judges.map { "`\($0.judge)`" }.joined(separator: ", ") + ")"
        let kappa = stats.agreement.kappa.map {
            String(format: " Their agreement beyond chance (Fleiss' kappa over %d samples) is %.3f.", stats.agreement.subjects, $0)
        } ?? ""
        let h = stats.humanReview
        let people = h.reviewed == 0 ? " No sample has been reviewed by a person."
            : " People reviewed \(h.reviewed) samples on emocfg's review page (accepted \(h.accepted), rejected \(h.rejected), "
              + "answer corrected \(h.edited)); a person's decision overrules the committee's."
        md += """

            ## How it was made

            1. **Ingest**: each dataset was read in its native layout; every video was probed (duration, size, \
            frame rate), its native labels recorded and mapped to common vocabularies, and its face box taken from the \
            dataset, a sidecar, or emocfg's face detector.
            2. **Annotate**: instruction samples were made from the ground-truth labels through templates, and \
            vision-language models wrote captions (attributes, expression, emotion), question-answer pairs and \
            rationales from sampled frames.
            3. **Verify**: \(committee) voted on every generated sample; \
            a sample failed by the committee was rewritten from the judges' suggestions and voted on again, and \
            rejected after the last round.\(kappa)\(people)
            4. **Export**: accepted samples only were written as the `jsons/` tree, one shard per source and task, \
            each version's files listed with their line counts and SHA-256 so it can be rebuilt byte for byte.

            Tool: emocfg \(toolVersion).

            """
        return md
    }

    /// ` (N lines exported: train T, test E)` when the export is known.
    var exportedLines: String {
        guard let files = export?.files.filter({ $0.set == "full" }) else { return "" }
        let train = files.filter { $0.side == "train" }.reduce(0) { $0 + $1.lines }
        let test = files.filter { $0.side == "test" }.reduce(0) { $0 + $1.lines }
        return ", exported as \(train + test) lines (train \(train), test \(test))"
    }

    /// A Markdown table row; a `|` or a line break in a value would end the cell or the row.
    func row(_ cells: [String]) -> String {
        "| " + cells.map { $0.replacingOccurrences(of: "|", with: "\\|").replacingOccurrences(of: "\n", with: " ") }
            .joined(separator: " | ") + " |\n"
    }
}
