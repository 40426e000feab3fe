import EmoCFG
import Export
import Foundation
import TestSupport
import XCTest

/// The bundled sample's export as its consumers meet it: every `videos` entry a playable file that
/// shows exactly its clip, and every evaluation file something VidEmo's evaluation can score. One
/// `emocfg run` (against the stand-in) serves every test here.
final class ExportConsumerTests: XCTestCase {
    static let repo = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    nonisolated(unsafe) static var dir: URL?
    nonisolated(unsafe) static var runError: String?

    static var out: URL { dir!.appendingPathComponent("export") }
    static var db: String { dir!.appendingPathComponent("emocfg.sqlite").path }

    override class func setUp() {
        super.setUp()
        let d = FileManager.default.temporaryDirectory.appendingPathComponent("emocfg-consumers-\(UUID().uuidString)")
        dir = d
        do {
            try FileManager.default.createDirectory(at: d, withIntermediateDirectories: true)
            let standin = try Standin()
            defer { standin.stop() }
            var env = ProcessInfo.processInfo.environment
            env["EMOCFG_STANDIN_PORT"] = "\(standin.port)"
            env["EMOCFG_DEMO_KEY"] = "demo-key"
            let r = try runExecutable("emocfg", ["run", "--sources", "samples/sources.yaml", "--pipeline", "samples/pipeline.yaml",
                                                 "--out", out.path, "--db", db], in: repo, environment: env)
            if r.status != 0 { runError = "emocfg run exited \(r.status): \(r.err)\n\(r.out.suffix(3000))" }
        } catch {
            runError = "\(error)"
        }
    }

    override class func tearDown() {
        if let dir { try? FileManager.default.removeItem(at: dir) }
        super.tearDown()
    }

    override func setUpWithError() throws {
        if let e = Self.runError { XCTFail(e); throw XCTSkip("the sample run failed") }
    }

    /// Every line of every JSONL file of the tree (shards, sampled sets, evaluation files).
    func lines() throws -> [(file: String, line: JSONValue)] {
        var out: [(String, JSONValue)] = []
        let base = Self.out.appendingPathComponent("jsons")
        let files = FileManager.default.enumerator(atPath: base.path)!.compactMap { $0 as? String }
            .filter { !$0.hasPrefix("curation/") && ($0.hasSuffix(".jsonl") || $0.hasSuffix(".json")) }
        for f in files.sorted() {
            let text = try String(contentsOf: base.appendingPathComponent(f), encoding: .utf8)
            for l in text.split(separator: "\n") where !l.isEmpty { out.append(("jsons/" + f, try JSONValue.parse(String(l)))) }
        }
        return out
    }

