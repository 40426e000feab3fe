import Critic
import EmoCFG
import Export
import Foundation
import Review
import TestSupport
import XCTest

/// The review page over real HTTP on loopback, against a real store: the queue, decisions and
/// their effect on the store and on the export, and what the server refuses.
final class ReviewServerTests: XCTestCase {
    var fixture: ReviewFixture!
    var review: RunningReview!
    var outs: [URL] = []

    override func setUpWithError() throws {
        fixture = try ReviewFixture()
        var s = ReviewSettings()
        s.reviewer = "tester"
        review = try RunningReview(store: fixture.store, settings: s)
    }

    override func tearDown() {
        review?.stop()
        for o in outs { try? FileManager.default.removeItem(at: o) }
    }

    var store: Store { fixture.store }

    func uids(_ q: JSONValue) -> [String] { q["items"]?.arrayValue?.compactMap { $0["uid"]?.stringValue } ?? [] }

    /// Every line the export writes, as one text.
    func exportedText() throws -> String {
        let out = FileManager.default.temporaryDirectory.appendingPathComponent("emocfg-review-export-\(UUID().uuidString)")
        outs.append(out)
        var s = ExportSettings()
        s.testFraction = 0.5
        s.seed = "review"
        _ = try Exporter(out: out, settings: s, configHash: "test").run(store: store)
        var text = ""
        let jsons = out.appendingPathComponent("jsons")
        for case let f as URL in FileManager.default.enumerator(at: jsons, includingPropertiesForKeys: nil)! where f.pathExtension == "jsonl" {
            text += try String(contentsOf: f, encoding: .utf8)
        }
        return text
    }

    // MARK: - The queue

    func test_queue_lists_split_votes_first_then_rejected_then_pending_then_accepted() throws {
        let q = try review.queue()
        let f = fixture!
        XCTAssertEqual(Array(uids(q).prefix(3)), [f.split, f.rejected, f.pending])
        XCTAssertEqual(Set(uids(q).dropFirst(3)), [f.accepted, f.otherSource])
        XCTAssertEqual(q["items"]?.arrayValue?.compactMap { $0["group"]?.stringValue },
                       ["judges split", "rejected", "pending", "accepted", "accepted"])
        // A rewritten original is shown through its rewrite, not as an item of its own.
        XCTAssertFalse(uids(q).contains(f.rejectedOriginal))
        XCTAssertEqual(q["total"]?.numberValue, 5)
        XCTAssertEqual(q["reviewed"]?.numberValue, 0)

        let page = try review.get("/")
        XCTAssertEqual(page.status, 200)
        XCTAssertTrue(page.text.contains("reviewed <b id=\"reviewed-count\">0</b> / <b id=\"total-count\">5</b>"), page.text)
        // Rows in the same order as the JSON.
        let rows = page.text.components(separatedBy: "data-uid=\"").dropFirst().map { String($0.prefix { $0 != "\"" }) }
        XCTAssertEqual(rows.map { $0.replacingOccurrences(of: "&#39;", with: "'") }, uids(q))
    }

    func test_queue_filters_by_source_task_status_judge_and_review() throws {
        let f = fixture!
        XCTAssertEqual(uids(try review.queue("source=CelebV-HQ")), [f.otherSource])
        XCTAssertEqual(uids(try review.queue("task=qa")), [f.pending])
        XCTAssertEqual(uids(try review.queue("queue=disputed")), [f.split])
        XCTAssertEqual(uids(try review.queue("queue=rejected")), [f.rejected])
        XCTAssertEqual(uids(try review.queue("queue=pending")), [f.pending])
        XCTAssertEqual(Set(uids(try review.queue("queue=accepted"))), [f.split, f.accepted, f.otherSource])
        // judge-c failed the split sample only; judge-a failed the rejected rewrite only.
        XCTAssertEqual(uids(try review.queue("judge=judge-c")), [f.split, f.rejected])
        XCTAssertEqual(uids(try review.queue("judge=judge-a")), [f.rejected])

        XCTAssertEqual(try review.decide(f.accepted, "accept").status, 303)
        XCTAssertEqual(uids(try review.queue("reviewed=yes")), [f.accepted])
        XCTAssertEqual(uids(try review.queue("reviewed=no")).count, 4)
        XCTAssertEqual(try review.queue()["reviewed"]?.numberValue, 1)
    }

