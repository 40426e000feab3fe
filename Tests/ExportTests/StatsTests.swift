import EmoCFG
@testable import Export
import Foundation
import TestSupport
import XCTest

final class StatsTests: XCTestCase {
    var store: Store!
    var out: URL!

    override func setUpWithError() throws {
        store = try Store(path: try temporaryStorePath())
        out = FileManager.default.temporaryDirectory.appendingPathComponent("emocfg-stats-\(UUID().uuidString)")
    }

    override func tearDown() { try? FileManager.default.removeItem(at: out) }

    /// Three sources through the store's own API: Alpha (licensed, three usable clips), `Beta <b>&co`
    /// (no licence, a name that must be escaped, two usable clips) and Gamma (a licence with a `|`, only
    /// a missing clip). Samples of three stages with a rewrite, a final rejection and pending ones,
    /// and verdicts of three judges on four samples plus a lone verdict on a fifth.
    func populate() throws {
        try store.upsertSource(SourceRow(name: "Alpha", root: "/data/alpha", adapter: "manifest", adapterVersion: 1, licence: "CC BY 4.0"))
        try store.upsertSource(SourceRow(name: "Beta <b>&co", root: "/data/beta", adapter: "manifest", adapterVersion: 1, licence: nil))
        try store.upsertSource(SourceRow(name: "Gamma", root: "/data/gamma", adapter: "manifest", adapterVersion: 1,
                                         licence: "research only | no redistribution"))
        func clip(_ source: String, _ key: String, duration: Double?, face: Double?, view: ViewClass?, labels: NormalizedLabels,
                  status: ClipStatus = .ok) -> StoredClip {
            StoredClip(uid: "\(source)/\(key)", source: source, record: ClipRecord(key: key, path: "\(key).mp4", labels: labels),
                       probe: duration.map { ProbeResult(duration: $0) }, face: face.map { FaceBox(x: 0, y: 0, w: $0, h: 1, origin: .dataset) },
                       view: view, fileSize: 1, fileMtime: 1, recordHash: key, status: status, error: nil)
        }
        try store.upsertClips([
            clip("Alpha", "1", duration: 0.5, face: 0.15, view: .head, labels: NormalizedLabels(emotion: "happiness")),
            clip("Alpha", "2", duration: 2.5, face: 0.03, view: .half, labels: NormalizedLabels(emotions: ["happiness", "surprise"])),
            clip("Alpha", "3", duration: 12, face: nil, view: nil, labels: NormalizedLabels(emotion: "sadness")),
            clip("Beta <b>&co", "1", duration: 4, face: 0.005, view: .full, labels: NormalizedLabels(sentiment: "positive")),
            clip("Beta <b>&co", "2", duration: 70, face: 0.25, view: .head, labels: NormalizedLabels()),
            clip("Gamma", "1", duration: nil, face: nil, view: nil, labels: NormalizedLabels(emotion: "fear"), status: .missing),
        ])
        try store.recordSplits([("Alpha/1", "train", "group:a"), ("Alpha/2", "test", "group:b"), ("Beta <b>&co/1", "train", "native:train")])

        func sample(_ uid: String, _ clip: String, stage: String, task: SampleTask, form: SampleForm, answer: String,
                    status: SampleStatus = .pending) -> NewSample {
            NewSample(uid: uid, clipUID: clip, stage: stage, task: task, form: form, content: ["question": "Q?", "answer": .string(answer)],
                      promptID: "p", promptHash: "h", status: status)
        }
        let c1 = sample("c1", "Alpha/1", stage: "caption", task: .emotion, form: .caption, answer: "The woman frowns.")
        var c1r1 = sample("c1#r1", "Alpha/1", stage: "caption", task: .emotion, form: .caption,
                          answer: "The woman smiles warmly; her smile shows happiness. The woman's eyes sparkle with happiness.")
        c1r1.parentUID = "c1"
        c1r1.round = 1
        // Derived samples name their source sample as parent in round 0 (a rationale its caption, or here
        // another rationale): not a rewrite.
        var rationale = sample("r1", "Alpha/2", stage: "rationale", task: .rationale, form: .open, answer: "Because.")
        rationale.parentUID = "c2"
        var derived = sample("r2", "Alpha/2", stage: "rationale", task: .rationale, form: .open, answer: "Also because.")
        derived.parentUID = "r1"
        try store.upsertSamples([
            sample("i1", "Alpha/1", stage: "instruct", task: .emotion, form: .mcq, answer: "A", status: .accepted),
            c1,
            sample("c2", "Alpha/2", stage: "caption", task: .emotion, form: .caption, answer: "A man frowns and looks angry."),
            sample("c3", "Beta <b>&co/1", stage: "caption", task: .emotion, form: .caption,
                   answer: "The person smiles and SMILES again; it is what it is, isn't it? (clip 3ece9, mp4)"),
            sample("q1", "Beta <b>&co/2", stage: "qa", task: .qa, form: .open, answer: "Yes."),
            rationale, derived,
        ])
        try store.decide(sample: "c1", status: .rejected, reasons: "rewritten: judge-b: emotion", rewrite: c1r1)
        try store.decide(sample: "c1#r1", status: .accepted, reasons: nil)
        try store.decide(sample: "c2", status: .rejected, reasons: "judge-a: emotion")

        // Passes per sample, judges a, b, c: c1 1, c1#r1 3, c2 0, c3 2; q1 has one verdict (two judges abstained).
        let votes: [(String, [Bool])] = [("c1", [true, false, false]), ("c1#r1", [true, true, true]), ("c2", [false, false, false]),
                                         ("c3", [true, true, false]), ("q1", [true])]
        for (uid, passes) in votes {
            for (judge, pass) in zip(["judge-a", "judge-b", "judge-c"], passes) {
                try store.saveVerdict(Verdict(sampleUID: uid, round: uid.hasSuffix("#r1") ? 1 : 0, judge: judge, pass: pass,
                                              wrongAspects: [], suggestion: "", llmCall: nil))
            }
        }
    }