    func test_every_videos_entry_is_a_playable_file_showing_exactly_its_clip() throws {
        let store = try Store(path: Self.db)
        let folders = try VideoFolders.resolve(try store.sources())
        var clipsByEntry: [String: StoredClip] = [:]
        for c in try store.clips() where c.status == .ok {
            clipsByEntry[ClipMedia.entry(folder: folders[c.source] ?? c.source, clip: c.record)] = c
        }
        let all = try lines()
        XCTAssertGreaterThan(all.count, 100)
        var entries: [String: String] = [:]
        for (file, l) in all {
            for v in l["videos"]?.arrayValue ?? [] { entries[v.stringValue ?? "", default: file] = file }
        }
        var kinds: [ClipKind: Int] = [:]
        for (entry, file) in entries.sorted(by: { $0.key < $1.key }) {
            let path = Self.out.appendingPathComponent(entry).path
            var isDir: ObjCBool = false
            guard FileManager.default.fileExists(atPath: path, isDirectory: &isDir), !isDir.boolValue else {
                XCTFail("\(entry) (named in \(file)) is not a file"); continue
            }
            let probe: ProbeResult
            do { probe = try MediaProbe.probe(path: path) } catch {
                XCTFail("\(entry) does not open with libavformat: \(error)"); continue
            }
            guard let clip = clipsByEntry[entry] else { XCTFail("\(entry) is no clip's entry"); continue }
            kinds[clip.record.kind, default: 0] += 1
            let fps = try XCTUnwrap(probe.fps, entry)
            let frame = 1 / fps + 1e-3
            let duration = try XCTUnwrap(probe.duration, entry)
            switch clip.record.kind {
            case .video:
                XCTAssertEqual(duration, clip.probe?.duration ?? -1, accuracy: frame, entry)
            case .window:
                // The window, cut where the video ends.
                let w = try XCTUnwrap(clip.record.window)
                let source = try MediaProbe.probe(path: try XCTUnwrap(try store.sources().first { $0.name == clip.source }).root + "/" + clip.record.path)
                let expected = min(w.end, source.duration ?? w.end) - w.start
                XCTAssertEqual(duration, expected, accuracy: frame, "\(entry): window \(w.start)-\(w.end)")
                XCTAssertEqual(Double(probe.frameCount ?? 0), expected * fps, accuracy: 1.01, entry)
                XCTAssertEqual(fps, source.fps ?? 0, accuracy: 0.01, "\(entry) plays at its source's rate")
            case .frames:
                let frames = try XCTUnwrap(clip.probe?.frameCount, entry)
                let rate = try XCTUnwrap(clip.record.frameRate, entry)
                XCTAssertEqual(probe.frameCount ?? 0, frames, accuracy: 1, "\(entry): frame count of the folder (or its range)")
                XCTAssertEqual(duration, Double(frames) / rate, accuracy: frame, entry)
                XCTAssertEqual(fps, rate, accuracy: 0.01, entry)
                if let r = clip.record.frameRange {
                    XCTAssertLessThanOrEqual(frames, r.last - r.first + 1, "\(entry): no more frames than the range holds")
                }
            }
        }
        XCTAssertGreaterThan(kinds[.video] ?? 0, 0)
        XCTAssertGreaterThan(kinds[.frames] ?? 0, 0, "frame folders are exported as rendered files")
        XCTAssertGreaterThan(kinds[.window] ?? 0, 0, "time windows are exported as rendered files")
    }

    func test_published_folder_names_and_links_that_survive_moving_the_tree() throws {
        let fm = FileManager.default
        let videos = Self.out.appendingPathComponent("videos")
        let names = Set(try fm.contentsOfDirectory(atPath: videos.path))
        for n in ["Dfew", "Mer2023", "SIMS", "CAS(ME)2", "RAVDESS"] { XCTAssertTrue(names.contains(n), "videos/\(n)") }
        XCTAssertFalse(names.contains("DFEW") || names.contains("CH-SIMS") || names.contains("CAS(ME)^2"))
        // Rendered entries link into the tree's own media cache by a relative link.
        let frames = try XCTUnwrap(try lines().compactMap { $0.line["videos"]?.arrayValue?.first?.stringValue }.first { $0.hasPrefix("videos/FERV39K/") })
        let target = try fm.destinationOfSymbolicLink(atPath: Self.out.appendingPathComponent(frames).path)
        XCTAssertTrue(target.hasPrefix("../") && target.contains("media/"), target)
        // A second export renders nothing new.
        // The pipeline file's endpoints use ${EMOCFG_STANDIN_PORT}; export sends nothing and needs no such variable.
        var env = ProcessInfo.processInfo.environment
        env["EMOCFG_STANDIN_PORT"] = nil
        let again = try runExecutable("emocfg", ["export", "--out", Self.out.path, "--db", Self.db, "--pipeline", "samples/pipeline.yaml", "--json"],
                                      in: Self.repo, environment: env)
        XCTAssertEqual(again.status, 0, again.err)
        let media = try XCTUnwrap(try JSONValue.parse(again.out)["media"])
        XCTAssertEqual(media["rendered"]?.numberValue, 0)
        XCTAssertGreaterThan(media["cached"]?.numberValue ?? 0, 0)
    }

