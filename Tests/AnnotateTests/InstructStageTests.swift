import Annotate
import EmoCFG
import Foundation
import Ingest
import TestSupport
import XCTest

/// The `instruct` stage on real dataset replicas (`Tests/Fixtures/<Dataset>/`) ingested by the real
/// ingest runner into real SQLite stores, with the shipped phrasings from `prompts/instruct/`.
final class InstructStageTests: XCTestCase {
    /// A store holding every replica below, and the instruct samples made from it.
    func instructed(_ names: [String]? = nil) throws -> (store: Store, samples: [String: NewSample]) {
        let store = try instructStore()
        for (name, adapter, options) in replicas where names == nil || names!.contains(name) {
            try ingest(name, adapter: adapter, options: options, into: store)
        }
        try InstructRunner(promptsDirectory: promptsRoot).run(store: store)
        let samples = try store.samples(stage: "instruct")
        return (store, Dictionary(uniqueKeysWithValues: samples.map { ($0.uid, $0) }))
    }

    func sample(_ samples: [String: NewSample], _ clip: String, _ family: String, _ form: String,
                file: StaticString = #filePath, line: UInt = #line) throws -> NewSample {
        try XCTUnwrap(samples["instruct/\(clip)/\(family)/\(form)"], "no \(family)/\(form) sample for \(clip)", file: file, line: line)
    }

    // MARK: - Multiple choice

    func test_every_single_answer_mcq_letter_points_at_the_option_holding_the_label() throws {
        let (_, samples) = try instructed()
        let mcqs = samples.values.filter { $0.form == .mcq && $0.content["kind"]?.stringValue != "compound_emotion" }
        XCTAssertGreaterThan(mcqs.count, 80)
        for s in mcqs {
            let options = try XCTUnwrap(s.content["options"]?.arrayValue?.compactMap(\.stringValue), s.uid)
            let letter = try XCTUnwrap(s.content["answer_letters"]?.stringValue, s.uid)
            let label = try XCTUnwrap(s.content["label"]?.stringValue, s.uid)
            XCTAssertEqual(letter.count, 1, s.uid)
            let index = Int(letter.unicodeScalars.first!.value) - 65
            XCTAssertEqual(options[index], "(\(letter)) \(label)", s.uid)
            XCTAssertEqual(options.filter { $0.hasSuffix(") \(label)") }.count, 1, "the label is offered once: \(s.uid)")
            // The question shows the options exactly as stored, one per line.
            XCTAssertTrue(s.content["question"]!.stringValue!.contains(options.joined(separator: "\n")), s.uid)
            let answer = try XCTUnwrap(s.content["answer"]?.stringValue)
            XCTAssertTrue(answer == letter || answer == "(\(letter)) \(label)", "\(s.uid): \(answer)")
        }
    }

    func test_emotion_mcq_offers_the_dataset_classes_as_canonical_names() throws {
        let (_, samples) = try instructed(["DFEW", "MELD"])
        let dfew = try sample(samples, "DFEW/00001", "emotion", "mcq")
        XCTAssertEqual(Set(dfew.content["options"]!.arrayValue!.map { String($0.stringValue!.dropFirst(4)) }),
                       ["happiness", "sadness", "neutral", "anger", "surprise", "disgust", "fear"])
        XCTAssertEqual(dfew.content["label"], "happiness")
        // MELD says joy; the question and the answer say happiness, like every other dataset.
        for s in samples.values where s.uid.hasPrefix("instruct/MELD/") && s.uid.hasSuffix("/emotion/mcq") {
            let options = s.content["options"]!.arrayValue!.map { String($0.stringValue!.dropFirst(4)) }
            XCTAssertEqual(Set(options), ["neutral", "happiness", "sadness", "anger", "surprise", "fear", "disgust"], s.uid)
        }
    }