    /// More of what a store can hold, on top of `populate`: clips gone, failed and not probed, a face
    /// box without a view, labels that are only a score or only attributes, a source without clips; a
    /// rewrite chain (c4 → c4#r1 → c4#r2), two rewrites of one parent, a rewritten parent that was
    /// accepted, a later-round sample of another stage naming a caption (not a rewrite of it), stages
    /// outside the pipeline's, a stage with failures only; caption answers that are not strings, that
    /// are missing or that hold a NUL; samples with two and four verdicts.
    func populateEdgeCases() throws {
        try store.upsertSource(SourceRow(name: "Delta", root: "/data/delta", adapter: "manifest", adapterVersion: 1, licence: "MIT"))
        try store.upsertSource(SourceRow(name: "Empty", root: "/data/empty", adapter: "manifest", adapterVersion: 1, licence: nil))
        func clip(_ key: String, duration: Double?, face: Double?, view: ViewClass?, labels: NormalizedLabels,
                  status: ClipStatus = .ok) -> StoredClip {
            StoredClip(uid: "Delta/\(key)", source: "Delta", record: ClipRecord(key: key, path: "\(key).mp4", labels: labels),
                       probe: duration.map { ProbeResult(duration: $0) }, face: face.map { FaceBox(x: 0.1, y: 0.2, w: $0, h: 0.5, origin: .sidecar) },
                       view: view, fileSize: 1, fileMtime: 1, recordHash: key, status: status, error: nil)
        }
        var scored = NormalizedLabels(sentimentScore: 1.5)
        scored.facts = ["gender": "female"]
        try store.upsertClips([
            clip("a", duration: 0.1, face: 0.3, view: .head, labels: NormalizedLabels(emotion: "anger", emotions: ["fear"])),
            clip("b", duration: 0.2, face: 0.02, view: nil, labels: scored),
            clip("c", duration: nil, face: nil, view: .half, labels: NormalizedLabels(attributes: ["action": []])),
            clip("d", duration: 59.9, face: 0.0999, view: .full, labels: NormalizedLabels(valence: -0.5, arousal: 0.25)),
            clip("e", duration: 0.3, face: 0.5, view: .head, labels: NormalizedLabels(emotion: "neutral"), status: .gone),
            clip("f", duration: nil, face: nil, view: nil, labels: NormalizedLabels(sentiment: "negative"), status: .failed),
            clip("g", duration: 1e-9, face: 0.4, view: .head, labels: NormalizedLabels(emotions: ["calm", "sadness"])),
        ])
        try store.recordSplits([("Delta/a", "test", "group:x"), ("Delta/b", "test", "group:x"), ("Delta/e", "train", "group:y"),
                                ("Delta/g", "train", "group:z")])

        func sample(_ uid: String, _ clip: String, stage: String, task: SampleTask = .emotion, form: SampleForm = .caption,
                    content: JSONValue? = nil, parent: String? = nil, round: Int = 0, status: SampleStatus = .pending) -> NewSample {
            NewSample(uid: uid, clipUID: clip, stage: stage, task: task, form: form,
                      content: content ?? ["question": "Q?", "answer": .string("Delta \(uid) shows cheerful expressions")],
                      promptID: "p", promptHash: "h", parentUID: parent, round: round, status: status)
        }
        try store.upsertSamples([
            sample("c4", "Delta/a", stage: "caption"),
            sample("c5", "Delta/b", stage: "caption", status: .accepted),
            sample("c6", "Delta/c", stage: "caption", task: .attribute, content: ["question": "Q?", "answer": 42]),
            sample("c7", "Delta/d", stage: "caption", task: .expression, content: ["question": "Q?"]),
            sample("c8", "Delta/e", stage: "caption", content: ["question": "Q?", "answer": "nul\u{0}separated wording, résumé naïve"]),
            sample("q2", "Delta/a", stage: "qa", task: .qa, form: .open, parent: "c5", round: 1, status: .accepted),
            sample("z1", "Delta/f", stage: "zeta", task: .attribute, form: .short, status: .accepted),
            sample("z2", "Delta/g", stage: "beta-stage", task: .expression, form: .mcq, status: .rejected),
        ])
        try store.decide(sample: "c4", status: .rejected, reasons: "rewritten",
                         rewrite: sample("c4#r1", "Delta/a", stage: "caption", parent: "c4", round: 1))
        try store.decide(sample: "c4#r1", status: .rejected, reasons: "rewritten",
                         rewrite: sample("c4#r2", "Delta/a", stage: "caption", parent: "c4#r1", round: 2))
        try store.decide(sample: "c4#r2", status: .accepted, reasons: nil)
        // Two rewrites of one parent, and a rewritten parent whose status says accepted.
        try store.upsertSamples([sample("c5#r1", "Delta/b", stage: "caption", parent: "c5", round: 1),
                                 sample("c5#r2", "Delta/b", stage: "caption", parent: "c5", round: 2, status: .rejected)])
        try store.recordFailure(stage: "omega", item: "Delta/a", clip: "Delta/a", reason: "timeout")
        try store.recordFailure(stage: "caption", item: "Delta/c", clip: "Delta/c", reason: "invalid answer")

        let votes: [(String, [(String, Bool)])] = [
            ("c4", [("judge-a", false), ("judge-b", true)]),
            ("c5", [("judge-a", true), ("judge-b", true), ("judge-c", true), ("judge-d", false)]),
            ("z1", [("judge-a", true), ("judge-b", false), ("judge-c", false)]),
            ("c4#r2", [("judge-d", true)]),
        ]
        for (uid, vs) in votes {
            for (judge, pass) in vs {
                try store.saveVerdict(Verdict(sampleUID: uid, round: 0, judge: judge, pass: pass, wrongAspects: ["emotion"],
                                              suggestion: "s", llmCall: nil))
            }
        }
    }

