import Annotate
import EmoCFG
import Export
import Foundation
import Ingest
import TestSupport
import XCTest

final class ExportTests: XCTestCase {
    let repo = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    var store: Store!
    var out: URL!

    override func setUpWithError() throws {
        store = try Store(path: try temporaryStorePath())
        out = FileManager.default.temporaryDirectory.appendingPathComponent("emocfg-export-\(UUID().uuidString)")
    }

    override func tearDown() {
        for suffix in ["", "-b", "-c", "-z"] { try? FileManager.default.removeItem(atPath: out.path + suffix) }
    }

    /// Ingests the named replicas (from samples/sources.yaml) and makes their instruct samples.
    func prepare(_ sources: [String]) throws {
        let config = try SourcesConfig.load(repo.appendingPathComponent("samples/sources.yaml"), adapters: AdapterRegistry.names)
        let s = store!
        _ = try blocking { try await IngestRunner(store: s, config: config, jobs: 2).run(sources: sources) }
        try InstructRunner(promptsDirectory: repo.appendingPathComponent("prompts")).run(store: store)
    }

    func settings(testFraction: Double = 0.5, seed: String = "test", perLabel: Int = 200, zstd: Bool = false) -> ExportSettings {
        var s = ExportSettings()
        s.testFraction = testFraction
        s.seed = seed
        s.sampledPerLabel = perLabel
        s.zstd = zstd
        return s
    }

    @discardableResult
    func export(_ s: ExportSettings? = nil, to folder: URL? = nil) throws -> ExportResult {
        let s = s ?? settings()
        return try Exporter(out: folder ?? out, settings: s, configHash: SHA256Digest.hex(s.json.canonical)).run(store: store)
    }

    func text(_ file: ExportedFile, in folder: URL? = nil) throws -> String {
        let url = (folder ?? out).appendingPathComponent(file.path)
        // Plain or `.zst` (frames concatenated): the reader the reproduction uses.
        let reader = try ChunkedFileReader(path: url.path)
        var bytes: [UInt8] = []
        while let chunk = try reader.next() { bytes += chunk }
        return String(decoding: bytes, as: UTF8.self)
    }

    func lines(_ file: ExportedFile, in folder: URL? = nil) throws -> [JSONValue] {
        try text(file, in: folder).split(separator: "\n").map { try JSONValue.parse(String($0)) }
    }

    func user(_ line: JSONValue) -> String { line["messages"]?.arrayValue?.first?["content"]?.stringValue ?? "" }
    func answer(_ line: JSONValue) -> String { line["messages"]?.arrayValue?.last?["content"]?.stringValue ?? "" }
    func video(_ line: JSONValue) -> String { line["videos"]?.arrayValue?.first?.stringValue ?? "" }

    // MARK: - Lines

    func test_every_written_line_validates_against_the_swift_sample_schema_with_one_video_tag_per_video() throws {
        try prepare(["RAVDESS", "MAFW", "CelebV-HQ", "AffWild2", "MELD", "CelebV-Text"])
        let result = try export()
        let schema = try JSONValue.parse(Data(contentsOf: repo.appendingPathComponent("schemas/swift-sample.schema.json")))
        var fullLines = 0
        // The RL rows (user turn only, checked in RLExportTests) are not SFT samples.
        for file in result.files where file.set != "ground-truth" && file.directory != "rl" {
            let ls = try lines(file)
            XCTAssertEqual(ls.count, file.lines, file.path)
            for l in ls {
                XCTAssertEqual(JSONSchemaValidator.violations(of: l, against: schema), [], "\(file.path): \(l.canonical)")
                XCTAssertEqual(user(l).components(separatedBy: "<video>").count - 1, l["videos"]?.arrayValue?.count, user(l))
                if !file.source.isEmpty { XCTAssertTrue(video(l).hasPrefix("videos/\(VideoFolders.folder(source: file.source, exportName: nil))/"), video(l)) }
                XCTAssertTrue(FileManager.default.fileExists(atPath: out.appendingPathComponent(video(l)).path), "\(video(l)) resolves through the link")
            }
            if file.set == "full" { fullLines += ls.count }
        }
        let sides = try store.clipSplits()
        let expected = try store.samples().filter { s in
            s.status == .accepted && !(s.task == .rationale && sides[s.clipUID] == "test")
        }.count
        XCTAssertEqual(fullLines, expected, "every accepted sample of a usable clip is written once")
        XCTAssertEqual(try FileManager.default.destinationOfSymbolicLink(atPath: out.appendingPathComponent("videos/RAVDESS").path),
                       repo.appendingPathComponent("Tests/Fixtures/RAVDESS").path)
        XCTAssertTrue(result.files.contains { $0.path == "jsons/train/caption/full/CelebV-Text_caption.jsonl" && $0.lines > 0 },
                      "CelebV-Text's own texts become caption samples")
    }