    func test_different_clips_see_the_choices_in_different_orders() throws {
        let (_, samples) = try instructed(["RAVDESS", "MAFW"])
        var orders: Set<[String]> = []
        for s in samples.values where s.uid.hasPrefix("instruct/RAVDESS/") && s.uid.hasSuffix("/emotion/mcq") {
            orders.insert(s.content["options"]!.arrayValue!.map { String($0.stringValue!.dropFirst(4)) })
        }
        XCTAssertEqual(orders.count, 9, "nine RAVDESS clips, nine different orders of eight classes")
        for order in orders {
            XCTAssertEqual(order.sorted(), ["anger", "calm", "disgust", "fear", "happiness", "neutral", "sadness", "surprise"])
        }
        // The answer letter is not always the same either.
        let letters = Set(samples.values.filter { $0.uid.hasSuffix("/emotion/mcq") }.compactMap { $0.content["answer_letters"]?.stringValue })
        XCTAssertGreaterThan(letters.count, 3)
    }

    // MARK: - Determinism

    func test_a_rerun_and_a_second_store_make_identical_samples() throws {
        let (store, first) = try instructed()
        let stored = try store.samples(stage: "instruct")
        let again = try InstructRunner(promptsDirectory: promptsRoot).run(store: store)
        XCTAssertEqual(again.samples, first.count)
        XCTAssertEqual(try store.samples(stage: "instruct"), stored)

        let (_, second) = try instructed()
        XCTAssertEqual(Set(second.keys), Set(first.keys))
        for (uid, s) in first {
            XCTAssertEqual(second[uid], s, uid)
            XCTAssertEqual(second[uid]?.content.canonical, s.content.canonical, uid)
        }
    }

    func test_the_same_clip_gives_the_same_samples_every_time_it_is_asked() throws {
        let (store, _) = try instructed(["MEAD"])
        let clips = try store.clips(source: "MEAD")
        let source = try XCTUnwrap(try store.sources().first)
        let stage = InstructStage(templates: try InstructTemplates.load(promptsDirectory: promptsRoot),
                                  datasets: ["MEAD": InstructDataset.make(source: source, clips: clips)])
        for clip in clips {
            XCTAssertEqual(stage.samples(for: clip), stage.samples(for: clip), clip.uid)
        }
    }

    func test_splitmix64_matches_the_reference_sequence() {
        var rng = SplitMix64(seed: 0)
        XCTAssertEqual(rng.next(), 0xE220_A839_7B1D_CDAF)
        XCTAssertEqual(rng.next(), 0x6E78_9E6A_A1B9_65F4)
        // Seeded from the SHA-256 of the key: "abc" hashes to ba7816bf8f01cfea…
        var keyed = SplitMix64(key: "abc"), direct = SplitMix64(seed: 0xBA78_16BF_8F01_CFEA)
        XCTAssertEqual(keyed.next(), direct.next())
    }

    // MARK: - Multi-label answers

    func test_mafw_compound_sets_are_letters_of_the_eleven_classes_in_class_order() throws {
        let (_, samples) = try instructed(["MAFW"])
        let classes = ["anger", "disgust", "fear", "happiness", "neutral", "sadness", "surprise", "contempt", "anxiety",
                       "helplessness", "disappointment"]
        let expected = zip("ABCDEFGHIJK", classes).map { "(\($0)) \($1)" }
        let four = try sample(samples, "MAFW/00004", "compound_emotion", "mcq")
        XCTAssertEqual(four.content["options"]?.arrayValue?.compactMap(\.stringValue), expected)
        XCTAssertEqual(four.content["answer_letters"], "AB")
        XCTAssertEqual(four.content["answer"], "AB")
        XCTAssertTrue(four.content["question"]!.stringValue!.contains("(A) anger\n(B) disgust\n"))
        let six = try sample(samples, "MAFW/00006", "compound_emotion", "mcq")
        XCTAssertEqual(six.content["options"]?.arrayValue?.compactMap(\.stringValue), expected, "never shuffled")
        XCTAssertEqual(six.content["answer_letters"], "CG")
        XCTAssertEqual(try sample(samples, "MAFW/00006", "compound_emotion", "open").content["answer"], "fear,surprise")
        XCTAssertEqual(four.task, .emotion)
    }

