import EmoCFG
import Foundation

/// One file the export wrote.
public struct ExportedFile: Sendable, Equatable, Codable {
    /// Relative to the export folder.
    public var path: String
    /// `full`, `sampled`, `evaluation` or `ground-truth`.
    public var set: String
    public var side: String
    /// The tree folder (`attribute`, `caption`, `emotion`, `qa`, `rationale`).
    public var directory: String
    /// Empty for files that span sources (the caption and QA evaluation files).
    public var source: String
    /// The sample task of a shard; the file name of an evaluation file.
    public var task: String
    public var lines: Int
    /// SHA-256 of the content (decompressed, for `.jsonl.zst` shards).
    public var sha256: String
}

/// What an export did.
public struct ExportResult: Sendable {
    public var files: [ExportedFile]
    public var sides: (train: Int, test: Int)
    /// Curation versions this export wrote, and mixes whose content equals their latest version.
    public var versions: [CurationVersion]
    public var unchanged: [CurationVersion]
    /// Stale shards of an earlier export that this one removed (their content kept if a receipt uses it).
    public var removed: [String]
    /// Clips whose video could not be linked or copied, with the reason.
    public var videoProblems: [String]
}

/// Writes the whole `jsons/` tree from the store in two passes over one snapshot: the first
/// decides the sampled sets (SQLite extracts only uid, task and label), the second renders every
/// accepted sample once and sends its line to the full shard, the sampled shard and the evaluation
/// files it belongs in. Memory stays flat in the number of samples apart from a few bytes each.
public struct Exporter {
    public var out: URL
    public var settings: ExportSettings
    /// Hash of what configured this export (settings and pipeline.yaml), recorded in receipts.
    public var configHash: String

    public init(out: URL, settings: ExportSettings, configHash: String) {
        self.out = out.standardizedFileURL
        self.settings = settings
        self.configHash = configHash
    }

    /// Where each sample task's shards go. Caption-form samples go to `caption/` whatever their task.
    public static func directory(task: String, form: String) -> String {
        if form == SampleForm.caption.rawValue { return "caption" }
        switch task {
        case "expression", "emotion": return "emotion"
        default: return task
        }
    }

    struct ShardKey: Hashable {
        var side: String
        var directory: String
        var source: String
        var task: String
        func path(_ set: String, zstd: Bool) -> String {
            "jsons/\(side)/\(directory)/\(set)/\(source)_\(task).jsonl" + (zstd ? ".zst" : "")
        }
    }

    public func run(store: Store) throws -> ExportResult {
        let sides = try SplitAssigner(testFraction: settings.testFraction, seed: settings.seed).assign(store: store)
        let fm = FileManager.default
        try fm.createDirectory(at: out, withIntermediateDirectories: true)

        var sinks: [String: ShardSink] = [:]
        var meta: [String: ExportedFile] = [:]
        var clipsUsed: [String: ExportClip] = [:]
        let state: [String: JSONValue]
        do {
            state = try store.withExportReader { reader in
                let clips = try reader.clips()
                let selected = try plan(reader, clips: clips)
                try write(reader, clips: clips, selected: selected, sinks: &sinks, meta: &meta, used: &clipsUsed)
                return try reader.state()
            }
        } catch {
            sinks.values.forEach { $0.abandon() }
            throw error
        }

        var files: [ExportedFile] = []
        var hashes: [String: [UInt64]] = [:]
        for (path, sink) in sinks {
            let (lines, sha) = try sink.finish()
            var f = meta[path]!
            f.lines = lines
            f.sha256 = sha
            files.append(f)
            if let idx = sink.lineHashes { hashes[path] = idx }
        }
        files.sort { $0.path < $1.path }

        let curation = Curation(out: out)
        let previous = try curation.versions()
        // Content a receipt still needs is kept (a hard link, no copy) before a new file replaces it.
        let referenced = Dictionary(previous.flatMap(\.shards).map { ($0.path, $0.sha256) }, uniquingKeysWith: { a, _ in a })
        for f in files {
            let final = out.appendingPathComponent(f.path)
            if let old = referenced[f.path], old != f.sha256, fm.fileExists(atPath: final.path) {
                try curation.preserve(final, sha256: old)
            }
            _ = try? fm.removeItem(at: final)
            try fm.moveItem(at: URL(fileURLWithPath: final.path + ".partial"), to: final)
        }
        let removed = try removeStale(keep: Set(files.map(\.path)), referenced: referenced, curation: curation)

        let videoProblems = try linkVideos(store: store, used: clipsUsed)
        let (versions, unchanged) = try curation.writeVersions(
            mixes: settings.mixes, files: files, lineHashes: hashes, previous: previous,
            receipt: ["tool_version": .string(EmoCFGVersion.current), "config_hash": .string(configHash),
                      "config": settings.json, "store": .object(state.merging(["path": .string(store.path)]) { a, _ in a }),
                      "outputs": .array(files.map { ["path": .string($0.path), "lines": .number(Double($0.lines)), "sha256": .string($0.sha256)] })])
        try store.recordExports(versions.map {
            ExportRecord(outDir: out.path, version: $0.version, mix: $0.mix, configHash: configHash, toolVersion: EmoCFGVersion.current,
                         mixLines: $0.lines, sourceSHA256: $0.sourceSHA256, receipt: $0.receipt)
        })
        let test = sides.values.filter { $0 == "test" }.count
        return ExportResult(files: files, sides: (sides.count - test, test), versions: versions, unchanged: unchanged,
                            removed: removed, videoProblems: videoProblems)
    }