    func test_command_line_filters_bound_what_the_page_can_show() throws {
        review.stop()
        var s = ReviewSettings()
        s.reviewer = "tester"
        s.filter = ReviewFilter(sources: ["RAVDESS"], queue: .disputed)
        review = try RunningReview(store: store, settings: s)
        XCTAssertEqual(uids(try review.queue()), [fixture.split])
        // The page narrows, never widens: another queue or source gives nothing more.
        XCTAssertEqual(uids(try review.queue("queue=all")), [fixture.split])
        XCTAssertEqual(uids(try review.queue("source=CelebV-HQ")), [])
    }

    // MARK: - One item

    func test_item_page_shows_clip_labels_chain_and_every_verdict() throws {
        let f = fixture!
        let page = try review.get("/item?uid=" + f.rejected.addingPercentEncoding(withAllowedCharacters: .alphanumerics)!)
        XCTAssertEqual(page.status, 200)
        let html = page.text
        // The clip: a player for the H.264 file, the sampled frames, the face box drawn over them.
        XCTAssertTrue(html.contains("<video id=\"player\""), html)
        XCTAssertTrue(html.contains("/media/frame?clip="))
        XCTAssertTrue(html.contains("class=\"face\""), "the RAVDESS replica has sidecar face boxes")
        XCTAssertTrue(html.contains("RAVDESS"))
        XCTAssertTrue(html.contains("duration"))
        // The question, the answer, the original it was rewritten from, each judge's verdict with aspects and suggestion.
        XCTAssertTrue(html.contains("REWRITE-ANSWER"))
        XCTAssertTrue(html.contains("ORIGINAL-ANSWER"))
        XCTAssertTrue(html.contains("round 0") && html.contains("round 1"))
        for judge in ReviewFixture.judges { XCTAssertTrue(html.contains("SUGGESTION-\(judge)"), judge) }
        XCTAssertTrue(html.contains("emotion"))
        // The decision forms carry the session token.
        XCTAssertTrue(html.contains("name=\"csrf\" value=\"\(review.csrf)\""))
        XCTAssertTrue(html.contains("id=\"accept-form\"") && html.contains("id=\"reject-form\"") && html.contains("id=\"edit-form\""))

        // The frames and the video are served.
        let clip = f.ravdess[0].addingPercentEncoding(withAllowedCharacters: .alphanumerics)!
        let frame = try review.get("/media/frame?clip=\(clip)&n=0")
        XCTAssertEqual(frame.status, 200)
        XCTAssertEqual(frame.header("content-type"), "image/jpeg")
        XCTAssertEqual(Array(frame.body.prefix(2)), [0xFF, 0xD8])
        let video = try review.get("/media/video?clip=\(clip)", headers: ["Range": "bytes=0-99"])
        XCTAssertEqual(video.status, 206)
        XCTAssertEqual(video.body.count, 100)
        let file = try XCTUnwrap(store.clip(uid: f.ravdess[0]))
        let bytes = try Data(contentsOf: Self.repoFile("Tests/Fixtures/RAVDESS/" + file.record.path))
        XCTAssertEqual(video.body, Array(bytes.prefix(100)))
        XCTAssertEqual(video.header("content-range"), "bytes 0-99/\(bytes.count)")

        XCTAssertEqual(try review.get("/item?uid=caption%2Fnope").status, 404)
    }

    static func repoFile(_ path: String) -> URL { ReviewFixture.repo.appendingPathComponent(path) }

    // MARK: - Decisions, the store and the export

    func test_accept_overrules_a_rejection_and_the_sample_is_exported() throws {
        let f = fixture!
        XCTAssertFalse(try exportedText().contains("REWRITE-ANSWER"))
        let answer = try review.decide(f.rejected, "accept")
        XCTAssertEqual(answer.status, 303)
        // On to the next item nobody has decided on.
        XCTAssertEqual(answer.header("location"), "/item?uid=" + f.pending.addingPercentEncoding(withAllowedCharacters: .alphanumerics.union(["-", ".", "_", "~"]))!)

        // Committed before the answer: a store opened afresh sees it.
        let reopened = try Store(path: store.path)
        let v = try XCTUnwrap(reopened.humanVerdicts(sample: f.rejected).last)
        XCTAssertEqual(v.judge, "human:tester")
        XCTAssertEqual(v.decision, .accept)
        XCTAssertTrue(v.pass)
        XCTAssertEqual(v.committee, .rejected)
        XCTAssertEqual(try reopened.reviewSample(uid: f.rejected)?.sample.status, .accepted)
        XCTAssertEqual(try reopened.reviewSample(uid: f.rejected)?.committee, .rejected)
        XCTAssertTrue(try exportedText().contains("REWRITE-ANSWER"))
    }