    func test_celebvhq_appearance_and_action_answers_are_names_joined_by_commas_in_alphabetical_order() throws {
        let (_, samples) = try instructed(["CelebV-HQ"])
        let appearance = try sample(samples, "CelebV-HQ/-Zx3kQ9pL2a_0", "appearance", "open")
        // Alphabetical, like the evaluation's example `mustache,receding_hairline` (vocabulary order
        // would put receding_hairline, the 8th name, before mustache, the 32nd).
        XCTAssertEqual(appearance.content["answer"], "male,mustache,receding_hairline")
        XCTAssertTrue(appearance.content["question"]!.stringValue!.contains("blurry, male, young, chubby"))
        XCTAssertEqual(appearance.task, .attribute)
        XCTAssertEqual(try sample(samples, "CelebV-HQ/-Zx3kQ9pL2a_0", "action", "open").content["answer"], "smile,talk")
        XCTAssertEqual(try sample(samples, "CelebV-HQ/_aB4cD5eF6g_2", "action", "open").content["answer"], "cry,sigh")
        XCTAssertEqual(try sample(samples, "CelebV-HQ/Q1w2E3r4T5y_1", "appearance", "open").content["answer"], "bald,eyeglasses")
        // Its action bits are all zero: no action question with an empty answer.
        XCTAssertNil(samples["instruct/CelebV-HQ/Q1w2E3r4T5y_1/action/open"])
    }

    func test_affwild2_action_units_answer_is_au_names_joined_by_commas_in_the_twelve_unit_order() throws {
        let (_, samples) = try instructed(["AffWild2"])
        let window = try sample(samples, "AffWild2/1-30-1280x720/0-3", "action_units", "open")
        XCTAssertEqual(window.content["answer"], "AU6,AU12")
        XCTAssertEqual(window.task, .expression)
        let order = ["AU1", "AU2", "AU4", "AU6", "AU7", "AU10", "AU12", "AU15", "AU23", "AU24", "AU25", "AU26"]
        let units = samples.values.filter { $0.content["kind"] == "action_units" }
        XCTAssertEqual(units.count, 2)
        for s in units {
            let names = s.content["answer"]!.stringValue!.split(separator: ",").map(String.init)
            XCTAssertFalse(names.isEmpty)
            XCTAssertEqual(names, order.filter(names.contains), s.uid)
        }
    }

    func test_affwild2_questions_about_one_of_two_people_name_which_person() throws {
        let (_, samples) = try instructed(["AffWild2"])
        let person = samples.values.filter { $0.clipUID.contains("video10_1_left") }
        XCTAssertFalse(person.isEmpty)
        for s in person {
            XCTAssertTrue(s.content["question"]?.stringValue?.hasPrefix("About the person on the left: ") == true, s.uid)
        }
        let single = try sample(samples, "AffWild2/1-30-1280x720/0-3", "action_units", "open")
        XCTAssertFalse(single.content["question"]?.stringValue?.contains("person on the") == true, "one person: no prefix")
    }

    // MARK: - Other families

    func test_ravdess_fine_grained_emotion_names_the_intensity_and_neutral_has_none() throws {
        let (_, samples) = try instructed(["RAVDESS"])
        let strongHappy = try sample(samples, "RAVDESS/01-01-03-02-01-01-01", "fine_emotion", "mcq")
        XCTAssertEqual(strongHappy.content["label"], "happiness (strong intensity)")
        // Eight emotions, two grades each, except neutral: fifteen choices.
        XCTAssertEqual(strongHappy.content["options"]?.arrayValue?.count, 15)
        XCTAssertEqual(try sample(samples, "RAVDESS/01-02-06-01-02-02-01", "fine_emotion", "open").content["answer"],
                       "fear (normal intensity)")
        XCTAssertEqual(try sample(samples, "RAVDESS/01-01-01-01-01-02-02", "fine_emotion", "open").content["answer"], "neutral")
        // Actor 01 is male, actor 02 female.
        XCTAssertEqual(try sample(samples, "RAVDESS/01-01-03-02-01-01-01", "gender", "open").content["label"], "male")
        XCTAssertEqual(try sample(samples, "RAVDESS/01-01-01-01-01-02-02", "gender", "open").content["label"], "female")
    }

