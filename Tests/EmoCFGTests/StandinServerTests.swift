import AsyncHTTPClient
import Foundation
import NIOCore
import XCTest

/// `emocfg-standin`, the local stand-in for the provider APIs, run as a process and spoken to over
/// real HTTP on loopback, the way the LLM client's tests and the demo use it.
final class StandinServerTests: XCTestCase {
    var processes: [StandinProcess] = []
    var client: HTTPClient!

    override func setUp() async throws {
        var configuration = HTTPClient.Configuration()
        configuration.connectionPool.concurrentHTTP1ConnectionsPerHostSoftLimit = 64
        client = HTTPClient(eventLoopGroupProvider: .singleton, configuration: configuration)
    }

    override func tearDown() async throws {
        for process in processes { process.stop() }
        processes = []
        try await client.shutdown()
    }

    /// Starts a stand-in on a free port; `tearDown` stops it.
    func start(_ arguments: [String] = []) throws -> StandinAPI {
        let process = try StandinProcess(arguments: arguments, testBundle: Bundle(for: StandinServerTests.self))
        processes.append(process)
        return StandinAPI(baseURL: process.baseURL, client: client)
    }

    // MARK: - Fixtures

    static var captionSchema: [String: Any] { [
        "type": "object",
        "properties": [
            "caption": ["type": "string", "minLength": 10],
            "emotion": ["type": "string", "enum": ["happy", "sad", "angry", "neutral"]],
            "cues": ["type": "array", "items": ["type": "string"], "minItems": 2, "maxItems": 4],
            "intensity": ["type": "integer", "minimum": 2, "maximum": 5],
            "confidence": ["type": "number", "minimum": 0, "maximum": 1],
            "speaking": ["type": "boolean"],
            "face": ["type": "object",
                     "properties": ["age": ["type": "string"], "gender": ["type": "string", "enum": ["female", "male"]]],
                     "required": ["age", "gender"], "additionalProperties": false],
        ],
        "required": ["caption", "emotion", "cues", "intensity", "confidence", "speaking", "face"],
        "additionalProperties": false,
    ] }

    /// The same shape in Gemini's dialect: upper-case types, `nullable`, `propertyOrdering`.
    static var geminiJudgeSchema: [String: Any] { [
        "type": "OBJECT",
        "properties": [
            "pass": ["type": "BOOLEAN"],
            "wrong_aspects": ["type": "ARRAY", "items": ["type": "STRING", "enum": ["emotion", "expression", "attribute"]], "minItems": 1],
            "suggestion": ["type": "STRING", "nullable": true],
            "score": ["type": "INTEGER", "minimum": 1, "maximum": 10],
        ],
        "required": ["pass", "wrong_aspects", "suggestion"],
        "propertyOrdering": ["suggestion", "pass", "wrong_aspects", "score"],
    ] }