    // MARK: - Pass 1: the sampled sets

    /// Which samples (by their position in uid order) the sampled files keep: per shard and
    /// stratum (the sample's label, else its QA aspect, else its clip's label), the
    /// `sampledPerLabel` with the smallest SHA-256 of `seed|uid`.
    func plan(_ reader: ExportReader, clips: [String: ExportClip]) throws -> [Bool] {
        struct Stratum: Hashable { var shard: ShardKey; var label: String }
        var strata: [Stratum: [(rank: UInt64, index: Int)]] = [:]
        var index = 0
        let cap = settings.sampledPerLabel
        try reader.forEachAccepted(withContent: false) { row in
            defer { index += 1 }
            guard let clip = clips[row.clipUID], let key = shardKey(row, clip: clip) else { return }
            let stratum = Stratum(shard: key, label: row.label ?? row.aspect ?? clip.label ?? "")
            let rank = Self.rank(seed: settings.seed, uid: row.uid)
            strata[stratum, default: []].append((rank, index))
            // Keep each stratum's list bounded: trim to the cap whenever it doubles.
            if strata[stratum]!.count >= 2 * cap + 64 {
                strata[stratum]!.sort { ($0.rank, $0.index) < ($1.rank, $1.index) }
                strata[stratum]!.removeLast(strata[stratum]!.count - cap)
            }
        }
        var selected = [Bool](repeating: false, count: index)
        for (_, list) in strata {
            for e in list.sorted(by: { ($0.rank, $0.index) < ($1.rank, $1.index) }).prefix(cap) { selected[e.index] = true }
        }
        return selected
    }

    /// The first 8 bytes of SHA-256(`seed|uid`), big-endian.
    static func rank(seed: String, uid: String) -> UInt64 {
        var h = SHA256Hasher()
        h.update(seed + "|" + uid)
        return h.finalize().prefix(8).reduce(0) { $0 << 8 | UInt64($1) }
    }

    func shardKey(_ row: ExportSampleRow, clip: ExportClip) -> ShardKey? {
        let dir = Self.directory(task: row.task, form: row.form)
        if dir == "rationale" && clip.side == "test" { return nil }  // the evaluation has no rationale files
        return ShardKey(side: clip.side, directory: dir, source: clip.source, task: row.task)
    }

    // MARK: - Pass 2: the files

    func write(_ reader: ExportReader, clips: [String: ExportClip], selected: [Bool],
               sinks: inout [String: ShardSink], meta: inout [String: ExportedFile], used: inout [String: ExportClip]) throws {
        let zstd = settings.zstd
        func sink(_ path: String, _ file: ExportedFile, index: Bool, header: String = "", separator: String = "\n", footer: String = "\n") throws -> ShardSink {
            if let s = sinks[path] { return s }
            let s = try ShardSink(out: out, path: path, zstd: zstd && file.set != "evaluation" && file.set != "ground-truth",
                                  indexLines: index, header: header, separator: separator, footer: footer)
            sinks[path] = s
            meta[path] = file
            return s
        }
        // Every evaluation file exists, empty if no test sample belongs in it.
        var evaluation: [(EvaluationFile, ShardSink)] = []
        for e in EvaluationFile.all {
            var source = ""
            if case let .instruct(s, _, _) = e.rule { source = s }
            evaluation.append((e, try sink(e.path, ExportedFile(path: e.path, set: "evaluation", side: "test", directory: e.directory,
                                                                 source: source, task: e.name, lines: 0, sha256: ""), index: false)))
        }
        let truth = try sink(EvaluationFile.qaGroundTruthPath,
                             ExportedFile(path: EvaluationFile.qaGroundTruthPath, set: "ground-truth", side: "test", directory: "qa",
                                          source: "", task: "QA_test_sampling_all.json", lines: 0, sha256: ""),
                             index: false, header: "[\n", separator: ",\n", footer: "\n]\n")

        var index = 0
        var line: [UInt8] = []
        line.reserveCapacity(4096)
        try reader.forEachAccepted(withContent: true) { row in
            defer { index += 1 }
            guard let clip = clips[row.clipUID], let key = shardKey(row, clip: clip) else { return }
            used[row.clipUID] = clip
            let video = "videos/\(clip.source)/\(clip.path)"
            let question = JSONLine.question(row), answer = JSONLine.answer(row)
            line.removeAll(keepingCapacity: true)
            JSONLine.render(question: question, answer: answer, video: video, into: &line)

            let train = key.side == "train"
            let full = key.path("full", zstd: zstd)
            try sink(full, ExportedFile(path: full, set: "full", side: key.side, directory: key.directory, source: key.source,
                                        task: key.task, lines: 0, sha256: ""), index: train).append(line)
            let isSampled = index < selected.count && selected[index]
            if isSampled {
                let sampled = key.path("sampled", zstd: zstd)
                try sink(sampled, ExportedFile(path: sampled, set: "sampled", side: key.side, directory: key.directory, source: key.source,
                                               task: key.task, lines: 0, sha256: ""), index: train).append(line)
            }
            guard !train else { return }
            for (file, s) in evaluation where file.takes(row, source: clip.source, sampled: isSampled) {
                try s.append(line)
                if file.rule == .sampledAttributeQA {
                    var item: [UInt8] = []
                    JSONLine.render(question: question, answer: answer, video: video, source: "QA_\(row.aspect ?? "")", into: &item)
                    try truth.append(item)
                }
            }
        }
    }

