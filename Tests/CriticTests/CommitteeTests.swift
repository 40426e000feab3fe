import Critic
import EmoCFG
import Foundation
import Ingest
import TestSupport
import XCTest

/// The committee against the stand-in, each judge scripted: votes, abstentions, rewrites, reruns.
final class CommitteeTests: XCTestCase {
    let repo = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    var standin: Standin!
    var store: Store!
    var clip: String!

    override func setUpWithError() throws {
        standin = try Standin()
        store = try Store(path: try temporaryStorePath())
        let yaml = "sources:\n  RAVDESS:\n    adapter: ravdess\n    root: \(repo.path)/Tests/Fixtures/RAVDESS\n"
        let config = try SourcesConfig.parse(yaml: yaml, file: "t.yaml", baseDirectory: repo, adapters: AdapterRegistry.names)
        let s = store!
        _ = try blocking { try await IngestRunner(store: s, config: config, jobs: 2).run() }
        clip = try XCTUnwrap(try store.clips().first { $0.status == .ok }?.uid)
    }

    override func tearDown() { standin?.stop() }

    func pipeline(quorum: Int = 2, rounds: Int = 1, maxAttempts: Int = 2) throws -> PipelineConfig {
        let base = standin.baseURL
        return try PipelineConfig.parse(yaml: """
            models:
              judge-a: {provider: openai, base_url: "\(base)/v1", model: judge-a, key_env: K, max_attempts: \(maxAttempts), price_per_million_input: 1}
              judge-b: {provider: gemini, base_url: "\(base)", model: judge-b, key_env: K, max_attempts: \(maxAttempts), price_per_million_input: 1}
              judge-c: {provider: openai, base_url: "\(base)", model: judge-c, key_env: K, max_attempts: \(maxAttempts), price_per_million_input: 1}
              writer: {provider: openai, base_url: "\(base)/v1", model: writer, key_env: K}
            stages: {caption: writer}
            frames: {count: 2, pixel_budget: 4096}
            critic: {judges: [judge-a, judge-b, judge-c], quorum: \(quorum), max_rounds: \(rounds), rewriter: writer}
            """, file: "pipeline.yaml")
    }

    func sample(_ marker: String) -> NewSample {
        NewSample(uid: "caption/\(clip!)/\(marker)", clipUID: clip, stage: "caption", task: .emotion, form: .caption,
                  content: ["question": "What emotion is shown?", "answer": .string("The person shows \(marker).")],
                  promptID: "caption/emotion", promptHash: "h")
    }

    /// Scripts `judge`'s verdict on the samples whose text contains `marker`.
    func script(_ judge: String, _ marker: String, pass: Bool, aspects: [String] = ["emotion"], times: Int = -1) throws {
        try standin.answers("""
            [{"model": "\(judge)", "match": "\(marker)", "times": \(times),
              "content": {"pass": \(pass), "wrong_aspects": \(pass ? "[]" : "[\(aspects.map { "\"\($0)\"" }.joined(separator: ","))]"), "suggestion": "\(pass ? "" : "say the emotion the face shows")"}}]
            """)
    }

    func verify(_ config: PipelineConfig, _ options: CriticRunner.Options = CriticRunner.Options(), maxCost: Double? = nil) throws -> VerifySummary {
        var o = LLMClient.Options()
        o.backoffBase = 0.01
        o.maxCost = maxCost
        let client = LLMClient(store: store, models: Array(config.models.values), environment: ["K": "key"], options: o)
        let runner = try CriticRunner(store: store, pipeline: config,  client: client,
                                      library: PromptLibrary(prompts: repo.appendingPathComponent("prompts"), schemas: repo.appendingPathComponent("schemas")))
        return try blocking { try await runner.run(options) }
    }

    func status(_ marker: String) throws -> SampleStatus? {
        try store.samples().first { $0.uid == "caption/\(clip!)/\(marker)" }?.status
    }

    func test_all_eight_combinations_with_quorum_two_and_three() throws {
        for quorum in [2, 3] {
            try standin.control("POST", "/_standin/reset")
            store = try Store(path: try temporaryStorePath())
            try setUpWithError()
            var samples: [NewSample] = []
            for combo in 0..<8 {
                let marker = "q\(quorum)-combo-\(combo)"
                samples.append(sample(marker))
                for (bit, judge) in ["judge-a", "judge-b", "judge-c"].enumerated() {
                    try script(judge, marker, pass: combo & (1 << bit) != 0)
                }
            }
            try store.upsertSamples(samples)
            let summary = try verify(try pipeline(quorum: quorum))
            for combo in 0..<8 {
                let passes = combo.nonzeroBitCount
                let expected: SampleStatus = passes >= quorum ? .accepted : .rejected
                XCTAssertEqual(try status("q\(quorum)-combo-\(combo)"), expected, "quorum \(quorum), passes \(passes) (combo \(combo))")
            }
            XCTAssertEqual(summary.accepted, quorum == 2 ? 4 : 1)
            XCTAssertEqual(summary.rejected, quorum == 2 ? 4 : 7)
            XCTAssertEqual(try store.verdicts().count, 24, "every verdict is stored")
        }
    }

