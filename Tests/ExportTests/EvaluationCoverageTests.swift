import Annotate
import EmoCFG
import Export
import Foundation
import Ingest
import TestSupport
import XCTest

/// The evaluation files as VidEmo's evaluation consumes them: every file and every QA attribute has
/// items, identity recognition is learnable, the micro-expression file holds micro-expressions only,
/// a file that cannot be filled is reported with its reason, and a version can be rebuilt without
/// emocfg by `concat_receipt.py`.
final class EvaluationCoverageTests: XCTestCase {
    let repo = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    var store: Store!
    var out: URL!

    override func setUpWithError() throws {
        store = try Store(path: try temporaryStorePath())
        out = FileManager.default.temporaryDirectory.appendingPathComponent("emocfg-coverage-\(UUID().uuidString)")
    }

    override func tearDown() {
        try? FileManager.default.removeItem(at: out)
    }

    var sourcesConfig: SourcesConfig {
        get throws { try SourcesConfig.load(repo.appendingPathComponent("samples/sources.yaml"), adapters: AdapterRegistry.names) }
    }

    /// Ingests the named replicas of the bundled sample (all when nil) and makes their instruct samples.
    func prepare(_ sources: [String]? = nil) throws {
        let config = try sourcesConfig
        let names = sources ?? config.sources.map(\.name)
        let s = store!
        _ = try blocking { try await IngestRunner(store: s, config: config, jobs: 2).run(sources: names) }
        try InstructRunner(promptsDirectory: repo.appendingPathComponent("prompts")).run(store: store)
    }

    /// Accepted model samples as the caption and qa stages store them: one caption and a QA pair per
    /// aspect for every usable clip (`question` decides the QA question text).
    func addModelSamples(question: (StoredClip, String) -> String = { "What about \($1) in \($0.record.key)?" }) throws {
        var samples: [NewSample] = []
        for clip in try store.clips() where clip.status == .ok {
            samples.append(NewSample(uid: "caption/\(clip.uid)/emotion", clipUID: clip.uid, stage: "caption", task: .emotion, form: .caption,
                                     content: ["question": "Describe the emotion.", "answer": .string("A calm face in \(clip.record.key).")],
                                     promptID: "caption/emotion", promptHash: "h", model: "vision", status: .accepted))
            for aspect in QAStage.aspects {
                samples.append(NewSample(uid: "qa/\(clip.uid)/\(aspect)", clipUID: clip.uid, stage: "qa", task: .qa, form: .open,
                                         content: ["question": .string(question(clip, aspect)), "answer": .string("\(aspect) answer"),
                                                   "aspect": .string(aspect), "source": .string("QA_\(aspect)")],
                                         promptID: "qa/qa", promptHash: "h", model: "text", status: .accepted))
            }
        }
        try store.upsertSamples(samples)
    }

    /// The demo's export settings (samples/pipeline.yaml).
    func demoSettings() -> ExportSettings {
        var s = ExportSettings()
        s.seed = "demo"
        s.testFraction = 0.25
        s.sampledPerLabel = 2
        return s
    }

    @discardableResult
    func export(_ s: ExportSettings? = nil) throws -> ExportResult {
        let s = s ?? demoSettings()
        return try Exporter(out: out, settings: s, configHash: SHA256Digest.hex(s.json.canonical)).run(store: store)
    }

    func lines(_ path: String) throws -> [JSONValue] {
        try String(contentsOf: out.appendingPathComponent(path), encoding: .utf8).split(separator: "\n").map { try JSONValue.parse(String($0)) }
    }

    func user(_ line: JSONValue) -> String { line["messages"]?.arrayValue?.first?["content"]?.stringValue ?? "" }
    func video(_ line: JSONValue) -> String { line["videos"]?.arrayValue?.first?.stringValue ?? "" }

    // MARK: - Every task gets test items