    func test_reject_removes_an_accepted_sample_from_the_export() throws {
        let f = fixture!
        XCTAssertTrue(try exportedText().contains("ACCEPTED-ANSWER"))
        // A rejection needs a reason.
        let refused = try review.decide(f.accepted, "reject", reason: "  ")
        XCTAssertEqual(refused.status, 400)
        XCTAssertTrue(refused.text.contains("needs a reason"))
        XCTAssertEqual(try store.humanVerdicts(sample: f.accepted), [])

        XCTAssertEqual(try review.decide(f.accepted, "reject", reason: "the face shows no smile").status, 303)
        XCTAssertEqual(try store.reviewSample(uid: f.accepted)?.sample.status, .rejected)
        XCTAssertEqual(try store.decisionReasons(sample: f.accepted), "human:tester: the face shows no smile")
        XCTAssertEqual(try store.humanVerdicts(sample: f.accepted).last?.reason, "the face shows no smile")
        XCTAssertFalse(try exportedText().contains("ACCEPTED-ANSWER"))
    }

    func test_edit_is_exported_in_place_of_the_original() throws {
        let f = fixture!
        let before = try exportedText()
        XCTAssertTrue(before.contains("SPLIT-ANSWER"))
        // An edit that changes nothing is refused (accept instead).
        XCTAssertEqual(try review.decide(f.split, "edit", answer: "SPLIT-ANSWER: the person looks calm.").status, 400)
        XCTAssertEqual(try store.humanVerdicts(sample: f.split), [])
        XCTAssertEqual(try review.decide(f.split, "edit", reason: "not calm", answer: "EDITED-ANSWER: the person looks tense.").status, 303)

        let correction = try XCTUnwrap(store.reviewSample(uid: f.split + "#h1"))
        XCTAssertEqual(correction.origin, "human")
        XCTAssertEqual(correction.sample.parentUID, f.split)
        XCTAssertEqual(correction.sample.status, .accepted)
        XCTAssertEqual(correction.sample.content["answer"]?.stringValue, "EDITED-ANSWER: the person looks tense.")
        XCTAssertEqual(correction.sample.content["question"], try store.reviewSample(uid: f.split)?.sample.content["question"])
        XCTAssertEqual(try store.reviewSample(uid: f.split)?.sample.status, .rejected)
        XCTAssertEqual(try store.humanVerdicts(sample: f.split).last?.revisionUID, f.split + "#h1")

        let after = try exportedText()
        XCTAssertFalse(after.contains("SPLIT-ANSWER"))
        XCTAssertTrue(after.contains("EDITED-ANSWER: the person looks tense."))
        XCTAssertEqual(after.split(separator: "\n").count, before.split(separator: "\n").count, "one line in place of the other")

        // The item now shows the correction; a second edit withdraws the first.
        let page = try review.get("/item?uid=" + f.split.addingPercentEncoding(withAllowedCharacters: .alphanumerics)!)
        XCTAssertTrue(page.text.contains("id=\"corrected-answer\">EDITED-ANSWER"))
        XCTAssertEqual(try review.decide(f.split, "edit", answer: "EDITED-AGAIN: tense, then relieved.").status, 303)
        XCTAssertEqual(try store.reviewSample(uid: f.split + "#h1")?.sample.status, .rejected)
        XCTAssertEqual(try store.reviewSample(uid: f.split + "#h2")?.sample.status, .accepted)
        let again = try exportedText()
        XCTAssertTrue(again.contains("EDITED-AGAIN") && !again.contains("EDITED-ANSWER"))
        // A correction is not an item, and cannot be decided on itself.
        XCTAssertFalse(uids(try review.queue()).contains(f.split + "#h2"))
        XCTAssertEqual(try review.decide(f.split + "#h2", "accept").status, 400)
    }

