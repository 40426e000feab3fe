// emocfg-bench adaptive [--capacity N] [--seconds S] [--outage S]
//
// (a) Unknown limits: a stand-in that takes N requests at once (`--capacity`, default 16) with
//     200 ms per answer, so at most N / 0.2 answers per second; the client is told only
//     max_concurrency 256. Answers per second over time, when 90% of the capacity's throughput is
//     reached, and the share of requests answered 429: with adaptive concurrency, and side by side
//     with adaptation off (256 at once, Retry-After-less 429s retried with backoff).
// (b) An outage: the stand-in answers 503 to everything for `--outage` seconds (default 30) in the
//     middle of a run; how many requests were sent into it, whether the circuit opened, and how
//     soon answers came back after it ended.
import EmoCFG
import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

func adaptiveBenchmark() throws {
    let capacity = arg("--capacity", 16), seconds = Double(arg("--seconds", 60)), outage = arg("--outage", 30)
    let ideal = Double(capacity) / 0.2
    print("adaptive (a): hidden capacity \(capacity) requests at once, 200 ms per answer (at most \(Int(ideal)) answers/s); max_concurrency 256, \(Int(seconds)) s")
    for adaptive in [true, false] {
        let (standin, port) = try startStandin(["--latency-ms", "200", "--capacity", "\(capacity)"])
        defer { standin.terminate() }
        let run = try timedRun(port: port, maxConcurrency: 256, adaptive: adaptive, seconds: seconds, width: 1024)
        let stats = (try? JSONValue.parse(Data(contentsOf: URL(string: "http://127.0.0.1:\(port)/_standin/stats")!))) ?? .null
        let requests = Int(stats["requests"]?.numberValue ?? 0), refused = Int(stats["capacity_refused"]?.numberValue ?? 0)
        let buckets = stride(from: 0.0, to: seconds, by: 5).map { s in Double(run.answers.filter { $0 >= s && $0 < s + 5 }.count) / 5 }
        let reached = buckets.firstIndex { $0 >= 0.9 * ideal }.map { String(format: "%.0f s", Double($0 + 1) * 5) } ?? "never"
        let steady = buckets.count > 2 ? buckets.dropFirst(2).reduce(0, +) / Double(buckets.count - 2) : 0
        print(String(format: "  %@: 90%% of capacity (%.0f/s) reached within %@; after 10 s %.1f answers/s = %.1f%% of capacity; 429s %d of %d requests = %.2f%%; limit at the end %@",
                     adaptive ? "adaptive     " : "fixed at 256 ", 0.9 * ideal, reached, steady, 100 * steady / ideal,
                     refused, requests, 100 * Double(refused) / Double(max(1, requests)), run.limit.map(String.init) ?? "-"))
        print("    answers/s per 5 s: " + buckets.map { String(format: "%.0f", $0) }.joined(separator: " "))
        print("    limit at each 5 s: " + run.limits.map(String.init).joined(separator: " "))
    }

    print("adaptive (b): the server answers 503 to everything for \(outage) s, from 15 s into the run; max_concurrency 16, 200 ms per answer")
    let (standin, port) = try startStandin(["--latency-ms", "200"])
    defer { standin.terminate() }
    let total = 15.0 + Double(outage) + 20
    let trigger = Thread {
        Thread.sleep(forTimeInterval: 15)
        var req = URLRequest(url: URL(string: "http://127.0.0.1:\(port)/_standin/outage")!)
        req.httpMethod = "POST"
        req.httpBody = Data(#"{"seconds": \#(outage), "status": 503}"#.utf8)
        let done = DispatchSemaphore(value: 0)
        URLSession.shared.dataTask(with: req) { _, _, _ in done.signal() }.resume()
        done.wait()
    }
    trigger.start()
    let run = try timedRun(port: port, maxConcurrency: 16, adaptive: true, seconds: total, width: 64)
    let stats = (try? JSONValue.parse(Data(contentsOf: URL(string: "http://127.0.0.1:\(port)/_standin/stats")!))) ?? .null
    let refused = Int(stats["outage_refused"]?.numberValue ?? 0)
    let end = 15.0 + Double(outage)
    let firstAfter = run.answers.filter { $0 >= end }.min().map { String(format: "%.1f s", $0 - end) } ?? "never"
    let before = Double(run.answers.filter { $0 >= 5 && $0 < 15 }.count) / 10
    let after = Double(run.answers.filter { $0 >= end + 10 && $0 < end + 20 }.count) / 10
    print(String(format: "  requests sent into the outage: %d (over %d s); circuit opened %d time(s); first answer %@ after it ended; answers/s %.1f before, %.1f from 10 s after; calls given up: %d",
                 refused, outage, run.circuitOpened, firstAfter, before, after, run.failed))
}

/// Sends distinct requests, `width` outstanding, for `seconds`; returns when each answer came (s from start).
private func timedRun(port: Int, maxConcurrency: Int, adaptive: Bool, seconds: Double, width: Int) throws
    -> (answers: [Double], limit: Int?, circuitOpened: Int, failed: Int, limits: [Int]) {
    let dir = FileManager.default.temporaryDirectory.appendingPathComponent("emocfg-bench-adaptive-\(getpid())-\(UUID().uuidString)")
    defer { try? FileManager.default.removeItem(at: dir) }
    let store = try Store(path: dir.appendingPathComponent("bench.sqlite").path)
    var model = ModelConfig(alias: "bench", provider: .openai, baseURL: "http://127.0.0.1:\(port)/v1", model: "bench",
                            keyEnv: "BENCH_KEY", maxConcurrency: maxConcurrency, maxOutputTokens: 64)
    model.maxAttempts = 8
    model.adaptiveConcurrency = adaptive
    let client = LLMClient(store: store, models: [model], environment: ["BENCH_KEY": "k"])
    let m = model
    let (answers, limits): ([Double], [Int]) = try runBlocking {
        let start = Date()
        var times: [Double] = []
        // The limit every 5 s, to tell the algorithm's doing from the machine's.
        let sampler = Task {
            var seen: [Int] = []
            while Date().timeIntervalSince(start) < seconds {
                try? await Task.sleep(nanoseconds: 5_000_000_000)
                seen.append(await client.concurrency(of: "bench")?.limit ?? 0)
            }
            return seen
        }
        await withTaskGroup(of: Bool.self) { group in
            var next = 0
            func submit() {
                let r = benchRequest(next)
                next += 1
                group.addTask { (try? await client.send(r, model: m)) != nil }
            }
            for _ in 0..<width { submit() }
            while let ok = await group.next() {
                let t = Date().timeIntervalSince(start)
                if ok, t <= seconds { times.append(t) }
                if t < seconds { submit() }
            }
        }
        return (times, await sampler.value)
    }
    let state = try runBlocking { await client.concurrency(of: "bench") }
    let counts = try runBlocking { await client.stats.counts }
    try runBlocking { await client.shutdown() }
    return (answers, state?.limit, counts.circuitOpened, counts.failed, limits)
}
