import EmoCFG
import Foundation
import TestSupport
import XCTest

/// The LLM client against the stand-in over real HTTP on loopback.
final class LLMClientTests: XCTestCase {
    var standin: Standin!
    var store: Store!
    let env = ["EMOCFG_TEST_KEY": "sk-test-0123456789"]
    let schema: JSONValue = ["type": "object", "additionalProperties": false, "required": ["caption", "cues"],
                             "properties": ["caption": ["type": "string", "minLength": 1],
                                            "cues": ["type": "array", "minItems": 1, "items": ["type": "string"]]]]

    override func setUpWithError() throws {
        standin = try Standin()
        store = try Store(path: try temporaryStorePath())
    }

    override func tearDown() { standin?.stop() }

    func request(_ text: String = "A person frowns.") -> LLMRequest {
        LLMRequest(stage: "caption", messages: [.system("Describe."), .user([.image(LLMImage(jpeg: Data([0xFF, 0xD8, 1]))), .text(text)])],
                   schema: schema, schemaName: "caption", promptID: "caption/attribute", promptHash: "h1")
    }

    func client(_ options: LLMClient.Options = fast(), models: [ModelConfig]) -> LLMClient {
        LLMClient(store: store, models: models, environment: env, options: options)
    }

    static func fast() -> LLMClient.Options {
        var o = LLMClient.Options()
        o.backoffBase = 0.02
        return o
    }

    func send(_ c: LLMClient, _ r: LLMRequest, _ m: ModelConfig) throws -> Result<LLMAnswer, LLMError> {
        try blocking {
            do throws(LLMError) { return .success(try await c.send(r, model: m)) } catch { return .failure(error) }
        }
    }

    func test_both_providers_answer_with_schema_valid_json_and_usage() throws {
        for provider in [ModelConfig.Provider.openai, .gemini] {
            let m = model(provider, standin)
            let c = client(models: [m])
            let a = try send(c, request("Provider \(provider)."), m).get()
            XCTAssertEqual(a.attempts, 1)
            XCTAssertFalse(a.cached)
            XCTAssertNotNil(a.json?["caption"]?.stringValue)
            XCTAssertFalse(a.usage.estimated, "the stand-in reports usage")
            XCTAssertGreaterThan(a.cost, 0)
            XCTAssertEqual(try store.cachedCall(key: a.key)?.answer, a.text)
            try blocking { await c.shutdown() }
        }
    }

    func test_each_fault_ends_in_a_retry_and_the_answer() throws {
        for provider in [ModelConfig.Provider.openai, .gemini] {
            for fault in [#"{"fault":"429","times":1,"retry_after":0}"#, #"{"fault":"500","times":1}"#, #"{"fault":"503","times":1}"#,
                          #"{"fault":"drop","times":1}"#, #"{"fault":"truncated","times":1}"#,
                          #"{"fault":"schema_violation","times":1}"#, #"{"fault":"empty","times":1}"#,
                          #"{"fault":"slow","times":1,"delay_ms":1500}"#] {
                var m = model(provider, standin)
                m.timeoutSeconds = 0.6
                let c = client(models: [m])
                try standin.faults("[\(fault)]")
                let result = try send(c, request("\(provider) \(fault)"), m)
                let a = try XCTUnwrap(try? result.get(), "\(provider) \(fault): \(result)")
                XCTAssertEqual(a.attempts, 2, "\(provider) \(fault)")
                XCTAssertNotNil(a.json, "\(provider) \(fault)")
                let counts = try blocking { await c.stats.counts }
                XCTAssertEqual(counts.retries, 1, "\(provider) \(fault)")
                XCTAssertEqual(try store.cachedCall(key: a.key)?.attempts, 2)
                try blocking { await c.shutdown() }
            }
        }
    }