    func test_sides_give_every_evaluation_file_and_every_QA_attribute_items_on_the_bundled_sample() throws {
        try prepare()
        try addModelSamples()
        let result = try export()
        for e in EvaluationFile.all {
            let f = try XCTUnwrap(result.files.first { $0.set == "evaluation" && $0.task == e.name })
            XCTAssertGreaterThan(f.lines, 0, "\(e.name) is empty; gaps: \(result.evaluationGaps)")
        }
        XCTAssertEqual(result.evaluationGaps, [], "no task is left without items")
        let truth = try XCTUnwrap(try JSONValue.parse(Data(contentsOf: out.appendingPathComponent(EvaluationFile.qaGroundTruthPath))).arrayValue)
        XCTAssertEqual(Set(truth.compactMap { $0["source"]?.stringValue }), Set(EvaluationFile.qaAttributeOrder.map { "QA_\($0)" }))

        // The moves are recorded with their reason, and a second export moves nothing.
        let reasons = try store.clipSplitReasons().values.filter { $0.hasPrefix("eval-cover:") }
        XCTAssertEqual(reasons.count, result.coverMoves.count)
        XCTAssertTrue(result.coverMoves.values.allSatisfy { $0.hasPrefix("eval-cover:") })
        let before = try store.clipSplits()
        let again = try export()
        XCTAssertEqual(try store.clipSplits(), before)
        XCTAssertEqual(again.coverMoves, [:])
    }

    func test_a_task_is_covered_by_moving_a_whole_identity_group_of_new_clips_and_groups_stay_whole() throws {
        try prepare(["MAFW", "CelebV-Text", "AffWild2"])
        // A test fraction of zero puts every group on train: only the cover can give the files items.
        var s = demoSettings()
        s.testFraction = 0
        let result = try export(s)
        for name in ["MAFW_Single-Label-Emotion-Recognition.json", "MAFW_Multiple-Label-Emotion-Recognition.json",
                     "CelebV-Text_Emotion-Caption.json", "CelebV-Text_Appearance-Caption.json", "CelebV-Text_Action-Caption.json",
                     "AffWild2_Action_Unit_Detection.json"] {
            XCTAssertGreaterThan(result.files.first { $0.task == name }?.lines ?? 0, 0, name)
        }
        XCTAssertFalse(result.coverMoves.isEmpty)
        let sides = try store.clipSplits()
        var groups: [String: Set<String>] = [:]
        for c in try store.clips() where c.status == .ok && c.record.split != "test" && c.record.split != "val" {
            if let side = sides[c.uid] { groups["\(c.source)|\(c.record.identity ?? c.uid)", default: []].insert(side) }
        }
        XCTAssertTrue(groups.values.allSatisfy { $0.count == 1 }, "no identity group straddles the sides: \(groups.filter { $0.value.count > 1 }.keys.sorted())")
    }

    // MARK: - Identity recognition

    func test_MEAD_ID_has_every_test_identity_also_on_the_train_side() throws {
        try prepare(["MEAD"])
        let result = try export()
        let file = try XCTUnwrap(result.files.first { $0.task == "MEAD_ID.json" })
        XCTAssertGreaterThan(file.lines, 0)
        let sides = try store.clipSplits()
        let clips = try store.clips(source: "MEAD").filter { $0.status == .ok }
        var sidesOf: [String: Set<String>] = [:]
        for c in clips { if let id = c.record.identity, let side = sides[c.uid] { sidesOf[id, default: []].insert(side) } }
        let testIdentities = sidesOf.filter { $0.value.contains("test") }.keys
        XCTAssertFalse(testIdentities.isEmpty)
        for id in testIdentities { XCTAssertTrue(sidesOf[id]!.contains("train"), "\(id) is only on the test side") }
        // Every identity with two clips or more is on both sides.
        let counts = Dictionary(grouping: clips.compactMap(\.record.identity), by: { $0 }).mapValues(\.count)
        for (id, n) in counts where n >= 2 { XCTAssertEqual(sidesOf[id], ["train", "test"], id) }
        // The answers of the test file are identities that training shows.
        let trainAnswers = Set(clips.filter { sides[$0.uid] == "train" }.compactMap(\.record.identity))
        for l in try lines(file.path) {
            let answer = l["messages"]?.arrayValue?.last?["content"]?.stringValue ?? ""
            XCTAssertTrue(trainAnswers.contains { answer.contains($0) }, answer)
        }
    }

    // MARK: - Micro-expressions