    func test_a_multiple_choice_correction_is_option_letters() throws {
        let uid = "instruct/\(fixture.ravdess[0])/emotion/mcq"
        try store.upsertSamples([NewSample(
            uid: uid, clipUID: fixture.ravdess[0], stage: "instruct", task: .emotion, form: .mcq,
            content: ["question": "Which emotion?\n(A) anger\n(B) happiness", "options": ["(A) anger", "(B) happiness"],
                      "answer": "A", "answer_letters": "A", "label": "anger"],
            promptID: "instruct/emotion/mcq", promptHash: "h", status: .accepted)])
        let refused = try review.decide(uid, "edit", answer: "happiness")
        XCTAssertEqual(refused.status, 400)
        XCTAssertTrue(refused.text.contains("letters of its options (A, B)"), refused.text)
        XCTAssertEqual(try review.decide(uid, "edit", answer: "b").status, 303)
        let c = try XCTUnwrap(store.reviewSample(uid: uid + "#h1")).sample.content
        XCTAssertEqual(c["answer"], "B")
        XCTAssertEqual(c["answer_letters"], "B")
        XCTAssertEqual(c["options"], try store.reviewSample(uid: uid)?.sample.content["options"])
    }

    func test_the_committee_does_not_overwrite_a_human_decision() throws {
        let f = fixture!
        XCTAssertEqual(try review.decide(f.pending, "reject", reason: "not about the clip").status, 303)
        // A verify run deciding the same sample afterwards changes nothing.
        try store.decide(sample: f.pending, status: .accepted, reasons: nil)
        XCTAssertEqual(try store.reviewSample(uid: f.pending)?.sample.status, .rejected)
        XCTAssertEqual(try store.undecidedSamples(includeInstruct: true).map(\.uid).filter { $0 == f.pending }, [])
    }

    // MARK: - Tokens

    func test_decisions_need_the_session_token() throws {
        let f = fixture!
        let base = [("uid", f.accepted), ("decision", "reject"), ("reason", "forged")]
        XCTAssertEqual(try review.post("/decide", base).status, 403)
        XCTAssertEqual(try review.post("/decide", base + [("csrf", "0" + review.csrf.dropFirst())]).status, 403)
        XCTAssertEqual(try review.post("/decide", base + [("csrf", "")]).status, 403)
        // The right token from another site's page is refused too.
        XCTAssertEqual(try review.post("/decide", base + [("csrf", review.csrf)], headers: ["Origin": "http://evil.example"]).status, 403)
        XCTAssertEqual(try review.post("/decide", base + [("csrf", review.csrf)], headers: ["Sec-Fetch-Site": "cross-site"]).status, 403)
        // A GET changes nothing.
        XCTAssertNotEqual(try review.get("/decide?uid=\(f.accepted)&decision=reject&reason=x&csrf=\(review.csrf)").status, 303)
        XCTAssertEqual(try store.humanVerdicts(), [])
        XCTAssertEqual(try store.reviewSample(uid: f.accepted)?.sample.status, .accepted)
        // From the page itself it works.
        XCTAssertEqual(try review.post("/decide", base + [("csrf", review.csrf)], headers: ["Origin": "http://127.0.0.1:\(review.port)"]).status, 303)
        XCTAssertEqual(try store.reviewSample(uid: f.accepted)?.sample.status, .rejected)
    }

