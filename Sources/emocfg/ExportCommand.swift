import ArgumentParser
import EmoCFG
import Export
import Foundation

struct ExportCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "export",
        abstract: "Write the accepted samples as the jsons/ tree with sampled sets, evaluation files and a curation version per mix.",
        discussion: """
            Decides each clip's side once (the dataset's own test split, otherwise a
            seeded hash over the identity group; MEAD per clip within each actor;
            new groups moved to test where an evaluation task would have none;
            recorded in the store, never moved), then writes, in DIR:
              jsons/{train,test}/<task>/full/<Source>_<task>.jsonl
                  every accepted sample, one ms-swift line each
              jsons/{train,test}/<task>/sampled/<Source>_<task>.jsonl
                  at most `sampled_per_label` lines per label
              jsons/test/<task>/<evaluation file>.json
                  the 22 files the VidEmo evaluation reads
              anno/QA_test_sampling_all/QA_test_sampling_all.json
                  the open-attribute QA ground truth (a JSON array)
              jsons/train/rl/{full,sampled}/<Source>_rl.jsonl
                  GRPO rows (user turn, videos, task, solution, tree) for
                  plugins/affective_tree_reward.py; train-side clips only
              jsons/curation/vN/{source.txt,receipt.json}
                  a new version for every mix whose shards changed
              jsons/curation/concat_receipt.py
                  rebuilds a version without emocfg (Python 3)
              videos/<Folder>
                  a link to the source root, or links into media/ for clips
                  rendered to video files (frame folders, time windows,
                  expression intervals); copies with --copy-videos.
                  <Folder> is the published Emo-CFG name (Dfew, Mer2023,
                  SIMS, CAS(ME)2, ...) unless sources.yaml sets export_name
              media/<2>/<key>.mp4
                  rendered clips, by content key (rendered once, reused)
              README.md
                  the dataset card: sources, licences, tasks, sides, evaluation
                  files (and any left empty), versions, models
            <task> is attribute, caption, emotion (expression and emotion samples),
            qa, rationale and tree (train only). Settings come from the `export:` section
            of the pipeline file; the options here override it. Check a version
            afterwards with `emocfg receipt reproduce vN --out DIR`.
            """
    )

    @Option(name: .long, help: ArgumentHelp("The folder to write the tree into.", valueName: "dir"))
    var out: String

    @Option(name: .long, help: ArgumentHelp("The pipeline file whose `export:` section configures the export (optional).", valueName: "file"))
    var pipeline: String = "pipeline.yaml"

    @Option(name: .long, help: ArgumentHelp("Share of identity groups put on the test side where a dataset has no split.", valueName: "fraction"))
    var testFraction: Double?

    @Option(name: .long, help: ArgumentHelp("Seed of the identity-group hash and of the sampled sets.", valueName: "seed"))
    var seed: String?

    @Option(name: .long, help: ArgumentHelp("Lines a sampled file keeps per source and label.", valueName: "n"))
    var sampledPerLabel: Int?

    @Flag(name: .long, help: "Write .jsonl.zst shards (evaluation files stay plain).")
    var zstd = false

    @Flag(name: .long, help: "Copy whole video files and hard-link rendered clips into DIR/videos instead of linking, so the tree stands alone.")
    var copyVideos = false

    @Flag(name: .long, help: "Print what was written as JSON on standard output.")
    var json = false

    @OptionGroup var storeOptions: StoreOptions

    func run() async throws {
        do {
            let store = try storeOptions.openStore()
            var settings = ExportSettings()
            var models: [CardModel] = []
            if FileManager.default.fileExists(atPath: pipeline) {
                // Export sends no request: a model endpoint's unset ${VARIABLE} is no reason to stop.
                let config = try PipelineConfig.load(URL(fileURLWithPath: pipeline), keepUnsetVariables: true)
                settings = try ExportSettings.read(config.export)
                models = CardModel.from(config)
            }
            if let testFraction {
                guard testFraction >= 0, testFraction < 1 else {
                    throw ValidationError("--test-fraction must be at least 0 and below 1, found \(testFraction)")
                }
                settings.testFraction = testFraction
            }
            if let seed { settings.seed = seed }
            if let sampledPerLabel {
                guard sampledPerLabel > 0 else { throw ValidationError("--sampled-per-label must be positive, found \(sampledPerLabel)") }
                settings.sampledPerLabel = sampledPerLabel
            }
            if zstd { settings.zstd = true }
            if copyVideos { settings.copyVideos = true }
            guard try store.hasAcceptedSample() else {
                // An empty tree and a curation version of nothing would look like a result.
                FileHandle.standardError.write(Data("""
                    nothing to export: \(store.path) holds no accepted sample on a readable clip; nothing was written.
                    Run `emocfg ingest` (check `emocfg status`), then `emocfg annotate --stage all` and `emocfg verify`.\n
                    """.utf8))
                finish([StageCounters(stage: "export", note: "nothing to export")], json: json)
                throw ExitCode(ExitStatus.someFailed)
            }
            let started = Date()
            let display = ProgressDisplay()
            let result = try Exporter(out: URL(fileURLWithPath: out), settings: settings,
                                      configHash: SHA256Digest.hex(settings.json.canonical),
                                      renderProgress: { p in display.update(label: "rendering clips", done: p.done, total: p.total) })
                .run(store: store)
            display.finishLine()
            // The dataset card: sources, tasks, sides and the latest version of every mix.
            let current = result.versions + result.unchanged
            let mixTasks = Dictionary(settings.mixes.map { ($0.name, $0.tasks) }, uniquingKeysWith: { a, _ in a })
            // Its figures are the export's own (`result.stats`): the store is not read again.
            try DatasetCard(stats: result.stats, versions: current.sorted { $0.version < $1.version }.map {
                CardVersion(version: $0.name, mix: $0.mix, lines: $0.lines, sha256: $0.sourceSHA256, tasks: mixTasks[$0.mix] ?? [])
            }, toolVersion: EmoCFGVersion.current,
               export: CardExport(files: result.files, gaps: result.evaluationGaps, models: models, media: result.media,
                                  folders: result.folders)).write(to: URL(fileURLWithPath: out))
            let full = result.files.filter { $0.set == "full" }
            let m = result.media
            let counters = [StageCounters(
                stage: "render", itemsIn: m.needed, done: m.rendered, failed: m.failed.count, skipped: m.cached, seconds: m.seconds,
                note: "\(m.encoder); \(m.cached) already rendered"),
                StageCounters(
                stage: "export", itemsIn: full.reduce(0) { $0 + $1.lines }, done: full.reduce(0) { $0 + $1.lines },
                failed: result.videoProblems.count, seconds: Date().timeIntervalSince(started),
                note: "\(result.files.count) files; new versions: \(result.versions.map(\.name).joined(separator: ", ").nonEmpty ?? "none")")]
            if json {
                var object = Self.json(result, seconds: Date().timeIntervalSince(started)).objectValue ?? [:]
                object["summary"] = try JSONValue.parse(JSONEncoder().encode(counters))
                print(JSONValue.object(object).canonical)
                finish(counters, json: true)
                return
            }
            var table = TextTable(header: ["side", "folder", "source", "task", "full", "sampled"])
            let sampled = Dictionary(result.files.filter { $0.set == "sampled" }.map { ("\($0.side)/\($0.directory)/\($0.source)/\($0.task)", $0.lines) },
                                     uniquingKeysWith: { a, _ in a })
            for f in result.files where f.set == "full" {
                table.rows.append([f.side, f.directory, f.source, f.task, "\(f.lines)", "\(sampled["\(f.side)/\(f.directory)/\(f.source)/\(f.task)"] ?? 0)"])
            }
            print(table.render())
            let evaluation = result.files.filter { $0.set == "evaluation" }
            let empty = evaluation.filter { $0.lines == 0 }.map(\.task)
            print("\nEvaluation files: \(evaluation.count) in jsons/test/, \(evaluation.reduce(0) { $0 + $1.lines }) lines"
                  + (empty.isEmpty ? "" : "; empty (no accepted test samples): \(empty.joined(separator: ", "))"))
            if let truth = result.files.first(where: { $0.set == "ground-truth" }) {
                print("QA ground truth: \(truth.path), \(truth.lines) items")
            }
            if !result.coverMoves.isEmpty {
                print("Moved \(result.coverMoves.count) new clip(s) to the test side so that every evaluation task has test items")
            }
            if !result.evaluationGaps.isEmpty {
                print("Evaluation tasks without items (VidEmo's evaluation stops at the first):")
                for g in result.evaluationGaps { print("  \(g.file): \(g.reason)") }
            }
            for v in result.versions {
                print("New curation version \(v.name) (\(v.mix)): \(v.shards.count) shards, \(v.lines) lines -> jsons/curation/\(v.name)/source.txt")
            }
            for v in result.unchanged {
                print("Unchanged: \(v.name) (\(v.mix))")
            }
            if !result.removed.isEmpty { print("Removed \(result.removed.count) shard(s) of an earlier export that no longer have samples") }
            for p in result.videoProblems { print("video: \(p)") }
            if m.needed > 0 {
                print("Rendered clips (frame folders, windows, intervals): \(m.needed) needed, \(m.rendered) rendered, \(m.cached) reused from media/, "
                      + "\(m.failed.count) failed; encoder \(m.encoder)")
            }
            for f in m.failed.prefix(20) { print("render failed, left out: \(f.clip): \(f.reason)") }
            if m.failed.count > 20 { print("… and \(m.failed.count - 20) more render failures (table rendered_media)") }
            let shards = result.files.filter { $0.set == "full" }
            print("\n\(shards.count) full shards, \(shards.reduce(0) { $0 + $1.lines }) lines in \(out)/jsons; "
                  + "\(result.sides.test) of \(result.sides.train + result.sides.test) clips on the test side")
            finish(counters, json: false)
        } catch let e as ValidationError {
            throw e
        } catch let e as ExitCode {
            throw e
        } catch {
            throw fail(error)
        }
    }

    static func json(_ r: ExportResult, seconds: Double) -> JSONValue {
        func version(_ v: CurationVersion) -> JSONValue {
            ["version": .string(v.name), "mix": .string(v.mix), "shards": .number(Double(v.shards.count)), "lines": .number(Double(v.lines)),
             "source_sha256": .string(v.sourceSHA256)]
        }
        return ["files": .array(r.files.map {
                    ["path": .string($0.path), "set": .string($0.set), "side": .string($0.side), "directory": .string($0.directory),
                     "source": .string($0.source), "task": .string($0.task), "lines": .number(Double($0.lines)), "sha256": .string($0.sha256)]
                }),
                "clips": ["train": .number(Double(r.sides.train)), "test": .number(Double(r.sides.test))],
                "versions": .array(r.versions.map(version)), "unchanged": .array(r.unchanged.map(version)),
                "removed": .array(r.removed.map { .string($0) }), "video_problems": .array(r.videoProblems.map { .string($0) }),
                "media": ["encoder": .string(r.media.encoder), "needed": .number(Double(r.media.needed)),
                          "rendered": .number(Double(r.media.rendered)), "cached": .number(Double(r.media.cached)),
                          "failed": .array(r.media.failed.map { ["clip": .string($0.clip), "reason": .string($0.reason)] })],
                "evaluation_gaps": .array(r.evaluationGaps.map { ["file": .string($0.file), "reason": .string($0.reason)] }),
                "cover_moves": .object(r.coverMoves.mapValues { .string($0) }),
                "seconds": .number((seconds * 1000).rounded() / 1000)]
    }
}

