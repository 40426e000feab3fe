import EmoCFG
import Foundation

/// A model the pipeline file names, as the dataset card shows it.
public struct CardModel: Sendable, Equatable {
    /// What it did: `caption`, `qa`, `rationale`, `rewrite` (generators) or `judge`.
    public var role: String
    public var alias: String
    public var provider: String
    public var model: String
    public var baseURL: String

    public init(role: String, alias: String, provider: String, model: String, baseURL: String) {
        self.role = role
        self.alias = alias
        self.provider = provider
        self.model = model
        self.baseURL = baseURL
    }

    /// A server on this machine (127.0.0.0/8, localhost, ::1): the demo's stand-in answers there.
    public var loopback: Bool {
        guard let host = URLComponents(string: baseURL)?.host?.lowercased() else { return false }
        return host == "localhost" || host.hasPrefix("127.") || host == "::1" || host == "[::1]" || host == "0.0.0.0"
    }

    /// The emocfg stand-in (by its model names), whose text is derived from the request, not written by a model.
    public var standin: Bool { model.lowercased().hasPrefix("standin") }

    /// The generators (per stage) and judges a pipeline file names.
    public static func from(_ pipeline: PipelineConfig) -> [CardModel] {
        func card(_ role: String, _ m: ModelConfig) -> CardModel {
            CardModel(role: role, alias: m.alias, provider: "\(m.provider)", model: m.model, baseURL: m.baseURL)
        }
        var out: [CardModel] = []
        for stage in PipelineConfig.stageNames {
            if let alias = pipeline.stages[stage], let m = pipeline.models[alias] { out.append(card(stage, m)) }
        }
        if let critic = try? pipeline.criticSettings() {
            if let r = critic.rewriter, !out.contains(where: { $0.role == "rewrite" }) { out.append(card("rewrite", r)) }
            out += critic.judges.map { card("judge", $0) }
        }
        return out
    }
}

/// What the export wrote, for the card: the files with their line counts, the evaluation tasks left
/// without items, and the models of the pipeline file.
public struct CardExport: Sendable {
    public var files: [ExportedFile]
    public var gaps: [EvaluationGap]
    public var models: [CardModel]
    /// The clips rendered to video files, when the caller has the export's summary.
    public var media: MediaSummary?
    /// Each source's folder under `videos/`.
    public var folders: [String: String]

    public init(files: [ExportedFile], gaps: [EvaluationGap], models: [CardModel], media: MediaSummary? = nil,
                folders: [String: String] = [:]) {
        self.files = files
        self.gaps = gaps
        self.models = models
        self.media = media
        self.folders = folders
    }