    func test_the_CAS_micro_expression_file_has_only_micro_expression_items() throws {
        try prepare(["CAS(ME)^2", "CASME", "CASME2"])
        let clips = Dictionary(try store.clips().map { ($0.uid, $0) }, uniquingKeysWith: { a, _ in a })
        let samples = try store.samples(stage: "instruct")
        let macro = clips.values.filter { $0.source == "CAS(ME)^2" && $0.record.labels.facts["expression_type"] == "macro" }
        XCTAssertFalse(macro.isEmpty, "the sample has macro-expressions to leave out")
        for s in samples where s.content["kind"]?.stringValue == "micro_expression" {
            let clip = try XCTUnwrap(clips[s.clipUID])
            if clip.source == "CAS(ME)^2" { XCTAssertEqual(clip.record.labels.facts["expression_type"], "micro", s.uid) }
        }
        XCTAssertTrue(samples.contains { s in s.content["kind"]?.stringValue == "expression_type" && macro.contains { $0.uid == s.clipUID } },
                      "macro-expressions keep the expression_type family")
        for source in ["CASME", "CASME2"] {
            XCTAssertTrue(samples.contains { $0.content["kind"]?.stringValue == "micro_expression" && clips[$0.clipUID]?.source == source },
                          "every \(source) clip is a micro-expression")
        }
        let result = try export()
        let file = try XCTUnwrap(result.files.first { $0.task == "CAS_Single-Label-Micro-Expression-Recognition.json" })
        XCTAssertGreaterThan(file.lines, 0)
        let sides = try store.clipSplits()
        let expected = samples.filter {
            $0.content["kind"]?.stringValue == "micro_expression" && $0.form == .open && clips[$0.clipUID]?.source == "CAS(ME)^2"
                && sides[$0.clipUID] == "test"
        }
        XCTAssertEqual(file.lines, expected.count)
    }

    // MARK: - QA

    func test_the_QA_evaluation_file_and_ground_truth_hold_the_same_items_with_unique_keys() throws {
        try prepare(["RAVDESS", "MEAD"])
        // Two attributes of a clip asked the same question: VidEmo would overwrite one with the other.
        try addModelSamples { clip, aspect in ["Nose", "Chin"].contains(aspect) ? "Describe the lower face in \(clip.record.key)." : "What about \(aspect) in \(clip.record.key)?" }
        var settings = demoSettings()
        settings.sampledPerLabel = 200  // every test pair is sampled, so the two questions meet
        let result = try export(settings)
        let truth = try XCTUnwrap(try JSONValue.parse(Data(contentsOf: out.appendingPathComponent(EvaluationFile.qaGroundTruthPath))).arrayValue)
        let qa = try lines(try XCTUnwrap(result.files.first { $0.task == "QA_test_sampling_all.json" && $0.set == "evaluation" }).path)
        XCTAssertEqual(truth.count, qa.count)
        XCTAssertGreaterThan(qa.count, 0)
        for (item, line) in zip(truth, qa) {
            XCTAssertEqual(item["messages"], line["messages"])
            XCTAssertEqual(item["videos"], line["videos"])
        }
        let keys = truth.map { user($0) + video($0) }
        XCTAssertEqual(Set(keys).count, keys.count, "every key (user content + first video) is unique")
        // The first of the two (Chin, in uid order) is kept; the other is in neither file, and reported.
        XCTAssertTrue(truth.contains { $0["source"]?.stringValue == "QA_Chin" })
        XCTAssertFalse(truth.contains { $0["source"]?.stringValue == "QA_Nose" })
        let nose = try XCTUnwrap(result.evaluationGaps.first { $0.file == "QA_test_sampling_all.json#Nose" })
        XCTAssertTrue(nose.reason.contains("duplicates"), nose.reason)
    }

    func test_the_qa_schema_asks_for_every_attribute_once() throws {
        let schema = try JSONValue.parse(Data(contentsOf: repo.appendingPathComponent("schemas/qa.schema.json")))
        let pairs = try XCTUnwrap(schema["properties"]?["pairs"])
        let aspects = try XCTUnwrap(pairs["items"]?["properties"]?["aspect"]?["enum"]?.arrayValue).compactMap(\.stringValue)
        XCTAssertEqual(aspects, QAStage.aspects)
        XCTAssertTrue(Set(EvaluationFile.qaAttributeOrder).isSubset(of: Set(aspects)))
        XCTAssertEqual(pairs["minItems"]?.numberValue, Double(aspects.count), "one pair per aspect is required")
        XCTAssertEqual(pairs["maxItems"]?.numberValue, Double(aspects.count))
        let prompt = try String(contentsOf: repo.appendingPathComponent("prompts/qa/qa.md"), encoding: .utf8)
        XCTAssertFalse(prompt.contains("Skip an aspect"), "the prompt asks for every aspect")
    }