    /// The rules of VidEmo's `eval/eval_results.py` and `eval/config.py`, applied to what it reads:
    /// it divides by the number of lines or results (an empty file stops every later task), takes
    /// `messages[0]` as the query, scores multi-label files by F1 over fixed class lists, and looks
    /// each QA line up in the ground truth by user content + first video.
    func test_every_evaluation_file_is_one_vidEmo_can_score() throws {
        let base = Self.out
        func read(_ path: String) throws -> [JSONValue] {
            try String(contentsOf: base.appendingPathComponent(path), encoding: .utf8)
                .split(separator: "\n").filter { !$0.trimmingCharacters(in: .whitespaces).isEmpty }.map { try JSONValue.parse(String($0)) }
        }
        func user(_ l: JSONValue) -> String? { l["messages"]?.arrayValue?.first { $0["role"]?.stringValue == "user" }?["content"]?.stringValue }
        func answer(_ l: JSONValue) -> String { l["messages"]?.arrayValue?.last { $0["role"]?.stringValue == "assistant" }?["content"]?.stringValue ?? "" }
        let aus = DatasetVocabulary.affwild2ActionUnits

        for e in EvaluationFile.all {
            let items = try read(e.path)
            // Every dataset of the evaluation is in the bundled sample, so no file may be empty.
            XCTAssertFalse(items.isEmpty, "\(e.name) is empty: the evaluation would divide by zero")
            for l in items {
                XCTAssertEqual(l["messages"]?.arrayValue?.first?["role"]?.stringValue, "user", "\(e.name): messages[0] is the query")
                XCTAssertFalse(answer(l).isEmpty, "\(e.name): a line without an answer")
                XCTAssertEqual((user(l) ?? "").components(separatedBy: "<video>").count - 1, l["videos"]?.arrayValue?.count ?? 0, e.name)
                let a = answer(l)
                switch e.name {
                case "MAFW_Multiple-Label-Emotion-Recognition.json":
                    XCTAssertNotNil(a.range(of: "^[A-K]+$", options: .regularExpression), "MAFW multi-label answers with letters: \(a)")
                    XCTAssertTrue((user(l) ?? "").contains("(K)"), "the question lists the options (A)…(K)")
                case "AffWild2_Action_Unit_Detection.json":
                    for au in a.split(separator: ",") { XCTAssertTrue(aus.contains(String(au)), "AU answer \(a)") }
                case "CelebV-HQ_Appearance-Recognition.json":
                    for n in a.split(separator: ",") { XCTAssertTrue(DatasetVocabulary.celebvhqAppearance.contains(String(n)), "appearance \(n)") }
                case "CelebV-HQ_Action-Recognition.json":
                    for n in a.split(separator: ",") { XCTAssertTrue(DatasetVocabulary.celebvhqAction.contains(String(n)), "action \(n)") }
                default: break
                }
            }
        }

        // The QA ground truth: a JSON array, every attribute present, every QA line found by its key.
        let truth = try JSONValue.parse(Data(contentsOf: base.appendingPathComponent(EvaluationFile.qaGroundTruthPath)))
        let items = try XCTUnwrap(truth.arrayValue)
        var keys: [String: String] = [:]
        for i in items {
            let source = try XCTUnwrap(i["source"]?.stringValue)
            let key = (user(i) ?? "") + (i["videos"]?.arrayValue?.first?.stringValue ?? "")
            if let other = keys[key] { XCTAssertEqual(other, source, "one key, two attributes: the evaluation would overwrite one") }
            keys[key] = source
        }
        XCTAssertEqual(Set(keys.values.map { String($0.dropFirst(3)) }), EvaluationFile.qaAttributes, "every open attribute has items")
        let qaFile = try XCTUnwrap(EvaluationFile.all.first { $0.name == "QA_test_sampling_all.json" })
        for l in try read(qaFile.path) {
            let key = (user(l) ?? "") + (l["videos"]?.arrayValue?.first?.stringValue ?? "")
            XCTAssertNotNil(keys[key], "a QA line the ground truth does not hold: the evaluation would raise KeyError")
        }
    }

    /// `scripts/check-eval.py` (VidEmo's rules, standard library) and `scripts/check-export.py`
    /// (PyAV and Hugging Face `datasets`) on the same tree, where Python is present.
    func test_the_python_checks_pass_on_the_export() throws {
        guard let python = (try? which("python3")) ?? nil else {
            throw XCTSkip("python3 is not installed: scripts/check-eval.py and scripts/check-export.py not run")
        }
        for script in ["scripts/check-eval.py", "scripts/check-export.py"] {
            let p = Process()
            p.executableURL = URL(fileURLWithPath: python)
            p.arguments = [Self.repo.appendingPathComponent(script).path, Self.out.path]
            let pipe = Pipe()
            p.standardOutput = pipe
            p.standardError = pipe
            try p.run()
            let output = String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
            p.waitUntilExit()
            print(output.suffix(2000))
            XCTAssertEqual(p.terminationStatus, 0, "\(script):\n\(output.suffix(4000))")
        }
    }

