import EmoCFG
import Foundation
import GRDB
import TestSupport
import XCTest

/// `emocfg annotate` as a user runs it, against the stand-in: every stage, reruns, a planted key,
/// and a SIGKILL in the middle of a stage.
final class AnnotateCommandTests: XCTestCase {
    let repo = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    var standin: Standin!
    var dir: URL!
    var db: String { dir.appendingPathComponent("emocfg.sqlite").path }

    override func setUpWithError() throws {
        dir = FileManager.default.temporaryDirectory.appendingPathComponent("emocfg-annotate-cli-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
    }

    override func tearDown() {
        standin?.stop()
        try? FileManager.default.removeItem(at: dir)
    }

    func start(_ arguments: [String] = []) throws { standin = try Standin(arguments: arguments) }

    var environment: [String: String] {
        var env = ProcessInfo.processInfo.environment
        env["EMOCFG_STANDIN_PORT"] = "\(standin.port)"
        env["EMOCFG_DEMO_KEY"] = env["EMOCFG_DEMO_KEY"] ?? "demo-key"
        return env
    }

    @discardableResult
    func emocfg(_ args: [String], env: [String: String]? = nil) throws -> (status: Int32, out: String, err: String) {
        try runExecutable("emocfg", args + ["--db", db], in: repo, environment: env ?? environment)
    }

    func ingest(_ sources: [String]) throws {
        let r = try emocfg(["ingest", "--sources", "samples/sources.yaml", "--source"] + sources)
        XCTAssertEqual(r.status, 0, r.err)
    }

    func annotate(_ stage: String, _ extra: [String] = [], env: [String: String]? = nil) throws -> (status: Int32, out: String, err: String) {
        try emocfg(["annotate", "--stage", stage, "--pipeline", "samples/pipeline.yaml"] + extra, env: env)
    }

    func test_every_stage_makes_samples_and_a_rerun_sends_nothing() throws {
        try start()
        try ingest(["RAVDESS"])
        let first = try annotate("all")
        XCTAssertEqual(first.status, 0, first.err + first.out)
        let store = try Store(path: db)
        let usable = try store.clips(source: "RAVDESS").filter { $0.status == .ok }.count
        XCTAssertEqual(usable, 9)
        XCTAssertTrue(first.out.contains("instruct: in 9, done 9"), first.out)
        XCTAssertGreaterThan(try store.samples(stage: "instruct").count, 9)
        XCTAssertEqual(try store.samples(stage: "caption").count, 27, "three captions per clip")
        let qa = try store.samples(stage: "qa")
        XCTAssertGreaterThanOrEqual(qa.count, 9)
        XCTAssertTrue(qa.allSatisfy { $0.content["source"]?.stringValue?.hasPrefix("QA_") == true })
        XCTAssertEqual(try store.samples(stage: "rationale").count, 9 + qa.count, "one per emotion caption and per QA pair")
        let sent = try standin.requests()
        // Some replica clips are byte-identical copies: their requests are identical and sent once.
        XCTAssertEqual(sent, try store.callTotals().calls, "each distinct request sent exactly once")
        XCTAssertGreaterThan(sent, 9)

        let again = try annotate("all")
        XCTAssertEqual(again.status, 0, again.err)
        XCTAssertEqual(try standin.requests(), sent, "a finished stage sends zero requests on a rerun")
        XCTAssertTrue(again.out.contains("caption: in 0,"), again.out)
    }

    func test_a_planted_key_appears_nowhere_in_the_store_or_the_logs() throws {
        try start(["--key", "the-server-wants-another-key"])
        try ingest(["RAVDESS"])
        let planted = "sk-PLANTED-7f3a9c1e5d"
        var env = environment
        env["EMOCFG_DEMO_KEY"] = planted
        let refused = try annotate("caption", ["--verbose", "--limit", "2"], env: env)
        XCTAssertTrue(refused.out.contains("failed 2"), refused.out + refused.err)
        standin.stop()
        try start()
        env["EMOCFG_STANDIN_PORT"] = "\(standin.port)"  // the new stand-in's port
        let ok = try annotate("all", ["--verbose"], env: env)
        XCTAssertEqual(ok.status, 0, ok.err)
        for text in [refused.out, refused.err, ok.out, ok.err] {
            XCTAssertFalse(text.contains(planted), "the key leaked into the output")
        }
        let store = try Store(path: db)
        XCTAssertTrue(try store.failures(stage: "caption").isEmpty, "the failures of the first run were cleared when the items succeeded")
        for suffix in ["", "-wal", "-shm"] {
            guard let bytes = FileManager.default.contents(atPath: db + suffix) else { continue }
            XCTAssertNil(bytes.range(of: Data(planted.utf8)), "the key is in \(db + suffix)")
        }
    }

    func test_sigkill_mid_stage_keeps_every_committed_answer_and_the_rerun_completes() throws {
        try start(["--latency-ms", "120"])
        try ingest(Self.distinctClips)
        let usable = try Store(path: db).clips().filter { $0.status == .ok }.count
        XCTAssertGreaterThan(usable, 20)

        let p = Process()
        p.executableURL = try builtExecutable("emocfg")
        p.arguments = ["annotate", "--stage", "caption", "--pipeline", "samples/pipeline.yaml", "--db", db]
        p.currentDirectoryURL = repo
        p.environment = environment
        p.standardOutput = FileHandle.nullDevice
        p.standardError = FileHandle.nullDevice
        try p.run()
        let watcher = try Store(path: db)
        var committed = 0
        for _ in 0..<400 {
            committed = try watcher.callTotals(stage: "caption").calls
            if committed >= 8 { break }
            usleep(20_000)
        }
        kill(p.processIdentifier, SIGKILL)
        p.waitUntilExit()
        XCTAssertEqual(p.terminationReason, .uncaughtSignal)
        let kept = try committedCalls(watcher)
        XCTAssertGreaterThanOrEqual(kept.count, 8)
        let before = try standin.requests()

        let rerun = try annotate("caption")
        XCTAssertEqual(rerun.status, 0, rerun.err)
        let after = try committedCalls(watcher)
        for (key, stamp) in kept {
            XCTAssertEqual(after[key], stamp, "a committed answer was requested again")
        }
        XCTAssertGreaterThan(after.count, kept.count, "killed before the stage finished")
        XCTAssertEqual(try standin.requests() - before, after.count - kept.count,
                       "the rerun sent exactly the requests whose answers were missing")
        XCTAssertEqual(try watcher.samples(stage: "caption").count, usable * 3, "the stage completes")
    }

    /// Every stored answer of the caption stage with its creation time and attempts: a request sent
    /// again would replace its row.
    func committedCalls(_ store: Store) throws -> [String: String] {
        try store.read { db in
            var out: [String: String] = [:]
            // INSERT OR REPLACE gives a replaced row a new rowid.
            for row in try Row.fetchAll(db, sql: "SELECT key, rowid AS id, created_at FROM llm_calls WHERE stage = 'caption' AND status = 'ok'") {
                out[row["key"]] = "\(row["id"] as Int64)/\(row["created_at"] as String)"
            }
            return out
        }
    }

    func test_dry_run_prints_the_estimate_and_sends_nothing() throws {
        try start()
        try ingest(["RAVDESS"])
        let r = try annotate("caption", ["--dry-run"])
        XCTAssertEqual(r.status, 0, r.err)
        XCTAssertTrue(r.out.contains("dry run: 27 requests would be sent"), r.out)
        XCTAssertEqual(try standin.requests(), 0)
    }

    func test_max_cost_stops_the_stage_cleanly_and_says_how_far_it_got() throws {
        try start()
        try ingest(Self.distinctClips)
        let r = try annotate("caption", ["--max-cost", "0.004"])
        XCTAssertEqual(r.status, 3, "exit status 3: stopped by the budget; " + r.err)
        XCTAssertTrue(r.out.contains("stopped before exceeding the budget"), r.out)
        XCTAssertTrue(r.out.contains("items done"), r.out)
        let calls = try Store(path: db).callTotals(stage: "caption")
        XCTAssertLessThanOrEqual(calls.cost, 0.004)
        XCTAssertGreaterThan(calls.calls, 0)
        let usable = try Store(path: db).clips().filter { $0.status == .ok }.count
        XCTAssertLessThan(calls.calls, usable * 3)
    }

    /// Replicas whose clips each carry their own text (utterances, transcripts), which goes into the
    /// caption request as context: their requests are all different. (Most other replicas copy the
    /// same few tiny videos, and identical requests are rightly sent once.)
    static let distinctClips = ["MELD", "MOSI", "MOSEI", "CH-SIMS"]
}

/// Values that used to stop the program with a Swift trap are refused with a message naming them.
final class CommandValueTests: XCTestCase {
    let repo = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    func test_a_negative_limit_or_cost_is_refused_naming_the_option_not_a_crash() throws {
        let db = FileManager.default.temporaryDirectory.appendingPathComponent("emocfg-values-\(UUID().uuidString).sqlite").path
        defer { try? FileManager.default.removeItem(atPath: db) }
        for args in [["annotate", "--stage", "instruct", "--limit=-1"], ["verify", "--limit=-1"],
                     ["annotate", "--stage", "instruct", "--max-cost=-1"], ["verify", "--max-cost", "nan"]] {
            let r = try runExecutable("emocfg", args + ["--db", db], in: repo)
            XCTAssertNotEqual(r.status, 0, args.joined(separator: " "))
            XCTAssertTrue(r.err.contains("--limit") || r.err.contains("--max-cost"), "\(args): \(r.err)")
            XCTAssertFalse(r.err.contains("Fatal error") || r.err.contains("Crash"), r.err)
        }
    }

