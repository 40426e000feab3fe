import Annotate
import EmoCFG
import Foundation
import GRDB
import TestSupport
import XCTest

/// Money spent and work done are never silently lost: a full store, a budget with unusable
/// answers, two processes on one store, exit statuses, a server on a new port.
final class ReliabilityTests: XCTestCase {
    let repo = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    var standin: Standin!
    var dir: URL!
    var db: String { dir.appendingPathComponent("emocfg.sqlite").path }

    override func setUpWithError() throws {
        dir = FileManager.default.temporaryDirectory.appendingPathComponent("emocfg-reliability-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
    }

    override func tearDown() {
        standin?.stop()
        try? FileManager.default.removeItem(at: dir)
    }

    func start(_ arguments: [String] = []) throws { standin = try Standin(arguments: arguments) }

    func environment(_ extra: [String: String] = [:]) -> [String: String] {
        var env = ProcessInfo.processInfo.environment
        env["EMOCFG_STANDIN_PORT"] = "\(standin.port)"
        env["EMOCFG_DEMO_KEY"] = "demo-key"
        env.removeValue(forKey: "EMOCFG_STORE_MAX_PAGES")
        return env.merging(extra) { $1 }
    }

    @discardableResult
    func emocfg(_ args: [String], env: [String: String] = [:]) throws -> (status: Int32, out: String, err: String) {
        try runExecutable("emocfg", args + ["--db", db], in: repo, environment: environment(env))
    }

    func ingest(_ sources: [String]) throws {
        let r = try emocfg(["ingest", "--sources", "samples/sources.yaml", "--source"] + sources)
        XCTAssertEqual(r.status, 0, r.err)
    }

    func annotate(_ stage: String, _ extra: [String] = [], pipeline: String = "samples/pipeline.yaml",
                  env: [String: String] = [:]) throws -> (status: Int32, out: String, err: String) {
        try emocfg(["annotate", "--stage", stage, "--pipeline", pipeline] + extra, env: env)
    }

    func stats() throws -> JSONValue { try standin.control("GET", "/_standin/stats") }

    func pageCount() throws -> Int {
        try Store(path: db).read { db in try Int.fetchOne(db, sql: "PRAGMA page_count") ?? 0 }
    }

    /// Answers the stand-in sent with HTTP 200.
    func answered() throws -> Int { Int(try stats()["by_status"]?["200"]?.numberValue ?? 0) }

    // MARK: - 1. A full disk

    func test_a_full_store_stops_the_run_keeps_every_paid_answer_and_the_rerun_sends_nothing_twice() throws {
        try start(["--latency-ms", "150"])
        try ingest(["MELD", "MOSI"])
        XCTAssertEqual(try annotate("instruct").status, 0)
        // Room for a few answers (one more page), then SQLite answers SQLITE_FULL, as on a full disk.
        let cap = try pageCount() + 1
        let full = try annotate("caption", env: ["EMOCFG_STORE_MAX_PAGES": "\(cap)"])
        XCTAssertEqual(full.status, 4, "exit status 4: the store could not be written; " + full.err)
        XCTAssertTrue(full.err.contains("cannot write the store") && full.err.contains("database or disk is full"), full.err)
        let store = try Store(path: db)
        let stored = try store.callTotals(stage: "caption").calls
        let spill = SpillFile(storePath: db)
        let spilled = try spill.pending()
        let paid = try answered()
        XCTAssertGreaterThan(paid, 0)
        XCTAssertEqual(stored + spilled.count, paid, "every answer the server sent is in the store or the spill file")
        XCTAssertGreaterThan(spilled.count, 0, "answers in flight when the store filled up went to the spill file")
        let usable = try store.clips().filter { $0.status == .ok }.count
        XCTAssertLessThan(paid, usable * 3, "the run stopped at the first failed write instead of going on paying")

        // Still full (no page added): the rerun stops again at its first failed write, having sent at
        // most what was in flight, and loses nothing. (Whether the spilled answers fit in the free room
        // of the existing pages depends on which write failed first, so both outcomes are allowed.)
        let stillFull = try annotate("caption", env: ["EMOCFG_STORE_MAX_PAGES": "\(cap)"])
        XCTAssertEqual(stillFull.status, 4, stillFull.err)
        let paidAgain = try answered()
        XCTAssertLessThanOrEqual(paidAgain - paid, 8, "at most the requests in flight (2 × concurrency 4) when the first write failed")
        let storedAgain = try store.callTotals(stage: "caption").calls
        let spilledAgain = try spill.pending().count
        XCTAssertEqual(storedAgain + spilledAgain, paidAgain, "still nothing lost")

        // Space again: the spilled answers are imported, and only the missing requests are sent.
        let before = try standin.requests()
        let rerun = try annotate("caption")
        XCTAssertEqual(rerun.status, 0, rerun.err)
        if spilledAgain > 0 { XCTAssertTrue(rerun.err.contains("imported \(spilledAgain) answer"), rerun.err) }
        XCTAssertEqual(try spill.pending().count, 0)
        XCTAssertFalse(FileManager.default.fileExists(atPath: spill.url.path), "the reserved spill file is removed when unused")
        let total = try store.callTotals(stage: "caption").calls
        XCTAssertEqual(try standin.requests() - before, total - storedAgain - spilledAgain, "no paid answer was asked for again")
        XCTAssertEqual(try store.samples(stage: "caption").count, usable * 3)
        XCTAssertEqual(try store.read { try String.fetchOne($0, sql: "PRAGMA integrity_check") }, "ok")
    }

    func test_a_full_store_during_verify_keeps_every_verdict_paid_for() throws {
        try start(["--latency-ms", "100"])
        try ingest(["MELD"])
        XCTAssertEqual(try annotate("caption", ["--limit", "4"]).status, 0)
        let cap = try pageCount() + 1
        let verify = ["verify", "--pipeline", "samples/pipeline.yaml"]
        let full = try emocfg(verify, env: ["EMOCFG_STORE_MAX_PAGES": "\(cap)"])
        XCTAssertEqual(full.status, 4, full.err)
        let store = try Store(path: db)
        let spilled = try SpillFile(storePath: db).pending().count
        let paidBefore = try answered()
        XCTAssertEqual(try store.callTotals().calls + spilled, paidBefore, "every judge answer is in the store or the spill file")
        let before = try standin.requests()
        let rerun = try emocfg(verify)
        XCTAssertEqual(rerun.status, 0, rerun.err)
        XCTAssertEqual(try standin.requests() - before, try store.callTotals().calls - (paidBefore), "no judge asked twice")
        XCTAssertEqual(try store.samples().filter { $0.stage == "caption" && $0.status == .pending }.count, 0, "every sample decided")
    }

    // MARK: - 2. The budget counts every attempt

    func test_a_budget_with_half_the_answers_unusable_ends_within_the_limit_and_reports_what_was_billed() throws {
        try start()
        try ingest(["MELD", "MOSI", "MOSEI"])
        // Half of all answers break the schema: each is billed by the server and retried.
        try standin.faults(#"[{"fault": "schema_violation", "every": 2, "times": 100000}]"#)
        let limit = 0.004
        let r = try annotate("caption", ["--max-cost", "\(limit)", "--json"])
        XCTAssertEqual(r.status, 3, "exit status 3: stopped by the budget; " + r.err)
        let s = try stats()
        let promptTokens = s["prompt_tokens"]?.numberValue ?? 0, completionTokens = s["completion_tokens"]?.numberValue ?? 0
        XCTAssertGreaterThan(s["faults_served"]?["schema_violation"]?.numberValue ?? 0, 0)
        // samples/pipeline.yaml prices the vision model at $0.15 / $0.60 per million tokens.
        let billed = (promptTokens * 0.15 + completionTokens * 0.60) / 1_000_000
        XCTAssertLessThanOrEqual(billed, limit, "the server billed no more than the budget")
        let report = try JSONValue.parse(String(r.out[try XCTUnwrap(r.out.range(of: "{\n")).lowerBound...]))
        let caption = try XCTUnwrap(report["stages"]?.arrayValue?.first)
        let tokens = (caption["llm"]?["tokensIn"]?.numberValue ?? 0) + (caption["llm"]?["tokensOut"]?.numberValue ?? 0)
        XCTAssertEqual(tokens, promptTokens + completionTokens, "the summary counts the tokens of every attempt")
        XCTAssertEqual(caption["llm"]?["cost"]?.numberValue ?? 0, billed, accuracy: 1e-9, "the summary's cost is what the server billed")
        // The counters add up: in = done + failed + skipped, and the note names what was not done.
        let row = try XCTUnwrap(report["summary"]?.arrayValue?.first)
        let n = { (k: String) in Int(row[k]?.numberValue ?? -1) }
        XCTAssertEqual(n("in"), n("done") + n("failed") + n("skipped"), "\(row)")
        XCTAssertTrue(row["note"]?.stringValue?.contains("\(n("skipped")) not done") == true, "\(row)")
        // The store keeps what every attempt cost, failed calls included.
        XCTAssertEqual(try Store(path: db).callTotals(stage: "caption").cost, billed, accuracy: 1e-9)
    }

    // MARK: - 5. Two processes on one store

    func test_two_processes_on_one_store_split_the_work_and_send_each_request_once() throws {
        try start(["--latency-ms", "40"])
        try ingest(["MELD", "MOSI", "MOSEI", "CH-SIMS"])
        XCTAssertEqual(try annotate("instruct").status, 0)
        let args = ["annotate", "--stage", "caption", "--pipeline", "samples/pipeline.yaml", "--db", db, "--json"]
        let group = DispatchGroup()
        nonisolated(unsafe) var results: [(status: Int32, out: String, err: String)?] = [nil, nil]
        for i in 0..<2 {
            group.enter()
            let env = environment()
            let repo = repo
            DispatchQueue.global().async {
                results[i] = try? runExecutable("emocfg", args, in: repo, environment: env)
                group.leave()
            }
        }
        group.wait()
        let a = try XCTUnwrap(results[0]), b = try XCTUnwrap(results[1])
        XCTAssertEqual(a.status, 0, a.err)
        XCTAssertEqual(b.status, 0, b.err)
        let store = try Store(path: db)
        let calls = try store.callTotals(stage: "caption").calls
        XCTAssertEqual(try standin.requests(), calls, "each request sent once, by one of the two processes")
        let usable = try store.clips().filter { $0.status == .ok }.count
        XCTAssertEqual(try store.samples(stage: "caption").count, usable * 3)
        // Each process reports the items it did.
        func done(_ out: String) throws -> Double {
            let report = try JSONValue.parse(String(out[try XCTUnwrap(out.range(of: "{\n")).lowerBound...]))
            return report["stages"]?.arrayValue?.first?["done"]?.numberValue ?? -1
        }
        // (Which process does how much depends on when each started; that they split the work rather
        // than each doing it all is what the counts show.)
        XCTAssertEqual(try done(a.out) + done(b.out), Double(usable), "every item done by exactly one process")
        XCTAssertEqual(try store.read { try Int.fetchOne($0, sql: "SELECT count(*) FROM work_claims WHERE done_at IS NULL") }, 0,
                       "no claim left behind")

        // Two verify processes: each judge asked once about each sample, every sample decided once.
        let verify = ["verify", "--pipeline", "samples/pipeline.yaml", "--db", db]
        nonisolated(unsafe) var verdicts: [Int32?] = [nil, nil]
        for i in 0..<2 {
            group.enter()
            let env = environment()
            let repo = repo
            DispatchQueue.global().async {
                verdicts[i] = try? runExecutable("emocfg", verify, in: repo, environment: env).status
                group.leave()
            }
        }
        group.wait()
        XCTAssertEqual(verdicts, [0, 0])
        XCTAssertEqual(try standin.requests(), try store.callTotals().calls, "no judge request sent twice")
        XCTAssertEqual(try store.verdicts().count, usable * 3 * 3, "three verdicts per caption")
        XCTAssertEqual(try store.samples(stage: "caption").filter { $0.status == .pending }.count, 0)
    }

    // MARK: - 6. Exit statuses

    func test_a_wrong_key_fails_every_item_and_exits_1_and_run_stops_there() throws {
        try start(["--key", "the-right-key"])
        try ingest(["RAVDESS"])
        let r = try annotate("caption", ["--limit", "3"])
        XCTAssertEqual(r.status, 1, "some (here all) items failed: " + r.err)
        XCTAssertTrue(r.out.contains("caption: in 9, done 0, failed 3, skipped 6"), "in = done + failed + skipped: " + r.out)
        XCTAssertTrue(r.out.contains("emocfg status --failures"), r.out)
        let failures = try emocfg(["status", "--failures"])
        XCTAssertTrue(failures.out.contains("3 failed item(s)") && failures.out.contains("not authorised"), failures.out)

        let out = dir.appendingPathComponent("export")
        let run = try emocfg(["run", "--sources", "samples/sources.yaml", "--pipeline", "samples/pipeline.yaml", "--out", out.path])
        XCTAssertEqual(run.status, 1, run.err)
        XCTAssertTrue(run.err.contains("the run stopped at annotate") && run.err.contains("caption: every item failed"), run.err)
        XCTAssertFalse(run.out.contains("== export"), "nothing exported from a stage that produced nothing")
        XCTAssertFalse(FileManager.default.fileExists(atPath: out.appendingPathComponent("jsons/curation").path))
    }

    func test_a_run_before_any_dataset_is_downloaded_stops_at_ingest_naming_the_sources_file() throws {
        try start()
        // The shipped sources file, whose roots are not on this machine.
        let sources = dir.appendingPathComponent("sources.yaml")
        try String(contentsOf: repo.appendingPathComponent("sources.yaml"), encoding: .utf8)
            .write(to: sources, atomically: true, encoding: .utf8)
        let ingest = try emocfg(["ingest", "--sources", sources.path])
        XCTAssertEqual(ingest.status, 1, ingest.err)
        XCTAssertTrue(ingest.err.contains("no clip found") && ingest.err.contains(sources.path), ingest.err)

        let out = dir.appendingPathComponent("export")
        let run = try emocfg(["run", "--sources", sources.path, "--pipeline", "samples/pipeline.yaml", "--out", out.path])
        XCTAssertEqual(run.status, 1, run.err)
        XCTAssertTrue(run.err.contains("the run stopped at ingest") && run.err.contains("Edit \(sources.path)"), run.err)
        XCTAssertFalse(run.out.contains("== annotate"))
        XCTAssertFalse(FileManager.default.fileExists(atPath: out.path), "no empty tree, no curation version")
        XCTAssertEqual(try standin.requests(), 0)

        let export = try emocfg(["export", "--out", out.path, "--pipeline", "samples/pipeline.yaml"])
        XCTAssertEqual(export.status, 1, export.err)
        XCTAssertTrue(export.err.contains("nothing to export"), export.err)
        XCTAssertFalse(FileManager.default.fileExists(atPath: out.appendingPathComponent("jsons").path))
    }

    // MARK: - 7. The cache key does not name the server's address

    func test_a_server_restarted_on_another_port_answers_from_the_cache() throws {
        try start()
        try ingest(["RAVDESS"])
        XCTAssertEqual(try annotate("caption", ["--limit", "3"]).status, 0)
        let stored = try Store(path: db).callTotals().calls
        XCTAssertGreaterThan(stored, 0)
        let oldPort = standin.port
        standin.stop()
        try start()
        XCTAssertNotEqual(standin.port, oldPort)
        let again = try annotate("caption", ["--limit", "3"])
        XCTAssertEqual(again.status, 0, again.err)
        XCTAssertEqual(try standin.requests(), 0, "answered from the cache")
        XCTAssertEqual(try Store(path: db).callTotals().calls, stored)
    }
}

/// Claims: how processes sharing a store split work.
final class WorkClaimTests: XCTestCase {
    func test_a_live_claim_is_refused_an_expired_or_dead_one_is_taken_over_and_a_finished_one_is_skipped() throws {
        let store = try Store(path: try temporaryStorePath())
        let since = Date()
        let a = ClaimOwner(host: "machine-a", pid: 100, run: "aaaa")
        let b = ClaimOwner(host: "machine-b", pid: 200, run: "bbbb")
        XCTAssertEqual(try store.claim(stage: "caption", item: "x", owner: a, ttl: 60, since: since), .claimed)
        XCTAssertEqual(try store.claim(stage: "caption", item: "x", owner: b, ttl: 60, since: since), .heldBy("machine-a/100/aaaa"))
        XCTAssertEqual(try store.claim(stage: "caption", item: "x", owner: a, ttl: 60, since: since), .claimed, "the owner renews")
        // An expired lease is taken over.
        XCTAssertEqual(try store.claim(stage: "caption", item: "y", owner: a, ttl: -1, since: since), .claimed)
        XCTAssertEqual(try store.claim(stage: "caption", item: "y", owner: b, ttl: 60, since: since), .claimed)
        // A finished item is skipped by a run that started before it finished…
        try store.release(stage: "caption", item: "x", owner: a, finished: true)
        XCTAssertEqual(try store.claim(stage: "caption", item: "x", owner: b, ttl: 60, since: since), .doneElsewhere("machine-a/100/aaaa"))
        // …but a later run may take it again (it found it pending at its start).
        XCTAssertEqual(try store.claim(stage: "caption", item: "x", owner: b, ttl: 60, since: Date().addingTimeInterval(1)), .claimed)
        // A released, unfinished item is free.
        try store.release(stage: "caption", item: "y", owner: b, finished: false)
        XCTAssertEqual(try store.claim(stage: "caption", item: "y", owner: a, ttl: 60, since: since), .claimed)
        // The same item of another stage is another claim.
        XCTAssertEqual(try store.claim(stage: "qa", item: "x", owner: a, ttl: 60, since: since), .claimed)
        // The heartbeat extends only unfinished claims of its owner.
        XCTAssertEqual(try store.renewClaims(owner: a, ttl: 60), 2)
    }

    func test_the_claim_of_a_dead_process_on_this_host_is_taken_over_at_once() throws {
        let store = try Store(path: try temporaryStorePath())
        let child = Process()
        child.executableURL = URL(fileURLWithPath: "/bin/true")
        try child.run()
        child.waitUntilExit()
        let dead = ClaimOwner(pid: child.processIdentifier, run: "dead")
        let live = ClaimOwner(pid: getppid(), run: "live")
        XCTAssertTrue(dead.isDeadOnThisHost)
        XCTAssertFalse(live.isDeadOnThisHost)
        XCTAssertEqual(try store.claim(stage: "verify", item: "s", owner: dead, ttl: 600, since: Date()), .claimed)
        XCTAssertEqual(try store.claim(stage: "verify", item: "t", owner: live, ttl: 600, since: Date()), .claimed)
        let me = ClaimOwner()
        XCTAssertEqual(try store.claim(stage: "verify", item: "s", owner: me, ttl: 600, since: Date()), .claimed, "its process is gone")
        XCTAssertEqual(try store.claim(stage: "verify", item: "t", owner: me, ttl: 600, since: Date()), .heldBy(live.description))
        XCTAssertEqual(ClaimOwner(me.description), me)
    }
}

/// An answer that passes its schema but makes no sample is recorded as a failure with the reason,
/// not left pending with nothing said.
final class EmptyAnswerTests: XCTestCase {
    struct NoSampleStage: ModelStage {
        var name: String { "caption" }
        var needsFrames: Bool { false }
        var answerFields: [[String]] { [["note"]] }
        var steps: Int { 1 }
        func pendingItems(store: Store, sources: [String]?) throws -> [StageItem] {
            try store.clips().filter { $0.status == .ok }.prefix(2).map { StageItem(id: $0.uid, clip: $0) }
        }
        func request(for item: StageItem, step: Int, previous: [JSONValue], frames: [LLMImage]) throws -> LLMRequest {
            LLMRequest(stage: "caption", messages: [.user([.text("Describe \(item.id).")])],
                       schema: ["type": "object", "required": ["note"], "properties": ["note": ["type": "string"]]],
                       schemaName: "note", promptID: "test/none", promptHash: "h")
        }
        func samples(for item: StageItem, answers: [LLMAnswer], model: ModelConfig) -> [NewSample] { [] }
    }

    func test_answers_that_make_no_sample_are_recorded_as_failed_with_the_reason() throws {
        let standin = try Standin()
        defer { standin.stop() }
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("emocfg-empty-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let db = dir.appendingPathComponent("s.sqlite").path
        let repo = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        let r = try runExecutable("emocfg", ["ingest", "--sources", "samples/sources.yaml", "--source", "RAVDESS", "--db", db], in: repo)
        XCTAssertEqual(r.status, 0, r.err)
        let store = try Store(path: db)
        let file = dir.appendingPathComponent("pipeline.yaml")
        try """
            models:
              vision: {provider: openai, base_url: "\(standin.baseURL)/v1", model: standin-vision, key_env: EMOCFG_TEST_KEY}
            stages:
              caption: vision
            """.write(to: file, atomically: true, encoding: .utf8)
        let pipeline = try PipelineConfig.load(file)
        let m = try pipeline.model(forStage: "caption")
        let client = LLMClient(store: store, models: [m], environment: ["EMOCFG_TEST_KEY": "k-123456"])
        let runner = AnnotateRunner(store: store, pipeline: pipeline, client: client)
        let summary = try blocking { try await runner.run(NoSampleStage()) }
        XCTAssertEqual(summary.failed, 2)
        XCTAssertEqual(summary.done, 0)
        let failures = try store.failures(stage: "caption")
        XCTAssertEqual(failures.count, 2)
        XCTAssertTrue(failures.allSatisfy { $0.reason.contains("made no sample") && $0.reason.contains("note") }, "\(failures)")
    }
}

/// Content gates: what passes a schema but says nothing.
final class ContentGateTests: XCTestCase {
    func test_gates_catch_empty_questions_echoed_answers_fragments_and_copied_suggestions() {
        let g = ContentGates()
        XCTAssertNotNil(g.problem(stage: "qa", task: "qa", question: "Gender", answer: "Gender", aspect: "gender"))
        XCTAssertNotNil(g.problem(stage: "qa", task: "qa", question: "Hair?", answer: "Black.", aspect: "hair_color"), "too short")
        XCTAssertNotNil(g.problem(stage: "qa", task: "qa", question: "What is the hair colour?", answer: "what is the hair colour", aspect: "hair_color"))
        XCTAssertNil(g.problem(stage: "qa", task: "qa", question: "What is the hair colour?", answer: "Black.", aspect: "hair_color"))
        XCTAssertNotNil(g.problem(stage: "caption", task: "emotion", question: "", answer: "Sad.", aspect: nil))
        XCTAssertNil(g.problem(stage: "instruct", task: "emotion", question: "Which emotion?", answer: "B", aspect: nil), "label answers are letters")
        XCTAssertTrue(ContentGates.copiesSuggestion("It should be a good hair style", suggestions: ["It should be a good hair style."]))
        XCTAssertFalse(ContentGates.copiesSuggestion("The person has short black hair.", suggestions: ["Mention the hair colour."]))
    }

    func test_gate_lengths_are_read_from_the_pipeline_file() throws {
        let config = try PipelineConfig.parse(yaml: "gates: {min_question_chars: 3, min_text_chars: 40}\n", file: "p.yaml")
        XCTAssertEqual(config.gates.minQuestionChars, 3)
        XCTAssertEqual(config.gates.minTextChars, 40)
        XCTAssertThrowsError(try PipelineConfig.parse(yaml: "gates: {min_words: 3}\n", file: "p.yaml")) { e in
            XCTAssertTrue("\(e)".contains("min_words"), "\(e)")
        }
    }

    struct EchoQAStage: ModelStage {
        var name: String { "qa" }
        var needsFrames: Bool { false }
        var steps: Int { 1 }
        var answerFields: [[String]] { [["note"]] }
        func pendingItems(store: Store, sources: [String]?) throws -> [StageItem] {
            try store.clips().filter { $0.status == .ok }.prefix(1).map { StageItem(id: $0.uid, clip: $0) }
        }
        func request(for item: StageItem, step: Int, previous: [JSONValue], frames: [LLMImage]) throws -> LLMRequest {
            LLMRequest(stage: "qa", messages: [.user([.text("Ask about \(item.id).")])],
                       schema: ["type": "object", "required": ["note"], "properties": ["note": ["type": "string"]]],
                       schemaName: "note", promptID: "test/qa", promptHash: "h")
        }
        func samples(for item: StageItem, answers: [LLMAnswer], model: ModelConfig) -> [NewSample] {
            [("gender", "Gender", "Gender"), ("hair_color", "What colour is the person's hair?", "Black.")].map { aspect, q, a in
                NewSample(uid: "qa/\(item.clip.uid)/\(aspect)", clipUID: item.clip.uid, stage: "qa", task: .qa, form: .open,
                          content: ["question": .string(q), "answer": .string(a), "aspect": .string(aspect)],
                          promptID: "test/qa", promptHash: "h", llmCall: answers.first?.key)
            }
        }
    }

    func test_the_runner_keeps_out_and_records_gated_pairs_and_keeps_the_rest() throws {
        let standin = try Standin()
        defer { standin.stop() }
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("emocfg-gates-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let db = dir.appendingPathComponent("s.sqlite").path
        let repo = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        XCTAssertEqual(try runExecutable("emocfg", ["ingest", "--sources", "samples/sources.yaml", "--source", "RAVDESS", "--db", db], in: repo).status, 0)
        let store = try Store(path: db)
        let pipeline = try PipelineConfig.parse(yaml: """
            models:
              text: {provider: openai, base_url: "\(standin.baseURL)/v1", model: standin-text, key_env: EMOCFG_TEST_KEY}
            stages:
              qa: text
            """, file: "p.yaml")
        let client = LLMClient(store: store, models: Array(pipeline.models.values), environment: ["EMOCFG_TEST_KEY": "k-123456"])
        let summary = try blocking { try await AnnotateRunner(store: store, pipeline: pipeline, client: client).run(EchoQAStage()) }
        XCTAssertEqual(summary.done, 1)
        XCTAssertEqual(summary.samples, 1)
        XCTAssertEqual(summary.gated, 1)
        XCTAssertEqual(try store.samples(stage: "qa").map { $0.content["aspect"]?.stringValue }, ["hair_color"])
        let gated = try store.read { try Row.fetchAll($0, sql: "SELECT uid, reason FROM gated_content") }
        XCTAssertEqual(gated.count, 1)
        XCTAssertTrue((gated[0]["reason"] as String).contains("only the aspect's name"), gated[0]["reason"] as String)
    }
}