struct ReceiptCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "receipt",
        abstract: "List an export's curation versions, or rebuild one and check it against its receipt.",
        subcommands: [ReceiptList.self, ReceiptReproduce.self]
    )
}

struct ReceiptList: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "list", abstract: "The curation versions in an export folder.")

    @Option(name: .long, help: ArgumentHelp("The export folder.", valueName: "dir"))
    var out: String = "."

    func run() async throws {
        do {
            let versions = try Curation(out: URL(fileURLWithPath: out)).versions()
            var table = TextTable(header: ["version", "mix", "shards", "lines", "source.txt SHA-256"])
            for v in versions { table.rows.append([v.name, v.mix, "\(v.shards.count)", "\(v.lines)", v.sourceSHA256]) }
            print(versions.isEmpty ? "No curation versions in \(out)/jsons/curation." : table.render())
        } catch {
            throw fail(error)
        }
    }
}

struct ReceiptReproduce: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "reproduce",
        abstract: "Rebuild a version's training mix from its shards and verify every line and hash.",
        discussion: """
            Concatenates the shards listed in jsons/curation/vN/source.txt, in order,
            into jsons/curation/vN/train.jsonl (or --to FILE), checking each line
            against the version's line index and each shard against its SHA-256.
            Exits 1 naming the first shard and line that differ.
            """
    )

    @Argument(help: ArgumentHelp("The version, e.g. v3.", valueName: "vN"))
    var version: String

    @Option(name: .long, help: ArgumentHelp("The export folder.", valueName: "dir"))
    var out: String = "."

    @Option(name: .long, help: ArgumentHelp("Where to write the mix (default: jsons/curation/vN/train.jsonl).", valueName: "file"))
    var to: String?

    @Flag(name: .long, help: "Print the result as JSON on standard output.")
    var json = false

    func run() async throws {
        let digits = version.hasPrefix("v") ? version.dropFirst() : Substring(version)
        guard let n = Int(digits), n > 0 else { throw ValidationError("expected a version like v3, found '\(version)'") }
        let started = Date()
        do {
            let r = try Curation(out: URL(fileURLWithPath: out)).reproduce(n, to: to.map { URL(fileURLWithPath: $0) })
            let counters = [StageCounters(stage: "reproduce \(r.version)", itemsIn: r.lines, done: r.lines, seconds: Date().timeIntervalSince(started),
                                          note: "\(r.shards) shards verified")]
            defer { finish(counters, json: json) }
            if json {
                print(JSONValue.object(["version": .string(r.version), "output": .string(r.output), "lines": .number(Double(r.lines)),
                                        "shards": .number(Double(r.shards)), "sha256": .string(r.sha256), "ok": .bool(true)]).canonical)
            } else {
                print("\(r.version): \(r.shards) shards, \(r.lines) lines reproduced byte for byte -> \(r.output) (SHA-256 \(r.sha256))")
            }
        } catch let e as ReproduceError {
            FileHandle.standardError.write(Data("error: \(e)\n".utf8))
            let counters = [StageCounters(stage: "reproduce v\(n)", failed: 1, seconds: Date().timeIntervalSince(started), note: e.description)]
            if json {
                print(JSONValue.object(["ok": .bool(false), "error": .string(e.description),
                                        "summary": try JSONValue.parse(JSONEncoder().encode(counters))]).canonical)
            }
            finish(counters, json: json)
            throw ExitCode(1)
        } catch {
            throw fail(error)
        }
    }
}
