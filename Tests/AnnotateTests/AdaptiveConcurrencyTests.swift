import EmoCFG
import Foundation
import TestSupport
import XCTest

/// The LLM client against a stand-in whose limits it is not told: a hidden concurrency capacity,
/// and an outage. Over real HTTP on loopback; the assertions are about what was sent and answered,
/// never about how long it took.
final class AdaptiveConcurrencyTests: XCTestCase {
    let env = ["EMOCFG_TEST_KEY": "sk-test-0123456789"]
    let schema: JSONValue = ["type": "object", "additionalProperties": false, "required": ["caption", "cues"],
                             "properties": ["caption": ["type": "string", "minLength": 1],
                                            "cues": ["type": "array", "minItems": 1, "items": ["type": "string"]]]]

    func request(_ i: Int) -> LLMRequest {
        LLMRequest(stage: "qa", messages: [.system("Describe."), .user([.text("Clip number \(i).")])],
                   schema: schema, schemaName: "caption", promptID: "qa/open", promptHash: "h1")
    }

    /// Sends `count` distinct requests at once (the limiter decides how many go) and returns how many were answered.
    func sendAll(_ client: LLMClient, _ model: ModelConfig, count: Int, from first: Int = 0) throws -> Int {
        let requests = (first..<(first + count)).map(request)
        return try blocking {
            await withTaskGroup(of: Bool.self) { group in
                for r in requests {
                    group.addTask {
                        do throws(LLMError) { _ = try await client.send(r, model: model); return true } catch { return false }
                    }
                }
                var answered = 0
                for await ok in group where ok { answered += 1 }
                return answered
            }
        }
    }

    func stat(_ standin: Standin, _ key: String) throws -> Int { Int(try standin.control("GET", "/_standin/stats")[key]?.numberValue ?? -1) }

    func test_a_hidden_capacity_is_found_without_a_flood_of_429s_and_never_exceeded_for_long() throws {
        let standin = try Standin(arguments: ["--capacity", "4", "--latency-ms", "30"])
        defer { standin.stop() }
        var m = model(.openai, standin)
        m.maxConcurrency = 32
        m.maxAttempts = 10
        var options = LLMClient.Options()
        options.backoffBase = 0.02
        let client = LLMClient(store: try Store(path: try temporaryStorePath()), models: [m], environment: env, options: options)
        let answered = try sendAll(client, m, count: 240)
        XCTAssertEqual(answered, 240)
        let requests = try stat(standin, "requests"), refused = try stat(standin, "capacity_refused")
        XCTAssertEqual(requests - refused, 240, "every 429 was retried and nothing else was sent")
        XCTAssertLessThan(Double(refused), 0.1 * Double(requests), "\(refused) of \(requests) requests refused")
        let alias = m.alias
        let state = try blocking { await client.concurrency(of: alias) }
        let limit = try XCTUnwrap(state?.limit)
        XCTAssertTrue((2...4).contains(limit), "the limit settled at or below the hidden capacity of 4, not at 32: \(limit)")
        XCTAssertNotNil(state?.ceiling, "the server's 429s were taken as the ceiling")
        try blocking { await client.shutdown() }
    }

    func test_a_server_down_from_the_start_fails_fast_by_attempts_without_pausing() throws {
        let standin = try Standin(arguments: ["--latency-ms", "5"])
        defer { standin.stop() }
        var m = model(.openai, standin)
        m.maxAttempts = 3
        var options = LLMClient.Options()
        options.backoffBase = 0.01
        let client = LLMClient(store: try Store(path: try temporaryStorePath()), models: [m], environment: env, options: options)
        try standin.control("POST", "/_standin/outage", #"{"seconds": 600, "status": 503}"#)
        XCTAssertEqual(try sendAll(client, m, count: 10), 0)
        XCTAssertEqual(try stat(standin, "outage_refused"), 30, "each request used its 3 attempts; nothing paused")
        let counts = try blocking { await client.stats.counts }
        XCTAssertEqual(counts.circuitOpened, 0)
        try blocking { await client.shutdown() }
    }

    func test_an_outage_opens_the_circuit_few_requests_are_sent_into_it_and_the_run_resumes_by_itself() throws {
        let standin = try Standin(arguments: ["--latency-ms", "10"])
        defer { standin.stop() }
        var m = model(.openai, standin)
        m.maxConcurrency = 8
        m.maxAttempts = 12
        var options = LLMClient.Options()
        options.backoffBase = 0.02
        options.limiter.cooldown = 0.2
        options.limiter.cooldownCap = 0.8
        let client = LLMClient(store: try Store(path: try temporaryStorePath()), models: [m], environment: env, options: options)
        // The server answers for a while, then fails everything for 2 s.
        XCTAssertEqual(try sendAll(client, m, count: 20, from: 0), 20)
        try standin.control("POST", "/_standin/outage", #"{"seconds": 2, "status": 503}"#)
        let answered = try sendAll(client, m, count: 60, from: 20)
        XCTAssertEqual(answered, 60, "the run resumed when the server came back")
        let refused = try stat(standin, "outage_refused")
        // Without the breaker, 8 requests at a time retried every few tens of ms for 2 s would be
        // hundreds; with it: those in flight, their first retries, then one probe at a time.
        XCTAssertLessThanOrEqual(refused, 30, "\(refused) requests were sent into the outage")
        let counts = try blocking { await client.stats.counts }
        XCTAssertGreaterThanOrEqual(counts.circuitOpened, 1)
        XCTAssertEqual(counts.paused, [], "the circuit closed again")
        try blocking { await client.shutdown() }
    }
}