    /// The statistics computed the straightforward way, from whole tables in memory: every clip, every
    /// sample of a stage, every verdict (how `gather` read the store before it streamed).
    func referenceGather() throws -> StatsData {
        var data = StatsData()
        var index: [String: Int] = [:]
        for row in try store.sources() {
            index[row.name] = data.sources.count
            data.sources.append(StatsData.Source(name: row.name, licence: row.licence))
        }
        let sides = try store.clipSplits()
        var clipSource: [String: Int] = [:]
        var labels: [Int: [String: Int]] = [:]
        for clip in try store.clips() {
            let i = try XCTUnwrap(index[clip.source])
            clipSource[clip.uid] = i
            guard clip.status == .ok else {
                data.sources[i].unusableClips += 1
                continue
            }
            data.sources[i].clips += 1
            data.sources[i].seconds += clip.probe?.duration ?? 0
            data.sources[i].duration.add(clip.probe?.duration)
            data.sources[i].faceRatio.add(clip.faceRatio)
            switch clip.view {
            case .head: data.sources[i].views.head += 1
            case .half: data.sources[i].views.half += 1
            case .full: data.sources[i].views.full += 1
            case nil: data.sources[i].views.unknown += 1
            }
            switch clip.face?.origin {
            case .dataset?: data.sources[i].faceBoxes.dataset += 1
            case .sidecar?: data.sources[i].faceBoxes.sidecar += 1
            case .some: data.sources[i].faceBoxes.detector += 1
            case nil:
                if clip.faceSearchedBy != nil { data.sources[i].faceBoxes.noFaceFound += 1 } else { data.sources[i].faceBoxes.notSearched += 1 }
            }
            labels[i, default: [:]][StatsData.primaryLabel(clip.record.labels), default: 0] += 1
            switch sides[clip.uid] {
            case "train": data.sources[i].train += 1
            case "test": data.sources[i].test += 1
            default: break
            }
        }
        for (i, counts) in labels { data.sources[i].labels = StatsData.ranked(counts) }

        var tasks: [String: StatsData.TaskForm] = [:]
        var terms = ReferenceTermCounter()
        let stageNames = try store.sampleCounts().keys.sorted { a, b in
            let order = StatsData.stageOrder
            return (order.firstIndex(of: a) ?? order.count, a) < (order.firstIndex(of: b) ?? order.count, b)
        }
        for name in stageNames {
            let samples = try store.samples(stage: name)
            let rewritten = Set(samples.lazy.filter { $0.round > 0 }.compactMap(\.parentUID))
            var stage = StatsData.Stage(name: name)
            for s in samples {
                let wasRewritten = rewritten.contains(s.uid)
                stage.outcomes.add(s.status, rewritten: wasRewritten)
                if let i = clipSource[s.clipUID] { data.sources[i].samples.add(s.status, rewritten: wasRewritten) }
                let key = "\(s.task.rawValue)/\(s.form.rawValue)"
                tasks[key, default: StatsData.TaskForm(task: s.task.rawValue, form: s.form.rawValue)].samples += 1
                if s.status == .accepted { tasks[key]!.accepted += 1 }
                if name == "caption" && s.status != .rejected, let answer = s.content["answer"]?.stringValue { terms.add(answer) }
            }
            data.stages.append(stage)
        }
        data.tasks = tasks.values.sorted { ($0.task, $0.form) < ($1.task, $1.form) }
        data.terms = Array(StatsData.ranked(terms.counts).prefix(StatsData.termCount))

        var judges: [String: StatsData.Judge] = [:]
        var votes: [String: (votes: Int, passes: Int)] = [:]
        for v in try store.verdicts() {
            judges[v.judge, default: StatsData.Judge(judge: v.judge)].verdicts += 1
            if v.pass { judges[v.judge]!.passes += 1 }
            votes[v.sampleUID, default: (0, 0)].votes += 1
            if v.pass { votes[v.sampleUID]!.passes += 1 }
        }
        data.judges = judges.values.sorted { $0.judge < $1.judge }.map { j in
            var j = j
            j.passRate = j.verdicts == 0 ? 0 : Double(j.passes) / Double(j.verdicts)
            return j
        }
        var tally: [Int: [Int: Int]] = [:]
        for (_, v) in votes { tally[v.votes, default: [:]][v.passes, default: 0] += 1 }
        let committee = tally.filter { $0.key >= 2 }
            .max { ($0.value.values.reduce(0, +), $0.key) < ($1.value.values.reduce(0, +), $1.key) }
        if let committee {
            data.agreement = StatsData.Agreement(kappa: StatsData.fleissKappa(raters: committee.key, subjectsByPasses: committee.value),
                                                 raters: committee.key, subjects: committee.value.values.reduce(0, +))
        }
        return data
    }

