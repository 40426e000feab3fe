import Annotate
import EmoCFG
import Foundation
import TestSupport
import XCTest

/// Issue 12, item 10: the prompt and schema files of every stage a command will run are read and
/// checked before any request is sent, and a bad one is a configuration error (exit 2) naming it.
final class ProjectFilesCheckTests: XCTestCase {
    let repo = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    var standin: Standin!
    var dir: URL!
    /// A copy of the project's prompts/ and schemas/, for a test to break.
    var project: URL { dir.appendingPathComponent("project") }
    var db: String { dir.appendingPathComponent("emocfg.sqlite").path }

    override func setUpWithError() throws {
        dir = FileManager.default.temporaryDirectory.appendingPathComponent("emocfg-project-check-\(UUID().uuidString)")
        let fm = FileManager.default
        try fm.createDirectory(at: project, withIntermediateDirectories: true)
        for folder in ["prompts", "schemas"] {
            try fm.copyItem(at: repo.appendingPathComponent(folder), to: project.appendingPathComponent(folder))
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

    /// A store with RAVDESS ingested and a stand-in, so that a stage that starts sends requests.
    func prepare() throws {
        standin = try Standin()
        let r = try emocfg(["ingest", "--sources", "samples/sources.yaml", "--source", "RAVDESS"])
        XCTAssertEqual(r.status, 0, r.err)
    }

    func annotateAll() throws -> (status: Int32, out: String, err: String) {
        try emocfg(["annotate", "--stage", "all", "--limit", "1", "--pipeline", "samples/pipeline.yaml", "--project", project.path])
    }

    func schemaURL(_ name: String) -> URL { project.appendingPathComponent("schemas/\(name).schema.json") }

    /// Rewrites a schema file through `edit` on its JSON object.
    func editSchema(_ name: String, _ edit: (inout [String: Any]) -> Void) throws {
        let url = schemaURL(name)
        var o = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(contentsOf: url)) as? [String: Any])
        edit(&o)
        try JSONSerialization.data(withJSONObject: o, options: [.prettyPrinted, .sortedKeys]).write(to: url)
    }

    func test_a_schema_that_is_not_json_stops_annotate_all_before_any_request_naming_the_file() throws {
        try prepare()
        try Data("{ \"type\": \"object\", oops".utf8).write(to: schemaURL("qa"))
        let r = try annotateAll()
        XCTAssertEqual(r.status, 2, r.out + r.err)
        XCTAssertTrue(r.err.contains(schemaURL("qa").path), r.err)
        XCTAssertTrue(r.err.contains("not valid JSON"), r.err)
        XCTAssertEqual(try standin.requests(), 0, "no stage was paid for before the bad file was found")
        XCTAssertFalse(r.out.contains("instruct: in"), "no stage ran: \(r.out)")
    }

    func test_a_schema_without_a_field_its_stage_reads_is_a_config_error_before_any_request() throws {
        try prepare()
        let cases: [(schema: String, field: String, edit: (inout [String: Any]) -> Void)] = [
            ("caption-emotion", "'caption' is not in required", { o in
                o["required"] = (o["required"] as! [String]).filter { $0 != "caption" } }),
            ("qa", "'pairs' is not in properties or required", { o in
                o["properties"] = ["items": ["type": "array"]]
                o["required"] = ["items"] }),
            ("qa", "'pairs[].aspect' is not in required", { o in
                var props = o["properties"] as! [String: Any]
                var pairs = props["pairs"] as! [String: Any]
                var items = pairs["items"] as! [String: Any]
                items["required"] = ["question", "answer"]
                pairs["items"] = items
                props["pairs"] = pairs
                o["properties"] = props }),
            ("rationale", "'rationale' is not in properties", { o in
                var props = o["properties"] as! [String: Any]
                props["explanation"] = props.removeValue(forKey: "rationale")
                o["properties"] = props }),
        ]
        let pristine = project.appendingPathComponent("pristine")
        try FileManager.default.copyItem(at: project.appendingPathComponent("schemas"), to: pristine)
        for c in cases {
            try FileManager.default.removeItem(at: project.appendingPathComponent("schemas"))
            try FileManager.default.copyItem(at: pristine, to: project.appendingPathComponent("schemas"))
            try editSchema(c.schema, c.edit)
            let r = try annotateAll()
            XCTAssertEqual(r.status, 2, "\(c.schema): " + r.out + r.err)
            XCTAssertTrue(r.err.contains(schemaURL(c.schema).path), "\(c.schema): " + r.err)
            XCTAssertTrue(r.err.contains(c.field), "\(c.schema): " + r.err)
            XCTAssertEqual(try standin.requests(), 0, "\(c.schema): nothing sent")
        }
    }

    func test_the_stages_of_a_command_are_made_up_front_and_the_shipped_files_pass() throws {
        let library = PromptLibrary(prompts: repo.appendingPathComponent("prompts"), schemas: repo.appendingPathComponent("schemas"))
        XCTAssertEqual(Set(try AnnotateStages.modelStages(AnnotateStages.names, library: library).keys), ["caption", "qa", "rationale", "tree"])
        try FileManager.default.removeItem(at: schemaURL("rationale"))
        let broken = PromptLibrary(prompts: project.appendingPathComponent("prompts"), schemas: project.appendingPathComponent("schemas"))
        XCTAssertNoThrow(try AnnotateStages.modelStages(["instruct", "caption", "qa"], library: broken))
        XCTAssertThrowsError(try AnnotateStages.modelStages(["caption", "rationale"], library: broken)) { error in
            XCTAssertTrue("\(error)".contains(self.schemaURL("rationale").path), "\(error)")
        }
    }

    func test_a_missing_prompt_points_to_the_project_option_that_exists() throws {
        let library = PromptLibrary(prompts: dir.appendingPathComponent("nowhere/prompts"), schemas: dir.appendingPathComponent("nowhere/schemas"))
        for attempt in [{ _ = try library.prompt("qa", "qa") }, { _ = try library.schema("qa") }] {
            XCTAssertThrowsError(try attempt()) { error in
                let message = "\(error)"
                XCTAssertTrue(message.contains("--project DIR"), message)
                XCTAssertTrue(message.contains("nowhere/"), message)
                XCTAssertFalse(message.contains("--prompts"), message)
            }
        }
        // And as the command says it.
        standin = try Standin()
        try FileManager.default.removeItem(at: project.appendingPathComponent("prompts/qa/qa.md"))
        let r = try emocfg(["annotate", "--stage", "qa", "--pipeline", "samples/pipeline.yaml", "--project", project.path])
        XCTAssertEqual(r.status, 2, r.out + r.err)
        XCTAssertTrue(r.err.contains(project.appendingPathComponent("prompts/qa/qa.md").path), r.err)
        XCTAssertTrue(r.err.contains("--project DIR"), r.err)
        XCTAssertFalse(r.err.contains("--prompts"), r.err)
    }
}
