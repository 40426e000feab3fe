// The batch lane against the stand-in with instant jobs: N requests queued through the client, written
// into jobs (at most 50,000 requests each), uploaded, created, polled, downloaded and stored.
import EmoCFG
import Foundation

func batchBenchmark() throws {
    let n = arg("--requests", 100_000)
    let (standin, port) = try startStandin([])
    defer { standin.terminate() }
    let dir = FileManager.default.temporaryDirectory.appendingPathComponent("emocfg-bench-batch-\(getpid())")
    defer { try? FileManager.default.removeItem(at: dir) }
    try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
    let store = try Store(path: dir.appendingPathComponent("bench.sqlite").path)
    let model = ModelConfig(alias: "bench", provider: .openai, baseURL: "http://127.0.0.1:\(port)/v1", model: "bench",
                            keyEnv: "BENCH_KEY", maxConcurrency: 32, pricePerMillionInput: 0.15, pricePerMillionOutput: 0.6,
                            maxOutputTokens: 64)
    var options = LLMClient.Options()
    options.batch.all = true
    options.batch.settings.pollSeconds = 0.05
    options.batch.settings.maxPollSeconds = 0.5
    let client = LLMClient(store: store, models: [model], environment: ["BENCH_KEY": "k"], options: options)
    print("batch lane: \(n) requests, the stand-in's jobs end at once (OpenAI Batch API, 50,000 requests a job)")
    let start = Date()
    let queued = try runBlocking { () -> Int in
        var deferred = 0
        for i in 0..<n {
            do throws(LLMError) { _ = try await client.send(benchRequest(i), model: model) } catch {
                if case .deferred = error { deferred += 1 }
            }
        }
        return deferred
    }
    let tQueued = Date().timeIntervalSince(start)
    let submitted = try runBlocking { await client.batch.submit() }
    let tSubmitted = Date().timeIntervalSince(start)
    var collected = 0.0
    while try !store.batchJobs(open: true).isEmpty {
        let r = try runBlocking { await client.batch.sync() }
        collected += Double(r.collected)
        if !r.problems.isEmpty { print("  problems: \(r.problems)") }
        if r.open > 0 { usleep(50_000) }
    }
    let total = Date().timeIntervalSince(start)
    let stored = try store.read { db in try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM llm_calls WHERE status = 'ok'") ?? 0 }
    var usage = rusage()
    getrusage(RUSAGE_SELF.rawValue, &usage)
    print(String(format: "  queued %d requests into job files   %6.1f s", queued, tQueued))
    print(String(format: "  %d jobs uploaded and created         %6.1f s", submitted.submitted, tSubmitted - tQueued))
    print(String(format: "  polled, downloaded, stored           %6.1f s  (%.0f jobs collected)", total - tSubmitted, collected))
    print(String(format: "  start to all %d answers stored      %6.1f s  (target < 60 s)", stored, total))
    print(String(format: "  peak memory (max RSS)                 %6.0f MB (target < 500 MB)", Double(usage.ru_maxrss) / 1024))
    let jobs = try store.batchJobs()
    let cost = jobs.reduce(0.0) { $0 + $1.cost }
    print(String(format: "  cost at batch prices $%.4f (%d jobs)", cost, jobs.count))
}
