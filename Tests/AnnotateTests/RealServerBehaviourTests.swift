import EmoCFG
import Foundation
import TestSupport
import XCTest

/// What a real OpenAI-compatible server (llama.cpp's) does that the plain stand-in did not, each
/// reproduced by a stand-in option over loopback: text-only models, answers cut at the token
/// limit, the served model's name, timeouts, and the order of a schema's properties.
final class RealServerBehaviourTests: XCTestCase {
    let repo = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    var standin: Standin!
    var store: Store!
    let env = ["EMOCFG_TEST_KEY": "sk-test-0123456789"]
    var library: PromptLibrary {
        PromptLibrary(prompts: repo.appendingPathComponent("prompts"), schemas: repo.appendingPathComponent("schemas"))
    }

    override func setUpWithError() throws {
        store = try Store(path: try temporaryStorePath())
    }

    override func tearDown() { standin?.stop() }

    func client(_ models: [ModelConfig]) -> LLMClient {
        var o = LLMClient.Options()
        o.backoffBase = 0.01
        return LLMClient(store: store, models: models, environment: env, options: o)
    }

    func send(_ c: LLMClient, _ r: LLMRequest, _ m: ModelConfig) throws -> Result<LLMAnswer, LLMError> {
        try blocking {
            do throws(LLMError) { return .success(try await c.send(r, model: m)) } catch { return .failure(error) }
        }
    }

    func request(_ schema: String, stage: String = "caption", image: Bool = false, text: String = "A person frowns.") throws -> LLMRequest {
        LLMRequest(stage: stage, messages: [.system("Answer."), .user((image ? [.image(LLMImage(jpeg: Data([0xFF, 0xD8, 1])))] : []) + [.text(text)])],
                   schema: try library.schema(schema), schemaName: schema, promptID: "t/\(schema)", promptHash: "h")
    }

    // MARK: - Images sent to a text-only server

    func test_a_text_only_server_refusing_images_fails_at_once_naming_the_model_and_the_setting() throws {
        standin = try Standin(arguments: ["--text-only"])
        let m = model(.openai, standin)
        let c = client([m])
        guard case .failure(.failed(_, let status, let attempts, let message)) = try send(c, try request("caption-attribute", image: true), m) else {
            return XCTFail("expected a failure")
        }
        XCTAssertEqual(status, 500)
        XCTAssertEqual(attempts, 1, "permanent for this model: not retried")
        XCTAssertEqual(try standin.requests(), 1)
        XCTAssertTrue(message.contains("does not accept images") && message.contains("stages.caption") && message.contains("'vision'"), message)
        // The server says so up front (GET /props), so nothing needs to be sent to find out.
        let refusal = try blocking { await c.imageInputRefusal(model: m, stage: "verify") }
        XCTAssertTrue(refusal?.contains("critic.judges") == true, refusal ?? "nil")
        // A text request to the same server is answered.
        XCTAssertNoThrow(try send(c, try request("rationale", stage: "rationale"), m).get())
    }

