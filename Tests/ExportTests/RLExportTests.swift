import Annotate
import EmoCFG
import Export
import Foundation
import Ingest
import TestSupport
import XCTest

/// `jsons/train/rl/`: the rows ms-swift's GRPO trainer reads, with the reward's columns, never a
/// test-side clip, loadable by Hugging Face `datasets`, and the `rl` curation mix.
final class RLExportTests: XCTestCase {
    let repo = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    var store: Store!
    var out: URL!

    override func setUpWithError() throws {
        store = try Store(path: try temporaryStorePath())
        out = FileManager.default.temporaryDirectory.appendingPathComponent("emocfg-rl-\(UUID().uuidString)")
    }

    override func tearDown() { try? FileManager.default.removeItem(at: out) }

    static let tree: JSONValue = [
        "attributes": [["id": "a1", "aspect": "Eyebrows", "item": "drawn together"], ["id": "a2", "aspect": "Mouth", "item": "lips pressed"]],
        "expressions": [["id": "x1", "aspect": "Facial_actions", "item": "frown", "supported_by": ["a1", "a2"]]],
        "emotions": [["id": "m1", "item": "anger", "supported_by": ["x1"]]],
    ]

    /// RAVDESS and MAFW with their instruct samples, and an accepted tree sample for every clip
    /// (one of them a rewrite whose tree no longer parses).
    func prepare(extra: ([StoredClip]) -> [NewSample] = { _ in [] }) throws -> ExportResult {
        let config = try SourcesConfig.load(repo.appendingPathComponent("samples/sources.yaml"), adapters: AdapterRegistry.names)
        let s = store!
        _ = try blocking { try await IngestRunner(store: s, config: config, jobs: 2).run(sources: ["RAVDESS", "MAFW"]) }
        try InstructRunner(promptsDirectory: repo.appendingPathComponent("prompts")).run(store: store)
        let block = try AffectiveTree(json: Self.tree).block
        let clips = try store.clips().filter { $0.status == .ok }
        try store.upsertSamples(clips.enumerated().map { i, c in
            NewSample(uid: "tree/\(c.uid)", clipUID: c.uid, stage: "tree", task: .tree, form: .open,
                      content: ["question": "Describe the cues, expression and emotion. End with <tree>…</tree>.",
                                "answer": .string(i == 0 ? "a rewrite without its block" : block)],
                      promptID: "tree/tree", promptHash: "h", model: "text", status: .accepted)
        } + extra(clips))
        var settings = ExportSettings()
        settings.testFraction = 0.5
        settings.seed = "test"
        settings.sampledPerLabel = 1
        return try Exporter(out: out, settings: settings, configHash: "h").run(store: store)
    }

    func rows(_ f: ExportedFile) throws -> [JSONValue] {
        try String(contentsOf: out.appendingPathComponent(f.path), encoding: .utf8).split(separator: "\n").map { try JSONValue.parse(String($0)) }
    }