    func test_one_judge_down_is_decided_by_the_two_that_agree_and_pending_when_they_split() throws {
        try store.upsertSamples([sample("agree"), sample("split")])
        try script("judge-a", "agree", pass: true)
        try script("judge-b", "agree", pass: true)
        try script("judge-a", "split", pass: true)
        try script("judge-b", "split", pass: false)
        try standin.faults(#"[{"fault": "500", "model": "judge-c", "times": 100}]"#)
        let summary = try verify(try pipeline())
        XCTAssertEqual(try status("agree"), .accepted)
        XCTAssertEqual(try status("split"), .pending, "one pass and one fail with a judge abstaining decide nothing")
        XCTAssertEqual(summary.abstentions, 2, "judge-c's call failed on both samples: two abstentions")
        // Each abstention is in the store with its reason; the report shows them.
        let abstentions = try store.abstentions()
        XCTAssertEqual(abstentions.map(\.judge), ["judge-c", "judge-c"])
        XCTAssertEqual(Set(abstentions.map(\.sampleUID)), ["caption/\(clip!)/agree", "caption/\(clip!)/split"])
        XCTAssertTrue(abstentions.allSatisfy { $0.reason.contains("HTTP 500") && $0.llmCall != nil }, "\(abstentions)")
        let report = try CriticReport.make(store: store, judges: ["judge-a", "judge-b", "judge-c"])
        XCTAssertEqual(report.judges["judge-c"]?.abstentions, 2)
        XCTAssertEqual(report.abstentions.first?.count, 2)
        XCTAssertEqual(try store.verdicts(sample: "caption/\(clip!)/split").map(\.judge), ["judge-a", "judge-b"])

        // judge-c is back: the next run asks only judge-c, only about the pending sample.
        try standin.control("POST", "/_standin/faults")
        try standin.control("POST", "/_standin/reset")
        try script("judge-c", "split", pass: true)
        let again = try verify(try pipeline())
        XCTAssertEqual(again.itemsIn, 1)
        XCTAssertEqual(try standin.requests(), 1, "no judge asked twice")
        XCTAssertEqual(try status("split"), .accepted)
        XCTAssertEqual(try store.abstentions().map(\.sampleUID), ["caption/\(clip!)/agree"], "judge-c's vote on split ends its abstention there")
    }

    func test_a_samples_judges_are_asked_at_once_and_one_model_under_three_names_is_warned_about() throws {
        standin.stop()
        standin = try Standin(arguments: ["--latency-ms", "300", "--served-model", "one-small-model"])
        try store.upsertSamples([sample("together")])
        let config = try pipeline()
        _ = try verify(config)
        let stats = try standin.control("GET", "/_standin/stats")
        XCTAssertEqual(stats["requests"]?.numberValue, 3)
        XCTAssertEqual(stats["max_in_flight"]?.numberValue, 3, "the three judges were asked at the same time")
        let warnings = CriticReport.sameModelWarnings(store: store, judges: try config.criticSettings().judges)
        XCTAssertEqual(warnings.count, 1)
        XCTAssertTrue(warnings[0].contains("judge-a, judge-b, judge-c") && warnings[0].contains("one-small-model"), warnings[0])
    }

    func test_two_judges_down_leave_the_sample_pending_never_rejected() throws {
        try store.upsertSamples([sample("outage")])
        try script("judge-a", "outage", pass: false)
        try standin.faults(#"[{"fault": "503", "model": "judge-b", "times": 100}, {"fault": "503", "model": "judge-c", "times": 100}]"#)
        _ = try verify(try pipeline())
        XCTAssertEqual(try status("outage"), .pending)
    }

    func test_a_rewrite_that_passes_in_round_two_replaces_its_parent() throws {
        try store.upsertSamples([sample("wrong-emotion")])
        for judge in ["judge-a", "judge-b", "judge-c"] {
            try script(judge, "wrong-emotion", pass: false, aspects: ["emotion"])  // the original fails everywhere
        }
        let summary = try verify(try pipeline(rounds: 2))
        XCTAssertEqual(summary.rewritten, 1)
        XCTAssertEqual(summary.accepted, 1, "the stand-in's judges pass the rewrite (it no longer says wrong-emotion)")
        let parent = try XCTUnwrap(try store.samples().first { $0.uid == "caption/\(clip!)/wrong-emotion" })
        let child = try XCTUnwrap(try store.samples().first { $0.parentUID == parent.uid })
        XCTAssertEqual(parent.status, .rejected)
        XCTAssertEqual(child.uid, parent.uid + "#r1")
        XCTAssertEqual(child.round, 1)
        XCTAssertEqual(child.status, .accepted)
        XCTAssertEqual(child.content["rewritten_from"]?.stringValue, parent.uid)
        let reasons = try XCTUnwrap(try store.decisionReasons(sample: parent.uid))
        XCTAssertTrue(reasons.hasPrefix("rewritten: judge-a: emotion; say the emotion the face shows"), reasons)
    }

    func test_a_rewrite_that_copies_a_judges_suggestion_is_kept_out_and_the_sample_rejected() throws {
        try store.upsertSamples([sample("copycat")])
        for judge in ["judge-a", "judge-b", "judge-c"] { try script(judge, "copycat", pass: false) }
        // The rewriter answers with the judges' suggestion itself.
        try standin.answers(#"[{"model": "writer", "times": -1, "content": {"question": "What emotion is shown?", "answer": "Say the emotion the face shows."}}]"#)
        let summary = try verify(try pipeline(rounds: 2))
        XCTAssertEqual(summary.rejected, 1)
        XCTAssertEqual(summary.rewritten, 0)
        XCTAssertEqual(try status("copycat"), .rejected)
        let reasons = try XCTUnwrap(try store.decisionReasons(sample: "caption/\(clip!)/copycat"))
        XCTAssertTrue(reasons.contains("copies a judge's suggestion"), reasons)
        XCTAssertEqual(try store.gatedCounts().first?.stage, "caption")
        XCTAssertNil(try store.samples().first { $0.uid.hasSuffix("copycat#r1") }, "the copy never becomes a sample")
    }

    func test_a_verdict_that_passes_while_listing_wrong_aspects_is_asked_again_then_an_abstention() throws {
        try store.upsertSamples([sample("confused")])
        try standin.answers(#"[{"model": "judge-a", "match": "confused", "times": -1, "content": {"pass": true, "wrong_aspects": ["emotion", "hair"], "suggestion": ""}}]"#)
        try script("judge-b", "confused", pass: true)
        try script("judge-c", "confused", pass: true)
        let summary = try verify(try pipeline(maxAttempts: 2))
        XCTAssertEqual(summary.abstentions, 1)
        XCTAssertEqual(try standin.control("GET", "/_standin/stats")["by_model"]?["judge-a"]?.numberValue, 2, "asked again once")
        let a = try XCTUnwrap(try store.abstentions().first)
        XCTAssertEqual(a.judge, "judge-a")
        XCTAssertTrue(a.reason.contains("contradicts itself") && a.reason.contains("emotion, hair"), a.reason)
        XCTAssertEqual(try status("confused"), .accepted, "the two consistent judges pass it")
    }

    func test_a_sample_that_fails_until_max_rounds_is_rejected_with_its_reasons() throws {
        try store.upsertSamples([sample("hopeless")])
        for judge in ["judge-a", "judge-b", "judge-c"] {
            try script(judge, "The sample to check", pass: false, aspects: ["emotion", "cues"])  // every judge prompt: every version fails
        }
        let summary = try verify(try pipeline(rounds: 2))
        XCTAssertEqual(summary.rejected, 1)
        let chain = try store.samples().filter { $0.uid.hasPrefix("caption/\(clip!)/hopeless") }.sorted { $0.round < $1.round }
        XCTAssertEqual(chain.map(\.round), [0, 1])
        XCTAssertEqual(chain.map(\.status), [.rejected, .rejected])
        let reasons = try XCTUnwrap(try store.decisionReasons(sample: chain[1].uid))
        XCTAssertTrue(reasons.contains("judge-b: emotion, cues"), reasons)
        XCTAssertEqual(try verify(try pipeline(rounds: 2)).itemsIn, 0, "a decided sample is not decided again")
    }

    func test_instruct_samples_are_accepted_without_a_vote_unless_asked() throws {
        var s = sample("label")
        s.stage = "instruct"
        s.status = .accepted
        try store.upsertSamples([s])
        XCTAssertEqual(try verify(try pipeline()).itemsIn, 0)
        var o = CriticRunner.Options()
        o.includeInstruct = true
        XCTAssertEqual(try verify(try pipeline(), o).itemsIn, 1)
        XCTAssertEqual(try store.verdicts(sample: s.uid).count, 3)
    }

    func test_the_budget_stops_judging_and_the_report_counts_judges_and_agreement() throws {
        try store.upsertSamples((0..<6).map { sample("budget-\($0)") })
        let stopped = try verify(try pipeline(), maxCost: 0.0000001)
        XCTAssertTrue(stopped.note?.contains("stopped before exceeding the budget") == true, stopped.note ?? "")
        XCTAssertEqual(try standin.requests(), 0)
        _ = try verify(try pipeline())
        let report = try CriticReport.make(store: store, judges: ["judge-a", "judge-b", "judge-c"])
        XCTAssertEqual(report.judges["judge-a"]?.verdicts, 6)
        XCTAssertEqual(report.judges["judge-a"]?.passRate, 1, "the stand-in's judges pass by default")
        XCTAssertEqual(report.outcomes.first?.accepted, 6)
    }
}