    /// `data` with only what the card detail gathers: no per-clip figures, judges by name only, no
    /// agreement, no terms.
    func cardPart(_ data: StatsData) -> StatsData {
        var d = data
        for i in d.sources.indices {
            let s = d.sources[i]
            var card = StatsData.Source(name: s.name, licence: s.licence)
            card.clips = s.clips
            card.unusableClips = s.unusableClips
            card.train = s.train
            card.test = s.test
            card.samples = s.samples
            d.sources[i] = card
        }
        d.judges = d.judges.map { StatsData.Judge(judge: $0.judge) }
        d.agreement = StatsData.Agreement()
        d.terms = []
        return d
    }

    /// Every chart of a page: its id, the bars it says it has, the bars it has, and its markup.
    func charts(_ html: String) -> [String: (expected: Int, bars: Int, svg: String)] {
        var out: [String: (Int, Int, String)] = [:]
        for chunk in html.components(separatedBy: "<svg class=\"chart\"").dropFirst() {
            let svg = chunk.components(separatedBy: "</svg>")[0]
            let id = svg.components(separatedBy: "data-chart=\"")[1].components(separatedBy: "\"")[0]
            let expected = Int(svg.components(separatedBy: "data-expected=\"")[1].components(separatedBy: "\"")[0]) ?? -1
            XCTAssertNil(out[id], "chart id \(id) is used twice")
            out[id] = (expected, svg.components(separatedBy: "<rect class=\"bar\"").count - 1, svg)
        }
        return out
    }

    func test_gathers_clips_outcomes_judges_and_kappa_from_the_store() throws {
        try populate()
        let data = try StatsData.gather(from: store)
        XCTAssertEqual(data.sources.map(\.name), ["Alpha", "Beta <b>&co", "Gamma"])
        let alpha = data.sources[0], beta = data.sources[1], gamma = data.sources[2]
        XCTAssertEqual([alpha.clips, beta.clips, gamma.clips], [3, 2, 0])
        XCTAssertEqual(gamma.unusableClips, 1)
        XCTAssertEqual(alpha.seconds, 15, accuracy: 1e-9)
        XCTAssertEqual(alpha.duration.counts, [1, 0, 1, 0, 0, 1, 0, 0], "bins 0–1, 2–3 and 10–20 s")
        XCTAssertEqual(beta.duration.counts, [0, 0, 0, 1, 0, 0, 0, 1], "4 s in 3–5, 70 s in the open last bin")
        XCTAssertEqual(alpha.faceRatio.counts, [0, 0, 1, 0, 1, 0, 0])
        XCTAssertEqual(alpha.faceRatio.unknown, 1)
        XCTAssertEqual([alpha.views.head, alpha.views.half, alpha.views.full, alpha.views.unknown], [1, 1, 0, 1])
        XCTAssertEqual(alpha.labels, [.init(name: "happiness", count: 2), .init(name: "sadness", count: 1)],
                       "the first of several emotions is the primary one")
        XCTAssertEqual(beta.labels, [.init(name: "positive (sentiment)", count: 1), .init(name: "unlabelled", count: 1)])
        XCTAssertEqual([alpha.train, alpha.test, beta.train, beta.test], [1, 1, 1, 0])
        XCTAssertEqual([alpha.samples.accepted, alpha.samples.rewritten, alpha.samples.rejected, alpha.samples.pending], [2, 1, 1, 2])
        XCTAssertEqual(beta.samples.pending, 2)

        let stages = Dictionary(uniqueKeysWithValues: data.stages.map { ($0.name, $0.outcomes) })
        XCTAssertEqual(data.stages.map(\.name), ["instruct", "caption", "qa", "rationale"], "pipeline order")
        let caption = try XCTUnwrap(stages["caption"])
        XCTAssertEqual([caption.accepted, caption.rewritten, caption.rejected, caption.pending], [1, 1, 1, 1],
                       "c1 was rewritten (c1#r1 names it in round 1), c2 rejected for good")
        XCTAssertEqual(stages["rationale"]?.pending, 2, "a round-0 child does not make its parent rewritten")
        XCTAssertEqual(stages["instruct"]?.accepted, 1)

        XCTAssertEqual(data.tasks.map { "\($0.task)/\($0.form)/\($0.samples)/\($0.accepted)" },
                       ["emotion/caption/4/1", "emotion/mcq/1/1", "qa/open/1/0", "rationale/open/2/0"])
        XCTAssertEqual(data.judges.map(\.judge), ["judge-a", "judge-b", "judge-c"])
        XCTAssertEqual(data.judges.map(\.passRate), [4.0 / 5, 2.0 / 4, 1.0 / 4])

        // Four samples rated by all three judges with 1, 3, 0 and 2 passes: mean agreement P̄ = (1/3 + 1 + 1 + 1/3) / 4
        // = 2/3; passes 6 of 12, so chance Pe = 1/2; κ = (2/3 − 1/2) / (1 − 1/2) = 1/3. q1's lone verdict is left out.
        XCTAssertEqual(data.agreement.raters, 3)
        XCTAssertEqual(data.agreement.subjects, 4)
        XCTAssertEqual(try XCTUnwrap(data.agreement.kappa), 1.0 / 3, accuracy: 1e-12)
    }

