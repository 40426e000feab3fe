// Benchmarks of the LLM client against the provider stand-in (built next to this executable).
import EmoCFG
import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

/// Starts `emocfg-standin` from this executable's folder on a free port.
func startStandin(_ extra: [String]) throws -> (Process, Int) {
    let dir = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
    let portFile = FileManager.default.temporaryDirectory.appendingPathComponent("bench-standin-\(getpid()).port")
    try? FileManager.default.removeItem(at: portFile)
    let p = Process()
    p.executableURL = dir.appendingPathComponent("emocfg-standin")
    p.arguments = ["--port", "0", "--port-file", portFile.path] + extra
    p.standardOutput = FileHandle.nullDevice
    p.standardError = FileHandle.nullDevice
    try p.run()
    for _ in 0..<200 {
        if let t = try? String(contentsOf: portFile, encoding: .utf8), let port = Int(t.trimmingCharacters(in: .whitespacesAndNewlines)) {
            return (p, port)
        }
        usleep(25_000)
    }
    p.terminate()
    throw NSError(domain: "bench", code: 1, userInfo: [NSLocalizedDescriptionKey: "the stand-in did not start (build it: swift build -c release)"])
}

func runBlocking<T: Sendable>(_ body: @escaping @Sendable () async throws -> T) throws -> T {
    nonisolated(unsafe) var result: Result<T, Error>!
    let done = DispatchSemaphore(value: 0)
    Task {
        do { result = .success(try await body()) } catch { result = .failure(error) }
        done.signal()
    }
    done.wait()
    return try result.get()
}

let benchSchema: JSONValue = ["type": "object", "additionalProperties": false, "required": ["caption"],
                              "properties": ["caption": ["type": "string", "minLength": 1]]]

func benchRequest(_ i: Int) -> LLMRequest {
    LLMRequest(stage: "bench", messages: [.system("Describe."), .user([.text("Clip number \(i) shows a person who smiles.")])],
               schema: benchSchema, schemaName: "caption", promptID: "bench", promptHash: "bench")
}

/// Sends `count` distinct requests, `width` at a time; returns (seconds, answered).
func sendAll(_ client: LLMClient, _ model: ModelConfig, _ range: Range<Int>, width: Int, until deadline: Double? = nil) throws -> (Double, Int) {
    try runBlocking {
        let start = Date()
        var answered = 0
        await withTaskGroup(of: Bool.self) { group in
            var next = range.lowerBound
            func submit() {
                let r = benchRequest(next)
                next += 1
                group.addTask { (try? await client.send(r, model: model)) != nil }
            }
            while next < min(range.upperBound, range.lowerBound + width) { submit() }
            while let ok = await group.next() {
                if ok, deadline.map({ Date().timeIntervalSince(start) <= $0 }) ?? true { answered += 1 }
                let late = deadline.map { Date().timeIntervalSince(start) > $0 } ?? false
                if next < range.upperBound && !late { submit() }
            }
        }
        return (Date().timeIntervalSince(start), answered)
    }
}

/// (a) Client + store overhead: the stand-in answers at once; every answer is written to the cache.
func llmThroughputBenchmark() throws {
    let n = arg("--requests", 5000)
    let (standin, port) = try startStandin([])
    defer { standin.terminate() }
    let dir = FileManager.default.temporaryDirectory.appendingPathComponent("emocfg-bench-llm-\(getpid())")
    defer { try? FileManager.default.removeItem(at: dir) }
    let store = try Store(path: dir.appendingPathComponent("bench.sqlite").path)
    let model = ModelConfig(alias: "bench", provider: .openai, baseURL: "http://127.0.0.1:\(port)/v1", model: "bench",
                            keyEnv: "BENCH_KEY", maxConcurrency: 32, maxOutputTokens: 64)
    let client = LLMClient(store: store, models: [model], environment: ["BENCH_KEY": "k"])
    _ = try sendAll(client, model, 0..<200, width: 32)  // warm up connections
    let (t, answered) = try sendAll(client, model, 200..<(200 + n), width: 64)
    let (tc, cached) = try sendAll(client, model, 200..<(200 + n), width: 64)
    print("llm (a): \(n) distinct requests to the stand-in answering at once, 32 in flight, every answer committed to the store")
    print(String(format: "  %.3f s, %.0f requests/s (%d answered)   target ≥ 1,000/s", t, Double(answered) / t, answered))
    print(String(format: "  the same requests again, all from the cache: %.3f s, %.0f requests/s (%d)", tc, Double(cached) / tc, cached))
}

/// (b) Rate limiting: the stand-in answers after 200 ms and refuses (429) beyond N requests a minute;
/// the client, told the same limit, should use ≥ 95% of it without drawing a single 429.
func rateLimitBenchmark() throws {
    let rpm = arg("--rpm", 3000), seconds = Double(arg("--seconds", 60))
    let (standin, port) = try startStandin(["--latency-ms", "200", "--rpm", "\(rpm)"])
    defer { standin.terminate() }
    let dir = FileManager.default.temporaryDirectory.appendingPathComponent("emocfg-bench-rpm-\(getpid())")
    defer { try? FileManager.default.removeItem(at: dir) }
    let store = try Store(path: dir.appendingPathComponent("bench.sqlite").path)
    var model = ModelConfig(alias: "bench", provider: .openai, baseURL: "http://127.0.0.1:\(port)/v1", model: "bench",
                            keyEnv: "BENCH_KEY", maxConcurrency: 24, requestsPerMinute: rpm, maxOutputTokens: 64)
    model.maxAttempts = 1
    let client = LLMClient(store: store, models: [model], environment: ["BENCH_KEY": "k"])
    let budget = Int(Double(rpm) * seconds / 60)
    let (t, answered) = try sendAll(client, model, 0..<(budget * 2), width: 48, until: seconds)
    let counts = try runBlocking { await client.stats.counts }
    let stats = (try? JSONValue.parse(Data(contentsOf: URL(string: "http://127.0.0.1:\(port)/_standin/stats")!))) ?? .null
    let refused = Int(stats["rate_limited"]?.numberValue ?? -1)
    print("llm (b): limit \(rpm) requests/minute, 200 ms per answer, for \(Int(seconds)) s")
    print(String(format: "  answered within %.0f s: %d of the %d the limit allows = %.1f%% (target ≥ 95%%); 429s from the server: %d; failed: %d (run %.1f s)",
                 seconds, answered, budget, 100 * Double(answered) / Double(budget), refused, counts.failed, t))
}