    static func frame(_ seed: UInt8, bytes: Int = 64) -> String {
        Data((0..<bytes).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ Int(seed)) }).base64EncodedString()
    }

    static func openAIBody(_ userText: String, frames: [String] = [frame(1)], schema: [String: Any]? = captionSchema,
                           model: String = "gpt-4o-mini", maxTokens: Int? = nil) -> [String: Any] {
        var parts: [[String: Any]] = [["type": "text", "text": userText]]
        parts += frames.map { ["type": "image_url", "image_url": ["url": "data:image/jpeg;base64,\($0)"]] }
        var body: [String: Any] = [
            "model": model,
            "messages": [["role": "system", "content": "You describe faces in video frames."], ["role": "user", "content": parts]],
            "temperature": 0.2, "seed": 7,
        ]
        if let schema { body["response_format"] = ["type": "json_schema", "json_schema": ["name": "caption", "schema": schema, "strict": true]] }
        if let maxTokens { body["max_completion_tokens"] = maxTokens }
        return body
    }

    static func geminiBody(_ userText: String, frames: [String] = [frame(1)], camelCase: Bool = false) -> [String: Any] {
        let images: [[String: Any]] = frames.map {
            camelCase ? ["inlineData": ["mimeType": "image/jpeg", "data": $0]] : ["inline_data": ["mime_type": "image/jpeg", "data": $0]]
        }
        return [
            "contents": [["role": "user", "parts": [["text": userText]] + images]],
            "systemInstruction": ["parts": [["text": "You judge captions."]]],
            "generationConfig": ["responseMimeType": "application/json", "responseSchema": geminiJudgeSchema,
                                 "temperature": 0, "maxOutputTokens": 2048],
        ]
    }

    // MARK: - Start and stop

    func test_it_announces_the_port_it_bound_on_loopback_and_writes_it_to_the_port_file() throws {
        let api = try start()
        let process = try XCTUnwrap(processes.last)
        XCTAssertGreaterThan(process.port, 0)
        XCTAssertEqual(process.announcement, "listening on http://127.0.0.1:\(process.port)")
        XCTAssertEqual(api.baseURL, "http://127.0.0.1:\(process.port)")
    }

    func test_sigterm_stops_it_with_status_0() throws {
        _ = try start()
        let process = try XCTUnwrap(processes.last)
        XCTAssertTrue(process.process.isRunning)
        XCTAssertEqual(process.stop(), 0)
    }

    func test_it_refuses_to_listen_beyond_loopback() throws {
        let r = try StandinProcess.run(["--port", "0", "--host", "0.0.0.0"], testBundle: Bundle(for: StandinServerTests.self))
        XCTAssertEqual(r.status, 2)
        XCTAssertTrue(r.err.contains("loopback only"), r.err)
    }

    // MARK: - OpenAI chat completions

    func test_openai_answer_has_the_chat_completion_shape_and_content_valid_for_the_schema() async throws {
        let api = try start()
        let r = try await api.openAI(Self.openAIBody("Describe the woman in the red coat"))
        XCTAssertEqual(r.status, 200, r.text)
        XCTAssertEqual(r.header("content-type"), "application/json")
        let json = try r.json
        XCTAssertTrue(json["id"]?.string?.hasPrefix("chatcmpl-") == true)
        XCTAssertEqual(json["object"]?.string, "chat.completion")
        XCTAssertNotNil(json["created"]?.number)
        XCTAssertEqual(json["model"]?.string, "gpt-4o-mini")
        XCTAssertEqual(json["choices"]?[0]?["index"]?.number, 0)
        XCTAssertEqual(json["choices"]?[0]?["message"]?["role"]?.string, "assistant")
        XCTAssertEqual(json["choices"]?[0]?["finish_reason"]?.string, "stop")
        let usage = try XCTUnwrap(json["usage"])
        let (p, c, t) = (usage["prompt_tokens"]?.number ?? -1, usage["completion_tokens"]?.number ?? -1, usage["total_tokens"]?.number ?? -1)
        XCTAssertGreaterThan(p, 0)
        XCTAssertGreaterThan(c, 0)
        XCTAssertEqual(p + c, t)

        let answer = try WireJSON.decode(Array(try r.content.utf8))
        XCTAssertEqual(answer.violations(of: try WireJSON.from(Self.captionSchema)), [])
        XCTAssertEqual(answer["emotion"]?.string, "happy", "an enum gives its first value")
        XCTAssertTrue(answer["caption"]?.string?.contains("Describe the woman in the red coat") == true, answer["caption"]?.string ?? "")
    }

    func test_base_urls_without_v1_reach_the_same_endpoint() async throws {
        let api = try start()
        let with = try await api.openAI(Self.openAIBody("same"))
        let without = try await api.openAI(Self.openAIBody("same"), path: "/chat/completions")
        XCTAssertEqual(without.status, 200, without.text)
        XCTAssertEqual(try with.content, try without.content)
    }

    func test_the_same_request_gets_the_same_answer_and_a_different_request_a_different_one() async throws {
        let api = try start()
        let first = try await api.openAI(Self.openAIBody("A man frowns at the table")).content
        let again = try await api.openAI(Self.openAIBody("A man frowns at the table")).content
        let otherText = try await api.openAI(Self.openAIBody("A child laughs in the garden")).content
        let otherFrame = try await api.openAI(Self.openAIBody("A man frowns at the table", frames: [Self.frame(2)])).content
        XCTAssertEqual(first, again)
        XCTAssertNotEqual(first, otherText)
        XCTAssertNotEqual(first, otherFrame, "the frames are part of the request")
        XCTAssertTrue(otherText.contains("A child laughs in the garden"), otherText)
    }

    func test_a_schema_embedded_between_begin_and_end_schema_shapes_a_json_object_answer() async throws {
        let api = try start()
        let schema: [String: Any] = ["type": "object", "properties": ["pairs": ["type": "array", "minItems": 3, "items": [
            "type": "object", "properties": ["question": ["type": "string"], "answer": ["type": "string"]], "required": ["question", "answer"]]]],
            "required": ["pairs"]]
        let schemaText = String(decoding: try JSONSerialization.data(withJSONObject: schema), as: UTF8.self)
        let prompt = "Write question-answer pairs as JSON.\nBEGIN SCHEMA\n\(schemaText)\nEND SCHEMA\nCaption: a man frowns."
        var body: [String: Any] = ["model": "llama3", "messages": [["role": "user", "content": prompt]], "response_format": ["type": "json_object"]]
        let answer = try WireJSON.decode(Array(try await api.openAI(body).content.utf8))
        XCTAssertEqual(answer.violations(of: try WireJSON.from(schema)), [])
        let pairs = try XCTUnwrap(answer["pairs"]?.array)
        XCTAssertGreaterThanOrEqual(pairs.count, 3)
        XCTAssertNotEqual(pairs[0]["question"], pairs[1]["question"], "array elements are numbered")
        XCTAssertFalse(pairs[0]["question"]?.string?.contains("BEGIN") ?? true, "the schema block is not quoted")

        // Plain text mode reads the embedded schema too; without one the answer is a short sentence.
        body["response_format"] = nil
        let plain = try await api.openAI(body).content
        XCTAssertNoThrow(try WireJSON.decode(Array(plain.utf8)), plain)
        body["messages"] = [["role": "user", "content": "Say something about the frowning man."]]
        let text = try await api.openAI(body).content
        XCTAssertTrue(text.contains("frowning man"), text)
        XCTAssertThrowsError(try WireJSON.decode(Array(text.utf8)))
    }

    func test_images_add_a_fixed_token_count_to_the_prompt_estimate() async throws {
        let api = try start()
        let none = try await api.openAI(Self.openAIBody("Count me", frames: []))
        let two = try await api.openAI(Self.openAIBody("Count me", frames: [Self.frame(1), Self.frame(2)]))
        let promptNone = try XCTUnwrap(none.json["usage"]?["prompt_tokens"]?.number)
        let promptTwo = try XCTUnwrap(two.json["usage"]?["prompt_tokens"]?.number)
        XCTAssertEqual(promptTwo - promptNone, 2 * 258)
    }

    func test_max_tokens_cuts_the_answer_with_finish_reason_length() async throws {
        let api = try start()
        let r = try await api.openAI(Self.openAIBody("Long answer please", maxTokens: 5))
        XCTAssertEqual(try r.json["choices"]?[0]?["finish_reason"]?.string, "length")
        XCTAssertEqual(try r.json["usage"]?["completion_tokens"]?.number, 5)
        XCTAssertLessThanOrEqual(try r.content.utf8.count, 20)
    }

    // MARK: - Gemini generateContent

    func test_gemini_answer_has_the_generate_content_shape_and_reads_upper_case_schema_types() async throws {
        let api = try start()
        let r = try await api.gemini(Self.geminiBody("Judge: the woman smiles broadly"))
        XCTAssertEqual(r.status, 200, r.text)
        let json = try r.json
        XCTAssertEqual(json["candidates"]?[0]?["content"]?["role"]?.string, "model")
        XCTAssertEqual(json["candidates"]?[0]?["finishReason"]?.string, "STOP")
        XCTAssertEqual(json["candidates"]?[0]?["index"]?.number, 0)
        XCTAssertEqual(json["modelVersion"]?.string, "gemini-2.5-flash")
        let usage = try XCTUnwrap(json["usageMetadata"])
        let (p, c) = (usage["promptTokenCount"]?.number ?? -1, usage["candidatesTokenCount"]?.number ?? -1)
        XCTAssertGreaterThan(p, 258)
        XCTAssertGreaterThan(c, 0)
        XCTAssertEqual(usage["totalTokenCount"]?.number, p + c)

        let text = try r.geminiText
        let answer = try WireJSON.decode(Array(text.utf8))
        XCTAssertEqual(answer.violations(of: try WireJSON.from(Self.geminiJudgeSchema)), [])
        XCTAssertTrue(text.hasPrefix("{\"suggestion\":"), "propertyOrdering is followed: \(text)")
        XCTAssertTrue(answer["suggestion"]?.string?.contains("the woman smiles broadly") == true, text)
    }

    func test_gemini_reads_camel_case_inline_data_like_snake_case() async throws {
        let api = try start()
        let snake = try await api.gemini(Self.geminiBody("Same frames", frames: [Self.frame(3)])).geminiText
        let camel = try await api.gemini(Self.geminiBody("Same frames", frames: [Self.frame(3)], camelCase: true)).geminiText
        let otherFrame = try await api.gemini(Self.geminiBody("Same frames", frames: [Self.frame(4)], camelCase: true)).geminiText
        XCTAssertEqual(snake, camel)
        XCTAssertNotEqual(camel, otherFrame)
    }

    // MARK: - Keys and malformed requests

    func test_a_missing_key_is_401_in_each_providers_error_shape() async throws {
        let api = try start()
        let o = try await api.openAI(Self.openAIBody("x"), key: nil)
        XCTAssertEqual(o.status, 401)
        XCTAssertEqual(try o.json["error"]?["type"]?.string, "invalid_request_error")
        XCTAssertNotNil(try o.json["error"]?["message"]?.string)
        let g = try await api.gemini(Self.geminiBody("x"), key: nil)
        XCTAssertEqual(g.status, 401)
        XCTAssertEqual(try g.json["error"]?["code"]?.number, 401)
        XCTAssertEqual(try g.json["error"]?["status"]?.string, "UNAUTHENTICATED")
    }

    func test_with_a_configured_key_a_wrong_key_is_401_and_the_error_never_repeats_a_key() async throws {
        let api = try start(["--key", "sk-right-one"])
        let wrong = try await api.openAI(Self.openAIBody("x"), key: "sk-wrong-one")
        XCTAssertEqual(wrong.status, 401)
        XCTAssertEqual(try wrong.json["error"]?["code"]?.string, "invalid_api_key")
        XCTAssertFalse(wrong.text.contains("sk-wrong-one"))
        let gWrong = try await api.gemini(Self.geminiBody("x"), key: "sk-wrong-one")
        XCTAssertEqual(gWrong.status, 401)
        XCTAssertFalse(gWrong.text.contains("sk-wrong-one"))
        let right = try await api.openAI(Self.openAIBody("x"), key: "sk-right-one")
        XCTAssertEqual(right.status, 200, right.text)
        let gRight = try await api.gemini(Self.geminiBody("x"), key: "sk-right-one")
        XCTAssertEqual(gRight.status, 200, gRight.text)
    }

    func test_a_body_that_is_not_json_is_400_and_an_unknown_path_404() async throws {
        let api = try start()
        let bad = try await api.send("/v1/chat/completions", raw: Array("{\"model\": ".utf8), headers: [("Authorization", "Bearer k")])
        XCTAssertEqual(bad.status, 400)
        XCTAssertEqual(try bad.json["error"]?["type"]?.string, "invalid_request_error")
        let gBad = try await api.send("/v1beta/models/g:generateContent", raw: Array("[".utf8), headers: [("x-goog-api-key", "k")])
        XCTAssertEqual(gBad.status, 400)
        XCTAssertEqual(try gBad.json["error"]?["status"]?.string, "INVALID_ARGUMENT")
        let unknown = try await api.send("/v1/completions", body: ["model": "x"], headers: [("Authorization", "Bearer k")])
        XCTAssertEqual(unknown.status, 404)
    }

    // MARK: - Scripted faults

    func test_scripted_429_sends_retry_after_in_seconds_or_as_an_http_date() async throws {
        let api = try start()
        try await api.script([["fault": "429", "retry_after": 7], ["fault": "429", "retry_after": 30, "retry_after_date": true]])
        let seconds = try await api.openAI(Self.openAIBody("x"))
        XCTAssertEqual(seconds.status, 429)
        XCTAssertEqual(seconds.header("retry-after"), "7")
        XCTAssertEqual(try seconds.json["error"]?["code"]?.string, "rate_limit_exceeded")

        let dated = try await api.gemini(Self.geminiBody("x"))
        XCTAssertEqual(dated.status, 429)
        XCTAssertEqual(try dated.json["error"]?["status"]?.string, "RESOURCE_EXHAUSTED")
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: "GMT")
        formatter.dateFormat = "EEE, dd MMM yyyy HH:mm:ss 'GMT'"
        let date = try XCTUnwrap(dated.header("retry-after").flatMap(formatter.date(from:)), dated.header("retry-after") ?? "no header")
        XCTAssertEqual(date.timeIntervalSinceNow, 30, accuracy: 2)

        let after = try await api.openAI(Self.openAIBody("x"))
        XCTAssertEqual(after.status, 200, "the script is used up")
    }

    func test_scripted_500_and_503_come_in_the_providers_error_shape() async throws {
        let api = try start()
        try await api.script([["fault": "500"], ["fault": "503"], ["fault": 503]])
        let o500 = try await api.openAI(Self.openAIBody("x"))
        XCTAssertEqual(o500.status, 500)
        XCTAssertEqual(try o500.json["error"]?["type"]?.string, "server_error")
        let o503 = try await api.openAI(Self.openAIBody("x"))
        XCTAssertEqual(o503.status, 503)
        let g503 = try await api.gemini(Self.geminiBody("x"))
        XCTAssertEqual(g503.status, 503)
        XCTAssertEqual(try g503.json["error"]?["status"]?.string, "UNAVAILABLE")
        XCTAssertEqual(try g503.json["error"]?["code"]?.number, 503)
    }

    func test_slow_answers_after_delay_ms() async throws {
        let api = try start()
        try await api.script([["fault": "slow", "delay_ms": 600]])
        var clock = ContinuousClock.now
        let slow = try await api.openAI(Self.openAIBody("x"))
        XCTAssertEqual(slow.status, 200)
        XCTAssertGreaterThanOrEqual(ContinuousClock.now - clock, .milliseconds(600))
        clock = ContinuousClock.now
        _ = try await api.openAI(Self.openAIBody("x"))
        XCTAssertLessThan(ContinuousClock.now - clock, .milliseconds(500))
    }

    func test_drop_closes_the_connection_without_an_answer() async throws {
        let api = try start()
        try await api.script([["fault": "drop"]])
        do {
            let r = try await api.openAI(Self.openAIBody("x"))
            XCTFail("expected the connection to be dropped, got \(r.status) \(r.text)")
        } catch {}
        let next = try await api.openAI(Self.openAIBody("x"))
        XCTAssertEqual(next.status, 200)
        let s = try await api.stats()
        XCTAssertEqual(s["faults_served"]?["drop"]?.number, 1)
        XCTAssertEqual(s["by_status"]?["200"]?.number, 1, "a dropped request has no status")
    }

    func test_truncated_is_a_complete_http_answer_whose_body_is_not_json() async throws {
        let api = try start()
        try await api.script([["fault": "truncated", "times": 2]])
        let o = try await api.openAI(Self.openAIBody("x"))
        XCTAssertEqual(o.status, 200)
        XCTAssertTrue(o.text.hasPrefix("{\"id\":\"chatcmpl-"), o.text)
        XCTAssertThrowsError(try o.json)
        let g = try await api.gemini(Self.geminiBody("x"))
        XCTAssertEqual(g.status, 200)
        XCTAssertThrowsError(try g.json)
    }

    func test_schema_violation_is_valid_json_the_schema_rejects() async throws {
        let api = try start()
        try await api.script([["fault": "schema_violation", "times": 2]])
        let o = try await api.openAI(Self.openAIBody("x")).content
        let answer = try WireJSON.decode(Array(o.utf8))
        XCTAssertEqual(answer.violations(of: try WireJSON.from(Self.captionSchema)), ["$: missing required 'caption'"])
        let g = try WireJSON.decode(Array(try await api.gemini(Self.geminiBody("x")).geminiText.utf8))
        XCTAssertEqual(g.violations(of: try WireJSON.from(Self.geminiJudgeSchema)), ["$: missing required 'pass'"])
    }

    func test_empty_gives_empty_content_and_a_gemini_candidate_without_parts() async throws {
        let api = try start()
        try await api.script([["fault": "empty", "times": 2]])
        let o = try await api.openAI(Self.openAIBody("x"))
        XCTAssertEqual(o.status, 200)
        XCTAssertEqual(try o.content, "")
        let g = try await api.gemini(Self.geminiBody("x"))
        XCTAssertEqual(g.status, 200)
        XCTAssertEqual(try g.json["candidates"]?[0]?["content"]?["role"]?.string, "model")
        XCTAssertNil(try g.json["candidates"]?[0]?["content"]?["parts"])
    }

    func test_faults_are_served_in_order_to_the_requests_they_match() async throws {
        let api = try start()
        try await api.script([["fault": "500", "times": 2, "model": "model-a"], ["fault": "503"]])
        var statuses: [Int] = []
        for model in ["model-b", "model-b", "model-a", "model-a", "model-a"] {
            statuses.append(try await api.openAI(Self.openAIBody("x", model: model)).status)
        }
        XCTAssertEqual(statuses, [503, 200, 500, 500, 200], "the 500s are for model-a only, the 503 for whoever comes first")
    }

    func test_an_unknown_fault_is_refused() async throws {
        let api = try start()
        let r = try await api.send("/_standin/faults", body: [["fault": "teapot"]])
        XCTAssertEqual(r.status, 400)
        XCTAssertTrue(r.text.contains("teapot"), r.text)
    }

    // MARK: - Scripted answers

    /// A verdict the generator would never give: generated booleans are always `true`.
    static var failingVerdict: [String: Any] { ["pass": false, "wrong_aspects": ["emotion", "attribute"], "suggestion": "She frowns; say sad."] }

    func test_a_scripted_answer_is_the_answer_text_of_either_provider_in_its_usual_reply_shape() async throws {
        let api = try start()
        try await api.scriptAnswers([["model": "judge-a", "content": Self.failingVerdict],
                                     ["model": "judge-b", "content": ["pass": true, "wrong_aspects": [String](), "suggestion": NSNull()] as [String: Any]]])
        let o = try await api.openAI(Self.openAIBody("Judge sample 1", model: "judge-a"))
        XCTAssertEqual(o.status, 200, o.text)
        XCTAssertEqual(try WireJSON.decode(Array(try o.content.utf8)), try WireJSON.from(Self.failingVerdict))
        XCTAssertEqual(try o.json["model"]?.string, "judge-a")
        XCTAssertEqual(try o.json["choices"]?[0]?["finish_reason"]?.string, "stop")
        let usage = try XCTUnwrap(try o.json["usage"])
        XCTAssertEqual(usage["completion_tokens"]?.number, Double((try o.content.utf8.count + 3) / 4))
        XCTAssertEqual(usage["total_tokens"]?.number, (usage["prompt_tokens"]?.number ?? 0) + (usage["completion_tokens"]?.number ?? 0))

        let g = try await api.gemini(model: "judge-b", Self.geminiBody("Judge sample 1"))
        XCTAssertEqual(g.status, 200, g.text)
        XCTAssertEqual(try g.geminiText, #"{"pass":true,"suggestion":null,"wrong_aspects":[]}"#, "compact JSON in the posted key order")
        XCTAssertEqual(try g.json["candidates"]?[0]?["finishReason"]?.string, "STOP")
        XCTAssertEqual(try g.json["usageMetadata"]?["candidatesTokenCount"]?.number, Double((try g.geminiText.utf8.count + 3) / 4))
    }

    func test_text_is_sent_verbatim_so_a_judge_can_answer_something_that_is_not_json() async throws {
        let api = try start()
        try await api.scriptAnswers(["model": "judge-a", "text": "Sure! {pass: yes}"])
        let answer = try await api.openAI(Self.openAIBody("x", model: "judge-a")).content
        XCTAssertEqual(answer, "Sure! {pass: yes}")
    }

    func test_times_counts_down_and_entries_for_a_model_are_served_in_posted_order() async throws {
        let api = try start()
        try await api.scriptAnswers(["answers": [["model": "judge-a", "content": ["n": 1], "times": 2],
                                                 ["model": "judge-a", "content": ["n": 2]]]])
        var answers: [String] = []
        for _ in 0..<4 { answers.append(try await api.openAI(Self.openAIBody("x", model: "judge-a")).content) }
        XCTAssertEqual(Array(answers.prefix(3)), [#"{"n":1}"#, #"{"n":1}"#, #"{"n":2}"#])
        let generated = try WireJSON.decode(Array(answers[3].utf8))
        XCTAssertEqual(generated.violations(of: try WireJSON.from(Self.captionSchema)), [], "then the generated answer again")
        let listed = try await api.send("/_standin/answers", method: "GET").json
        XCTAssertEqual(listed, .array([]))
    }

    func test_times_minus_one_answers_every_request_until_a_reset() async throws {
        let api = try start()
        try await api.scriptAnswers([["model": "judge-c", "content": Self.failingVerdict, "times": -1]])
        for _ in 0..<5 {
            let g = try await api.gemini(model: "judge-c", Self.geminiBody("x"))
            XCTAssertEqual(try WireJSON.decode(Array(try g.geminiText.utf8)), try WireJSON.from(Self.failingVerdict))
        }
        let times = try await api.send("/_standin/answers", method: "GET").json[0]?["times"]?.number
        XCTAssertEqual(times, -1)
        let reset = try await api.send("/_standin/reset").status
        XCTAssertEqual(reset, 200)
        let pending = try await api.send("/_standin/answers", method: "GET").json
        XCTAssertEqual(pending, .array([]))
        let after = try WireJSON.decode(Array(try await api.gemini(model: "judge-c", Self.geminiBody("x")).geminiText.utf8))
        XCTAssertEqual(after["pass"], .bool(true), "the generated verdict, not the scripted one")
    }

    func test_match_gives_each_sample_its_own_answer_whatever_order_the_requests_come_in() async throws {
        let api = try start()
        try await api.scriptAnswers([["model": "judge-a", "content": ["for": "s1"], "match": "sample s1"],
                                     ["model": "judge-a", "content": ["for": "s2"], "match": "sample s2"]])
        let unmatched = try await api.openAI(Self.openAIBody("Judge sample s3", model: "judge-a")).content
        XCTAssertTrue(unmatched.contains("sample s3"), "no entry matches s3: the generated answer \(unmatched)")
        let forS2 = try await api.openAI(Self.openAIBody("Judge sample s2", model: "judge-a")).content
        XCTAssertEqual(forS2, #"{"for":"s2"}"#)
        let forS1 = try await api.openAI(Self.openAIBody("Judge sample s1", model: "judge-a")).content
        XCTAssertEqual(forS1, #"{"for":"s1"}"#)
        let s = try await api.stats()
        XCTAssertEqual(s["scripted_answers_served"]?.number, 2)
        XCTAssertEqual(s["scripted_answers_pending"]?.number, 0)
    }

    func test_match_reads_the_system_text_too() async throws {
        let api = try start()
        // Gemini's system instruction is "You judge captions.": part of the request's text.
        try await api.scriptAnswers([["model": "judge-b", "content": ["system": true], "match": "judge captions"]])
        let answer = try await api.gemini(model: "judge-b", Self.geminiBody("x")).geminiText
        XCTAssertEqual(answer, #"{"system":true}"#)
    }

    func test_an_answer_for_one_model_is_never_given_to_another() async throws {
        let api = try start()
        try await api.scriptAnswers([["model": "judge-a", "content": Self.failingVerdict]])
        let b = try WireJSON.decode(Array(try await api.gemini(model: "judge-b", Self.geminiBody("x")).geminiText.utf8))
        XCTAssertEqual(b["pass"], .bool(true))
        let pendingModel = try await api.send("/_standin/answers", method: "GET").json[0]?["model"]?.string
        XCTAssertEqual(pendingModel, "judge-a", "still pending")
        let a = try WireJSON.decode(Array(try await api.gemini(model: "judge-a", Self.geminiBody("x")).geminiText.utf8))
        XCTAssertEqual(a, try WireJSON.from(Self.failingVerdict))
    }

    func test_the_listing_shows_each_pending_answer_with_what_was_posted() async throws {
        let api = try start()
        let queued = try await api.send("/_standin/answers", body: [
            ["model": "judge-a", "content": ["pass": false], "times": 3, "match": "s7"],
            ["model": "judge-b", "text": "not json"],
        ])
        XCTAssertEqual(try queued.json, try WireJSON.from(["queued": 2, "pending": 2]))
        let listed = try await api.send("/_standin/answers", method: "GET").json
        XCTAssertEqual(listed, try WireJSON.from([
            ["model": "judge-a", "content": ["pass": false], "times": 3, "match": "s7"],
            ["model": "judge-b", "text": "not json", "times": 1],
        ]))
        _ = try await api.openAI(Self.openAIBody("Judge s7", model: "judge-a"))
        let times = try await api.send("/_standin/answers", method: "GET").json[0]?["times"]?.number
        XCTAssertEqual(times, 2)
    }

    func test_a_malformed_scripted_answer_is_refused_and_nothing_is_queued() async throws {
        let api = try start()
        let refused: [[[String: Any]]] = [
            [["model": "judge-a"]],
            [["model": "judge-a", "content": 1, "times": 0]],
            [["model": "judge-a", "content": 1, "text": "x"]],
            [["model": 7, "content": 1]],
            [["model": "judge-a", "content": 1], ["model": "judge-b", "text": ["not", "a string"]]],
        ]
        for bad in refused {
            let r = try await api.send("/_standin/answers", body: bad)
            XCTAssertEqual(r.status, 400, r.text)
            XCTAssertNotNil(try r.json["error"]?.string)
        }
        let pending = try await api.send("/_standin/answers", method: "GET").json
        XCTAssertEqual(pending, .array([]))
    }

    func test_a_fault_comes_before_a_scripted_answer_and_does_not_consume_it() async throws {
        let api = try start()
        try await api.script([["fault": "503", "model": "judge-a"], ["fault": "empty", "model": "judge-a"]])
        try await api.scriptAnswers([["model": "judge-a", "content": Self.failingVerdict]])
        let faulted = try await api.openAI(Self.openAIBody("x", model: "judge-a")).status
        XCTAssertEqual(faulted, 503)
        let empty = try await api.openAI(Self.openAIBody("x", model: "judge-a")).content
        XCTAssertEqual(empty, "", "the empty fault, not the answer")
        let retried = try await api.openAI(Self.openAIBody("x", model: "judge-a"))
        XCTAssertEqual(try WireJSON.decode(Array(try retried.content.utf8)), try WireJSON.from(Self.failingVerdict))
        let s = try await api.stats()
        XCTAssertEqual(s["scripted_answers_served"]?.number, 1)
        XCTAssertEqual(s["faults_served"]?["503"]?.number, 1)
    }

    func test_a_rate_limited_request_does_not_consume_a_scripted_answer() async throws {
        let api = try start(["--rpm", "1"])
        _ = try await api.openAI(Self.openAIBody("x", model: "judge-a"))
        try await api.scriptAnswers([["model": "judge-a", "content": ["pass": false]]])
        let limited = try await api.openAI(Self.openAIBody("x", model: "judge-a")).status
        XCTAssertEqual(limited, 429)
        let times = try await api.send("/_standin/answers", method: "GET").json[0]?["times"]?.number
        XCTAssertEqual(times, 1)
        let served = try await api.stats()["scripted_answers_served"]?.number
        XCTAssertEqual(served, 0)
    }

    func test_reset_clears_the_scripted_answers_and_their_count() async throws {
        let api = try start()
        try await api.scriptAnswers([["model": "judge-a", "content": ["n": 1]], ["model": "judge-a", "content": ["n": 2]]])
        let first = try await api.openAI(Self.openAIBody("x", model: "judge-a")).content
        XCTAssertEqual(first, #"{"n":1}"#)
        var s = try await api.stats()
        XCTAssertEqual(s["scripted_answers_served"]?.number, 1)
        XCTAssertEqual(s["scripted_answers_pending"]?.number, 1)
        let reset = try await api.send("/_standin/reset").status
        XCTAssertEqual(reset, 200)
        s = try await api.stats()
        XCTAssertEqual(s["scripted_answers_served"]?.number, 0)
        XCTAssertEqual(s["scripted_answers_pending"]?.number, 0)
        let afterReset = try await api.openAI(Self.openAIBody("x", model: "judge-a")).content
        XCTAssertNotEqual(afterReset, #"{"n":2}"#)
    }

    // MARK: - Counters

    func test_stats_count_requests_by_path_model_status_and_fault_and_reset_clears_them() async throws {
        let api = try start()
        try await api.script([["fault": "500"], ["fault": "429", "times": 3]])
        _ = try await api.openAI(Self.openAIBody("x", model: "gpt-a"))
        _ = try await api.openAI(Self.openAIBody("x", model: "gpt-a"), path: "/chat/completions")
        _ = try await api.gemini(Self.geminiBody("x"))
        _ = try await api.openAI(Self.openAIBody("x", model: "gpt-a"), key: nil)
        var s = try await api.stats()
        XCTAssertEqual(s["requests"]?.number, 4)
        XCTAssertEqual(s["by_path"]?["/v1/chat/completions"]?.number, 2)
        XCTAssertEqual(s["by_path"]?["/chat/completions"]?.number, 1)
        XCTAssertEqual(s["by_path"]?["/v1beta/models/gemini-2.5-flash:generateContent"]?.number, 1)
        XCTAssertEqual(s["by_model"]?["gpt-a"]?.number, 2, "a request refused for its key never reached a model")
        XCTAssertEqual(s["by_model"]?["gemini-2.5-flash"]?.number, 1)
        XCTAssertEqual(s["by_status"]?["500"]?.number, 1)
        XCTAssertEqual(s["by_status"]?["429"]?.number, 2)
        XCTAssertEqual(s["by_status"]?["401"]?.number, 1)
        XCTAssertEqual(s["faults_served"]?["429"]?.number, 2)
        XCTAssertEqual(s["faults_pending"]?.number, 1)

        let reset = try await api.send("/_standin/reset")
        XCTAssertEqual(reset.status, 200)
        s = try await api.stats()
        XCTAssertEqual(s["requests"]?.number, 0)
        XCTAssertEqual(s["faults_pending"]?.number, 0)
        XCTAssertEqual(s["by_status"], .object([:]))
        let afterReset = try await api.openAI(Self.openAIBody("x", model: "gpt-a"))
        XCTAssertEqual(afterReset.status, 200, "the pending 429 is gone")
    }

    // MARK: - Latency, rate limit, load

    func test_latency_ms_delays_every_answer_yet_concurrent_requests_overlap() async throws {
        let api = try start(["--latency-ms", "250"])
        let clock = ContinuousClock.now
        let statuses = try await withThrowingTaskGroup(of: Int.self) { group in
            for i in 0..<20 { group.addTask { try await api.openAI(Self.openAIBody("request \(i)")).status } }
            return try await group.reduce(into: [Int]()) { $0.append($1) }
        }
        let elapsed = ContinuousClock.now - clock
        XCTAssertEqual(statuses, Array(repeating: 200, count: 20))
        XCTAssertGreaterThanOrEqual(elapsed, .milliseconds(250))
        XCTAssertLessThan(elapsed, .milliseconds(20 * 250 / 2), "answers are delayed side by side, not one after another")
        let s = try await api.stats()
        XCTAssertGreaterThanOrEqual(s["max_in_flight"]?.number ?? 0, 10)
        XCTAssertEqual(s["max_in_flight_by_model"]?["gpt-4o-mini"]?.number, s["max_in_flight"]?.number)
        XCTAssertEqual(s["in_flight"]?.number, 0)
    }

    func test_rpm_answers_429_once_more_than_n_requests_arrive_within_a_minute() async throws {
        let api = try start(["--rpm", "3"])
        var statuses: [Int] = []
        var retryAfter: String?
        for _ in 0..<5 {
            let r = try await api.gemini(Self.geminiBody("x"))
            statuses.append(r.status)
            if r.status == 429 { retryAfter = r.header("retry-after") }
        }
        XCTAssertEqual(statuses, [200, 200, 200, 429, 429])
        let seconds = try XCTUnwrap(retryAfter.flatMap(Int.init))
        XCTAssertTrue((55...60).contains(seconds), "\(seconds)")
        let s = try await api.stats()
        XCTAssertEqual(s["rate_limited"]?.number, 2)
        XCTAssertEqual(s["by_status"]?["429"]?.number, 2)
    }

    func test_sixteen_frame_bodies_of_megabytes_are_answered_side_by_side_over_kept_alive_connections() async throws {
        let api = try start()
        // 16 frames of 200 kB each: a body of about 4.3 MB, like 16 sampled JPEG frames.
        let bodies = try (0..<4).map { i in
            try JSONSerialization.data(withJSONObject: Self.openAIBody("Clip \(i)", frames: (0..<16).map { Self.frame(UInt8(i * 16 + $0), bytes: 200_000) }))
        }
        XCTAssertGreaterThan(bodies[0].count, 4_000_000)
        let answers = try await withThrowingTaskGroup(of: String.self) { group in
            for body in bodies {
                group.addTask { try await api.send("/v1/chat/completions", raw: Array(body), headers: [("Authorization", "Bearer k")]).content }
            }
            return try await group.reduce(into: [String]()) { $0.append($1) }
        }
        XCTAssertEqual(Set(answers).count, 4)
        for _ in 0..<30 {
            let small = try await api.openAI(Self.openAIBody("small"))
            XCTAssertEqual(small.status, 200)
        }
        let s = try await api.stats()
        XCTAssertEqual(s["requests"]?.number, 34)
        XCTAssertLessThanOrEqual(s["connections"]?.number ?? 99, 6, "sequential requests reuse a connection")
        XCTAssertEqual(s["prompt_tokens"].flatMap { $0.number }.map { $0 >= 4 * 16 * 258 }, true)
    }
}

// MARK: - Talking to it

/// A running stand-in as a client sees it: its address and the provider calls.
struct StandinAPI: Sendable {
    let baseURL: String
    let client: HTTPClient

    struct Exchange: Sendable {
        let status: Int
        let headers: [(String, String)]
        let body: [UInt8]
        var text: String { String(decoding: body, as: UTF8.self) }
        var json: WireJSON { get throws { try WireJSON.decode(body) } }
        func header(_ name: String) -> String? { headers.first { $0.0.lowercased() == name }?.1 }

        /// The message content of an OpenAI answer.
        var content: String { get throws { try XCTUnwrap(json["choices"]?[0]?["message"]?["content"]?.string, text) } }
        /// The first part's text of a Gemini answer.
        var geminiText: String { get throws { try XCTUnwrap(json["candidates"]?[0]?["content"]?["parts"]?[0]?["text"]?.string, text) } }
    }

    func send(_ path: String, method: String = "POST", body: Any? = nil, raw: [UInt8]? = nil,
              headers: [(String, String)] = []) async throws -> Exchange {
        var request = HTTPClientRequest(url: baseURL + path)
        request.method = .init(rawValue: method)
        for (name, value) in headers { request.headers.add(name: name, value: value) }
        if let raw {
            request.body = .bytes(ByteBuffer(bytes: raw))
        } else if let body {
            // Sorted keys: the same dictionary gives the same bytes, so "the same request" means one thing.
            request.body = .bytes(ByteBuffer(bytes: try JSONSerialization.data(withJSONObject: body, options: .sortedKeys)))
        }
        let response = try await client.execute(request, timeout: .seconds(60))
        let collected = try await response.body.collect(upTo: 64 << 20)
        return Exchange(status: Int(response.status.code), headers: response.headers.map { ($0.name, $0.value) },
                        body: Array(collected.readableBytesView))
    }

    func openAI(_ body: Any, key: String? = "sk-test", path: String = "/v1/chat/completions") async throws -> Exchange {
        try await send(path, body: body, headers: key.map { [("Authorization", "Bearer \($0)")] } ?? [])
    }

    func gemini(model: String = "gemini-2.5-flash", _ body: Any, key: String? = "AIza-test") async throws -> Exchange {
        try await send("/v1beta/models/\(model):generateContent", body: body, headers: key.map { [("x-goog-api-key", $0)] } ?? [])
    }

    func stats() async throws -> WireJSON { try await send("/_standin/stats", method: "GET").json }

    func script(_ faults: [[String: Any]]) async throws {
        let r = try await send("/_standin/faults", body: faults)
        XCTAssertEqual(r.status, 200, r.text)
    }

    /// Posts to `/_standin/answers`: a list of entries, `{"answers": [...]}` or one entry.
    func scriptAnswers(_ answers: Any) async throws {
        let r = try await send("/_standin/answers", body: answers)
        XCTAssertEqual(r.status, 200, r.text)
    }
}

// MARK: - The process

/// One running `emocfg-standin`, started on port 0 and stopped with SIGTERM.
final class StandinProcess {
    let process = Process()
    let port: Int
    let announcement: String
    var baseURL: String { "http://127.0.0.1:\(port)" }

    static func binary(_ testBundle: Bundle) throws -> URL {
        // `swift test` builds every product; the executables land next to the test bundle.
        let dirs = [Bundle.main.executableURL?.deletingLastPathComponent(), testBundle.bundleURL.deletingLastPathComponent()].compactMap { $0 }
        for d in dirs where FileManager.default.isExecutableFile(atPath: d.appendingPathComponent("emocfg-standin").path) {
            return d.appendingPathComponent("emocfg-standin")
        }
        throw XCTSkip("emocfg-standin not found next to the tests in \(dirs.map(\.path))")
    }

    init(arguments: [String], testBundle: Bundle) throws {
        let portFile = FileManager.default.temporaryDirectory.appendingPathComponent("standin-\(UUID().uuidString).port")
        process.executableURL = try Self.binary(testBundle)
        process.arguments = ["--port", "0", "--port-file", portFile.path] + arguments
        let out = Pipe()
        process.standardOutput = out
        try process.run()
        let deadline = Date().addingTimeInterval(15)
        var port: Int?
        while port == nil, Date() < deadline, process.isRunning {
            port = (try? String(contentsOf: portFile, encoding: .utf8)).flatMap { Int($0.trimmingCharacters(in: .whitespacesAndNewlines)) }
            if port == nil { usleep(10_000) }
        }
        guard let port else {
            if process.isRunning { process.terminate() }
            throw StandinDidNotStart(arguments: arguments)
        }
        self.port = port
        announcement = String(decoding: out.fileHandleForReading.availableData, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
        try? FileManager.default.removeItem(at: portFile)
    }

    /// Sends SIGTERM and returns the exit status.
    @discardableResult
    func stop() -> Int32 {
        if process.isRunning { process.terminate() }
        process.waitUntilExit()
        return process.terminationStatus
    }

    static func run(_ arguments: [String], testBundle: Bundle) throws -> (status: Int32, err: String) {
        let p = Process()
        p.executableURL = try binary(testBundle)
        p.arguments = arguments
        let err = Pipe()
        p.standardError = err
        p.standardOutput = Pipe()
        try p.run()
        let e = err.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        return (p.terminationStatus, String(decoding: e, as: UTF8.self))
    }

    struct StandinDidNotStart: Error { let arguments: [String] }
}

// MARK: - JSON as the client would read it

/// A decoded JSON value for checking answers: decoded with Foundation's `JSONDecoder`, not with
/// the stand-in's own reader, and checked against schemas by `violations(of:)`.
enum WireJSON: Decodable, Equatable {
    case null, bool(Bool), number(Double), string(String), array([WireJSON]), object([String: WireJSON])

    init(from decoder: Decoder) throws {
        let c = try decoder.singleValueContainer()
        if c.decodeNil() { self = .null }
        else if let b = try? c.decode(Bool.self) { self = .bool(b) }
        else if let n = try? c.decode(Double.self) { self = .number(n) }
        else if let s = try? c.decode(String.self) { self = .string(s) }
        else if let a = try? c.decode([WireJSON].self) { self = .array(a) }
        else { self = .object(try c.decode([String: WireJSON].self)) }
    }

    static func decode(_ bytes: [UInt8]) throws -> WireJSON { try JSONDecoder().decode(WireJSON.self, from: Data(bytes)) }
    static func from(_ object: Any) throws -> WireJSON { try JSONDecoder().decode(WireJSON.self, from: JSONSerialization.data(withJSONObject: object)) }

    subscript(key: String) -> WireJSON? { if case .object(let o) = self { o[key] } else { nil } }
    subscript(index: Int) -> WireJSON? { if case .array(let a) = self, a.indices.contains(index) { a[index] } else { nil } }
    var string: String? { if case .string(let s) = self { s } else { nil } }
    var number: Double? { if case .number(let n) = self { n } else { nil } }
    var array: [WireJSON]? { if case .array(let a) = self { a } else { nil } }

    /// What breaks the schema, as `path: reason` lines; JSON Schema and Gemini's upper-case types.
    func violations(of schema: WireJSON, at path: String = "$") -> [String] {
        if case .bool(true)? = schema["nullable"], self == .null { return [] }
        if let choices = schema["enum"]?.array, !choices.contains(self) { return ["\(path): not one of the enum values"] }
        switch schema["type"]?.string?.lowercased() {
        case "object"?:
            guard case .object(let members) = self else { return ["\(path): expected an object"] }
            let properties: [String: WireJSON] = { if case .object(let p)? = schema["properties"] { p } else { [:] } }()
            var found: [String] = []
            for case .string(let name) in schema["required"]?.array ?? [] where members[name] == nil {
                found.append("\(path): missing required '\(name)'")
            }
            for (name, value) in members.sorted(by: { $0.key < $1.key }) {
                if let p = properties[name] { found += value.violations(of: p, at: "\(path).\(name)") }
                else if case .bool(false)? = schema["additionalProperties"] { found.append("\(path): unexpected '\(name)'") }
            }
            return found
        case "array"?:
            guard case .array(let items) = self else { return ["\(path): expected an array"] }
            var found: [String] = []
            if let low = schema["minItems"]?.number, Double(items.count) < low { found.append("\(path): fewer than \(Int(low)) items") }
            if let high = schema["maxItems"]?.number, Double(items.count) > high { found.append("\(path): more than \(Int(high)) items") }
            if let itemSchema = schema["items"] {
                for (i, item) in items.enumerated() { found += item.violations(of: itemSchema, at: "\(path)[\(i)]") }
            }
            return found
        case "string"?:
            guard case .string(let s) = self else { return ["\(path): expected a string"] }
            if let low = schema["minLength"]?.number, Double(s.count) < low { return ["\(path): shorter than \(Int(low))"] }
            if let high = schema["maxLength"]?.number, Double(s.count) > high { return ["\(path): longer than \(Int(high))"] }
            return []
        case let t? where t == "integer" || t == "number":
            guard case .number(let n) = self else { return ["\(path): expected a number"] }
            if t == "integer", n.rounded() != n { return ["\(path): expected an integer"] }
            if let low = schema["minimum"]?.number, n < low { return ["\(path): below \(low)"] }
            if let high = schema["maximum"]?.number, n > high { return ["\(path): above \(high)"] }
            return []
        case "boolean"?:
            if case .bool = self { return [] }
            return ["\(path): expected a boolean"]
        default:
            return []
        }
    }
}