    func test_streaming_gather_equals_the_whole_table_computation() throws {
        try populate()
        XCTAssertEqual(try StatsData.gather(from: store), try referenceGather())
        try populateEdgeCases()
        let data = try StatsData.gather(from: store)
        let reference = try referenceGather()
        XCTAssertEqual(data, reference)
        XCTAssertEqual(try data.jsonData(), try reference.jsonData(), "stats.json byte for byte")

        // The edge cases are there, so the equality above says something about them.
        XCTAssertEqual(data.stages.map(\.name), ["instruct", "caption", "qa", "rationale", "beta-stage", "omega", "zeta"])
        let stages = Dictionary(uniqueKeysWithValues: data.stages.map { ($0.name, $0.outcomes) })
        XCTAssertEqual(stages["omega"], StatsData.Outcomes(), "a stage with failures only is listed, with no samples")
        let caption = try XCTUnwrap(stages["caption"])
        // c1, c4, c4#r1 and c5 (accepted, yet rewritten) are rewritten; c1#r1, c4#r2 accepted; c2, c5#r2 rejected;
        // c3, c5#r1, c6, c7 and c8 pending.
        XCTAssertEqual([caption.accepted, caption.rewritten, caption.rejected, caption.pending], [2, 4, 2, 5])
        XCTAssertEqual(stages["qa"]?.accepted, 1, "a later-round sample of another stage does not make its parent rewritten")
        let delta = try XCTUnwrap(data.sources.first { $0.name == "Delta" })
        XCTAssertEqual([delta.clips, delta.unusableClips, delta.train, delta.test], [5, 2, 1, 2])
        XCTAssertEqual(delta.duration.unknown, 1)
        XCTAssertEqual([delta.views.head, delta.views.half, delta.views.full, delta.views.unknown], [2, 1, 1, 1])
        XCTAssertEqual(Set(delta.labels.map(\.name)), ["anger", "calm", "other labels"])
        XCTAssertEqual(delta.labels.first { $0.name == "other labels" }?.count, 3)
        XCTAssertEqual(data.sources.first { $0.name == "Empty" }, StatsData.Source(name: "Empty", licence: nil))
        XCTAssertTrue(data.terms.contains { $0.name == "separated" } && data.terms.contains { $0.name == "nul" },
                      "an answer holding a NUL is read to its end: \(data.terms)")
        XCTAssertTrue(data.terms.contains { $0.name == "résumé" })
        XCTAssertEqual(data.judges.map(\.judge), ["judge-a", "judge-b", "judge-c", "judge-d"])
    }

    func test_card_detail_gathers_the_card_figures_of_the_full_gather() throws {
        try populate()
        try populateEdgeCases()
        let full = try StatsData.gather(from: store)
        let card = try StatsData.gather(from: store, detail: .card)
        XCTAssertEqual(card, cardPart(full))
        XCTAssertNil(card.agreement.kappa)
        XCTAssertTrue(card.terms.isEmpty && card.sources.allSatisfy { $0.labels.isEmpty && $0.duration.total == 0 })
        XCTAssertEqual(DatasetCard(stats: card, versions: [], toolVersion: "1").markdown(),
                       DatasetCard(stats: cardPart(full), versions: [], toolVersion: "1").markdown())
        XCTAssertEqual(try StatsData.gather(from: Store(path: try temporaryStorePath()), detail: .card), StatsData(), "an empty store")
    }

    func test_card_figures_counted_on_the_exports_pass_equal_the_card_gather() throws {
        try populate()
        try populateEdgeCases()
        let (counted, accepted) = try store.withExportReader { reader in
            var tally: StatsSampleTally? = try StatsSampleTally(reader.stats)
            var accepted = 0
            let totals = try reader.forEachAcceptedRaw(counting: &tally) { _ in accepted += 1 }
            XCTAssertEqual(totals.accepted, accepted)
            return (try StatsData.gather(from: reader.stats, detail: .card, samples: tally), accepted)
        }
        XCTAssertGreaterThan(accepted, 0)
        XCTAssertEqual(counted, try StatsData.gather(from: store, detail: .card))
        XCTAssertEqual(try store.withStatsReader { try StatsSampleTally($0).counts($0) }, [], "no sample added, none counted")
        // Without the tally the export's pass reads the same accepted samples.
        var plain = 0
        try store.withExportReader { reader in try reader.forEachAcceptedRaw { _ in plain += 1 } }
        XCTAssertEqual(plain, accepted)
        let stages = counted.stages.map(\.name)
        XCTAssertTrue(stages.contains("omega"), "a stage with failures only is listed: \(stages)")
        XCTAssertTrue(counted.stages.contains { $0.outcomes.rewritten > 0 }, "rewrites are counted")
    }