    func test_an_unset_base_url_variable_is_an_error_except_where_no_request_is_sent() throws {
        let yaml = """
            models:
              m: {provider: openai, base_url: "http://127.0.0.1:${NOT_SET_ANYWHERE}/v1", model: m}
            stages: {caption: m}
            """
        XCTAssertThrowsError(try PipelineConfig.parse(yaml: yaml, file: "pipeline.yaml")) { e in
            XCTAssertTrue("\(e)".contains("NOT_SET_ANYWHERE"), "\(e)")
        }
        let kept = try PipelineConfig.parse(yaml: yaml, file: "pipeline.yaml", keepUnsetVariables: true)
        XCTAssertEqual(kept.models["m"]?.baseURL, "http://127.0.0.1:${NOT_SET_ANYWHERE}/v1")
        let set = try PipelineConfig.parse(yaml: yaml, file: "pipeline.yaml", environment: ["NOT_SET_ANYWHERE": "8089"], keepUnsetVariables: true)
        XCTAssertEqual(set.models["m"]?.baseURL, "http://127.0.0.1:8089/v1")
    }

    func test_a_gemini_model_name_is_escaped_in_the_url() throws {
        let config = try PipelineConfig.parse(yaml: """
            models:
              g: {provider: gemini, base_url: "http://127.0.0.1:9", model: "my model?v=2#x"}
            stages: {caption: g}
            """, file: "pipeline.yaml")
        let url = GeminiFormat().url(for: try XCTUnwrap(config.models["g"]))
        XCTAssertEqual(url, "http://127.0.0.1:9/v1beta/models/my%20model%3Fv=2%23x:generateContent")
    }

    func test_a_timeout_that_is_not_a_usable_number_is_a_config_error_naming_the_key() throws {
        for value in ["1e300", "0", "nan", "-5"] {
            XCTAssertThrowsError(try PipelineConfig.parse(yaml: """
                models:
                  m: {provider: openai, base_url: "http://127.0.0.1:9/v1", model: m, timeout_seconds: \(value)}
                stages: {caption: m}
                """, file: "pipeline.yaml"), value) { e in
                XCTAssertTrue("\(e)".contains("timeout_seconds"), "\(value): \(e)")
            }
        }
    }
}
