import EmoCFG
import Export
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
        XCTAssertTrue(md.contains("| v1 | default | 3 | `ab12` |"))
        XCTAssertTrue(md.contains("## Versions\n\n| version | mix | lines | SHA-256 |"), "a table after a blank line")
        XCTAssertTrue(md.contains("3 judge models (`judge-a`, `judge-b`, `judge-c`)"))
        XCTAssertTrue(md.contains("Tool: emocfg 9.9.9."))
        let empty = DatasetCard(stats: StatsData(), versions: [], toolVersion: "9.9.9").markdown()
        XCTAssertTrue(empty.contains("No curation version has been written yet."))
        XCTAssertTrue(empty.contains("three judge models voted"))
    }
}