    func test_export_name_renames_a_videos_folder_and_two_sources_in_one_folder_are_refused() throws {
        try prepare(["FERV39K", "RAVDESS"])
        let ferv = try XCTUnwrap(try store.sources().first { $0.name == "FERV39K" })
        var renamed = ferv
        renamed.exportName = "Ferv"
        try store.upsertSource(renamed)
        let result = try export()
        let lines = try result.files.filter { $0.source == "FERV39K" && $0.set == "full" }.flatMap { try self.lines($0) }
        XCTAssertFalse(lines.isEmpty)
        for l in lines { XCTAssertTrue(video(l).hasPrefix("videos/Ferv/"), video(l)) }
        // Frame folders are rendered files, reached through relative links into media/.
        let entry = out.appendingPathComponent(video(lines[0])).path
        XCTAssertTrue(try FileManager.default.destinationOfSymbolicLink(atPath: entry).hasPrefix("../"))
        XCTAssertEqual(try MediaProbe.probe(path: entry).codec, "h264")

        renamed.exportName = "RAVDESS"
        try store.upsertSource(renamed)
        XCTAssertThrowsError(try export()) { e in
            XCTAssertTrue("\(e)".contains("would both export their videos to videos/RAVDESS"), "\(e)")
        }
    }

    func test_copy_videos_makes_a_tree_that_stands_alone() throws {
        try prepare(["FERV39K", "RAVDESS"])
        var s = settings()
        s.copyVideos = true
        let result = try export(s)
        let fm = FileManager.default
        for file in result.files where file.set == "full" {
            for l in try lines(file) {
                let path = out.appendingPathComponent(video(l)).path
                XCTAssertNil(try? fm.destinationOfSymbolicLink(atPath: path), "\(video(l)) is a file, not a link")
                XCTAssertNoThrow(try MediaProbe.probe(path: path), video(l))
            }
        }
    }

    func test_only_accepted_samples_are_written_and_a_rewrite_replaces_its_parent() throws {
        try prepare(["RAVDESS"])
        let clip = try XCTUnwrap(try store.clips().first { $0.status == .ok })
        let parent = NewSample(uid: "caption/\(clip.uid)/emotion", clipUID: clip.uid, stage: "caption", task: .emotion, form: .caption,
                               content: ["question": "Q?", "answer": "parent answer"], promptID: "p", promptHash: "h")
        var child = parent
        child.uid += "#r1"
        child.parentUID = parent.uid
        child.round = 1
        child.content = ["question": "Q?", "answer": "rewritten answer"]
        try store.upsertSamples([parent])
        try store.decide(sample: parent.uid, status: .rejected, reasons: "rewritten: …", rewrite: child)
        try store.decide(sample: child.uid, status: .accepted, reasons: nil)
        let pending = NewSample(uid: "caption/\(clip.uid)/attribute", clipUID: clip.uid, stage: "caption", task: .attribute, form: .caption,
                                content: ["question": "Q?", "answer": "still pending"], promptID: "p", promptHash: "h")
        try store.upsertSamples([pending])
        let result = try export()
        let full = try result.files.filter { $0.set == "full" }.map { try text($0) }.joined()
        XCTAssertEqual(full.components(separatedBy: "rewritten answer").count - 1, 1, "once in the full shards")
        let all = try result.files.map { try text($0) }.joined()
        XCTAssertFalse(all.contains("parent answer") || all.contains("still pending"))
        // The dataset card's figures, counted on the export's pass, are those a separate read gives.
        XCTAssertEqual(result.stats, try StatsData.gather(from: store, detail: .card))
        XCTAssertTrue(result.stats.stages.contains { $0.name == "caption" && $0.outcomes.rewritten == 1 && $0.outcomes.pending == 1 })
    }