    // MARK: - Gaps

    func test_an_evaluation_gap_is_reported_with_a_reason_when_a_dataset_is_absent() throws {
        try prepare(["RAVDESS"])
        let result = try export()
        let dfew = try XCTUnwrap(result.evaluationGaps.first { $0.file == "DFEW_Single-Label-Emotion-Recognition.json" })
        XCTAssertTrue(dfew.reason.contains("DFEW") && dfew.reason.contains("not in the store"), dfew.reason)
        XCTAssertFalse(result.evaluationGaps.contains { $0.file == "RAVDESS_Fine-grained-Emotion-Recognition.json" })
        // No caption or QA sample at all: each QA attribute is reported.
        for a in EvaluationFile.qaAttributeOrder {
            XCTAssertTrue(result.evaluationGaps.contains { $0.file == "QA_test_sampling_all.json#\(a)" }, a)
        }
        let empty = Set(result.files.filter { $0.set == "evaluation" && $0.lines == 0 }.map(\.task))
        let reported = Set(result.evaluationGaps.map { String($0.file.split(separator: "#")[0]) })
        XCTAssertEqual(empty, reported, "every empty file is reported, and only those")

        // A second export (every side known, so the samples are read only for the empty tasks)
        // reports the same gaps with the same reasons.
        let again = try export()
        XCTAssertEqual(again.evaluationGaps, result.evaluationGaps)
    }

    func test_the_card_lists_empty_evaluation_files_with_their_reason_and_says_the_standin_is_not_real_model_output() throws {
        try prepare(["RAVDESS"])
        let result = try export()
        let pipeline = try PipelineConfig.load(repo.appendingPathComponent("samples/pipeline.yaml"), environment: ["EMOCFG_STANDIN_PORT": "8089"])
        let models = CardModel.from(pipeline)
        XCTAssertTrue(models.contains { $0.role == "judge" } && models.contains { $0.role == "caption" })
        let card = try DatasetCard(store: store, versions: [], toolVersion: "1",
                                   export: CardExport(files: result.files, gaps: result.evaluationGaps, models: models)).markdown()
        XCTAssertTrue(card.contains("`jsons/test/emotion/DFEW_Single-Label-Emotion-Recognition.json` | 0 | **empty**: the dataset DFEW is not in the store"), card)
        XCTAssertTrue(card.contains("Not real model output"))
        XCTAssertTrue(card.contains("standin-vision"))
        XCTAssertTrue(card.contains("JSONL"))
        XCTAssertTrue(card.contains("anno/QA_test_sampling_all/QA_test_sampling_all.json"))
        XCTAssertTrue(card.contains("subset"))
        // The counts are the files' lines: no test-side rationale is counted.
        let full = result.files.filter { $0.set == "full" }.reduce(0) { $0 + $1.lines }
        XCTAssertTrue(card.contains("exported as \(full) lines"), card)

        // Real endpoints: no such warning.
        let real = CardModel(role: "caption", alias: "vision", provider: "openai", model: "gpt-4o", baseURL: "https://api.openai.com/v1")
        let plain = try DatasetCard(store: store, versions: [], toolVersion: "1",
                                    export: CardExport(files: result.files, gaps: [], models: [real])).markdown()
        XCTAssertFalse(plain.contains("Not real model output"))
    }

    // MARK: - concat_receipt.py

    func python() throws -> URL {
        for dir in (ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin").split(separator: ":") {
            let url = URL(fileURLWithPath: String(dir)).appendingPathComponent("python3")
            if FileManager.default.isExecutableFile(atPath: url.path) { return url }
        }
        throw XCTSkip("python3 is not installed: concat_receipt.py cannot be checked")
    }

    func runScript(_ args: [String], in directory: URL) throws -> (status: Int32, out: String, err: String) {
        let p = Process()
        p.executableURL = try python()
        p.arguments = [out.appendingPathComponent(ConcatReceiptScript.path).path] + args
        p.currentDirectoryURL = directory
        let o = out.appendingPathComponent("script.out"), e = out.appendingPathComponent("script.err")
        FileManager.default.createFile(atPath: o.path, contents: nil)
        FileManager.default.createFile(atPath: e.path, contents: nil)
        p.standardOutput = try FileHandle(forWritingTo: o)
        p.standardError = try FileHandle(forWritingTo: e)
        try p.run()
        p.waitUntilExit()
        return (p.terminationStatus, try String(contentsOf: o, encoding: .utf8), try String(contentsOf: e, encoding: .utf8))
    }

