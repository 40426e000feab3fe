import EmoCFG
import Export
import Foundation
import TestSupport
import XCTest

/// `emocfg run` as a user runs it on the bundled sample, against the stand-in: the whole sequence,
/// the tree, the receipts, the report; and a run that fails part-way and resumes there.
final class RunCommandTests: XCTestCase {
    let repo = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    var standin: Standin!
    var dir: URL!
    var db: String { dir.appendingPathComponent("emocfg.sqlite").path }
    var out: URL { dir.appendingPathComponent("export") }

    override func setUpWithError() throws {
        dir = FileManager.default.temporaryDirectory.appendingPathComponent("emocfg-run-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        standin = try Standin()
    }

    override func tearDown() {
        standin?.stop()
        try? FileManager.default.removeItem(at: dir)
    }

    @discardableResult
    func emocfg(_ args: [String]) throws -> (status: Int32, out: String, err: String) {
        var env = ProcessInfo.processInfo.environment
        env["EMOCFG_STANDIN_PORT"] = "\(standin.port)"
        env["EMOCFG_DEMO_KEY"] = "demo-key"
        // `receipt` reads only the export folder; every other command takes the store.
        return try runExecutable("emocfg", args + (args.first == "receipt" ? [] : ["--db", db]), in: repo, environment: env)
    }

    func run(_ extra: [String] = []) throws -> (status: Int32, out: String, err: String) {
        try emocfg(["run", "--sources", "samples/sources.yaml", "--pipeline", "samples/pipeline.yaml", "--out", out.path] + extra)
    }

    func test_the_whole_sequence_on_the_bundled_sample_gives_the_tree_reproducible_receipts_and_a_report() throws {
        let r = try run(["--json"])
        XCTAssertEqual(r.status, 0, r.err)
        for stage in ["== ingest", "== annotate", "== verify", "== export", "== reproduce"] { XCTAssertTrue(r.out.contains(stage), stage) }

        // The counters of every stage, machine-readable, as the last JSON object printed.
        let last = try XCTUnwrap(r.out.range(of: "{\n  \"seconds\"", options: .backwards))
        let report = try JSONValue.parse(String(r.out[last.lowerBound...]))
        let stages = try XCTUnwrap(report["summary"]?.arrayValue).compactMap { $0["stage"]?.stringValue }
        XCTAssertEqual(Array(stages.prefix(9)), ["ingest", "instruct", "caption", "qa", "rationale", "tree", "verify", "render", "export"])
        XCTAssertTrue(stages.contains("reproduce v6"))
        for row in try XCTUnwrap(report["summary"]?.arrayValue) {
            for key in ["in", "done", "failed", "skipped", "requests", "tokens", "cost", "seconds"] { XCTAssertNotNil(row[key], key) }
        }
        let caption = try XCTUnwrap(report["summary"]?.arrayValue?.first { $0["stage"]?.stringValue == "caption" })
        XCTAssertGreaterThan(caption["requests"]?.numberValue ?? 0, 0, "the captions came over HTTP from the stand-in")

        // The tree: shards on both sides, every evaluation file, the QA ground truth, five versions.
        let fm = FileManager.default
        for side in ["train", "test"] {
            for task in ["attribute", "caption", "emotion", "qa"] {
                let full = out.appendingPathComponent("jsons/\(side)/\(task)/full")
                XCTAssertFalse(try fm.contentsOfDirectory(atPath: full.path).isEmpty, full.path)
            }
        }
        XCTAssertFalse(try fm.contentsOfDirectory(atPath: out.appendingPathComponent("jsons/train/rationale/full").path).isEmpty)
        for e in EvaluationFile.all { XCTAssertTrue(fm.fileExists(atPath: out.appendingPathComponent(e.path).path), e.name) }
        XCTAssertTrue(fm.fileExists(atPath: out.appendingPathComponent(EvaluationFile.qaGroundTruthPath).path))
        // Every evaluation file has items, and the qa stage (through the stand-in) covered all 15 attributes.
        for e in EvaluationFile.all {
            let text = try String(contentsOf: out.appendingPathComponent(e.path), encoding: .utf8)
            XCTAssertFalse(text.isEmpty, "\(e.name) is empty")
        }
        let truth = try XCTUnwrap(try JSONValue.parse(Data(contentsOf: out.appendingPathComponent(EvaluationFile.qaGroundTruthPath))).arrayValue)
        XCTAssertEqual(Set(truth.compactMap { $0["source"]?.stringValue }), Set(EvaluationFile.qaAttributeOrder.map { "QA_\($0)" }))
        XCTAssertFalse(r.out.contains("Evaluation tasks without items"), r.out)
        XCTAssertTrue(fm.fileExists(atPath: out.appendingPathComponent(ConcatReceiptScript.path).path))
        let versions = try Curation(out: out).versions()
        XCTAssertEqual(versions.map(\.name), ["v1", "v2", "v3", "v4", "v5", "v6"])

        // The receipts reproduce, from the CLI, and the mix is the shards concatenated.
        for v in versions {
            let rr = try emocfg(["receipt", "reproduce", v.name, "--out", out.path, "--json"])
            XCTAssertEqual(rr.status, 0, rr.err)
            var expected = Data()
            for s in v.shards { expected += try Data(contentsOf: out.appendingPathComponent(s.path)) }
            XCTAssertEqual(try Data(contentsOf: out.appendingPathComponent("jsons/curation/\(v.name)/train.jsonl")), expected, v.name)
        }

        // The statistics report and the dataset card.
        let statsDir = dir.appendingPathComponent("report")
        let s = try emocfg(["stats", "--out", statsDir.path])
        XCTAssertEqual(s.status, 0, s.err)
        let html = try String(contentsOf: statsDir.appendingPathComponent("index.html"), encoding: .utf8)
        XCTAssertTrue(html.contains("<svg"))
        XCTAssertFalse(html.contains("http://") || html.contains("https://"), "self-contained")
        XCTAssertNoThrow(try JSONValue.parse(Data(contentsOf: statsDir.appendingPathComponent("stats.json"))))
        let card = try String(contentsOf: out.appendingPathComponent("README.md"), encoding: .utf8)
        for needle in ["RAVDESS", "MELD", "v5", "train", "test", "Not real model output", "standin-vision", "MEAD_ID.json"] {
            XCTAssertTrue(card.contains(needle), needle)
        }

        // A second run does no model work again: everything is stored.
        let again = try run(["--json"])
        XCTAssertEqual(again.status, 0, again.err)
        let againReport = try JSONValue.parse(String(again.out[try XCTUnwrap(again.out.range(of: "{\n  \"seconds\"", options: .backwards)).lowerBound...]))
        let requests = try XCTUnwrap(againReport["summary"]?.arrayValue).reduce(0.0) { $0 + ($1["requests"]?.numberValue ?? 0) }
        XCTAssertEqual(requests, 0)
        XCTAssertEqual(try Curation(out: out).versions().count, 6, "nothing changed, so no new version")
    }

    func test_a_run_that_fails_part_way_resumes_at_the_failed_stage() throws {
        // The export folder's parent is a file: every stage before export works, export cannot.
        let blocker = dir.appendingPathComponent("blocked")
        try Data("not a folder".utf8).write(to: blocker)
        let target = blocker.appendingPathComponent("export").path
        let first = try emocfg(["run", "--sources", "samples/sources.yaml", "--pipeline", "samples/pipeline.yaml", "--out", target])
        XCTAssertEqual(first.status, 2, "the failing stage's own exit status: an error")
        XCTAssertTrue(first.err.contains("the run stopped at export"), first.err)
        XCTAssertTrue(first.out.contains("== verify"))
        let stored = try XCTUnwrap(try Store(path: db).lastPipelineRun())
        XCTAssertEqual(stored.status, "failed")
        XCTAssertEqual(stored.stage, "export")
        XCTAssertEqual(stored.summary.map(\.stage).prefix(2), ["ingest", "instruct"])
        let requestsBefore = try standin.requests()

        try FileManager.default.removeItem(at: blocker)
        let second = try emocfg(["run", "--sources", "samples/sources.yaml", "--pipeline", "samples/pipeline.yaml", "--out", target])
        XCTAssertEqual(second.status, 0, second.err)
        XCTAssertTrue(second.out.contains("Resuming at export"), second.out)
        XCTAssertFalse(second.out.contains("== ingest") || second.out.contains("== annotate") || second.out.contains("== verify"))
        XCTAssertTrue(second.out.contains("== reproduce"))
        XCTAssertTrue(second.out.contains("ingest") && second.out.contains("verify"), "the summary still lists the stages of the first call")
        XCTAssertEqual(try standin.requests(), requestsBefore, "resuming sent no model request")
        XCTAssertEqual(try Store(path: db).lastPipelineRun()?.status, "done")
        XCTAssertEqual(try Curation(out: URL(fileURLWithPath: target)).versions().count, 6)

        // --restart begins at ingest again.
        let third = try emocfg(["run", "--sources", "samples/sources.yaml", "--pipeline", "samples/pipeline.yaml", "--out", target, "--restart"])
        XCTAssertEqual(third.status, 0, third.err)
        XCTAssertTrue(third.out.contains("== ingest"))
    }
}