    /// The export reads SQLite on one thread and runs its loop on another (`pipelined`): the loop
    /// must see the rows, fields and clip numbers of the plain scan, in order, over many batches;
    /// an error in the loop stops the reading and comes out.
    func test_the_pipelined_scan_hands_the_loop_the_rows_of_the_plain_scan_and_its_errors() throws {
        try populate()
        try populateEdgeCases()
        var r = SystemRandomNumberGenerator()
        let extra = (0..<7_500).map { i -> NewSample in
            var content: [String: JSONValue] = ["question": .string("q\(i) \(Int.random(in: 0..<1000, using: &r))"), "answer": .string(i % 7 == 0 ? "" : "a\u{0}\(i)")]
            if i % 3 == 0 { content["options"] = ["(A) x", "(B) y"]; content["answer_letters"] = "A"; content["kind"] = "emotion" }
            if i % 5 == 0 { content["label"] = .string("l\(i % 11)") }
            if i % 4 == 0 { content["aspect"] = "Hair" }
            return NewSample(uid: String(format: "zz/%05d", i), clipUID: "Alpha/\(1 + i % 3)", stage: i % 2 == 0 ? "instruct" : "qa", task: .emotion,
                             form: i % 3 == 0 ? .mcq : .open, content: .object(content), promptID: "p", promptHash: "h",
                             status: i % 10 == 9 ? .pending : .accepted)
        }
        try store.upsertSamples(extra)
        func text(_ b: UnsafeBufferPointer<UInt8>?) -> String? { b.map { String(decoding: $0, as: UTF8.self) + "|\($0.count)" } }
        func scan(pipelined: Bool) throws -> (rows: [[String?]], totals: SampleTotals, stats: StatsData) {
            try store.withExportReader { reader in
                var tally: StatsSampleTally? = try StatsSampleTally(reader.stats)
                var rows: [[String?]] = []
                let totals = try reader.forEachAcceptedRaw(counting: &tally, pipelined: pipelined) { row in
                    rows.append([text(row.uid), text(row.clipUID), text(row.stage), text(row.task), text(row.form), text(row.kind), text(row.aspect),
                                 text(row.label), text(row.question), text(row.answer), text(row.options), text(row.answerLetters), "\(row.clip)"])
                }
                return (rows, totals, try StatsData.gather(from: reader.stats, detail: .card, samples: tally))
            }
        }
        let plain = try scan(pipelined: false), piped = try scan(pipelined: true)
        XCTAssertGreaterThan(plain.rows.count, 3 * 2048, "more rows than the batches in flight")
        XCTAssertEqual(piped.rows, plain.rows)
        XCTAssertEqual(piped.totals, plain.totals)
        XCTAssertEqual(piped.stats, plain.stats)

        struct Stop: Error {}
        var seen = 0
        XCTAssertThrowsError(try store.withExportReader { reader in
            var none: StatsSampleTally? = nil
            try reader.forEachAcceptedRaw(counting: &none, pipelined: true) { _ in
                seen += 1
                if seen == 5_000 { throw Stop() }
            }
        }) { XCTAssertTrue($0 is Stop, "\($0)") }
        XCTAssertEqual(seen, 5_000, "the loop stops at its error")
    }

    func test_term_counter_reads_utf8_bytes_as_the_scalar_reading_did() throws {
        let texts = [
            "The woman's smile; THE MAN'S FROWN. Doesn't they're o'clock rock'n'roll ''quoted'' don't' 'tis",
            "Café naïve façade déjà-vu — rôle coöperate Zoë soirée ÉCOLE İstanbul ǅemal ﬁne ß STRASSE",
            "Her smile’s warmth; l’homme rit’ ’quote’ 1080p mp4 3ece9 abc123def x2 a1 αβγ ΑΒΓΔ Ωμέγα",
            "他看起来很开心 这件事太突然了 한국어 한국어 한국어 Kelvin \u{212A}elvin ﬀ ﬀﬀ",
            "tab\tsep new\nline nul\u{0}inside emoji 🙂 smiles🙂smiles \u{1}ctl combining e\u{301}e\u{301}e",
            String(repeating: "word ", count: 50) + String(repeating: "x", count: 5000),
            "", "a", "ab", "abc", "'s", "abc's", "abcs'", "ab's", "abc''s",
        ]
        var bytesCounter = TermCounter(), reference = ReferenceTermCounter()
        for t in texts {
            bytesCounter.add(t)
            reference.add(t)
        }
        XCTAssertEqual(bytesCounter.counts, reference.counts)
        XCTAssertEqual(bytesCounter.counts["한국어"], 3)
        XCTAssertEqual(bytesCounter.counts["word"], 50)

        // Bytes that are not UTF-8 end a word, as the replacement character would.
        let broken: [[UInt8]] = [
            Array("caf".utf8) + [0xC3] + Array("smiles".utf8), Array("abc".utf8) + [0xE0, 0x80, 0x80] + Array("def".utf8),
            Array("ghi".utf8) + [0xED, 0xA0, 0x80] + Array("jkl".utf8), Array("mno".utf8) + [0xF0, 0x90, 0x80] + Array("pqr".utf8),
            Array("stu".utf8) + [0xF4, 0x90, 0x80, 0x80, 0xC0, 0xAF, 0xFF] + Array("vwx".utf8), [0xE2, 0x80] + Array("’yz".utf8),
        ]
        var fromBytes = TermCounter(), fromStrings = ReferenceTermCounter()
        for b in broken {
            b.withUnsafeBufferPointer { fromBytes.add(utf8: $0) }
            fromStrings.add(String(decoding: b, as: UTF8.self))
        }
        XCTAssertEqual(fromBytes.counts, fromStrings.counts)
        XCTAssertEqual(fromBytes.counts["smiles"], 1)
    }

