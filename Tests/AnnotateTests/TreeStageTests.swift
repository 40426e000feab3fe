import EmoCFG
import Foundation
import TestSupport
import XCTest

/// `emocfg annotate --stage tree` against the stand-in: one valid affective tree per clip with its
/// captions, nothing sent again on a rerun, and a model that keeps writing broken trees recorded
/// as failed with the reason.
final class TreeStageTests: XCTestCase {
    let repo = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    var standin: Standin!
    var dir: URL!
    var db: String { dir.appendingPathComponent("emocfg.sqlite").path }

    override func setUpWithError() throws {
        dir = FileManager.default.temporaryDirectory.appendingPathComponent("emocfg-tree-\(UUID().uuidString)")
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
        return try runExecutable("emocfg", args + ["--db", db], in: repo, environment: env)
    }

    func test_the_tree_stage_writes_one_valid_tree_per_captioned_clip_and_a_rerun_sends_nothing() throws {
        XCTAssertEqual(try emocfg(["ingest", "--sources", "samples/sources.yaml", "--source", "RAVDESS"]).status, 0)
        let all = try emocfg(["annotate", "--stage", "all", "--pipeline", "samples/pipeline.yaml"])
        XCTAssertEqual(all.status, 0, all.err + all.out)
        XCTAssertTrue(all.out.contains("tree: in 9, done 9"), "`all` runs the tree stage after rationale: \(all.out)")
        let store = try Store(path: db)
        let trees = try store.samples(stage: "tree")
        XCTAssertEqual(trees.count, 9)
        let captions = Dictionary(grouping: try store.samples(stage: "caption"), by: \.clipUID)
        for t in trees {
            XCTAssertEqual(t.task, .tree)
            XCTAssertEqual(t.form, .open)
            XCTAssertEqual(t.uid, "tree/\(t.clipUID)")
            let answer = try XCTUnwrap(t.content["answer"]?.stringValue)
            XCTAssertTrue(answer.hasPrefix("<tree>") && answer.hasSuffix("</tree>"), answer)
            let tree = try AffectiveTree.parse(description: answer)
            XCTAssertEqual(tree.structuralProblems(), [])
            XCTAssertTrue(t.content["question"]?.stringValue?.contains("<tree>") == true)
            XCTAssertEqual(t.parentUID, captions[t.clipUID]?.first { $0.task == .emotion }?.uid, "the tree hangs from the emotion caption")
        }
        let sent = try standin.requests()
        let again = try emocfg(["annotate", "--stage", "tree", "--pipeline", "samples/pipeline.yaml"])
        XCTAssertEqual(again.status, 0, again.err)
        XCTAssertTrue(again.out.contains("tree: in 0,"), again.out)
        XCTAssertEqual(try standin.requests(), sent)
    }

    func test_a_model_that_writes_broken_trees_is_asked_again_then_the_item_fails_with_the_reason() throws {
        XCTAssertEqual(try emocfg(["ingest", "--sources", "samples/sources.yaml", "--source", "RAVDESS"]).status, 0)
        XCTAssertEqual(try emocfg(["annotate", "--stage", "caption", "--pipeline", "samples/pipeline.yaml", "--limit", "1"]).status, 0)
        // Schema-valid, structurally broken: x2 supports no emotion.
        let broken = #"{"attributes": [{"id": "a1", "aspect": "Eyebrows", "item": "raised"}], "expressions": [{"id": "x1", "aspect": "Brows", "item": "lift", "supported_by": ["a1"]}, {"id": "x2", "aspect": "Mouth", "item": "open", "supported_by": ["a1"]}], "emotions": [{"id": "m1", "item": "surprise", "supported_by": ["x1"]}]}"#
        try standin.answers(#"[{"model": "standin-text", "times": -1, "match": "affective tree", "content": \#(broken)}]"#)
        let r = try emocfg(["annotate", "--stage", "tree", "--pipeline", "samples/pipeline.yaml"])
        XCTAssertNotEqual(r.status, 0, "a failed item makes the command exit non-zero")
        let store = try Store(path: db)
        XCTAssertEqual(try store.samples(stage: "tree").count, 0)
        let failures = try store.failures(stage: "tree")
        XCTAssertEqual(failures.count, 1)
        XCTAssertTrue(failures.first?.reason.contains("expression 'x2' supports no emotion") == true, "\(failures)")
        XCTAssertGreaterThan(try standin.requests(), 1 + 3, "the broken answer was asked for again")
    }
}