    func test_strings_are_escaped_as_python_json_dumps_writes_them_and_line_separators_too() throws {
        try prepare(["RAVDESS"])
        let clip = try XCTUnwrap(try store.clips().first { $0.status == .ok })
        let tricky = "tab\there \"quoted\" back\\slash\nnew \u{08}\u{0C}\u{01} é 表情 /slash \u{2028}\u{2029}\u{85}“end”"
        let s = NewSample(uid: "caption/\(clip.uid)/x", clipUID: clip.uid, stage: "caption", task: .emotion, form: .caption,
                          content: ["question": "Q?", "answer": .string(tricky)], promptID: "p", promptHash: "h", status: .accepted)
        try store.upsertSamples([s])
        let result = try export()
        let line = try XCTUnwrap(try result.files.filter { $0.set == "full" }.flatMap { try text($0).split(separator: "\n") }
            .first { $0.contains("tab\\there") })
        XCTAssertTrue(line.contains(#""content":"tab\there \"quoted\" back\\slash\nnew \b\f\u0001 é 表情 /slash \u2028\u2029\u0085“end”","role":"assistant""#), String(line))
        // Python's str.splitlines (VidEmo's evaluation reads with it) must see one line.
        XCTAssertFalse(line.unicodeScalars.contains { [0x2028, 0x2029, 0x85].contains($0.value) }, "separators are escaped")
        XCTAssertEqual(answer(try JSONValue.parse(String(line))), tricky)
    }

    // MARK: - Sides

    func test_no_identity_group_or_source_video_is_on_both_sides_and_adding_a_source_moves_nothing() throws {
        try prepare(["RAVDESS", "MEAD", "CelebV-HQ", "CAS(ME)^2"])
        let first = try export()
        let clips = try store.clips().filter { $0.status == .ok }
        let sides = try store.clipSplits()
        var sidesByGroup: [String: Set<String>] = [:]
        // Identity recognition's source (MEAD) is held out per clip within each identity (EvaluationCoverageTests).
        for c in clips where c.record.split == nil && !EvaluationFile.identitySources.contains(c.source) {
            sidesByGroup["\(c.source)|\(c.record.identity ?? c.record.key)", default: []].insert(sides[c.uid]!)
        }
        XCTAssertTrue(sidesByGroup.values.allSatisfy { $0.count == 1 }, "\(sidesByGroup.filter { $0.value.count > 1 })")
        XCTAssertEqual(Set(sides.values), ["train", "test"], "with half the groups on test, both sides are used")
        func videos(_ r: ExportResult, _ side: String) throws -> Set<String> {
            Set(try r.files.filter { $0.side == side && $0.set == "full" }.flatMap { try lines($0) }.map(video))
        }
        XCTAssertTrue(try videos(first, "train").isDisjoint(with: try videos(first, "test")), "no video file is on both sides")

        try prepare(["MELD", "DFEW"])
        let second = try export(settings(testFraction: 0.9, seed: "other"))
        let after = try store.clipSplits()
        for (uid, side) in sides { XCTAssertEqual(after[uid], side, "\(uid) moved") }
        XCTAssertGreaterThan(after.count, sides.count)
        XCTAssertTrue(try videos(first, "train").isSubset(of: try videos(second, "train")), "earlier train videos stay on train")
        let meldTest = try store.clips(source: "MELD").filter { $0.record.split == "test" && $0.status == .ok }
        XCTAssertFalse(meldTest.isEmpty)
        XCTAssertTrue(meldTest.allSatisfy { after[$0.uid] == "test" }, "a native test split is respected")
    }

    func test_a_dataset_without_a_test_split_holds_out_its_validation_split() throws {
        try prepare(["AffWild2", "MELD"])
        try export()
        let sides = try store.clipSplits()
        let aff = try store.clips(source: "AffWild2").filter { $0.status == .ok && $0.record.split != nil }
        XCTAssertFalse(aff.filter { $0.record.split == "val" }.isEmpty)
        for c in aff { XCTAssertEqual(sides[c.uid], c.record.split == "val" ? "test" : "train", c.uid) }
        let meldVal = try store.clips(source: "MELD").filter { $0.status == .ok && $0.record.split == "val" }
        XCTAssertFalse(meldVal.isEmpty)
        XCTAssertTrue(meldVal.allSatisfy { sides[$0.uid] == "train" }, "MELD has a test split, so its validation split trains")
    }

    // MARK: - Sampled sets

    func test_sampled_files_are_stable_for_a_seed_and_differ_with_another() throws {
        try prepare(["RAVDESS", "MEAD", "MAFW", "DFEW"])
        let a = try export(settings(perLabel: 1))
        let b = try export(settings(perLabel: 1), to: URL(fileURLWithPath: out.path + "-b"))
        let c = try export(settings(seed: "another", perLabel: 1), to: URL(fileURLWithPath: out.path + "-c"))
        let sampledA = a.files.filter { $0.set == "sampled" }
        XCTAssertFalse(sampledA.isEmpty)
        for f in sampledA {
            XCTAssertEqual(try Data(contentsOf: out.appendingPathComponent(f.path)),
                           try Data(contentsOf: URL(fileURLWithPath: out.path + "-b").appendingPathComponent(f.path)), f.path)
        }
        XCTAssertEqual(sampledA.map(\.sha256), b.files.filter { $0.set == "sampled" }.map(\.sha256))
        XCTAssertNotEqual(sampledA.map(\.sha256), c.files.filter { $0.set == "sampled" }.map(\.sha256), "another seed picks other lines")
        // Stratified: at most one line per label in each sampled shard, every label of the full shard present.
        for f in sampledA where f.source == "MAFW" && f.task == "emotion" {
            let full = try XCTUnwrap(a.files.first { $0.set == "full" && $0.side == f.side && $0.source == f.source && $0.task == f.task })
            XCTAssertLessThan(f.lines, full.lines)
            let fullLines = try lines(full).map(\.canonical)
            let sampled = try lines(f).map(\.canonical)
            XCTAssertEqual(sampled, fullLines.filter { sampled.contains($0) }, "sampled lines keep the full shard's order")
        }
    }

    // MARK: - Receipts

    func test_receipt_reproduce_rebuilds_every_version_and_names_the_shard_and_line_after_one_byte_changes() throws {
        try prepare(["RAVDESS", "MEAD", "MAFW", "CelebV-HQ"])
        let result = try export()
        XCTAssertEqual(result.versions.map(\.name), ["v1", "v2", "v3", "v4", "v5", "v6"])
        XCTAssertEqual(result.versions.map(\.mix), CurationMix.curriculum.map(\.name))
        let curation = Curation(out: out)
        for v in result.versions {
            let r = try curation.reproduce(v.version)
            var expected = Data()
            for s in v.shards { expected += try Data(contentsOf: out.appendingPathComponent(s.path)) }
            XCTAssertEqual(try Data(contentsOf: URL(fileURLWithPath: r.output)), expected, v.name)
            XCTAssertEqual(r.lines, v.lines)
            let source = try String(contentsOf: out.appendingPathComponent("jsons/curation/\(v.name)/source.txt"), encoding: .utf8)
            XCTAssertEqual(source.split(separator: "\n").count, v.shards.count)
        }
        XCTAssertTrue(result.versions[0].shards.allSatisfy { $0.path.contains("_attribute.jsonl") })
        XCTAssertGreaterThan(result.versions[2].lines, result.versions[0].lines)
        XCTAssertGreaterThanOrEqual(result.versions[4].lines, result.versions[2].lines)

        // One byte of line 3 of a shard that v1 uses.
        let shard = try XCTUnwrap(result.versions[0].shards.first { $0.lines >= 4 })
        let url = out.appendingPathComponent(shard.path)
        var bytes = [UInt8](try Data(contentsOf: url))
        let newlines = bytes.indices.filter { bytes[$0] == 0x0A }
        let at = newlines[1] + 20
        bytes[at] = bytes[at] == UInt8(ascii: "x") ? UInt8(ascii: "y") : UInt8(ascii: "x")
        let handle = try FileHandle(forWritingTo: url)
        try handle.write(contentsOf: Data(bytes))
        try handle.close()
        XCTAssertThrowsError(try curation.reproduce(1)) { error in
            let e = error as? ReproduceError
            XCTAssertEqual(e?.shard, shard.path)
            XCTAssertEqual(e?.line, 3)
            XCTAssertTrue("\(error)".contains("\(shard.path):3"), "\(error)")
        }
        XCTAssertFalse(FileManager.default.fileExists(atPath: out.appendingPathComponent("jsons/curation/v1/train.jsonl.partial").path))

        // The CLI says the same and exits 1.
        let cli = try runCLI(["receipt", "reproduce", "v1", "--out", out.path])
        XCTAssertEqual(cli.status, 1)
        XCTAssertTrue(cli.err.contains("\(shard.path):3"), cli.err)
    }

    func test_an_export_that_changes_shards_writes_new_versions_and_the_old_ones_still_reproduce() throws {
        try prepare(["RAVDESS", "MEAD"])
        let first = try export()
        let v1 = try Curation(out: out).reproduce(1)
        let v1Bytes = try Data(contentsOf: URL(fileURLWithPath: v1.output))
        let again = try export()
        XCTAssertEqual(again.versions, [], "nothing changed, so no new version")
        XCTAssertEqual(again.unchanged.map(\.name), first.versions.map(\.name))

        // One more accepted attribute sample on a train clip changes a shard every mix uses.
        let sides = try store.clipSplits()
        let clip = try XCTUnwrap(try store.clips(source: "MEAD").first { sides[$0.uid] == "train" })
        try store.upsertSamples([NewSample(uid: "instruct/\(clip.uid)/extra", clipUID: clip.uid, stage: "instruct", task: .attribute, form: .open,
                                           content: ["question": "Extra?", "answer": "yes"], promptID: "p", promptHash: "h", status: .accepted)])
        let second = try export()
        XCTAssertEqual(second.versions.map(\.name), ["v7", "v8", "v9", "v10", "v11"], "the rl mix (v6) holds no attribute shard")
        let old = try Curation(out: out).reproduce(1, to: URL(fileURLWithPath: out.path + "-b"))
        XCTAssertEqual(try Data(contentsOf: URL(fileURLWithPath: old.output)), v1Bytes, "v1 is rebuilt from the content kept for it")
        XCTAssertEqual(try Curation(out: out).reproduce(7).lines, second.versions[0].lines)
        XCTAssertEqual(try store.exports(outDir: out.standardizedFileURL.path).map(\.version), Array(1...11))
    }

    func test_zstd_shards_hold_the_same_lines_and_reproduce() throws {
        try prepare(["RAVDESS", "MAFW"])
        let plain = try export(settings())
        let zipped = try export(settings(zstd: true), to: URL(fileURLWithPath: out.path + "-z"))
        let shards = zipped.files.filter { $0.set == "full" || $0.set == "sampled" }
        XCTAssertTrue(shards.allSatisfy { $0.path.hasSuffix(".jsonl.zst") })
        XCTAssertEqual(shards.map(\.sha256), plain.files.filter { $0.set == "full" || $0.set == "sampled" }.map(\.sha256),
                       "the hashes cover the content, so compressed and plain shards agree")
        XCTAssertTrue(zipped.files.filter { $0.set == "evaluation" }.allSatisfy { $0.path.hasSuffix(".json") })
        let folder = URL(fileURLWithPath: out.path + "-z")
        for v in zipped.versions {
            let r = try Curation(out: folder).reproduce(v.version)
            let p = try Curation(out: out).reproduce(v.version)
            XCTAssertEqual(try Data(contentsOf: URL(fileURLWithPath: r.output)), try Data(contentsOf: URL(fileURLWithPath: p.output)))
        }
    }

    // MARK: - Evaluation files

    func test_evaluation_files_have_their_exact_names_and_answer_formats() throws {
        try prepare(["MAFW", "AffWild2", "CelebV-HQ", "MEAD", "CelebV-Text"])
        let result = try export(settings(testFraction: 0.999))
        let evaluation = result.files.filter { $0.set == "evaluation" }
        XCTAssertEqual(Set(evaluation.map(\.task)), Set(EvaluationFile.all.map(\.name)))
        XCTAssertEqual(evaluation.count, 22)
        for e in EvaluationFile.all {
            XCTAssertTrue(FileManager.default.fileExists(atPath: out.appendingPathComponent("jsons/test/\(e.directory)/\(e.name)").path), e.name)
        }
        func file(_ name: String) throws -> [JSONValue] {
            let f = try XCTUnwrap(evaluation.first { $0.task == name })
            let ls = try lines(f)
            XCTAssertFalse(ls.isEmpty, "\(name) has test samples")
            return ls
        }
        let classes = ["anger", "disgust", "fear", "happiness", "neutral", "sadness", "surprise", "contempt", "anxiety", "helplessness", "disappointment"]
        let options = classes.enumerated().map { "(\(Array("ABCDEFGHIJK")[$0.offset])) \($0.element)" }.joined(separator: "\n")
        for l in try file("MAFW_Multiple-Label-Emotion-Recognition.json") {
            XCTAssertTrue(user(l).contains(options), user(l))
            XCTAssertNotNil(answer(l).range(of: "^[A-K]+$", options: .regularExpression), answer(l))
            XCTAssertEqual(answer(l), String(answer(l).sorted()), "letters in class order")
        }
        for l in try file("AffWild2_Action_Unit_Detection.json") {
            let units = answer(l).split(separator: ",").map(String.init)
            XCTAssertFalse(units.isEmpty)
            XCTAssertTrue(units.allSatisfy(DatasetVocabulary.affwild2ActionUnits.contains), answer(l))
            XCTAssertFalse(answer(l).contains(" "))
        }
        for (name, vocabulary) in [("CelebV-HQ_Appearance-Recognition.json", DatasetVocabulary.celebvhqAppearance),
                                   ("CelebV-HQ_Action-Recognition.json", DatasetVocabulary.celebvhqAction)] {
            for l in try file(name) {
                let names = answer(l).split(separator: ",").map(String.init)
                XCTAssertTrue(!names.isEmpty && names.allSatisfy(vocabulary.contains), answer(l))
            }
        }
        for l in try file("MAFW_Single-Label-Emotion-Recognition.json") { XCTAssertTrue(classes.contains(answer(l)), answer(l)) }
        XCTAssertFalse(try file("MEAD_ID.json").isEmpty)
        for l in try file("CelebV-Text_Emotion-Caption.json") { XCTAssertGreaterThan(answer(l).count, 10) }
    }

    func test_every_qa_ground_truth_item_is_found_by_user_content_and_video_path() throws {
        try prepare(["RAVDESS", "MEAD"])
        // QA pairs as the qa stage stores them (accepted), for every clip: 15 attributes and 2 others.
        var samples: [NewSample] = []
        for clip in try store.clips() where clip.status == .ok {
            for aspect in QAStage.aspects {
                samples.append(NewSample(uid: "qa/\(clip.uid)/\(aspect)", clipUID: clip.uid, stage: "qa", task: .qa, form: .open,
                                         content: ["question": .string("What about \(aspect) in \(clip.record.key)?"), "answer": .string("\(aspect) answer"),
                                                   "aspect": .string(aspect), "source": .string("QA_\(aspect)")],
                                         promptID: "qa/qa", promptHash: "h", model: "text", status: .accepted))
            }
        }
        try store.upsertSamples(samples)
        let result = try export(settings(testFraction: 0.6, perLabel: 3))
        let truth = try XCTUnwrap(result.files.first { $0.set == "ground-truth" })
        XCTAssertEqual(truth.path, "anno/QA_test_sampling_all/QA_test_sampling_all.json")
        let array = try XCTUnwrap(try JSONValue.parse(Data(contentsOf: out.appendingPathComponent(truth.path))).arrayValue, "a JSON array, not JSONL")
        XCTAssertEqual(array.count, truth.lines)
        XCTAssertGreaterThan(array.count, 0)
        let qa = try lines(try XCTUnwrap(result.files.first { $0.task == "QA_test_sampling_all.json" && $0.set == "evaluation" }))
        XCTAssertEqual(qa.count, array.count)
        let index = Dictionary(grouping: qa, by: { "\(user($0))|\(video($0))" })
        for item in array {
            let source = try XCTUnwrap(item["source"]?.stringValue)
            XCTAssertTrue(source.hasPrefix("QA_") && EvaluationFile.qaAttributes.contains(String(source.dropFirst(3))), source)
            let matches = index["\(user(item))|\(video(item))"] ?? []
            XCTAssertEqual(matches.count, 1, "\(user(item)) \(video(item))")
            XCTAssertEqual(matches.first.map(answer), answer(item))
        }
        // Stratified per attribute: at most 3 per source and attribute on the test side.
        let perKey = Dictionary(grouping: array, by: { "\(video($0).split(separator: "/")[1])|\($0["source"]!.stringValue!)" })
        XCTAssertTrue(perKey.values.allSatisfy { $0.count <= 3 })
        XCTAssertFalse(array.contains { $0["source"]?.stringValue == "QA_Emotion" }, "only the 15 open attributes")
    }

    // MARK: - CLI

    func runCLI(_ args: [String]) throws -> (status: Int32, out: String, err: String) { try runExecutable("emocfg", args) }
}