    func test_mead_asks_head_pose_and_identity_with_the_actors_of_the_source() throws {
        let (_, samples) = try instructed(["MEAD"])
        let clip = "MEAD/M003/left_30/neutral/level_1/001"
        let pose = try sample(samples, clip, "head_pose", "mcq")
        XCTAssertEqual(pose.content["label"], "left_30")
        XCTAssertEqual(pose.content["options"]?.arrayValue?.count, 7)
        XCTAssertEqual(pose.task, .attribute)
        let identity = try sample(samples, clip, "identity", "mcq")
        XCTAssertEqual(identity.content["label"], "M003")
        XCTAssertEqual(Set(identity.content["options"]!.arrayValue!.map { String($0.stringValue!.dropFirst(4)) }), ["M003", "W011"])
        XCTAssertEqual(try sample(samples, "MEAD/M003/front/angry/level_3/002", "fine_emotion", "open").content["answer"],
                       "anger (strong intensity)")
    }

    func test_sentiment_comes_from_the_score_sign_and_fine_sentiment_from_the_mmsa_bins() throws {
        let (store, samples) = try instructed(["CH-SIMS", "MOSI"])
        var checked = 0
        for clip in try store.clips() where clip.status == .ok {
            guard let score = clip.record.labels.sentimentScore else { continue }
            let scale: InstructDataset.SentimentScale = clip.source == "CH-SIMS" ? .five : .seven
            XCTAssertEqual(try sample(samples, clip.uid, "fine_sentiment", "open").content["answer"]?.stringValue,
                           scale.className(score), clip.uid)
            XCTAssertEqual(try sample(samples, clip.uid, "sentiment", "open").content["answer"]?.stringValue,
                           score > 0 ? "positive" : score < 0 ? "negative" : "neutral", clip.uid)
            checked += 1
        }
        XCTAssertEqual(checked, 9)
        let sims5 = InstructDataset.SentimentScale.five
        XCTAssertEqual([-1, -0.8, -0.7, -0.6, -0.2, -0.1, 0, 0.1, 0.2, 0.7, 0.8, 1].map(sims5.className), [
            "negative", "negative", "negative", "weakly negative", "weakly negative", "weakly negative", "neutral",
            "neutral", "weakly positive", "weakly positive", "positive", "positive"])
        // Rounded half to even, as numpy rounds.
        XCTAssertEqual([-3, -2.6, -0.5, 0.4, 1.5, 2.5, 3].map(InstructDataset.SentimentScale.seven.className), [
            "strongly negative", "strongly negative", "neutral", "neutral", "positive", "positive", "strongly positive"])
    }

    func test_casme_family_asks_micro_expressions_not_emotions() throws {
        let (_, samples) = try instructed(["CASME2", "CASME_sq"])
        XCTAssertFalse(samples.values.contains { $0.content["kind"] == "emotion" })
        let micro = samples.values.filter { $0.content["kind"] == "micro_expression" }
        // CASME II's clips and the two CAS(ME)^2 rows coded micro-expression, three forms each.
        XCTAssertEqual(micro.count, 21)
        XCTAssertTrue(micro.allSatisfy { $0.task == .expression })
        let sq = try sample(samples, "CASME_sq/s16/disgust1_1", "micro_expression", "mcq")
        XCTAssertEqual(Set(sq.content["options"]!.arrayValue!.map { String($0.stringValue!.dropFirst(4)) }),
                       ["negative", "positive", "surprise", "other"])
        XCTAssertEqual(sq.content["label"], "surprise")
        // A macro-expression is asked whether it is micro or macro, never which micro-expression it is.
        XCTAssertNil(samples["instruct/CASME_sq/s16/happy2_1/micro_expression/open"])
        XCTAssertNotNil(samples["instruct/CASME_sq/s16/happy2_1/expression_type/open"])
    }

    // MARK: - What gets no samples