    func test_fleiss_kappa_on_hand_computed_tables() throws {
        // Passes 3, 3, 2, 0 of 3: P̄ = (1 + 1 + 1/3 + 1) / 4 = 5/6, p(pass) = 8/12, Pe = 4/9 + 1/9 = 5/9,
        // κ = (5/6 − 5/9) / (4/9) = 0.625.
        XCTAssertEqual(try XCTUnwrap(StatsData.fleissKappa(raters: 3, subjectsByPasses: [3: 2, 2: 1, 0: 1])), 0.625, accuracy: 1e-12)
        // Two raters who always disagree: P̄ = 0, Pe = 1/2, κ = −1.
        XCTAssertEqual(try XCTUnwrap(StatsData.fleissKappa(raters: 2, subjectsByPasses: [1: 5])), -1, accuracy: 1e-12)
        XCTAssertNil(StatsData.fleissKappa(raters: 3, subjectsByPasses: [3: 4]), "every vote a pass: chance agreement is 1")
        XCTAssertNil(StatsData.fleissKappa(raters: 3, subjectsByPasses: [:]))
        XCTAssertNil(StatsData.fleissKappa(raters: 1, subjectsByPasses: [1: 3]))
    }

    func test_caption_terms_are_counted_without_stopwords_contractions_or_rejected_text() throws {
        try populate()
        let terms = try StatsData.gather(from: store).terms
        XCTAssertEqual(terms.prefix(3).map(\.name), ["smiles", "happiness", "woman"])
        XCTAssertEqual(terms.prefix(3).map(\.count), [3, 2, 2], "lowercased; the possessive woman's counts as woman")
        let words = Set(terms.map(\.name))
        XCTAssertTrue(words.isDisjoint(with: ["the", "her", "with", "and", "again", "what", "it", "is", "isn", "isn't"]), "\(words)")
        XCTAssertFalse(words.contains("ece") || words.contains("mp"), "runs mixing letters and digits are not words: \(words)")
        XCTAssertTrue(words.contains("clip"))
        XCTAssertFalse(words.contains("frowns"), "rejected captions (c2, and c1 once rewritten) are not in the dataset")
        XCTAssertFalse(words.contains("yes"), "only caption-stage answers count")
        XCTAssertTrue(words.allSatisfy { $0.count >= 3 })
    }

    func test_report_is_self_contained_and_every_chart_has_the_bars_it_declares() throws {
        try populate()
        let data = try StatsData.gather(from: store)
        let page = try StatsReport(data: data).write(to: out)
        let html = try String(contentsOf: page, encoding: .utf8)
        XCTAssertFalse(html.contains("http://") || html.contains("https://"), "no network reference")
        XCTAssertFalse(html.lowercased().contains("<script"))
        XCTAssertFalse(html.contains("<b>&co"), "source names are escaped")
        XCTAssertTrue(html.contains("Beta &lt;b&gt;&amp;co"))

        let all = charts(html)
        for (id, c) in all { XCTAssertEqual(c.bars, c.expected, "chart \(id)") }
        XCTAssertEqual(all["clips-per-source"]?.expected, 3, "one bar per source")
        XCTAssertTrue(all["clips-per-source"]!.svg.contains("<title>Gamma: 0</title>"))
        XCTAssertTrue(all["clips-per-source"]!.svg.contains("<title>Beta &lt;b&gt;&amp;co: 2</title>"))
        XCTAssertEqual(all["samples-per-source"]?.expected, 3 * 4, "four outcomes per source")
        XCTAssertEqual(all["views-per-source"]?.expected, 3 * 4, "head, half, full and no face box per source")
        XCTAssertEqual(all["duration-alpha"]?.expected, StatsData.durationBins.count)
        XCTAssertTrue(all["duration-alpha"]!.svg.contains("<title>10–20 seconds: 1</title>"))
        XCTAssertEqual(all["face-ratio-beta--b--co"]?.expected, StatsData.faceRatioBins.count)
        XCTAssertEqual(all["duration-gamma"]?.expected, 0, "Gamma has no usable clip")
        XCTAssertTrue(all["duration-gamma"]!.svg.contains("no data"))
        XCTAssertEqual(all["labels-alpha"]?.expected, 2)
        XCTAssertEqual(all["labels-gamma"]?.expected, 0)
        XCTAssertEqual(all["samples-per-task-form"]?.expected, data.tasks.count * 2)
        XCTAssertEqual(all["stage-outcomes"]?.expected, 4 * 4)
        XCTAssertEqual(all["judge-pass-rate"]?.expected, 3)
        XCTAssertTrue(all["judge-pass-rate"]!.svg.contains("<title>judge-a: 80%</title>"))
        XCTAssertEqual(all["caption-terms"]?.expected, data.terms.count)
        XCTAssertEqual(all.count, 7 + 3 * 3, "seven charts over all sources, three per source")

        let json = try Data(contentsOf: out.appendingPathComponent("stats.json"))
        let decoder = JSONDecoder()
        decoder.keyDecodingStrategy = .convertFromSnakeCase
        XCTAssertEqual(try decoder.decode(StatsData.self, from: json), data)
    }