    /// The card's sections about the export itself (appended after the split).
    func markdown(row: ([String]) -> String) -> String {
        var md = "\n## Videos\n\n"
        md += """
            Every `videos` entry is a playable video file. Whole video files are the datasets' own, linked: \
            `videos/<Folder>` links to the dataset's folder, or, for a source with rendered clips, holds a link per file. \
            Frame folders, time windows of longer videos and expression intervals of long recordings were rendered once to \
            MP4 files at the clip's own frame rate (windows cut frame-exactly, with the source's audio), kept in \
            `media/<2>/<key>.mp4` by content key and linked from `videos/<Folder>/…` by relative links, so keep `media/` \
            beside `videos/` when moving the folder.

            """
        if let m = media {
            md += "\nRendered: \(m.rendered + m.cached) clips with \(m.encoder) (crf \(m.settings.crf), preset \(m.settings.preset)"
                + (m.settings.maxSide.map { ", longer side at most \($0) px" } ?? ", source size") + ")"
                + (m.failed.isEmpty ? ".\n" : "; \(m.failed.count) could not be rendered and are left out (`rendered_media` in the store names each with libav's reason).\n")
        }
        if !folders.isEmpty {
            md += "\n| source | folder |\n|---|---|\n"
            for (source, folder) in folders.sorted(by: { $0.key < $1.key }) where files.contains(where: { $0.source == source }) {
                md += row([source, "`videos/\(folder)`"])
            }
        }
        md += "\n## Exported files\n\n"
        md += """
            Every count here is a count of lines in the files. `jsons/<side>/<folder>/full/` holds every accepted sample of \
            that side; `sampled/` is a **subset** of `full/` (at most `sampled_per_label` lines per shard and label), so \
            never glob both into one training set. Test-side rationales are not exported (the evaluation has no \
            rationale file).

            | side | folder | task | full lines | sampled lines |
            |---|---|---|---:|---:|

            """
        let sampled = Dictionary(files.filter { $0.set == "sampled" }.map { ("\($0.side)/\($0.directory)/\($0.task)/\($0.source)", $0.lines) },
                                 uniquingKeysWith: +)
        var totals: [String: (full: Int, sampled: Int)] = [:]
        for f in files where f.set == "full" {
            let key = "\(f.side)\u{0}\(f.directory)\u{0}\(f.task)"
            totals[key, default: (0, 0)].full += f.lines
            totals[key, default: (0, 0)].sampled += sampled["\(f.side)/\(f.directory)/\(f.task)/\(f.source)"] ?? 0
        }
        for key in totals.keys.sorted() {
            let p = key.split(separator: "\u{0}").map(String.init)
            md += row([p[0], p[1], p[2], "\(totals[key]!.full)", "\(totals[key]!.sampled)"])
        }
        let trainLines = files.filter { $0.set == "full" && $0.side == "train" }.reduce(0) { $0 + $1.lines }
        let testLines = files.filter { $0.set == "full" && $0.side == "test" }.reduce(0) { $0 + $1.lines }
        md += row(["**total**", "", "", "\(trainLines + testLines)", ""])

        let evaluation = files.filter { $0.set == "evaluation" }
        let gapByFile = Dictionary(grouping: gaps, by: { $0.file.split(separator: "#").first.map(String.init) ?? $0.file })
        md += """

            ## Evaluation files

            The \(evaluation.count) files VidEmo's evaluation (`eval/config.py`) reads, under its exact names in \
            `jsons/test/<folder>/`. Their content is **JSONL** (one ms-swift sample per line) despite the `.json` \
            ending. The open-attribute QA ground truth is a JSON array at `\(EvaluationFile.qaGroundTruthPath)`; the \
            evaluation opens that path **relative to the folder it runs in**, so run it from this folder or link \
            `anno/` into its working folder. VidEmo stops with ZeroDivisionError at the first empty file or QA \
            attribute without items, so the empty ones are listed below.

            | file | lines | |
            |---|---:|---|

            """
        for f in evaluation.sorted(by: { $0.path < $1.path }) {
            let note = f.lines > 0 ? (gapByFile[f.task].map { "missing: " + $0.map(\.file).joined(separator: ", ") } ?? "")
                : "**empty**: " + (gapByFile[f.task]?.first?.reason ?? "no test sample")
            md += row(["`\(f.path)`", "\(f.lines)", note])
        }
        if let truth = files.first(where: { $0.set == "ground-truth" }) { md += row(["`\(truth.path)` (JSON array)", "\(truth.lines)", ""]) }
        if gaps.isEmpty {
            md += "\nEvery evaluation file and every QA attribute has items.\n"
        } else {
            md += "\nEvaluation tasks without items (\(gaps.count)):\n\n"
            for g in gaps { md += "- `\(g.file)`: \(g.reason)\n" }
        }

        md += "\n## Models\n\n"
        if models.isEmpty {
            md += "The pipeline file named no models.\n"
        } else {
            md += "| role | model | provider | base URL |\n|---|---|---|---|\n"
            for m in models {
                md += row([m.role, "`\(m.model)` (\(m.alias))", m.provider, m.baseURL + (m.loopback ? " (loopback)" : "")])
            }
            let local = models.filter { $0.loopback || $0.standin }
            if !local.isEmpty {
                let names = Array(Set(local.map { "`\($0.model)`" })).sorted().joined(separator: ", ")
                let who = local.contains(where: \.standin) ? "the emocfg stand-in, `emocfg-standin`"
                    : "a loopback address, where the emocfg stand-in answers in the demo"
                md += """

                    **Not real model output.** \(names) answered on this machine (\(who)). \
                    The stand-in writes schema-valid text derived from each request: the captions, QA pairs, rationales \
                    and verdicts made that way are placeholders for testing the pipeline, not descriptions of the videos. \
                    Do not train or evaluate on them.

                    """
            }
        }
        return md
    }
}