    func test_unlabelled_clips_get_no_samples() throws {
        let (store, samples) = try instructed(["CelebV-HQ", "AffWild2", "DFEW"])
        for uid in ["CelebV-HQ/k9J8h7G6f5d_4", "AffWild2/200/0-9", "DFEW/00007"] {
            let clip = try XCTUnwrap(try store.clip(uid: uid))
            XCTAssertEqual(clip.status, .ok, uid)
            XCTAssertTrue(clip.record.labels.isEmpty, uid)
            XCTAssertFalse(samples.keys.contains { $0.hasPrefix("instruct/\(uid)/") }, uid)
        }
    }

    func test_a_labelled_clip_whose_media_is_missing_gets_no_samples() throws {
        let (store, samples) = try instructed(["MAFW", "DFEW"])
        for uid in ["MAFW/00008", "DFEW/00010"] {
            let clip = try XCTUnwrap(try store.clip(uid: uid))
            XCTAssertEqual(clip.status, .missing, uid)
            XCTAssertNotNil(clip.record.labels.emotion, uid)
            XCTAssertFalse(samples.keys.contains { $0.hasPrefix("instruct/\(uid)/") }, uid)
        }
        // The same labels with usable media do give samples: only the status keeps them out.
        var clip = try XCTUnwrap(try store.clip(uid: "MAFW/00008"))
        let stage = InstructStage(templates: try InstructTemplates.load(promptsDirectory: promptsRoot),
                                  datasets: ["MAFW": InstructDataset.make(source: try store.sources().first { $0.name == "MAFW" }!, clips: [])])
        clip.status = .ok
        XCTAssertEqual(stage.samples(for: clip).map(\.form), [.mcq, .open, .short])
        for status in [ClipStatus.missing, .unreadable, .failed, .gone] {
            clip.status = status
            XCTAssertEqual(stage.samples(for: clip), [], status.rawValue)
        }
    }

    // MARK: - Samples as stored

    func test_samples_are_accepted_instruct_samples_carrying_their_template_and_its_file_hash() throws {
        let (_, samples) = try instructed(["DFEW"])
        let s = try sample(samples, "DFEW/00002", "emotion", "open")
        XCTAssertEqual(s.stage, "instruct")
        XCTAssertEqual(s.status, .accepted)
        XCTAssertNil(s.model)
        XCTAssertEqual(s.task, .emotion)
        XCTAssertEqual(s.clipUID, "DFEW/00002")
        XCTAssertTrue(s.promptID.hasPrefix("instruct/emotion/open-"), s.promptID)
        let file = try Data(contentsOf: promptsRoot.appendingPathComponent("instruct/emotion.yaml"))
        XCTAssertEqual(s.promptHash, SHA256Digest.hex(file))
        XCTAssertEqual(s.content["answer"], "sadness")
        XCTAssertNil(s.content["question"]?.stringValue?.range(of: "<video>"), "the export adds the video tag")
    }

    func test_runner_takes_only_the_named_sources_and_at_most_limit_clips_of_each() throws {
        let store = try instructStore()
        for name in ["DFEW", "MELD"] {
            let r = replicas.first { $0.0 == name }!
            try ingest(r.0, adapter: r.1, options: r.2, into: store)
        }
        let runner = try InstructRunner(promptsDirectory: promptsRoot)
        let result = try runner.run(store: store, sources: ["DFEW"], limit: 2)
        XCTAssertEqual(result.clips, 2)
        let samples = try store.samples(stage: "instruct")
        XCTAssertEqual(samples.count, result.samples)
        XCTAssertEqual(Set(samples.map(\.clipUID)), ["DFEW/00001", "DFEW/00002"])
        XCTAssertThrowsError(try runner.run(store: store, sources: ["DFEV"], limit: nil)) { error in
            XCTAssertTrue("\(error)".contains("no source 'DFEV'"), "\(error)")
        }
    }

    // MARK: - Templates

