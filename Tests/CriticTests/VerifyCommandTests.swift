import EmoCFG
import Foundation
import GRDB
import TestSupport
import XCTest

/// `emocfg verify` as a process: a SIGKILL in the middle, then a rerun.
final class VerifyCommandTests: XCTestCase {
    let repo = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    var standin: Standin!
    var dir: URL!
    var db: String { dir.appendingPathComponent("emocfg.sqlite").path }

    override func setUpWithError() throws {
        dir = FileManager.default.temporaryDirectory.appendingPathComponent("emocfg-verify-cli-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
    }

    override func tearDown() {
        standin?.stop()
        try? FileManager.default.removeItem(at: dir)
    }

    func emocfg(_ args: [String], wait: Bool = true) throws -> Process {
        let p = Process()
        p.executableURL = try builtExecutable("emocfg")
        p.arguments = args + ["--db", db]
        p.currentDirectoryURL = repo
        var env = ProcessInfo.processInfo.environment
        env["EMOCFG_STANDIN_PORT"] = "\(standin.port)"
        env["EMOCFG_DEMO_KEY"] = "demo-key"
        p.environment = env
        p.standardOutput = FileHandle.nullDevice
        p.standardError = FileHandle.nullDevice
        try p.run()
        if wait { p.waitUntilExit() }
        return p
    }

    /// Every verdict row with its rowid (a verdict asked again would replace its row) and every
    /// decided sample with its decision time.
    func snapshot(_ store: Store) throws -> (verdicts: [String: Int64], decisions: [String: String]) {
        try store.read { db in
            var v: [String: Int64] = [:], d: [String: String] = [:]
            for r in try Row.fetchAll(db, sql: "SELECT sample_uid || '|' || judge AS k, rowid AS id FROM verdicts") { v[r["k"]] = r["id"] }
            for r in try Row.fetchAll(db, sql: "SELECT uid, status || '@' || decided_at AS d FROM samples WHERE decided_at IS NOT NULL") { d[r["uid"]] = r["d"] }
            return (v, d)
        }
    }

    func test_sigkill_mid_verify_then_rerun_asks_no_judge_twice_and_decides_no_sample_twice() throws {
        standin = try Standin(arguments: ["--latency-ms", "60"])
        XCTAssertEqual(try emocfg(["ingest", "--sources", "samples/sources.yaml", "--source", "MELD", "MOSI", "MOSEI"]).terminationStatus, 0)
        XCTAssertEqual(try emocfg(["annotate", "--stage", "caption", "--pipeline", "samples/pipeline.yaml"]).terminationStatus, 0)
        let store = try Store(path: db)
        let total = try store.samples(stage: "caption").count
        XCTAssertGreaterThan(total, 40)

        let p = try emocfg(["verify", "--pipeline", "samples/pipeline.yaml"], wait: false)
        for _ in 0..<500 {
            if try store.verdicts().count >= 30 { break }
            usleep(20_000)
        }
        kill(p.processIdentifier, SIGKILL)
        p.waitUntilExit()
        XCTAssertEqual(p.terminationReason, .uncaughtSignal)
        let before = try snapshot(store)
        XCTAssertGreaterThanOrEqual(before.verdicts.count, 30)
        let requestsBefore = try standin.requests()

        XCTAssertEqual(try emocfg(["verify", "--pipeline", "samples/pipeline.yaml"]).terminationStatus, 0)
        let after = try snapshot(store)
        for (k, id) in before.verdicts { XCTAssertEqual(after.verdicts[k], id, "verdict \(k) was requested again") }
        for (uid, d) in before.decisions { XCTAssertEqual(after.decisions[uid], d, "sample \(uid) was decided again") }
        XCTAssertEqual(after.decisions.count, total, "every sample decided")
        XCTAssertLessThanOrEqual(try standin.requests() - requestsBefore, after.verdicts.count - before.verdicts.count,
                                 "the rerun sent at most one request per missing verdict (identical ones are shared)")
    }
}