    func test_an_empty_store_gives_a_report_of_empty_charts() throws {
        let html = StatsReport(data: try StatsData.gather(from: store)).html()
        let all = charts(html)
        XCTAssertEqual(Set(all.keys), ["clips-per-source", "samples-per-source", "views-per-source", "samples-per-task-form",
                                       "stage-outcomes", "judge-pass-rate", "caption-terms"])
        XCTAssertTrue(all.values.allSatisfy { $0.expected == 0 && $0.bars == 0 && $0.svg.contains("no data") })
    }

    func test_dataset_card_lists_every_source_with_licence_counts_splits_and_versions() throws {
        try populate()
        let card = try DatasetCard(store: store, versions: [CardVersion(version: "v1", mix: "default", lines: 3, sha256: "ab12")],
                                   toolVersion: "9.9.9")
        let file = try card.write(to: out)
        XCTAssertEqual(file.lastPathComponent, "README.md")
        let md = try String(contentsOf: file, encoding: .utf8)
        XCTAssertTrue(md.contains("| Alpha | 3 | 6 | 2 | CC BY 4.0 |"), md)
        XCTAssertTrue(md.contains("| Beta <b>&co | 2 | 2 | 0 | see the dataset's own terms |"), md)
        XCTAssertTrue(md.contains("| Gamma | 0 | 0 | 0 | research only \\| no redistribution |"), "a | in a licence stays in its cell")
        XCTAssertTrue(md.contains("| emotion | caption | 4 | 1 |"))
        XCTAssertTrue(md.contains("| **total** |  | 8 | 2 |"))
        XCTAssertTrue(md.contains("| Alpha | 1 | 1 |"))
        XCTAssertTrue(md.contains("| **total** | 2 | 1 |"))
        XCTAssertTrue(md.contains("| v1 | default |  | 3 | `ab12` |"), md)
        XCTAssertTrue(md.contains("concat_receipt.py vN`.\n\n| version | mix | tasks | lines | SHA-256 of source.txt |"), md)
        XCTAssertTrue(md.contains("3 judge models (`judge-a`, `judge-b`, `judge-c`)"))
        XCTAssertTrue(md.contains("Tool: emocfg 9.9.9."))
        let empty = DatasetCard(stats: StatsData(), versions: [], toolVersion: "9.9.9").markdown()
        XCTAssertTrue(empty.contains("No curation version has been written yet."))
        XCTAssertTrue(empty.contains("three judge models voted"))
    }
}

/// `TermCounter` as it read answers before it read bytes: through the string's Unicode scalars, each
/// word made a `String`. The byte reading must count the same words.
struct ReferenceTermCounter {
    var counts: [String: Int] = [:]
    private var word: [UInt8] = []
    private var letters = 0
    private var digits = false

    mutating func add(_ text: String) {
        for scalar in text.unicodeScalars {
            let v = scalar.value
            if v < 0x80 {
                switch UInt8(v) {
                case 0x61...0x7A: word.append(UInt8(v)); letters += 1
                case 0x41...0x5A: word.append(UInt8(v) + 0x20); letters += 1
                case 0x27 where letters > 0: word.append(0x27)
                case 0x30...0x39: digits = true
                default: flush()
                }
            } else if scalar.properties.isAlphabetic {
                word.append(contentsOf: scalar.properties.lowercaseMapping.utf8)
                letters += 1
            } else if v == 0x2019 && letters > 0 {
                word.append(0x27)
            } else {
                flush()
            }
        }
        flush()
    }

    private mutating func flush() {
        defer {
            word.removeAll(keepingCapacity: true)
            letters = 0
            digits = false
        }
        guard letters >= 3, !digits else { return }
        while word.last == 0x27 { word.removeLast() }
        var n = letters
        if word.count >= 2 && word[word.count - 2] == 0x27 && word[word.count - 1] == 0x73 {
            word.removeLast(2)
            n -= 1
        }
        guard n >= 3, !word.contains(0x27) else { return }
        let w = String(decoding: word, as: UTF8.self)
        guard !TermCounter.stopwords.contains(w) else { return }
        counts[w, default: 0] += 1
    }
}