    func test_an_access_token_is_required_when_set_and_for_any_host_but_loopback() throws {
        var s = ReviewSettings()
        s.host = "0.0.0.0"
        XCTAssertThrowsError(try ReviewServer(store: store, settings: s), "a non-loopback host without a token")
        s.accessToken = "token-\(UUID().uuidString)"
        XCTAssertNoThrow(try ReviewServer(store: store, settings: s))

        review.stop()
        s.host = "127.0.0.1"
        review = try RunningReview(store: store, settings: s)
        let token = s.accessToken!
        XCTAssertEqual(try review.get("/").status, 401)
        XCTAssertEqual(try review.get("/queue.json").status, 401)
        XCTAssertEqual(try review.get("/media/frame?clip=x&n=0").status, 401)
        XCTAssertEqual(try review.get("/?token=wrong").status, 401)
        XCTAssertEqual(try review.get("/", headers: ["Cookie": "emocfg_review_access=wrong"]).status, 401)
        XCTAssertEqual(try review.post("/decide", [("csrf", review.csrf), ("uid", fixture.accepted), ("decision", "accept")]).status, 401)
        // Once in the address: into a cookie, out of the address bar.
        let first = try review.get("/?token=\(token)&queue=rejected")
        XCTAssertEqual(first.status, 303)
        XCTAssertEqual(first.header("location"), "/?queue=rejected")
        let cookie = try XCTUnwrap(first.header("set-cookie"))
        XCTAssertTrue(cookie.contains("HttpOnly") && cookie.contains("SameSite=Strict"))
        XCTAssertEqual(try review.get("/", headers: ["Cookie": String(cookie.prefix { $0 != ";" })]).status, 200)
        XCTAssertEqual(try review.get("/queue.json", headers: ["Authorization": "Bearer \(token)"]).status, 200)
    }

    func test_a_loopback_server_answers_only_to_loopback_host_names() throws {
        XCTAssertEqual(try review.get("/", host: "evil.example:\(review.port)").status, 421)
        XCTAssertEqual(try review.get("/", host: "localhost:\(review.port)").status, 200)
        XCTAssertEqual(try review.get("/", host: "[::1]:\(review.port)").status, 200)
    }

    // MARK: - Media and the file system

    func test_request_paths_never_reach_the_file_system() throws {
        let secret = FileManager.default.temporaryDirectory.appendingPathComponent("emocfg-review-secret-\(UUID().uuidString).mp4")
        let marker = "SECRET-\(UUID().uuidString)"
        try Data(marker.utf8).write(to: secret)
        defer { try? FileManager.default.removeItem(at: secret) }
        let relative = "../../../../../../../../.." + secret.path
        let encoded = relative.replacingOccurrences(of: ".", with: "%2e").replacingOccurrences(of: "/", with: "%2f")
        let targets = [
            relative, "/media/" + relative, "/media/video/" + relative, "/assets/" + relative,
            "/media/" + encoded, "/assets/" + encoded, "/" + encoded, "/%2e%2e/%2e%2e/etc/passwd",
            "/" + secret.path, "/" + secret.path.replacingOccurrences(of: "/", with: "%2f"), secret.path,
            "/media/video?clip=" + encoded, "/media/video?clip=" + secret.path, "/media/video?clip=" + relative,
            "/media/frame?clip=" + encoded + "&n=0", "/media/frame?clip=" + secret.path + "&n=0",
            "/media/video?clip=RAVDESS%2f..%2f..%2f..%2f..%2fetc%2fpasswd", "/item?uid=" + encoded,
        ]
        for t in targets {
            let a = try review.get(t)
            XCTAssertNotEqual(a.status, 200, t)
            XCTAssertFalse(a.text.contains(marker), t)
            XCTAssertFalse(a.text.contains("root:x:0:0"), t)
        }
    }