    func test_rl_rows_carry_the_user_turn_the_video_and_the_reward_columns_and_no_test_clip() throws {
        let result = try prepare()
        let rl = result.files.filter { $0.directory == "rl" }
        XCTAssertEqual(Set(rl.map(\.path)), ["jsons/train/rl/full/RAVDESS_rl.jsonl", "jsons/train/rl/full/MAFW_rl.jsonl",
                                             "jsons/train/rl/sampled/RAVDESS_rl.jsonl", "jsons/train/rl/sampled/MAFW_rl.jsonl"])
        let sides = try store.clipSplits()
        // The videos of test-side clips, as their SFT lines name them.
        let testVideos = Set(try result.files.filter { $0.side == "test" && $0.set == "full" }.flatMap { try rows($0) }
            .compactMap { $0["videos"]?.arrayValue?.first?.stringValue })
        XCTAssertFalse(testVideos.isEmpty)
        var tasks: [String: Int] = [:]
        for f in rl {
            XCTAssertEqual(f.side, "train")
            XCTAssertEqual(f.task, "rl")
            let lines = try rows(f)
            XCTAssertEqual(lines.count, f.lines)
            for l in lines {
                XCTAssertEqual(l.objectValue?.keys.sorted(), ["messages", "solution", "task", "tree", "videos"])
                let messages = try XCTUnwrap(l["messages"]?.arrayValue)
                XCTAssertEqual(messages.count, 1, "the user turn only")
                XCTAssertEqual(messages[0]["role"], "user")
                XCTAssertTrue(messages[0]["content"]?.stringValue?.hasPrefix("<video>") == true)
                let video = try XCTUnwrap(l["videos"]?.arrayValue?.first?.stringValue)
                XCTAssertTrue(FileManager.default.fileExists(atPath: out.appendingPathComponent(video).path), video)
                XCTAssertFalse(testVideos.contains(video), "\(video) is a test-side clip")
                let task = try XCTUnwrap(l["task"]?.stringValue)
                if f.set == "full" { tasks[task, default: 0] += 1 }
                switch task {
                case "affective_tree":
                    XCTAssertEqual(l["solution"], .null)
                    let tree = try JSONValue.parse(try XCTUnwrap(l["tree"]?.stringValue))
                    XCTAssertEqual(try AffectiveTree(json: tree), try AffectiveTree(json: Self.tree))
                case "mcq_accuracy", "mcq_f1":
                    XCTAssertEqual(l["tree"], .null)
                    let letters = try XCTUnwrap(l["solution"]?.stringValue)
                    XCTAssertEqual(letters.count == 1, task == "mcq_accuracy", letters)
                    XCTAssertTrue(messages[0]["content"]!.stringValue!.contains("(\(letters.prefix(1)))"), "the options are shown")
                default:
                    XCTFail("unknown task \(task)")
                }
            }
        }
        let trainClips = try store.clips().filter { $0.status == .ok && sides[$0.uid] == "train" }
        XCTAssertGreaterThan(tasks["affective_tree"] ?? 0, 0)
        XCTAssertLessThanOrEqual(tasks["affective_tree"] ?? 0, trainClips.count, "one per train clip at most; a broken rewrite is left out")
        XCTAssertGreaterThan(tasks["mcq_accuracy"] ?? 0, 0)
        XCTAssertGreaterThan(tasks["mcq_f1"] ?? 0, 0, "MAFW's compound emotions have several right letters")
        // The sampled files are smaller and keep the full files' order.
        for f in rl where f.set == "sampled" {
            let full = try XCTUnwrap(rl.first { $0.set == "full" && $0.source == f.source })
            XCTAssertLessThan(f.lines, full.lines)
            let all = try rows(full).map(\.canonical), some = try rows(f).map(\.canonical)
            XCTAssertEqual(some, all.filter { some.contains($0) })
        }
        // The SFT tree shards exist on the train side only.
        XCTAssertTrue(result.files.contains { $0.directory == "tree" && $0.side == "train" })
        XCTAssertFalse(result.files.contains { $0.directory == "tree" && $0.side == "test" })

        // The rl mix: its version lists the full RL shards.
        let mix = try XCTUnwrap(result.versions.first { $0.mix == "rl" })
        XCTAssertEqual(Set(mix.shards.map(\.path)), ["jsons/train/rl/full/MAFW_rl.jsonl", "jsons/train/rl/full/RAVDESS_rl.jsonl"])
        XCTAssertEqual(try Curation(out: out).reproduce(mix.version).lines, mix.lines)
    }