    // MARK: - Housekeeping

    /// Removes shards of an earlier export that this one did not write (a source or task that no
    /// longer has accepted samples), keeping any content a receipt refers to.
    func removeStale(keep: Set<String>, referenced: [String: String], curation: Curation) throws -> [String] {
        let fm = FileManager.default
        var removed: [String] = []
        for side in ["train", "test"] {
            let base = out.appendingPathComponent("jsons/\(side)")
            guard let dirs = try? fm.contentsOfDirectory(atPath: base.path) else { continue }
            for dir in dirs.sorted() {
                for set in ["full", "sampled"] {
                    let folder = base.appendingPathComponent("\(dir)/\(set)")
                    guard let names = try? fm.contentsOfDirectory(atPath: folder.path) else { continue }
                    for name in names.sorted() where name.hasSuffix(".jsonl") || name.hasSuffix(".jsonl.zst") || name.hasSuffix(".partial") {
                        let rel = "jsons/\(side)/\(dir)/\(set)/\(name)"
                        guard !keep.contains(rel) else { continue }
                        let url = folder.appendingPathComponent(name)
                        if let sha = referenced[rel] { try curation.preserve(url, sha256: sha) }
                        try fm.removeItem(at: url)
                        removed.append(rel)
                    }
                }
            }
        }
        return removed
    }

    /// `videos/<Source>` as a link to each source root, or (`copyVideos`) copies of the exported
    /// clips' files. Returns what could not be done, one line per clip or source.
    func linkVideos(store: Store, used: [String: ExportClip]) throws -> [String] {
        let fm = FileManager.default
        let roots = Dictionary(try store.sources().map { ($0.name, $0.root) }, uniquingKeysWith: { a, _ in a })
        let videos = out.appendingPathComponent("videos")
        try fm.createDirectory(at: videos, withIntermediateDirectories: true)
        var problems: [String] = []
        let sources = Set(used.values.map(\.source)).sorted()
        guard settings.copyVideos else {
            for source in sources {
                let link = videos.appendingPathComponent(source)
                guard let root = roots[source] else { problems.append("\(source): no root recorded in the store"); continue }
                if (try? fm.destinationOfSymbolicLink(atPath: link.path)) == root { continue }
                try? fm.removeItem(at: link)
                do { try fm.createSymbolicLink(atPath: link.path, withDestinationPath: root) } catch {
                    problems.append("\(link.path): cannot link to \(root): \(error.localizedDescription)")
                }
            }
            return problems
        }
        for source in sources {
            let folder = videos.appendingPathComponent(source)
            // A link from an earlier export would make the copies land in the dataset itself.
            if (try? fm.destinationOfSymbolicLink(atPath: folder.path)) != nil { try fm.removeItem(at: folder) }
        }
        for clip in Set(used.values.map { "\($0.source)\u{0}\($0.path)" }).sorted() {
            let parts = clip.split(separator: "\u{0}", maxSplits: 1).map(String.init)
            guard parts.count == 2, let root = roots[parts[0]] else { continue }
            let from = URL(fileURLWithPath: root).appendingPathComponent(parts[1])
            let to = videos.appendingPathComponent(parts[0]).appendingPathComponent(parts[1])
            if fm.fileExists(atPath: to.path) { continue }
            do {
                try fm.createDirectory(at: to.deletingLastPathComponent(), withIntermediateDirectories: true)
                try fm.copyItem(at: from, to: to)
            } catch {
                problems.append("\(from.path): cannot copy to \(to.path): \(error.localizedDescription)")
            }
        }
        return problems
    }
}