    func test_media_is_served_only_from_inside_the_clips_source_root() throws {
        let fm = FileManager.default
        let dir = fm.temporaryDirectory.appendingPathComponent("emocfg-review-root-\(UUID().uuidString)")
        let root = dir.appendingPathComponent("Trap")
        try fm.createDirectory(at: root.appendingPathComponent("sub"), withIntermediateDirectories: true)
        defer { try? fm.removeItem(at: dir) }
        let video = try Data(contentsOf: Self.repoFile("Tests/Fixtures/RAVDESS/" + XCTUnwrap(store.clip(uid: fixture.ravdess[0])).record.path))
        try video.write(to: root.appendingPathComponent("inside.mp4"))
        try video.write(to: dir.appendingPathComponent("outside.mp4"))
        try fm.createSymbolicLink(atPath: root.appendingPathComponent("link.mp4").path, withDestinationPath: "../outside.mp4")
        try fm.createSymbolicLink(atPath: root.appendingPathComponent("sub/up").path, withDestinationPath: "../..")
        try store.upsertSource(SourceRow(name: "Trap", root: root.path, adapter: "manifest", adapterVersion: 1, licence: nil))
        let probe = ProbeResult(duration: 1, width: 64, height: 64, fps: 25, codec: "h264", container: "mov,mp4,m4a,3gp,3g2,mj2")
        func clip(_ key: String, _ path: String) -> StoredClip {
            StoredClip(uid: "Trap/\(key)", source: "Trap", record: ClipRecord(key: key, path: path), probe: probe, face: nil, view: nil,
                       fileSize: nil, fileMtime: nil, recordHash: key, status: .ok, error: nil)
        }
        try store.upsertClips([clip("inside", "inside.mp4"), clip("dotdot", "../outside.mp4"), clip("absolute", dir.appendingPathComponent("outside.mp4").path),
                               clip("link", "link.mp4"), clip("linkdir", "sub/up/outside.mp4")])
        let ok = try review.get("/media/video?clip=Trap%2Finside")
        XCTAssertEqual(ok.status, 200)
        XCTAssertEqual(ok.body, Array(video))
        XCTAssertEqual(try review.get("/media/frame?clip=Trap%2Finside&n=0").status, 200)
        for key in ["dotdot", "absolute", "link", "linkdir"] {
            XCTAssertEqual(try review.get("/media/video?clip=Trap%2F\(key)").status, 404, key)
            XCTAssertEqual(try review.get("/media/frame?clip=Trap%2F\(key)&n=0").status, 404, key)
        }
    }

    // MARK: - Reports

    func test_verify_report_gives_cohens_kappa_between_people_and_the_committee() throws {
        let f = fixture!
        XCTAssertEqual(try CriticReport.make(store: store, judges: ReviewFixture.judges).human, [:])
        // emotion: agree on two (accepted, accepted), disagree on one (the rejected rewrite accepted).
        XCTAssertEqual(try review.decide(f.accepted, "accept").status, 303)
        XCTAssertEqual(try review.decide(f.otherSource, "accept").status, 303)
        XCTAssertEqual(try review.decide(f.rejected, "accept").status, 303)
        XCTAssertEqual(try review.decide(f.split, "edit", answer: "EDITED").status, 303)
        // Pending samples have no committee decision to agree with.
        XCTAssertEqual(try review.decide(f.pending, "accept").status, 303)
        let report = try CriticReport.make(store: store, judges: ReviewFixture.judges)
        let emotion = try XCTUnwrap(report.human["emotion"])
        XCTAssertEqual(emotion.reviewed, 4)
        XCTAssertEqual(emotion.agreed, 2)
        // Person: A A A R; committee: A A R A → p_o = 0.5, p_e = 0.75·0.75 + 0.25·0.25 = 0.625.
        XCTAssertEqual(try XCTUnwrap(emotion.kappa), (0.5 - 0.625) / (1 - 0.625), accuracy: 1e-9)
        XCTAssertNil(report.human["qa"])
        // The committee's outcomes stay the committee's: the correction is no rewrite of its.
        let ravdess = try XCTUnwrap(report.outcomes.first { $0.source == "RAVDESS" && $0.task == "emotion" })
        XCTAssertEqual(ravdess.accepted, 2)
        XCTAssertEqual(ravdess.rejected, 1)
        XCTAssertEqual(ravdess.rewritten, 1)
    }

    func test_stats_report_and_dataset_card_count_human_reviewed_samples() throws {
        let f = fixture!
        XCTAssertEqual(try review.decide(f.accepted, "accept").status, 303)
        XCTAssertEqual(try review.decide(f.pending, "reject", reason: "wrong person").status, 303)
        XCTAssertEqual(try review.decide(f.split, "edit", answer: "EDITED").status, 303)
        let data = try StatsData.gather(from: store)
        XCTAssertEqual(data.humanReview.reviewed, 3)
        XCTAssertEqual(data.humanReview.accepted, 1)
        XCTAssertEqual(data.humanReview.rejected, 1)
        XCTAssertEqual(data.humanReview.edited, 1)
        let out = FileManager.default.temporaryDirectory.appendingPathComponent("emocfg-review-stats-\(UUID().uuidString)")
        outs.append(out)
        _ = try StatsReport(data: data).write(to: out)
        let html = try String(contentsOf: out.appendingPathComponent("index.html"), encoding: .utf8)
        XCTAssertTrue(html.contains("Reviewed by people: <b>3</b>"), html)
        let card = try DatasetCard(store: store, versions: [], toolVersion: "test").markdown()
        XCTAssertTrue(card.contains("People reviewed 3 samples"), card)
    }
}