    /// The export renders RL rows on its single pass from raw bytes; this is the same definition
    /// written plainly over decoded samples (the implementation before that pass took it over). The
    /// files must hold exactly these rows, in uid order, and the sampled files exactly its choice.
    func test_rl_files_hold_the_rows_and_the_sampled_choice_of_a_plain_reading_of_the_store() throws {
        // A prompt with characters that need escaping, and a multiple-choice question that shows its first option.
        let result = try prepare(extra: { clips in
            clips.map { NewSample(uid: "instruct/zz-escapes/\($0.uid)", clipUID: $0.uid, stage: "instruct", task: .emotion, form: .mcq,
                       content: ["question": "Which?\u{2028}\t\"quoted\" \\ (A) calm", "kind": "emotion", "label": "calm",
                                 "options": ["(A) calm", "(B) sad\u{8}"], "answer_letters": "A", "answer": "A"],
                       promptID: "p", promptHash: "h", model: nil, status: .accepted) }
        })
        let sides = try store.clipSplits()
        let clips = Dictionary(uniqueKeysWithValues: try store.clips().filter { $0.status == .ok }.map { ($0.uid, $0) })
        struct Row { var uid: String; var group: String; var line: JSONValue }
        var expected: [String: [Row]] = [:]
        for s in try store.samples().filter({ $0.status == .accepted }).sorted(by: { $0.uid < $1.uid }) {
            guard s.stage == "tree" || (s.form == .mcq && s.stage == "instruct"),
                  let clip = clips[s.clipUID], sides[s.clipUID] == "train" else { continue }
            let question = s.content["question"]?.stringValue ?? ""
            var task: String, solution: JSONValue = .null, tree: JSONValue = .null, prompt = question, stratum: String
            if s.task == .tree {
                guard let parsed = try? AffectiveTree.parse(description: s.content["answer"]?.stringValue ?? "") else { continue }
                task = "affective_tree"
                tree = .string(parsed.json.canonical)
                stratum = parsed.emotions.map { AffectiveTree.normalise($0.item) }.sorted().joined(separator: ",")
            } else if s.form == .mcq, let letters = s.content["answer_letters"]?.stringValue, !letters.isEmpty {
                task = letters.count == 1 ? "mcq_accuracy" : "mcq_f1"
                solution = .string(letters)
                if let options = s.content["options"]?.arrayValue?.compactMap(\.stringValue), let first = options.first, !question.contains(first) {
                    prompt += "\n" + options.joined(separator: "\n")
                }
                stratum = (s.content["kind"]?.stringValue ?? "") + "|" + (s.content["label"]?.stringValue ?? "")
            } else {
                continue
            }
            let video = "videos/\(result.folders[clip.source] ?? clip.source)/\(clip.record.path)"
            expected[clip.source, default: []].append(Row(uid: s.uid, group: task + "|" + stratum, line: [
                "messages": [["role": "user", "content": .string("<video>" + prompt)]],
                "videos": [.string(video)], "task": .string(task), "solution": solution, "tree": tree,
            ]))
        }
        XCTAssertTrue(expected["MAFW"]?.contains { $0.uid.hasPrefix("instruct/zz-escapes/") } ?? false)
        XCTAssertEqual(Set(result.files.filter { $0.directory == "rl" }.map(\.source)), Set(expected.keys))
        for (source, rows) in expected {
            let full = try XCTUnwrap(result.files.first { $0.path == "jsons/train/rl/full/\(source)_rl.jsonl" })
            XCTAssertEqual(try self.rows(full), rows.map(\.line), source)
            // Per stratum, the `sampled_per_label` (1 here) of smallest rank SHA-256(seed|uid).
            var best: [String: (rank: UInt64, uid: String)] = [:]
            for r in rows {
                var h = SHA256Hasher()
                h.update("test|" + r.uid)
                let rank = h.finalizeLeading64()
                if let b = best[r.group], (b.rank, b.uid) < (rank, r.uid) { continue }
                best[r.group] = (rank, r.uid)
            }
            let chosen = Set(best.values.map(\.uid))
            let sampled = try XCTUnwrap(result.files.first { $0.path == "jsons/train/rl/sampled/\(source)_rl.jsonl" })
            XCTAssertEqual(try self.rows(sampled), rows.filter { chosen.contains($0.uid) }.map(\.line), source)
        }
        // The escapes are those of the SFT lines (U+2028 escaped; \b as Python writes it).
        let mafw = try String(contentsOf: out.appendingPathComponent("jsons/train/rl/full/MAFW_rl.jsonl"), encoding: .utf8)
        let line = try XCTUnwrap(mafw.split(separator: "\n").first { $0.contains("quoted") })
        XCTAssertTrue(line.contains(#"Which?\u2028\t\"quoted\" \\ (A) calm","role""#), String(line))
    }

    /// `emocfg-bench export` compares emocfg with `scripts/export_baseline.py` byte for byte on a
    /// store without trees; here the script runs on a store with tree samples (one broken), MCQ rows
    /// and escapes, and every file it writes must equal emocfg's, RL files and curation versions included.
    func test_the_python_baseline_writes_the_same_bytes_as_the_export_rl_files_included() throws {
        _ = try prepare(extra: { clips in
            clips.map { NewSample(uid: "instruct/zz-escapes/\($0.uid)", clipUID: $0.uid, stage: "instruct", task: .emotion, form: .mcq,
                                  content: ["question": "Which?\u{2028}\t\"quoted\" \\ (A) calm", "kind": "emotion", "label": "calm",
                                            "options": ["(A) calm", "(B) sad\u{8}"], "answer_letters": "A", "answer": "A"],
                                  promptID: "p", promptHash: "h", model: nil, status: .accepted) }
        })
        let python = out.appendingPathComponent("python")
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        p.arguments = ["python3", repo.appendingPathComponent("scripts/export_baseline.py").path, "--db", store.path,
                       "--out", python.path, "--seed", "test", "--sampled-per-label", "1"]
        let e = out.appendingPathComponent("baseline.err")
        FileManager.default.createFile(atPath: e.path, contents: nil)
        p.standardError = try FileHandle(forWritingTo: e)
        do { try p.run() } catch { throw XCTSkip("python3 is not installed: cannot run the baseline") }
        p.waitUntilExit()
        if p.terminationStatus == 127 { throw XCTSkip("python3 is not installed: cannot run the baseline") }
        XCTAssertEqual(p.terminationStatus, 0, (try? String(contentsOf: e, encoding: .utf8)) ?? "")
        let written = try XCTUnwrap(FileManager.default.subpathsOfDirectory(atPath: python.path)).filter {
            var dir: ObjCBool = false
            return FileManager.default.fileExists(atPath: python.appendingPathComponent($0).path, isDirectory: &dir) && !dir.boolValue
        }
        XCTAssertTrue(written.contains("jsons/train/rl/full/MAFW_rl.jsonl"))
        XCTAssertTrue(written.contains("jsons/curation/v6/source.txt"))
        XCTAssertTrue(written.contains("jsons/train/tree/full/MAFW_tree.jsonl"))
        for path in written {
            let a = try Data(contentsOf: python.appendingPathComponent(path))
            let b = try? Data(contentsOf: out.appendingPathComponent(path))
            XCTAssertEqual(a, b, "\(path) differs between the script and emocfg")
        }
    }

    func test_rl_shards_load_with_hugging_face_datasets() throws {
        let result = try prepare()
        let files = result.files.filter { $0.directory == "rl" && $0.set == "full" }.map { out.appendingPathComponent($0.path).path }
        XCTAssertEqual(files.count, 2)
        let script = out.appendingPathComponent("load.py")
        try Data("""
            import json, subprocess, sys
            try:
                import datasets
            except ImportError:
                r = subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", "datasets"], capture_output=True)
                try:
                    import datasets
                except ImportError:
                    print(json.dumps({"skip": "Hugging Face datasets is not installed and pip could not install it: " + r.stderr.decode()[-300:]}))
                    sys.exit(0)
            d = datasets.load_dataset("json", data_files=sys.argv[1:], split="train")
            print(json.dumps({"rows": d.num_rows, "columns": sorted(d.column_names),
                              "tasks": sorted(set(d["task"])), "trees": sum(1 for t in d["tree"] if t)}))
            """.utf8).write(to: script)
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        p.arguments = ["python3", script.path] + files
        p.environment = ProcessInfo.processInfo.environment.merging(["HF_DATASETS_CACHE": out.appendingPathComponent("hf").path]) { _, b in b }
        let o = out.appendingPathComponent("o"), e = out.appendingPathComponent("e")
        FileManager.default.createFile(atPath: o.path, contents: nil)
        FileManager.default.createFile(atPath: e.path, contents: nil)
        p.standardOutput = try FileHandle(forWritingTo: o)
        p.standardError = try FileHandle(forWritingTo: e)
        do { try p.run() } catch { throw XCTSkip("python3 is not installed: cannot load the shards with Hugging Face datasets") }
        p.waitUntilExit()
        if p.terminationStatus == 127 { throw XCTSkip("python3 is not installed: cannot load the shards with Hugging Face datasets") }
        let text = try String(contentsOf: o, encoding: .utf8)
        XCTAssertEqual(p.terminationStatus, 0, (try? String(contentsOf: e, encoding: .utf8)) ?? "")
        let r = try JSONValue.parse(String(text.split(separator: "\n").last ?? ""))
        if let why = r["skip"]?.stringValue { throw XCTSkip(why) }
        XCTAssertEqual(r["rows"]?.numberValue.map(Int.init), result.files.filter { $0.directory == "rl" && $0.set == "full" }.reduce(0) { $0 + $1.lines })
        XCTAssertEqual(r["columns"], ["messages", "solution", "task", "tree", "videos"])
        XCTAssertEqual(r["tasks"], ["affective_tree", "mcq_accuracy", "mcq_f1"])
        XCTAssertGreaterThan(r["trees"]?.numberValue ?? 0, 0)
    }
}
