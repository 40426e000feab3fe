import Critic
import EmoCFG
import Foundation
import TestSupport
import XCTest

/// Issue 12, item 10, for verify: the critic's prompts and schemas are read when the runner is made,
/// before any request; a schema that is not JSON, or a verdict or rewrite schema without a field
/// the runner reads, is a configuration error (exit 2) naming the file.
final class CriticProjectFilesTests: XCTestCase {
    let repo = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    var standin: Standin!
    var dir: URL!
    var project: URL { dir.appendingPathComponent("project") }
    var db: String { dir.appendingPathComponent("emocfg.sqlite").path }

    override func setUpWithError() throws {
        dir = FileManager.default.temporaryDirectory.appendingPathComponent("emocfg-critic-files-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: project, withIntermediateDirectories: true)
        for folder in ["prompts", "schemas"] {
            try FileManager.default.copyItem(at: repo.appendingPathComponent(folder), to: project.appendingPathComponent(folder))
        }
    }

    override func tearDown() {
        standin?.stop()
        try? FileManager.default.removeItem(at: dir)
    }

    func emocfg(_ args: [String]) throws -> (status: Int32, out: String, err: String) {
        var env = ProcessInfo.processInfo.environment
        env["EMOCFG_STANDIN_PORT"] = "\(standin.port)"
        env["EMOCFG_DEMO_KEY"] = "demo-key"
        return try runExecutable("emocfg", args + ["--db", db], in: repo, environment: env)
    }

    func schemaURL(_ name: String) -> URL { project.appendingPathComponent("schemas/\(name).schema.json") }

    func verify() throws -> (status: Int32, out: String, err: String) {
        try emocfg(["verify", "--include-instruct", "--limit", "2", "--pipeline", "samples/pipeline.yaml", "--project", project.path])
    }

    func test_bad_critic_schemas_stop_verify_before_any_request_naming_the_file() throws {
        standin = try Standin()
        // Undecided samples without any model: the label-derived ones, voted on with --include-instruct.
        XCTAssertEqual(try emocfg(["ingest", "--sources", "samples/sources.yaml", "--source", "RAVDESS"]).status, 0)
        XCTAssertEqual(try emocfg(["annotate", "--stage", "instruct", "--limit", "1", "--project", project.path]).status, 0)
        let verdict = try String(contentsOf: schemaURL("critic-verdict"), encoding: .utf8)
        let rewrite = try String(contentsOf: schemaURL("rewrite"), encoding: .utf8)
        let cases: [(schema: String, text: String, expect: String)] = [
            ("critic-verdict", "not json at all", "not valid JSON"),
            // `pass` declared but not required: an answer without it would count as a failed vote.
            ("critic-verdict", verdict.replacingOccurrences(of: "\"suggestion\",\n    \"pass\"\n", with: "\"suggestion\"\n"), "'pass' is not in required"),
            ("rewrite", rewrite.replacingOccurrences(of: "\"answer\": {", with: "\"text\": {")
                .replacingOccurrences(of: "\"answer\"\n", with: "\"text\"\n"), "'answer' is not in properties or required"),
        ]
        for c in cases {
            try Data(verdict.utf8).write(to: schemaURL("critic-verdict"))
            try Data(rewrite.utf8).write(to: schemaURL("rewrite"))
            try Data(c.text.utf8).write(to: schemaURL(c.schema))
            XCTAssertNotEqual(c.text, c.schema == "rewrite" ? rewrite : verdict, "the edit applies")
            let r = try verify()
            XCTAssertEqual(r.status, 2, "\(c.expect): " + r.out + r.err)
            XCTAssertTrue(r.err.contains(schemaURL(c.schema).path), "\(c.expect): " + r.err)
            XCTAssertTrue(r.err.contains(c.expect), "\(c.expect): " + r.err)
            XCTAssertEqual(try standin.requests(), 0, "\(c.expect): nothing sent")
        }
        // The shipped files pass, and the judges are asked.
        try Data(verdict.utf8).write(to: schemaURL("critic-verdict"))
        try Data(rewrite.utf8).write(to: schemaURL("rewrite"))
        let ok = try verify()
        XCTAssertEqual(ok.status, 0, ok.out + ok.err)
        XCTAssertGreaterThan(try standin.requests(), 0)
    }

    func test_the_fields_the_runner_reads_are_checked_in_the_shipped_schemas() throws {
        let library = PromptLibrary(prompts: repo.appendingPathComponent("prompts"), schemas: repo.appendingPathComponent("schemas"))
        XCTAssertEqual(PromptLibrary.undeclared(CriticRunner.verdictFields, in: try library.schema("critic-verdict")), [])
        XCTAssertEqual(PromptLibrary.undeclared(CriticRunner.rewriteFields, in: try library.schema("rewrite")), [])
        XCTAssertEqual(PromptLibrary.undeclared(["pass", "wrong_aspects"], in: .object(["properties": .object(["pass": .object([:])]),
                                                                                         "required": .array([.string("pass")])])),
                       ["'wrong_aspects' is not in properties or required"])
    }
}