    func test_concat_receipt_py_rebuilds_every_version_byte_for_byte_as_receipt_reproduce_does() throws {
        _ = try python()
        try prepare(["RAVDESS", "MEAD", "MAFW"])
        try export()
        // A second export with another source writes new versions; old and new rebuild alike.
        try prepare(["CelebV-HQ"])
        try export()
        let curation = out.appendingPathComponent("jsons/curation")
        let versions = try Curation(out: out).versions()
        XCTAssertGreaterThan(versions.count, 5)
        for v in versions {
            let swift = try Curation(out: out).reproduce(v.version, to: out.appendingPathComponent("swift-\(v.name).jsonl"))
            let py = out.appendingPathComponent("py-\(v.name).jsonl")
            let r = try runScript([v.name, "--to", py.path], in: curation)
            XCTAssertEqual(r.status, 0, r.err)
            XCTAssertTrue(r.out.contains(swift.sha256), r.out)
            XCTAssertEqual(try Data(contentsOf: py), try Data(contentsOf: URL(fileURLWithPath: swift.output)), v.name)
        }
        // From anywhere, with --root, into the version's folder.
        let r = try runScript(["v1", "--root", out.path], in: FileManager.default.temporaryDirectory)
        XCTAssertEqual(r.status, 0, r.err)
        XCTAssertTrue(FileManager.default.fileExists(atPath: curation.appendingPathComponent("v1/train.jsonl").path))
    }

    func test_concat_receipt_py_exits_non_zero_naming_the_shard_and_line_of_a_corrupted_shard() throws {
        _ = try python()
        try prepare(["RAVDESS"])
        try export()
        let v = try XCTUnwrap(try Curation(out: out).versions().last)
        let shard = try XCTUnwrap(v.shards.first { $0.lines >= 3 })
        let url = out.appendingPathComponent(shard.path)
        var lines = try String(contentsOf: url, encoding: .utf8).components(separatedBy: "\n")
        lines[2] = lines[2].replacingOccurrences(of: "\"videos\"", with: "\"videoz\"")
        try Data(lines.joined(separator: "\n").utf8).write(to: url)
        let r = try runScript([v.name], in: out.appendingPathComponent("jsons/curation"))
        XCTAssertEqual(r.status, 1, r.out + r.err)
        XCTAssertTrue(r.err.contains("\(shard.path):3:"), r.err)
        XCTAssertFalse(FileManager.default.fileExists(atPath: out.appendingPathComponent("jsons/curation/\(v.name)/train.jsonl").path))
        // receipt reproduce names the same place.
        XCTAssertThrowsError(try Curation(out: out).reproduce(v.version)) { e in
            XCTAssertEqual((e as? ReproduceError)?.shard, shard.path)
            XCTAssertEqual((e as? ReproduceError)?.line, 3)
        }
    }

    func test_concat_receipt_py_says_so_and_exits_2_when_zstd_shards_need_a_missing_module() throws {
        let py = try python()
        var s = demoSettings()
        s.zstd = true
        try prepare(["RAVDESS"])
        try export(s)
        let probe = Process()
        probe.executableURL = py
        probe.arguments = ["-c", "import zstandard"]
        probe.standardError = FileHandle.nullDevice
        try probe.run()
        probe.waitUntilExit()
        let v = try XCTUnwrap(try Curation(out: out).versions().last)
        let r = try runScript([v.name, "--root", out.path], in: out)
        if probe.terminationStatus == 0 {
            XCTAssertEqual(r.status, 0, r.err)
            let swift = try Curation(out: out).reproduce(v.version, to: out.appendingPathComponent("swift.jsonl"))
            XCTAssertEqual(try Data(contentsOf: out.appendingPathComponent("jsons/curation/\(v.name)/train.jsonl")),
                           try Data(contentsOf: URL(fileURLWithPath: swift.output)))
        } else {
            XCTAssertEqual(r.status, 2, r.err)
            XCTAssertTrue(r.err.contains("zstandard"), r.err)
        }
    }
}