    func test_annotate_checks_the_caption_model_takes_images_before_any_request() throws {
        standin = try Standin(arguments: ["--text-only"])
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("emocfg-textonly-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let db = dir.appendingPathComponent("s.sqlite").path
        var environment = ProcessInfo.processInfo.environment
        environment["EMOCFG_STANDIN_PORT"] = "\(standin.port)"
        environment["EMOCFG_DEMO_KEY"] = "demo-key"
        XCTAssertEqual(try runExecutable("emocfg", ["ingest", "--sources", "samples/sources.yaml", "--source", "RAVDESS", "--db", db],
                                         in: repo, environment: environment).status, 0)
        let r = try runExecutable("emocfg", ["annotate", "--stage", "caption", "--pipeline", "samples/pipeline.yaml", "--db", db],
                                  in: repo, environment: environment)
        XCTAssertEqual(r.status, 2, r.err)
        XCTAssertTrue(r.err.contains("does not accept images") && r.err.contains("stages.caption"), r.err)
        XCTAssertEqual(try standin.requests(), 0)
    }

    // MARK: - Answers cut at the output limit

    func test_an_answer_cut_at_max_tokens_is_asked_again_with_a_larger_limit_up_to_the_ceiling() throws {
        standin = try Standin()
        let long = String(repeating: "The brows are drawn together and the mouth is tight. ", count: 8)
        try standin.answers(#"[{"model": "standin-vision", "times": -1, "content": {"caption": "\#(long)", "cues": ["brows"]}}]"#)
        var m = model(.openai, standin)
        m.maxOutputTokens = 20
        m.maxOutputTokensCeiling = 40
        guard case .failure(.failed(_, _, let attempts, let message)) = try send(client([m]), try request("caption-attribute"), m) else {
            return XCTFail("expected a failure at the ceiling")
        }
        XCTAssertEqual(attempts, 2, "20, then 40 (the ceiling), then no identical retry")
        XCTAssertTrue(message.contains("cut off at max_output_tokens = 40") && message.contains("max_output_tokens_ceiling"), message)

        m.maxOutputTokensCeiling = 400
        let c = client([m])
        let a = try send(c, try request("caption-attribute", text: "Another clip."), m).get()
        XCTAssertEqual(a.json?["caption"]?.stringValue, long)
        XCTAssertEqual(a.attempts, 4, "20, 40, 80 cut; 160 holds the whole answer")
        let s = try standin.control("GET", "/_standin/stats")
        XCTAssertEqual(a.usage.output, Int(s["completion_tokens"]?.numberValue ?? 0) - 20 - 40, "the cut answers are billed too")
    }

    func test_gemini_max_tokens_is_recognised_as_a_cut() throws {
        standin = try Standin()
        try standin.answers(#"[{"model": "standin-text", "times": -1, "content": {"caption": "\#(String(repeating: "frown ", count: 40))", "cues": ["brows"]}}]"#)
        var m = model(.gemini, standin)
        m.maxOutputTokens = 10
        m.maxOutputTokensCeiling = 10
        guard case .failure(.failed(_, _, let attempts, let message)) = try send(client([m]), try request("caption-attribute"), m) else {
            return XCTFail("expected a failure")
        }
        XCTAssertEqual(attempts, 1)
        XCTAssertTrue(message.contains("cut off at max_output_tokens = 10"), message)
    }

    // MARK: - Timeouts, the served model

    func test_a_timeout_names_timeout_seconds_and_the_model() throws {
        standin = try Standin()
        try standin.faults(#"[{"fault": "slow", "delay_ms": 1500, "times": 10}]"#)
        var m = model(.openai, standin)
        m.timeoutSeconds = 0.3
        m.maxAttempts = 1
        guard case .failure(.failed(_, _, _, let message)) = try send(client([m]), try request("caption-attribute"), m) else {
            return XCTFail("expected a timeout")
        }
        XCTAssertTrue(message.contains("timeout_seconds = 0.3") && message.contains("models.vision.timeout_seconds"), message)
    }

    func test_the_model_the_server_says_answered_is_stored() throws {
        standin = try Standin(arguments: ["--served-model", "gemma-3-270m-it"])
        for provider in [ModelConfig.Provider.openai, .gemini] {
            let m = model(provider, standin)
            let a = try send(client([m]), try request("caption-attribute", text: "\(provider)"), m).get()
            XCTAssertEqual(try store.call(key: a.key)?.servedModel, "gemma-3-270m-it")
            XCTAssertEqual(try store.call(key: a.key)?.model, m.model, "the configured name stays")
        }
    }

    // MARK: - Property order

    func test_schemas_are_sent_with_their_properties_in_the_authored_order() throws {
        standin = try Standin()
        for provider in [ModelConfig.Provider.openai, .gemini] {
            let m = model(provider, standin)
            let c = client([m])
            _ = try send(c, try request("rationale", stage: "rationale", text: "r \(provider)"), m).get()
            _ = try send(c, try request("critic-verdict", stage: "verify", text: "v \(provider)"), m).get()
        }
        let orders = try XCTUnwrap(try standin.control("GET", "/_standin/stats")["property_orders"])
        XCTAssertEqual(orders["rationale,cues,emotion"]?.numberValue, 2, "the reasoning before the conclusion, both providers: \(orders)")
        XCTAssertEqual(orders["wrong_aspects,suggestion,pass"]?.numberValue, 2, "the judge's reasons before its verdict: \(orders)")
        XCTAssertNil(orders["cues,emotion,rationale"], "never alphabetical")
    }

    func test_the_order_is_read_from_the_file_and_does_not_change_the_cache_key() throws {
        let text = #"{"type": "object", "required": ["z", "a"], "properties": {"z": {"type": "object", "properties": {"y": {"type": "string"}, "b": {"type": "string"}}}, "a": {"type": "string"}}}"#
        let schema = try SchemaOrder.parse(Data(text.utf8))
        XCTAssertEqual(schema["propertyOrdering"], ["z", "a"])
        XCTAssertEqual(schema["properties"]?["z"]?["propertyOrdering"], ["y", "b"])
        let wire = SchemaOrder.wireText(schema)
        XCTAssertEqual(wire, #"{"properties":{"z":{"properties":{"y":{"type":"string"},"b":{"type":"string"}},"type":"object"},"a":{"type":"string"}},"required":["z","a"],"type":"object"}"#)
        // The canonical form hashed into cache keys ignores the order: stored answers keep answering.
        let plain = try JSONValue.parse(Data(text.utf8))
        XCTAssertEqual(SchemaOrder.withoutOrdering(schema), plain)
        let m = ModelConfig(alias: "a", provider: .openai, baseURL: "http://127.0.0.1:1/v1", model: "m", keyEnv: nil)
        let r1 = LLMRequest(stage: "s", messages: [.user([.text("x")])], schema: schema, schemaName: "n", promptID: "p", promptHash: "h")
        var r2 = r1
        r2.schema = plain
        XCTAssertEqual(r1.cacheKey(for: m), r2.cacheKey(for: m))
    }
}