    func test_shipped_templates_give_at_least_three_phrasings_for_every_form_of_every_family() throws {
        let templates = try InstructTemplates.load(promptsDirectory: promptsRoot)
        XCTAssertEqual(Set(templates.files.keys), Set(InstructFamily.allCases))
        for family in InstructFamily.allCases {
            let file = try XCTUnwrap(templates.files[family])
            XCTAssertEqual(Set(file.phrasings.keys), Set(family.forms), family.rawValue)
            for (form, phrasings) in file.phrasings {
                XCTAssertGreaterThanOrEqual(phrasings.count, 3, "\(family.rawValue) \(form.rawValue)")
            }
        }
    }

    func test_a_template_with_an_unknown_placeholder_is_rejected_with_its_file_line_and_key() throws {
        let yaml = """
            open:
              - id: open-1
                question: What emotion?
                answer: "{emotoin}"
            """
        XCTAssertThrowsError(try InstructTemplateFile.parse(Data(yaml.utf8), family: .action, file: "action.yaml")) { error in
            let e = error as? ConfigError
            XCTAssertEqual(e?.file, "action.yaml")
            XCTAssertEqual(e?.line, 4)
            XCTAssertEqual(e?.key, "open.0.answer")
            XCTAssertTrue(e?.message.contains("{emotoin}") == true, "\(error)")
        }
    }

    func test_a_template_file_missing_a_form_or_showing_no_options_is_rejected() throws {
        let noMCQ = "open:\n  - {id: a, question: q, answer: \"{answer}\"}\n"
        XCTAssertThrowsError(try InstructTemplateFile.parse(Data(noMCQ.utf8), family: .gender, file: "gender.yaml")) { error in
            XCTAssertEqual((error as? ConfigError)?.key, "mcq", "\(error)")
        }
        let hidden = "mcq:\n  - {id: a, question: Which?, answer: \"{letters}\"}\nopen:\n  - {id: b, question: q, answer: \"{answer}\"}\n"
        XCTAssertThrowsError(try InstructTemplateFile.parse(Data(hidden.utf8), family: .gender, file: "gender.yaml")) { error in
            XCTAssertTrue("\(error)".contains("{options}"), "\(error)")
        }
    }
}

// MARK: - Support (private: other suites in this target keep their own helpers)

private let packageRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
    .deletingLastPathComponent()
private let fixtures = packageRoot.appendingPathComponent("Tests/Fixtures")
private let promptsRoot = packageRoot.appendingPathComponent("prompts")

/// Replica, adapter, adapter options.
private let replicas: [(String, String, String)] = [
    ("RAVDESS", "ravdess", ""), ("MEAD", "mead", ""), ("MAFW", "mafw", "set: compound"), ("CelebV-HQ", "celebvhq", ""),
    ("AffWild2", "affwild2", "window: 0.3"), ("CH-SIMS", "mmsa", ""), ("MOSI", "mmsa", ""), ("MELD", "meld", ""),
    ("CASME2", "casme2", ""), ("CASME_sq", "casme_sq", ""), ("DFEW", "dfew", ""),
    ("PERR", "manifest", "file: perr_manifest.csv\ncolumns:\n  path: path\n  emotion: label\n  identity: speaker"),
]

private func instructStore() throws -> Store {
    let dir = FileManager.default.temporaryDirectory.appendingPathComponent("emocfg-instruct-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
    return try Store(path: dir.appendingPathComponent("store.sqlite").path)
}

/// Ingests `Tests/Fixtures/<fixture>` through the real ingest runner into `store`.
private func ingest(_ fixture: String, adapter: String, options: String = "", into store: Store) throws {
    var yaml = "sources:\n  \(fixture):\n    adapter: \(adapter)\n    root: \"\(fixtures.appendingPathComponent(fixture).path)\"\n"
    if !options.isEmpty {
        yaml += "    options:\n" + options.split(separator: "\n").map { "      \($0)\n" }.joined()
    }
    let config = try SourcesConfig.parse(yaml: yaml, file: "test-sources.yaml", baseDirectory: fixtures,
                                         adapters: AdapterRegistry.names)
    _ = try blocking { try await IngestRunner(store: store, config: config, jobs: 2).run() }
}
