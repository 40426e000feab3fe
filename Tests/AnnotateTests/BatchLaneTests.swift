import EmoCFG
import Foundation
import GRDB
import TestSupport
import XCTest

/// The batch lane end to end, over loopback against the stand-in's OpenAI Batch API and Gemini Batch
/// Mode: jobs that complete, expire, fail or "complete" with every row failed, splitting at the size
/// limits, the caption chain over three jobs, reruns while a job is in flight, and a SIGKILL at each
/// moment of sending and collecting, each followed by a rerun that submits no key twice and loses no
/// answer (the stand-in counts every key it was sent).
final class BatchLaneTests: XCTestCase {
    let repo = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    var standin: Standin!
    var dir: URL!
    var db: String { dir.appendingPathComponent("emocfg.sqlite").path }
    var pipeline: String { dir.appendingPathComponent("pipeline.yaml").path }

    override func setUpWithError() throws {
        dir = FileManager.default.temporaryDirectory.appendingPathComponent("emocfg-batch-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        standin = try Standin()
        try writePipeline()
    }

    override func tearDown() {
        standin?.stop()
        try? FileManager.default.removeItem(at: dir)
    }

    /// The demo pipeline with quick polls; `vision`/`text` lines are added to those models' blocks.
    func writePipeline(vision: String = "", text: String = "") throws {
        var yaml = try String(contentsOf: repo.appendingPathComponent("samples/pipeline.yaml"), encoding: .utf8)
        if !vision.isEmpty { yaml = yaml.replacingOccurrences(of: "    model: standin-vision\n", with: "    model: standin-vision\n    \(vision)\n") }
        if !text.isEmpty { yaml = yaml.replacingOccurrences(of: "    model: standin-text\n", with: "    model: standin-text\n    \(text)\n") }
        yaml += "\nbatch:\n  poll_seconds: 0.05\n  max_poll_seconds: 0.2\n"
        try yaml.write(toFile: pipeline, atomically: true, encoding: .utf8)
    }

    func environment() -> [String: String] {
        var env = ProcessInfo.processInfo.environment
        env["EMOCFG_STANDIN_PORT"] = "\(standin.port)"
        env["EMOCFG_DEMO_KEY"] = "demo-key"
        return env
    }

    @discardableResult
    func emocfg(_ args: [String]) throws -> (status: Int32, out: String, err: String) {
        try runExecutable("emocfg", args + ["--db", db], in: repo, environment: environment())
    }

    func annotate(_ stage: String, _ extra: [String] = []) throws -> (status: Int32, out: String, err: String) {
        try emocfg(["annotate", "--stage", stage, "--pipeline", pipeline, "--batch"] + extra)
    }

    func ingest(_ sources: [String] = ["MELD"]) throws {
        let r = try emocfg(["ingest", "--sources", "samples/sources.yaml", "--no-faces", "--source"] + sources)
        XCTAssertEqual(r.status, 0, r.err)
    }

    var store: Store { get throws { try Store(path: db) } }
    func stats() throws -> JSONValue { try standin.control("GET", "/_standin/stats") }
    func batchStat(_ name: String) throws -> Int { Int(try stats()["batch"]?[name]?.numberValue ?? -1) }
    /// Chat requests the stand-in answered online (none should be, in the batch lane).
    func onlineRequests() throws -> Int {
        let byPath = try stats()["by_path"]?.objectValue ?? [:]
        return byPath.filter { $0.key.hasSuffix("/chat/completions") || $0.key.hasSuffix(":generateContent") }
            .reduce(0) { $0 + Int($1.value.numberValue ?? 0) }
    }
    func keysSubmittedTwice() throws -> Int { try batchStat("keys_submitted_twice") }
    func usableClips() throws -> Int { try store.clips().filter { $0.status == .ok }.count }
    func jobs() throws -> [BatchJob] { try store.batchJobs() }

    // MARK: - Jobs that complete; the caption chain

    func test_the_caption_chain_advances_over_three_jobs_each_answer_stored_as_an_online_answer_would_be() throws {
        try ingest()
        let clips = try usableClips()
        XCTAssertGreaterThan(clips, 1)
        for step in 1...3 {
            let r = try annotate("caption")
            XCTAssertEqual(r.status, 0, r.err)
            XCTAssertTrue(r.out.contains("waiting for batch jobs \(clips)"), "every item waits for step \(step): " + r.out)
            XCTAssertTrue(r.err.contains("1 job submitted (\(clips) requests)"), r.err)
            let js = try jobs()
            XCTAssertEqual(js.count, step)
            XCTAssertEqual(js.last?.step, step - 1, "each step of the chain is its own job")
            XCTAssertEqual(js.last?.requests, clips)
        }
        // The fourth call collects the third job and makes the samples.
        let last = try annotate("caption")
        XCTAssertEqual(last.status, 0, last.err)
        XCTAssertTrue(last.out.contains("caption: in \(clips), done \(clips)"), last.out)
        XCTAssertEqual(try store.samples(stage: "caption").count, clips * 3)
        let js = try jobs()
        XCTAssertEqual(js.map(\.state), [.completed, .completed, .completed])
        XCTAssertEqual(js.map(\.answered), [clips, clips, clips])
        XCTAssertEqual(try onlineRequests(), 0, "nothing went online")
        XCTAssertEqual(try keysSubmittedTwice(), 0)
        // Stored like online answers: an online rerun finds every one in the cache and sends nothing.
        let online = try emocfg(["annotate", "--stage", "caption", "--pipeline", pipeline])
        XCTAssertEqual(online.status, 0, online.err)
        XCTAssertEqual(try onlineRequests(), 0)
        // Batch prices: half the online price of the vision model ($0.15 / $0.60 per million).
        let calls = try store.read { db in try Row.fetchAll(db, sql: "SELECT tokens_in, tokens_out, cost FROM llm_calls WHERE stage = 'caption'") }
        XCTAssertEqual(calls.count, clips * 3)
        for c in calls {
            let expected = (Double(c["tokens_in"] as Int) * 0.075 + Double(c["tokens_out"] as Int) * 0.30) / 1_000_000
            XCTAssertEqual(c["cost"] as Double, expected, accuracy: 1e-12)
        }
        let listed = try emocfg(["batches"])
        XCTAssertEqual(listed.status, 0, listed.err)
        XCTAssertTrue(listed.out.contains("completed") && listed.out.contains("caption/3"), listed.out)
    }

    func test_wait_runs_every_stage_to_the_end_over_both_providers_with_gemini_files_above_the_inline_limit() throws {
        // The text model (Gemini) sends jobs above 2 kB as an uploaded JSONL file instead of inline requests.
        try writePipeline(text: "batch_max_inline_bytes: 2000")
        try ingest()
        let clips = try usableClips()
        let r = try annotate("all", ["--wait"])
        XCTAssertEqual(r.status, 0, r.err)
        XCTAssertEqual(try store.samples(stage: "caption").count, clips * 3)
        XCTAssertGreaterThan(try store.samples(stage: "qa").count, 0)
        XCTAssertGreaterThan(try store.samples(stage: "rationale").count, 0)
        let js = try jobs()
        XCTAssertTrue(js.allSatisfy { $0.state == .completed }, "\(js.map { "\($0.id) \($0.state)" })")
        XCTAssertTrue(js.contains { $0.provider == "gemini" } && js.contains { $0.provider == "openai" })
        XCTAssertGreaterThan(Int(try stats()["batch"]?["files_uploaded"]?["gemini"]?.numberValue ?? 0), 0, "a Gemini job went as a file")
        XCTAssertEqual(try onlineRequests(), 0)
        XCTAssertEqual(try keysSubmittedTwice(), 0)
        XCTAssertTrue(try store.batchJobs(open: true).isEmpty)
    }

    func test_verify_in_batch_decides_every_sample_with_the_local_judge_online() throws {
        try ingest()
        XCTAssertEqual(try annotate("caption", ["--wait", "--limit", "2"]).status, 0)
        let r = try emocfg(["verify", "--pipeline", pipeline, "--batch", "--wait"])
        XCTAssertEqual(r.status, 0, r.err + r.out)
        XCTAssertEqual(try store.samples().filter { $0.stage == "caption" && $0.status == .pending }.count, 0, r.out)
        let verify = try jobs().filter { $0.stage == "verify" }
        XCTAssertEqual(Set(verify.map(\.modelAlias)), ["judge-openai", "judge-gemini"], "judge-local says mode: online")
        XCTAssertEqual(try keysSubmittedTwice(), 0)
    }

    // MARK: - Jobs that do not complete

    func test_an_expired_job_keeps_its_finished_half_and_only_the_other_half_goes_into_a_new_job() throws {
        try ingest()
        let clips = try usableClips()
        try standin.control("POST", "/_standin/batch", #"[{"expire": true, "done_fraction": 0.5}]"#)
        XCTAssertEqual(try annotate("caption").status, 0)
        let r = try annotate("caption")
        XCTAssertEqual(r.status, 0, r.err)
        let js = try jobs()
        let expired = try XCTUnwrap(js.first { $0.state == .expired }, "\(js.map(\.state))")
        let done = expired.answered
        XCTAssertGreaterThan(done, 0)
        XCTAssertLessThan(done, clips)
        XCTAssertEqual(expired.notRun, clips - done)
        XCTAssertEqual(try store.callTotals(stage: "caption").calls, done, "the finished part is stored")
        // The rerun's new step-1 job carries only the unanswered part (step 2 of the answered part is another job).
        let again = try XCTUnwrap(js.first { $0.id != expired.id && $0.step == 0 })
        let resubmitted = Set(try store.batchJobKeys(again.id))
        let answeredKeys = try Set(store.read { db in try String.fetchAll(db, sql: "SELECT key FROM llm_calls WHERE status = 'ok'") })
        XCTAssertTrue(resubmitted.isDisjoint(with: answeredKeys))
        XCTAssertEqual(resubmitted, Set(try store.batchJobKeys(expired.id)).subtracting(answeredKeys), "exactly the unanswered part again")
        XCTAssertEqual(try keysSubmittedTwice(), clips - done, "only the keys the expired job did not run were sent twice")
        // Finishing: everything answered, nothing more sent twice.
        XCTAssertEqual(try annotate("caption", ["--wait"]).status, 0)
        XCTAssertEqual(try store.samples(stage: "caption").count, clips * 3)
        XCTAssertEqual(try keysSubmittedTwice(), clips - done)
    }

    func test_a_failed_job_is_recorded_with_the_providers_reason_and_its_requests_are_asked_again() throws {
        try ingest()
        let clips = try usableClips()
        try standin.control("POST", "/_standin/batch", #"[{"fail": true, "message": "Enqueued token limit reached for standin-vision."}]"#)
        XCTAssertEqual(try annotate("caption").status, 0)
        let r = try annotate("caption")
        XCTAssertEqual(r.status, 0, r.err)
        let js = try jobs()
        XCTAssertEqual(js[0].state, .failed)
        XCTAssertTrue(js[0].error?.contains("Enqueued token limit reached") == true, js[0].error ?? "no error")
        let next = try XCTUnwrap(js.dropFirst().first)
        XCTAssertEqual(Set(try store.batchJobKeys(next.id)), Set(try store.batchJobKeys(js[0].id)), "every request of the failed job is in the next one")
        let listed = try emocfg(["batches"])
        XCTAssertTrue(listed.out.contains("Enqueued token limit reached"), listed.out)
    }

    func test_a_job_completed_with_every_request_failed_is_recorded_as_failed_never_as_done() throws {
        try ingest()
        try standin.control("POST", "/_standin/batch", #"[{"fail_rows": "all", "status": 500}]"#)
        XCTAssertEqual(try annotate("caption").status, 0)
        XCTAssertEqual(try annotate("caption").status, 0)
        let job = try XCTUnwrap(try jobs().first)
        XCTAssertEqual(job.state, .failed)
        XCTAssertEqual(job.answered, 0)
        XCTAssertTrue(job.error?.contains("every one of its \(job.requests) requests failed") == true, job.error ?? "")
        XCTAssertEqual(try store.read { db in try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM llm_calls WHERE status = 'ok'") }, 0)
        XCTAssertEqual(try store.read { db in try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM batch_job_keys WHERE outcome = 'failed'") }, job.requests)
    }

    func test_jobs_are_split_at_the_request_limit() throws {
        try writePipeline(vision: "batch_max_requests: 2")
        try standin.control("POST", "/_standin/batch/limits", #"{"max_requests": 2}"#)
        try ingest()
        let clips = try usableClips()
        let r = try annotate("caption")
        XCTAssertEqual(r.status, 0, r.err)
        let js = try jobs()
        XCTAssertEqual(js.count, (clips + 1) / 2)
        XCTAssertTrue(js.allSatisfy { $0.requests <= 2 })
        XCTAssertEqual(js.reduce(0) { $0 + $1.requests }, clips)
        XCTAssertEqual(try annotate("caption", ["--wait"]).status, 0)
        XCTAssertEqual(try store.samples(stage: "caption").count, clips * 3)
        XCTAssertTrue(try jobs().allSatisfy { $0.state == .completed && $0.requests <= 2 })
    }

    func test_jobs_are_split_at_the_byte_limit_and_a_request_larger_than_a_job_fails_with_the_reason() throws {
        try writePipeline(vision: "batch_max_bytes: 12000")
        try ingest()
        let clips = try usableClips()
        XCTAssertEqual(try annotate("caption").status, 0)
        let js = try jobs()
        XCTAssertGreaterThan(js.count, 1)
        XCTAssertTrue(js.allSatisfy { $0.bytes <= 12000 }, "\(js.map(\.bytes))")
        XCTAssertEqual(js.reduce(0) { $0 + $1.requests }, clips)
        // A limit below one request: nothing can hold it, so the item fails with the reason instead of waiting forever.
        try writePipeline(vision: "batch_max_bytes: 1024")
        let small = try emocfg(["annotate", "--stage", "caption", "--pipeline", pipeline, "--batch", "--source", "MELD", "--wait"])
        XCTAssertEqual(small.status, 1, small.out)
        let failures = try emocfg(["status", "--failures"])
        XCTAssertTrue(failures.out.contains("more than one batch job may hold"), failures.out)
    }

    // MARK: - Reruns and kills

    func test_a_rerun_while_a_job_is_in_flight_polls_it_and_submits_nothing() throws {
        try ingest()
        try standin.control("POST", "/_standin/batch", #"[{"delay_ms": 600000}]"#)
        XCTAssertEqual(try annotate("caption").status, 0)
        let created = try batchStat("keys_submitted")
        let polls = try jobs()[0].polls
        let r = try annotate("caption")
        XCTAssertEqual(r.status, 0, r.err)
        XCTAssertEqual(try batchStat("keys_submitted"), created, "nothing submitted again")
        XCTAssertEqual(try jobs().count, 1)
        XCTAssertGreaterThan(try jobs()[0].polls, polls, "the job was polled")
        // Nor does an online run pay for what the job carries.
        let online = try emocfg(["annotate", "--stage", "caption", "--pipeline", pipeline])
        XCTAssertEqual(online.status, 0, online.err)
        XCTAssertEqual(try onlineRequests(), 0)
        XCTAssertTrue(online.out.contains("waiting for batch jobs"), online.out)
    }

    /// Two processes on one store queue the same request (their work claims only keep them off an
    /// item while one of them is on it): the store lets one job carry it, the other run's file is
    /// rewritten without it, and a third process starting meanwhile leaves the files being filled alone.
    func test_two_processes_queueing_the_same_request_send_it_in_one_job_only() throws {
        let m = model(.openai, standin)
        var options = LLMClient.Options()
        options.batch.all = true
        let env = ["EMOCFG_TEST_KEY": "sk-test-0123456789"]
        let a = LLMClient(store: try Store(path: db), models: [m], environment: env, options: options)
        let b = LLMClient(store: try Store(path: db), models: [m], environment: env, options: options)
        let schema: JSONValue = ["type": "object", "required": ["caption"], "properties": ["caption": ["type": "string"]]]
        func queue(_ client: LLMClient, _ text: String) throws {
            let request = LLMRequest(stage: "caption", messages: [.system("Describe."), .user([.text(text)])], schema: schema,
                                     schemaName: "caption", promptID: "caption/attribute", promptHash: "h1")
            let outcome = try blocking { () -> String in
                do throws(LLMError) { _ = try await client.send(request, model: m); return "answered" } catch {
                    if case .deferred = error { return "deferred" }
                    return "\(error)"
                }
            }
            XCTAssertEqual(outcome, "deferred", text)
        }
        try queue(a, "the same clip")
        try queue(a, "a clip only the first process has")
        try queue(b, "the same clip")
        try queue(b, "a clip only the second process has")
        let files = try FileManager.default.contentsOfDirectory(atPath: db + ".batches").filter { $0.hasSuffix(".jsonl") }
        XCTAssertEqual(files.count, 2)
        // A third process starting now sweeps orphaned files, but these two are being filled (locked).
        _ = LLMClient(store: try Store(path: db), models: [m], environment: env, options: options)
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: db + ".batches").filter { $0.hasSuffix(".jsonl") }.count, 2)

        let first = try blocking { await a.batch.submit() }
        let second = try blocking { await b.batch.submit() }
        XCTAssertEqual(first.problems + second.problems, [])
        XCTAssertEqual([first.requestsSubmitted, first.takenElsewhere], [2, 0])
        XCTAssertEqual([second.requestsSubmitted, second.takenElsewhere], [1, 1])
        XCTAssertEqual(try batchStat("keys_submitted"), 3)
        XCTAssertEqual(try keysSubmittedTwice(), 0)
        let keys = try jobs().map { try store.batchJobKeys($0.id) }
        XCTAssertEqual(keys.map(\.count).sorted(), [1, 2])
        XCTAssertEqual(Set(keys.joined()).count, 3, "every key in one job only")
    }

    /// Two processes polling one job: the first to collect it records its answers and cost; the
    /// second stores nothing (its cost would otherwise be added to the first record's), and no
    /// later update moves a final job back.
    func test_a_job_is_collected_once_and_a_final_job_never_changes_again() throws {
        let store = try self.store
        var job = BatchJob(id: "b-test", provider: "openai", modelAlias: "vision", model: "standin-vision", baseURL: standin.baseURL + "/v1",
                           stage: "caption", step: nil, state: .inFlight, inputFile: nil, requests: 1, bytes: 10, reservedCost: 1)
        XCTAssertTrue(try store.insertBatchJobUnlessTaken(job, keys: ["k1"]))
        XCTAssertFalse(try store.insertBatchJobUnlessTaken(BatchJob(id: "b-other", provider: "openai", modelAlias: "vision", model: "standin-vision",
                                                                   baseURL: standin.baseURL + "/v1", stage: "caption", step: nil, state: .prepared,
                                                                   inputFile: nil, requests: 1, bytes: 10, reservedCost: 1), keys: ["k1"]),
                       "a key an open job carries goes into no other job")
        let call = LLMCallRecord(key: "k1", stage: "caption", provider: "openai", model: "standin-vision", ok: true, httpStatus: 200,
                                 response: nil, answer: #"{"caption":"x"}"#, attempts: 1, usage: TokenUsage(input: 100, output: 10, estimated: false),
                                 cost: 0.5, latencyMs: nil, error: nil)
        job.state = .completed
        job.answered = 1
        XCTAssertTrue(try store.collectBatchJob(job, calls: [call], outcomes: [BatchKeyOutcome(key: "k1", kind: .answered)]))
        XCTAssertFalse(try store.collectBatchJob(job, calls: [call], outcomes: [BatchKeyOutcome(key: "k1", kind: .answered)]),
                       "collected already: nothing stored the second time")
        XCTAssertEqual(try store.cachedCall(key: "k1")?.cost, 0.5)
        XCTAssertEqual(try store.cachedCall(key: "k1")?.attempts, 1)
        job.state = .ended
        try store.updateBatchJob(job)
        XCTAssertEqual(try store.batchJob(id: "b-test")?.state, .completed, "a late poll does not move a final job back")
        XCTAssertEqual(try store.batchKeysTaken(["k1", "k2"]), ["k1"], "answered: never queued again")
    }

    func test_a_lost_job_id_is_found_again_and_the_job_is_not_submitted_twice() throws {
        try ingest()
        let clips = try usableClips()
        try standin.control("POST", "/_standin/batch", #"[{"lose_id": true}]"#)
        let r = try annotate("caption", ["--wait"])
        XCTAssertEqual(r.status, 0, r.err)
        XCTAssertEqual(try store.samples(stage: "caption").count, clips * 3)
        XCTAssertEqual(try keysSubmittedTwice(), 0)
        XCTAssertEqual(try jobs().count, 3)
    }

    /// Runs `annotate --batch` until the stand-in reports `reached`, then kills it with SIGKILL.
    func killedRun(when reached: () throws -> Bool) throws {
        let p = Process()
        p.executableURL = try builtExecutable("emocfg")
        p.arguments = ["annotate", "--stage", "caption", "--pipeline", pipeline, "--batch", "--wait", "--db", db]
        p.currentDirectoryURL = repo
        p.environment = environment()
        p.standardOutput = FileHandle.nullDevice
        p.standardError = FileHandle.nullDevice
        try p.run()
        var hit = false
        for _ in 0..<1200 where p.isRunning {
            if try reached() { hit = true; break }
            usleep(25_000)
        }
        kill(p.processIdentifier, SIGKILL)
        p.waitUntilExit()
        XCTAssertTrue(hit, "the moment to kill at was reached")
    }

    func finishAfterKill(clips: Int) throws {
        try standin.control("POST", "/_standin/batch/stall", #"{"upload_ms": 0, "create_ms": 0, "download_ms": 0}"#)
        let r = try annotate("caption", ["--wait"])
        XCTAssertEqual(r.status, 0, r.err)
        XCTAssertEqual(try store.samples(stage: "caption").count, clips * 3, "no answer lost")
        XCTAssertEqual(try keysSubmittedTwice(), 0, "no key submitted twice")
        XCTAssertEqual(try batchStat("keys_submitted"), clips * 3)
        XCTAssertEqual(try onlineRequests(), 0)
    }

    func test_sigkill_during_the_upload_then_a_rerun_submits_no_key_twice() throws {
        try ingest()
        let clips = try usableClips()
        try standin.control("POST", "/_standin/batch/stall", #"{"upload_ms": 20000}"#)
        try killedRun { (try self.stats()["batch"]?["files_uploaded"]?["openai"]?.numberValue ?? 0) > 0 }
        XCTAssertEqual(try jobs().first?.state, .prepared, "killed while uploading: the job is written, its file id not yet")
        try finishAfterKill(clips: clips)
    }

    func test_sigkill_right_after_submitting_then_a_rerun_finds_the_job_and_submits_no_key_twice() throws {
        try ingest()
        let clips = try usableClips()
        try standin.control("POST", "/_standin/batch/stall", #"{"create_ms": 20000}"#)
        try killedRun { (try self.stats()["batch"]?["jobs_created"]?["openai"]?.numberValue ?? 0) > 0 }
        XCTAssertEqual(try jobs().first?.state, .submitting, "killed before the job's id came back")
        XCTAssertNil(try jobs().first?.providerJobID)
        try finishAfterKill(clips: clips)
        XCTAssertEqual(Int(try stats()["batch"]?["jobs_created"]?["openai"]?.numberValue ?? 0), 3, "the first job was found, not created again")
    }

    func test_sigkill_while_downloading_results_then_a_rerun_stores_every_answer_once() throws {
        try ingest()
        let clips = try usableClips()
        try standin.control("POST", "/_standin/batch/stall", #"{"download_ms": 20000}"#)
        try killedRun { (try self.batchStat("downloads_started")) > 0 }
        let job = try XCTUnwrap(try jobs().first)
        XCTAssertEqual(job.state, .ended, "killed while collecting: ended, nothing stored")
        XCTAssertEqual(try store.callTotals(stage: "caption").calls, 0)
        try finishAfterKill(clips: clips)
        // Every answer stored once, with one attempt: the collection was not counted twice.
        XCTAssertEqual(try store.read { db in try Int.fetchOne(db, sql: "SELECT MAX(attempts) FROM llm_calls") }, 1)
    }

    // MARK: - run --batch, cancel, budget

    func test_run_batch_no_wait_returns_after_submitting_and_the_next_run_goes_on_to_the_export() throws {
        let sources = dir.appendingPathComponent("sources.yaml")
        try "sources:\n  MELD:\n    adapter: meld\n    root: \(repo.appendingPathComponent("Tests/Fixtures/MELD").path)\n    faces: off\n"
            .write(to: sources, atomically: true, encoding: .utf8)
        let out = dir.appendingPathComponent("out").path
        let args = ["run", "--sources", sources.path, "--pipeline", pipeline, "--out", out, "--batch"]
        let first = try emocfg(args + ["--no-wait"])
        XCTAssertEqual(first.status, 0, first.err + first.out)
        XCTAssertTrue(first.out.contains("batch job") && first.out.contains("in flight"), first.out)
        XCTAssertFalse(FileManager.default.fileExists(atPath: out + "/jsons"), "nothing exported while answers are out")
        XCTAssertEqual(try store.lastPipelineRun()?.status, "waiting")
        // The next run resumes at annotate, collects, waits for the rest and goes on to the end.
        let second = try emocfg(args)
        XCTAssertEqual(second.status, 0, second.err + second.out)
        XCTAssertTrue(second.out.contains("Resuming at annotate"), second.out)
        XCTAssertEqual(try store.lastPipelineRun()?.status, "done")
        XCTAssertTrue(FileManager.default.fileExists(atPath: out + "/jsons/curation"), second.out)
        XCTAssertTrue(try store.batchJobs(open: true).isEmpty)
        XCTAssertEqual(try keysSubmittedTwice(), 0)
        XCTAssertTrue(try jobs().contains { $0.stage == "verify" }, "the judges voted through the batch lane too")
    }

    func test_a_cancelled_job_keeps_what_it_finished_and_its_other_requests_go_into_a_new_job() throws {
        try ingest()
        try standin.control("POST", "/_standin/batch", #"[{"delay_ms": 600000}]"#)
        XCTAssertEqual(try annotate("caption").status, 0)
        let job = try XCTUnwrap(try jobs().first)
        let c = try emocfg(["batches", "cancel", job.id, "--pipeline", pipeline])
        XCTAssertEqual(c.status, 0, c.err)
        XCTAssertEqual(try annotate("caption").status, 0)
        let js = try jobs()
        XCTAssertEqual(js[0].state, .cancelled)
        XCTAssertEqual(js[0].answered + js[0].notRun, js[0].requests)
        XCTAssertEqual(js.count, 2, "its requests went into a new job")
        let unknown = try emocfg(["batches", "cancel", "no-such-job", "--pipeline", pipeline])
        XCTAssertEqual(unknown.status, 2)
        XCTAssertTrue(unknown.err.contains("no batch job 'no-such-job'"), unknown.err)
    }

    func test_the_budget_reserves_a_jobs_worst_case_before_submitting_it() throws {
        try ingest()
        let r = try annotate("caption", ["--max-cost", "0.0000001"])
        XCTAssertEqual(r.status, 0, r.err)
        XCTAssertTrue(r.err.contains("not submitted: its worst case would exceed --max-cost"), r.err)
        XCTAssertEqual(try jobs().count, 0)
        XCTAssertEqual(try batchStat("keys_submitted"), 0)
        // With room, the same requests are submitted.
        XCTAssertEqual(try annotate("caption", ["--max-cost", "5"]).status, 0)
        XCTAssertEqual(try jobs().count, 1)
    }

    // MARK: - Cost

    func test_dry_run_shows_the_online_and_the_batch_estimate_side_by_side() throws {
        try ingest()
        let r = try emocfg(["annotate", "--stage", "caption", "--pipeline", pipeline, "--dry-run"])
        XCTAssertEqual(r.status, 0, r.err)
        let pattern = #"at most \$([0-9.]+) online or \$([0-9.]+) through the batch lane"#
        let m = try XCTUnwrap(r.out.range(of: pattern, options: .regularExpression), r.out)
        let text = String(r.out[m])
        let numbers = text.split(separator: "$").dropFirst().compactMap { Double($0.split(separator: " ")[0]) }
        XCTAssertEqual(numbers.count, 2, text)
        XCTAssertEqual(numbers[1], numbers[0] / 2, accuracy: 0.00011, "batch prices are half the online prices")
        XCTAssertEqual(try standin.requests(), 0)
    }
}