/// Cohen's kappa on textbook tables.
final class CohenKappaTests: XCTestCase {
    func test_kappa_of_known_tables() throws {
        // 50 subjects: both yes 20, both no 15, yes/no 5, no/yes 10 → p_o 0.7, p_e 0.5 → 0.4.
        let pairs = Array(repeating: (true, true), count: 20) + Array(repeating: (false, false), count: 15)
            + Array(repeating: (true, false), count: 5) + Array(repeating: (false, true), count: 10)
        XCTAssertEqual(try XCTUnwrap(CohenKappa.kappa(pairs)), 0.4, accuracy: 1e-12)
        XCTAssertEqual(try XCTUnwrap(CohenKappa.kappa([(true, true), (false, false)])), 1, accuracy: 1e-12)
        XCTAssertNil(CohenKappa.kappa([(Bool, Bool)]()))
        XCTAssertNil(CohenKappa.kappa([(true, true), (true, true)]), "chance agreement 1: undefined")
    }
}

/// `emocfg review` as a user runs it: it prints the address, serves, and stops on Ctrl-C.
final class ReviewCommandTests: XCTestCase {
    func test_review_command_prints_the_address_serves_and_stops_on_interrupt() throws {
        let fixture = try ReviewFixture()
        let dir = URL(fileURLWithPath: fixture.store.path).deletingLastPathComponent()
        let portFile = dir.appendingPathComponent("review.port"), output = dir.appendingPathComponent("review.out")
        _ = FileManager.default.createFile(atPath: output.path, contents: nil)
        let p = Process()
        p.executableURL = try builtExecutable("emocfg")
        p.arguments = ["review", "--port", "0", "--port-file", portFile.path, "--db", fixture.store.path, "--reviewer", "cli", "--queue", "rejected"]
        p.standardOutput = try FileHandle(forWritingTo: output)
        p.standardError = FileHandle.nullDevice
        try p.run()
        defer { if p.isRunning { p.terminate(); p.waitUntilExit() } }
        var port: Int?
        for _ in 0..<3000 where port == nil {
            port = (try? String(contentsOf: portFile, encoding: .utf8)).flatMap { Int($0.trimmingCharacters(in: .whitespacesAndNewlines)) }
            if port == nil { usleep(10_000) }
        }
        let served = try XCTUnwrap(port, "the command did not write its port")
        let page = try RawHTTP.send(port: served, "GET", "/queue.json")
        XCTAssertEqual(page.status, 200)
        XCTAssertEqual(page.json["items"]?.arrayValue?.compactMap { $0["uid"]?.stringValue }, [fixture.rejected], "--queue rejected")
        // A decision through the page's own form, with the token the page carries.
        let html = try RawHTTP.send(port: served, "GET", "/").text
        let csrf = try XCTUnwrap(html.components(separatedBy: "name=\"csrf-token\" content=\"").dropFirst().first?.prefix { $0 != "\"" })
        let decided = try RawHTTP.send(port: served, "POST", "/decide", headers: ["Content-Type": "application/x-www-form-urlencoded"],
                                       body: RawHTTP.form([("csrf", String(csrf)), ("uid", fixture.rejected), ("decision", "accept")]))
        XCTAssertEqual(decided.status, 303)
        kill(p.processIdentifier, SIGINT)
        p.waitUntilExit()
        XCTAssertEqual(p.terminationStatus, 0)
        let printed = try String(contentsOf: output, encoding: .utf8)
        XCTAssertTrue(printed.contains("review: http://127.0.0.1:\(served)/"), printed)
        XCTAssertEqual(try Store(path: fixture.store.path).humanVerdicts(sample: fixture.rejected).map(\.judge), ["human:cli"])
    }

    func test_review_command_refuses_an_unknown_queue() throws {
        let r = try runExecutable("emocfg", ["review", "--queue", "everything", "--db", try temporaryStorePath()])
        XCTAssertEqual(r.status, 2)
        XCTAssertTrue(r.err.contains("--queue must be one of"), r.err)
    }
}