    func test_a_fault_that_persists_is_recorded_as_failed_with_the_reason() throws {
        var m = model(.openai, standin)
        m.maxAttempts = 3
        try standin.faults(#"[{"fault":"500","times":5}]"#)
        let c = client(models: [m])
        let r = request()
        guard case .failure(let e) = try send(c, r, m), case .failed(_, let status, let attempts, let message) = e else {
            return XCTFail("expected a failure")
        }
        XCTAssertEqual(status, 500)
        XCTAssertEqual(attempts, 3)
        XCTAssertTrue(message.contains("HTTP 500"), message)
        let stored = try XCTUnwrap(try store.call(key: r.cacheKey(for: m)))
        XCTAssertFalse(stored.ok)
        XCTAssertEqual(stored.attempts, 3)
        XCTAssertEqual(stored.error, message)
        XCTAssertNil(try store.cachedCall(key: r.cacheKey(for: m)), "a failed call is not a cache hit: the next run asks again")
    }

    func test_schema_violations_that_persist_fail_with_the_violation() throws {
        var m = model(.gemini, standin)
        m.maxAttempts = 2
        try standin.faults(#"[{"fault":"schema_violation","times":2}]"#)
        guard case .failure(.failed(_, _, _, let message)) = try send(client(models: [m]), request(), m) else { return XCTFail() }
        XCTAssertTrue(message.contains("breaks the schema"), message)
    }

    func test_a_key_a_server_echoes_in_a_200_body_is_stored_and_reported_redacted() throws {
        var m = model(.openai, standin)
        m.maxAttempts = 2
        let key = try XCTUnwrap(env[m.keyEnv ?? ""])
        // A proxy's plain-text 200, then an answer whose text repeats the key (an unusable answer's
        // excerpt goes into the error, the failure record and the log).
        try standin.faults(#"[{"fault":"echo_key","times":1}]"#)
        try standin.answers(#"[{"model": "\#(m.model)", "text": "{\"caption\": 1, \"note\": \"\#(key)\"", "times": 1}]"#)
        guard case .failure(let e) = try send(client(models: [m]), request(), m) else { return XCTFail("expected a failure") }
        XCTAssertFalse("\(e)".contains(key), "\(e)")
        for suffix in ["", "-wal"] {
            guard let bytes = FileManager.default.contents(atPath: store.path + suffix) else { continue }
            XCTAssertNil(bytes.range(of: Data(key.utf8)), "the key is in \(store.path + suffix)")
        }
    }

    func test_401_fails_fast_naming_the_key_variable_and_never_the_key() throws {
        standin.stop()
        standin = try Standin(arguments: ["--key", "the-right-key"])
        let m = model(.openai, standin)
        let c = client(models: [m])
        guard case .failure(let e) = try send(c, request(), m), case .failed(_, let status, let attempts, let message) = e else {
            return XCTFail("expected a failure")
        }
        XCTAssertEqual(status, 401)
        XCTAssertEqual(attempts, 1, "no retry on 401")
        XCTAssertTrue(message.contains("EMOCFG_TEST_KEY"), message)
        XCTAssertFalse("\(e)".contains("sk-test-0123456789"), "\(e)")
        XCTAssertEqual(try standin.requests(), 1)
    }

    func test_404_fails_fast_naming_base_url_and_model() throws {
        var m = model(.openai, standin)
        m.baseURL = standin.baseURL + "/wrong/prefix"
        guard case .failure(.failed(_, let status, let attempts, let message)) = try send(client(models: [m]), request(), m) else {
            return XCTFail()
        }
        XCTAssertEqual(status, 404)
        XCTAssertEqual(attempts, 1)
        XCTAssertTrue(message.contains("base_url") && message.contains("/wrong/prefix"), message)
    }

    func test_a_missing_key_variable_is_reported_before_anything_is_sent() throws {
        let m = model(.openai, standin, keyEnv: "EMOCFG_NOT_SET")
        guard case .failure(.missingKey(_, let variable)) = try send(client(models: [m]), request(), m) else { return XCTFail() }
        XCTAssertEqual(variable, "EMOCFG_NOT_SET")
        XCTAssertEqual(try standin.requests(), 0)
    }

    func test_retry_after_as_an_http_date_is_honoured() throws {
        let m = model(.gemini, standin)
        try standin.faults(#"[{"fault":"429","times":1,"retry_after":2,"retry_after_date":true}]"#)
        let t = Date()
        let a = try send(client(models: [m]), request(), m).get()
        XCTAssertEqual(a.attempts, 2)
        XCTAssertGreaterThan(Date().timeIntervalSince(t), 0.9, "waited for the date the server named (whole seconds)")
    }

    func test_a_retry_after_beyond_the_cap_ends_the_call_at_once_and_is_counted() throws {
        let m = model(.openai, standin)
        try standin.faults(#"[{"fault": "429", "times": 5, "retry_after": 1000}]"#)
        let c = client(models: [m])
        guard case .failure(.failed(_, let status, let attempts, let message)) = try send(c, request(), m) else { return XCTFail("expected a failure") }
        XCTAssertEqual(status, 429)
        XCTAssertEqual(attempts, 1)
        XCTAssertTrue(message.contains("longer than the 300 s the client waits"), message)
        XCTAssertEqual(try standin.requests(), 1)
        let counts = try blocking { await c.stats.counts }
        XCTAssertEqual(counts.requests, 1)
        XCTAssertEqual(counts.failed, 1)
        XCTAssertEqual(try blocking { await c.budget.spent }, 0)
    }

    func test_a_second_send_is_answered_from_the_store_without_a_request() throws {
        let m = model(.openai, standin)
        let first = try send(client(models: [m]), request(), m).get()
        let before = try standin.requests()
        let c = client(models: [m])
        let again = try send(c, request(), m).get()
        XCTAssertTrue(again.cached)
        XCTAssertEqual(again.json, first.json)
        XCTAssertEqual(try standin.requests(), before, "nothing sent")
        XCTAssertEqual(try blocking { await c.stats.counts.cacheHits }, 1)
    }

    func test_an_answer_the_store_cannot_take_is_spilled_and_nothing_more_is_sent_until_it_is_imported() throws {
        let m = model(.openai, standin)
        // Every insert into llm_calls fails, as on a full disk.
        try store.write { db in
            try db.execute(sql: "CREATE TRIGGER full BEFORE INSERT ON llm_calls BEGIN SELECT RAISE(ABORT, 'database or disk is full (test)'); END")
        }
        let c = client(models: [m])
        _ = try blocking { try await c.prepare() }
        guard case .failure(.storeFailed(let message)) = try send(c, request("one"), m) else { return XCTFail("expected storeFailed") }
        XCTAssertTrue(message.contains(store.path) && message.contains("-spill"), message)
        XCTAssertEqual(try standin.requests(), 1)
        let spilled = try c.spill.pending()
        XCTAssertEqual(spilled.count, 1)
        XCTAssertEqual(spilled.first?.key, request("one").cacheKey(for: m))
        XCTAssertNotNil(try JSONValue.parse(try XCTUnwrap(spilled.first?.answer))["caption"])
        XCTAssertGreaterThan(spilled.first?.usage.input ?? 0, 0, "what the answer cost is kept with it")
        // The run is stopped: the next request is not sent.
        guard case .failure(.storeFailed) = try send(c, request("two"), m) else { return XCTFail("expected storeFailed") }
        XCTAssertEqual(try standin.requests(), 1, "nothing sent after the store failed")

        // Space again: the next run imports the answer and never asks for it again.
        try store.write { db in try db.execute(sql: "DROP TRIGGER full") }
        let next = client(models: [m])
        XCTAssertEqual(try blocking { try await next.prepare() }.imported, 1)
        XCTAssertEqual(try c.spill.pending().count, 0)
        let again = try send(next, request("one"), m).get()
        XCTAssertTrue(again.cached)
        XCTAssertEqual(try standin.requests(), 1)
    }

    func test_a_cache_made_with_the_base_url_in_the_key_still_answers() throws {
        let m = model(.openai, standin)
        var moved = m
        moved.baseURL = "http://127.0.0.1:1/v1"
        XCTAssertEqual(request().cacheKey(for: m), request().cacheKey(for: moved), "the server's address is not part of the key")
        XCTAssertNotEqual(request().legacyCacheKey(for: m), request().cacheKey(for: m))
        // A store written by an earlier version holds the answer under the old key.
        try store.saveCall(LLMCallRecord(key: request().legacyCacheKey(for: m), stage: "caption", provider: "openai", model: m.model, ok: true,
                                         httpStatus: 200, response: nil, answer: #"{"caption": "A frown.", "cues": ["brow"]}"#, attempts: 1,
                                         usage: TokenUsage(input: 10, output: 5, estimated: false), cost: 0, latencyMs: 1, error: nil))
        let a = try send(client(models: [m]), request(), m).get()
        XCTAssertTrue(a.cached)
        XCTAssertEqual(a.json?["caption"], "A frown.")
        XCTAssertEqual(try standin.requests(), 0)
    }

    func test_retries_are_billed_and_reserved_each_time() throws {
        let m = model(.openai, standin)
        try standin.faults(#"[{"fault": "schema_violation", "times": 2}]"#)
        let c = client(models: [m])
        let a = try send(c, request(), m).get()
        XCTAssertEqual(a.attempts, 3)
        let s = try standin.control("GET", "/_standin/stats")
        let billed = Int((s["prompt_tokens"]?.numberValue ?? 0) + (s["completion_tokens"]?.numberValue ?? 0))
        let counts = try blocking { await c.stats.counts }
        XCTAssertEqual(counts.tokensIn + counts.tokensOut, billed, "the two unusable answers were billed too")
        XCTAssertEqual(a.usage.input + a.usage.output, billed)
        XCTAssertEqual(try store.call(key: a.key)?.usage.input ?? 0, a.usage.input, "the stored call keeps every attempt's tokens")
    }

    func test_max_cost_stops_before_the_budget_would_be_exceeded() throws {
        var m = model(.openai, standin)
        m.pricePerMillionInput = 1000
        m.pricePerMillionOutput = 1000
        var o = Self.fast()
        o.maxCost = 2.5  // each call reserves (input estimate + 1024 output) × $0.001: about $1.3
        let c = client(o, models: [m])
        var answered = 0
        var stopped = false
        for i in 0..<5 {
            switch try send(c, request("Clip \(i)."), m) {
            case .success: answered += 1
            case .failure(.budgetExceeded(let spent, let limit)):
                stopped = true
                XCTAssertLessThanOrEqual(spent, limit)
            case .failure(let e): XCTFail("\(e)")
            }
            if stopped { break }
        }
        XCTAssertTrue(stopped)
        XCTAssertGreaterThan(answered, 0)
        let spent = try blocking { await c.budget.spent }
        XCTAssertLessThanOrEqual(spent, 2.5)
        XCTAssertEqual(try standin.requests(), answered, "the call that would not fit was never sent")
    }

    func test_dry_run_sends_nothing_and_estimates_tokens_and_cost() throws {
        let m = model(.openai, standin)
        var o = Self.fast()
        o.dryRun = true
        let c = client(o, models: [m])
        for i in 0..<3 {
            guard case .failure(.dryRun) = try send(c, request("Clip \(i)."), m) else { return XCTFail() }
        }
        let counts = try blocking { await c.stats.counts }
        XCTAssertEqual(counts.wouldSend, 3)
        XCTAssertGreaterThan(counts.estimatedTokensIn, 0)
        XCTAssertGreaterThan(counts.estimatedCost, 0)
        XCTAssertEqual(try standin.requests(), 0)
        XCTAssertEqual(try store.callTotals().calls, 0)
    }

    func test_requests_per_minute_limit_is_respected_by_the_client() throws {
        standin.stop()
        standin = try Standin(arguments: ["--rpm", "5"])
        var m = model(.openai, standin)
        m.requestsPerMinute = 5
        m.maxAttempts = 1
        let c = client(models: [m])
        let requests = (0..<5).map { request("rpm \($0)") }
        let limited = m
        let answers = try blocking { () async -> [Bool] in
            await withTaskGroup(of: Bool.self) { group in
                for r in requests {
                    group.addTask { (try? await c.send(r, model: limited)) != nil }
                }
                return await group.reduce(into: []) { $0.append($1) }
            }
        }
        XCTAssertEqual(answers.filter { $0 }.count, 5, "five within the limit all pass")
        let stats = try standin.control("GET", "/_standin/stats")
        XCTAssertEqual(stats["rate_limited"]?.numberValue ?? -1, 0, "\(stats.canonical)")
    }
}