    func which(_ name: String) throws -> String? {
        for dir in (ProcessInfo.processInfo.environment["PATH"] ?? "").split(separator: ":") {
            let p = "\(dir)/\(name)"
            if FileManager.default.isExecutableFile(atPath: p) { return p }
        }
        return nil
    }
}

/// The media cache itself, on a fixture video.
final class ClipMediaTests: XCTestCase {
    let repo = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    func test_two_clips_with_one_key_are_rendered_once_and_share_the_file() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("emocfg-media-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: dir) }
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        let store = try Store(path: dir.appendingPathComponent("s.sqlite").path)
        // The two people of one Aff-Wild2 window: the same video and span.
        func clip(_ uid: String) -> ClipToRender {
            ClipToRender(uid: uid, source: "AffWild2", path: "new_vids/video10_1.mp4", kind: .window,
                         window: TimeWindow(start: 0, end: 0.3), fileSize: 1, fileMtime: 1)
        }
        let media = ClipMedia(out: dir, settings: RenderSettings(), jobs: 2)
        let roots = ["AffWild2": repo.appendingPathComponent("Tests/Fixtures/AffWild2").path]
        let (entries, summary) = try media.prepare(store: store, clips: [clip("a/left"), clip("a/right")], roots: roots)
        XCTAssertEqual(summary.rendered, 1)
        XCTAssertEqual(summary.cached, 1)
        XCTAssertTrue(summary.failed.isEmpty, "\(summary.failed)")
        XCTAssertEqual(entries["a/left"]?.cacheFile, entries["a/right"]?.cacheFile)
        let probe = try MediaProbe.probe(path: dir.appendingPathComponent(try XCTUnwrap(entries["a/left"]).cacheFile).path)
        XCTAssertEqual(probe.duration ?? 0, 0.3, accuracy: 0.05)

        // Again: nothing to render; a changed setting renders again, into another file.
        let again = try media.prepare(store: store, clips: [clip("a/left"), clip("a/right")], roots: roots)
        XCTAssertEqual(again.summary.rendered, 0)
        XCTAssertEqual(again.summary.cached, 2)
        var other = media
        other.settings.crf = 30
        let changed = try other.prepare(store: store, clips: [clip("a/left")], roots: roots)
        XCTAssertEqual(changed.summary.rendered, 1)
        XCTAssertNotEqual(changed.entries["a/left"]?.cacheFile, entries["a/left"]?.cacheFile)
    }

    func test_a_clip_that_cannot_be_rendered_is_recorded_with_the_reason_and_left_out() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("emocfg-media-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: dir) }
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        let bad = dir.appendingPathComponent("data/broken.mp4")
        try FileManager.default.createDirectory(at: bad.deletingLastPathComponent(), withIntermediateDirectories: true)
        try Data("not a video".utf8).write(to: bad)
        let store = try Store(path: dir.appendingPathComponent("s.sqlite").path)
        let c = ClipToRender(uid: "X/1", source: "X", path: "broken.mp4", kind: .window, window: TimeWindow(start: 0, end: 1))
        let media = ClipMedia(out: dir.appendingPathComponent("out"), settings: RenderSettings(), jobs: 1)
        let (entries, summary) = try media.prepare(store: store, clips: [c], roots: ["X": bad.deletingLastPathComponent().path])
        XCTAssertNil(entries["X/1"])
        XCTAssertEqual(summary.failed.map { $0.clip }, ["X/1"])
        XCTAssertTrue(summary.failed[0].reason.contains("Invalid data"), summary.failed[0].reason)
        let key = SHA256Digest.hex(media.identity(c, encoder: ClipRenderer.resolvedEncoder(RenderSettings())).canonical)
        let row = try XCTUnwrap(try store.renderedMedia(keys: [key])[key])
        XCTAssertEqual(row.status, "failed")
        XCTAssertEqual(row.error, summary.failed[0].reason)
    }
}
