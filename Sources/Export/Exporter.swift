import EmoCFG
import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// One file the export wrote.
public struct ExportedFile: Sendable, Equatable, Codable {
    /// Relative to the export folder.
    public var path: String
    /// `full`, `sampled`, `evaluation` or `ground-truth`.
    public var set: String
    public var side: String
    /// The tree folder (`attribute`, `caption`, `emotion`, `qa`, `rationale`, `tree`, `rl`).
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
    /// Clips rendered to video files (frame folders, windows, expression intervals), and those that failed.
    public var media: MediaSummary
    /// Each source's folder under `videos/`.
    public var folders: [String: String] = [:]
    /// Evaluation tasks (files, QA attributes) left without any item, and why.
    public var evaluationGaps: [EvaluationGap] = []
    /// Clips moved to the test side so that an evaluation task has items: uid → reason.
    public var coverMoves: [String: String] = [:]
    /// What the dataset card shows of the store (`StatsData.Detail.card`), from the snapshot the
    /// export read, its sample counts taken on the export's pass over the samples.
    public var stats = StatsData()
}

/// Writes the whole `jsons/` tree from the store in one pass over one snapshot: every accepted
/// sample is rendered once, straight from the bytes SQLite hands over, and goes to its full shard
/// and the evaluation files it belongs in, while its rank for the sampled sets is noted. The sampled
/// files are then filled from the full shards' files, so the store is read once. A background
/// thread hashes and writes what the loop renders. Memory stays flat in the number of samples
/// apart from a few bytes each.
public struct Exporter {
    public var out: URL
    public var settings: ExportSettings
    /// Hash of what configured this export (settings and pipeline.yaml), recorded in receipts.
    public var configHash: String
    /// Called from the render workers as clips are rendered.
    public var renderProgress: (@Sendable (RenderProgress) -> Void)?

    public init(out: URL, settings: ExportSettings, configHash: String, renderProgress: (@Sendable (RenderProgress) -> Void)? = nil) {
        self.out = out.standardizedFileURL
        self.settings = settings
        self.configHash = configHash
        self.renderProgress = renderProgress
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
        let assignment = try SplitAssigner(testFraction: settings.testFraction, seed: settings.seed).assignCovering(store: store)
        let sides = assignment.sides
        let fm = FileManager.default
        try fm.createDirectory(at: out, withIntermediateDirectories: true)

        // Clips that are not whole video files become video files first; a clip that fails is left out.
        let sourceRows = try store.sources()
        let folders = try VideoFolders.resolve(sourceRows)
        let roots = Dictionary(sourceRows.map { ($0.name, $0.root) }, uniquingKeysWith: { a, _ in a })
        let toRender = try store.clipsToRender()
        let (entries, media) = try ClipMedia(out: out, settings: settings.render, jobs: settings.renderJobs)
            .prepare(store: store, clips: toRender, roots: roots, progress: renderProgress)

        let writer = ShardWriter()
        var sinks: [String: ShardSink] = [:]
        var meta: [String: ExportedFile] = [:]
        // Whole files are listed one by one where the source's folder cannot be a link to its root.
        var used = VideosUsed(folders: folders, rendered: entries,
                              listed: settings.copyVideos ? nil : Set(toRender.filter { entries[$0.uid] != nil }.map(\.source)))
        var qa = QATally()
        let state: [String: JSONValue]
        let stats: StatsData
        do {
            (state, stats) = try store.withExportReader { reader in
                let clips = try reader.clips()
                var tally: StatsSampleTally? = try StatsSampleTally(reader.stats)
                let totals = try write(reader, clips: clips, writer: writer, sinks: &sinks, meta: &meta, used: &used, qa: &qa, tally: &tally)
                // The card's figures from this snapshot; its samples were counted on the way.
                return (try reader.state(totals), try StatsData.gather(from: reader.stats, detail: .card, samples: tally))
            }
        } catch {
            try? writer.drain()
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

        let videoProblems = try ClipMedia.layOut(out: out, folders: folders, roots: roots, sources: used.sources, whole: used.whole,
                                                 rendered: used.renderedBySource.mapValues { $0.sorted { $0.name < $1.name } }, copyVideos: settings.copyVideos)
        let (versions, unchanged) = try curation.writeVersions(
            mixes: settings.mixes, files: files, lineHashes: hashes, previous: previous,
            receipt: ["tool_version": .string(EmoCFGVersion.current), "config_hash": .string(configHash),
                      "config": settings.json, "media": Self.receiptMedia(media, used: used), "store": .object(state.merging(["path": .string(store.path)]) { a, _ in a }),
                      "outputs": .array(files.map { ["path": .string($0.path), "lines": .number(Double($0.lines)), "sha256": .string($0.sha256)] })])
        try store.recordExports(versions.map {
            ExportRecord(outDir: out.path, version: $0.version, mix: $0.mix, configHash: configHash, toolVersion: EmoCFGVersion.current,
                         mixLines: $0.lines, sourceSHA256: $0.sourceSHA256, receipt: $0.receipt)
        })
        try ConcatReceiptScript.write(into: out)
        let test = sides.values.filter { $0 == "test" }.count
        var result = ExportResult(files: files, sides: (sides.count - test, test), versions: versions, unchanged: unchanged,
                                  removed: removed, videoProblems: videoProblems, media: media)
        result.evaluationGaps = try assignment.coverage.gaps(
            lines: Dictionary(files.filter { $0.set == "evaluation" }.map { ($0.task, $0.lines) }, uniquingKeysWith: { a, _ in a }),
            qaItems: qa.items, sides: sides, duplicates: qa.duplicates, store: store)
        result.coverMoves = assignment.moved
        result.folders = folders
        result.stats = stats
        return result
    }

    /// What the receipt says of the rendered media: the encoder and settings, the counts, the
    /// failures, and the SHA-256 of the sorted `entry<TAB>cache file` list (the keys the files used).
    static func receiptMedia(_ m: MediaSummary, used: VideosUsed) -> JSONValue {
        var hasher = SHA256Hasher()
        var lines: [String] = []
        for (source, list) in used.renderedBySource {
            for e in list { lines.append("videos/\(used.folders[source] ?? source)/\(e.name)\t\(e.cacheFile)\n") }
        }
        for l in lines.sorted() { hasher.update(l) }
        return ["encoder": .string(m.encoder), "render_version": .string(ClipMedia.renderVersion), "settings": ClipMedia.settingsJSON(m.settings),
                "rendered_clips": .number(Double(lines.count)), "entries_sha256": .string(hasher.finalizeHex()),
                "failed": .array(m.failed.map { ["clip": .string($0.clip), "reason": .string($0.reason)] })]
    }

    /// Sources, sides, tasks and the rest by number, so that the loop compares bytes, not strings.
    struct Names {
        private(set) var names: [[UInt8]] = []
        private var ids: [String: Int] = [:]

        mutating func id(_ b: UnsafeBufferPointer<UInt8>) -> Int {
            for (i, n) in names.enumerated() where n.count == b.count {
                if b.count == 0 || n.withUnsafeBufferPointer({ memcmp($0.baseAddress!, b.baseAddress!, b.count) == 0 }) { return i }
            }
            return id(String(decoding: b, as: UTF8.self))
        }

        mutating func id(_ s: String) -> Int {
            if let i = ids[s] { return i }
            names.append(Array(s.utf8))
            ids[s] = names.count - 1
            return names.count - 1
        }

        func string(_ id: Int) -> String { String(decoding: names[id], as: UTF8.self) }
    }

    /// What the sampled sets may take: a sample's rank and where its line is. `evaluation` says which
    /// sampled evaluation file a test-side sample goes to if chosen (1 captions, 2 attribute QA).
    struct Candidate {
        var rank: UInt64
        var index: Int
        var offset: Int64
        var length: Int32
        var videosAt: Int32
        var shard: Int32
        var evaluation: Int8
        var aspect: Int8
    }

    /// What the loop keeps of the clip whose samples it is on.
    struct ClipInfo {
        var source: Int
        var side: Int
        var label: [UInt8]?
        var quotedVideo: [UInt8]
    }

    /// Where each clip's video is, and which the files name: whole video files by source and path
    /// (kept where the folder cannot simply link the source root), rendered clips by source.
    struct VideosUsed {
        var folders: [String: String]
        var rendered: [String: ClipMedia.Entry]
        /// The sources whose whole files are listed one by one (nil: every source's, for copies).
        var listed: Set<String>?
        var sources: Set<String> = []
        var whole: [String: Set<String>] = [:]
        var renderedBySource: [String: Set<ClipMedia.Entry>] = [:]

        /// The `videos` entry of a clip, nil when it has none (a render that failed), noting its use.
        mutating func entry(uid: String, _ c: ExportClip) -> String? {
            let folder = folders[c.source] ?? c.source
            if c.kind == ClipKind.video.rawValue {
                sources.insert(c.source)
                if listed?.contains(c.source) ?? true { whole[c.source, default: []].insert(c.path) }
                return "videos/\(folder)/\(c.path)"
            }
            guard let e = rendered[uid] else { return nil }
            sources.insert(c.source)
            renderedBySource[c.source, default: []].insert(e)
            return "videos/\(folder)/\(e.name)"
        }
    }

    // MARK: - The pass

    func write(_ reader: ExportReader, clips: [String: ExportClip], writer: ShardWriter,
               sinks: inout [String: ShardSink], meta: inout [String: ExportedFile], used: inout VideosUsed,
               qa: inout QATally, tally: inout StatsSampleTally?) throws -> SampleTotals {
        let zstd = settings.zstd
        func sink(_ path: String, _ file: ExportedFile, index: Bool, header: String = "", separator: String = "\n", footer: String = "\n") throws -> ShardSink {
            if let s = sinks[path] { return s }
            let s = try ShardSink(out: out, path: path, zstd: zstd && file.set != "evaluation" && file.set != "ground-truth",
                                  indexLines: index, writer: writer, header: header, separator: separator, footer: footer)
            sinks[path] = s
            meta[path] = file
            return s
        }
        // Every evaluation file exists, empty if no test sample belongs in it.
        var instructRules: [String: [(family: [UInt8], form: [UInt8], sink: ShardSink)]] = [:]
        var sampledCaptions: ShardSink?, sampledQA: ShardSink?
        for e in EvaluationFile.all {
            let s = try sink(e.path, ExportedFile(path: e.path, set: "evaluation", side: "test", directory: e.directory,
                                                  source: e.instructRule?.source ?? "", task: e.name, lines: 0, sha256: ""), index: false)
            switch e.rule {
            case let .instruct(source, family, form): instructRules[source, default: []].append((Array(family.utf8), Array(form.utf8), s))
            case .sampledCaptions: sampledCaptions = s
            case .sampledAttributeQA: sampledQA = s
            }
        }
        let truth = try sink(EvaluationFile.qaGroundTruthPath,
                             ExportedFile(path: EvaluationFile.qaGroundTruthPath, set: "ground-truth", side: "test", directory: "qa",
                                          source: "", task: "QA_test_sampling_all.json", lines: 0, sha256: ""),
                             index: false, header: "[\n", separator: ",\n", footer: "\n]\n")
        let attributes = EvaluationFile.qaAttributes.sorted()

        var sources = Names(), sideNames = Names(), stages = Names(), tasks = Names(), forms = Names(), directories = Names()
        let train = sideNames.id("train"), test = sideNames.id("test")
        let instruct = stages.id("instruct"), captionStage = stages.id("caption"), qaStage = stages.id("qa"), treeStage = stages.id("tree")
        let rationale = directories.id("rationale"), trees = directories.id("tree")
        let treeTask = tasks.id(SampleTask.tree.rawValue), mcq = forms.id(SampleForm.mcq.rawValue)
        /// The RL shard of each source (`jsons/train/rl/full/<Source>_rl.jsonl`), by source number.
        var rlShardOf: [Int: Int32] = [:]
        var rlLine: [UInt8] = [], rlStratum: [UInt8] = []
        var sourceRules: [[(family: [UInt8], form: [UInt8], sink: ShardSink)]] = []
        var directoryOf: [Int: Int] = [:]
        var shardOf: [Int: Int32] = [:]
        var shards: [(key: ShardKey, full: ShardSink)] = []
        /// The `full` or `sampled` file of a shard (train-side files get a line index for the curation).
        func shardSink(_ key: ShardKey, _ set: String) throws -> ShardSink {
            let path = key.path(set, zstd: zstd)
            return try sink(path, ExportedFile(path: path, set: set, side: key.side, directory: key.directory, source: key.source,
                                               task: key.task, lines: 0, sha256: ""), index: key.side == "train")
        }
        /// A new shard, its full file open: its number.
        func newShard(_ key: ShardKey) throws -> Int32 {
            shards.append((key, try shardSink(key, "full")))
            return Int32(shards.count - 1)
        }

        var strata = ByteTable()
        var candidates: [[Candidate]] = []
        /// Per stratum, once it has been trimmed: the rank a newcomer must beat (ties go to the earlier sample).
        var limits: [UInt64?] = []
        let cap = settings.sampledPerLabel
        var seedHasher = SHA256Hasher()
        seedHasher.update(settings.seed + "|")

        // The clips by uid bytes; with a tally, also by the tally's clip numbers, which the scan
        // hands over with each row, so that the loop looks no clip up itself.
        var clipTable = ByteTable()
        var clipList: [(uid: String, clip: ExportClip)] = []
        clipList.reserveCapacity(clips.count)
        var byNumber = [Int32](repeating: -1, count: tally?.clipCount ?? 0)
        for (uid, c) in clips {
            var u = uid
            u.withUTF8 { b in
                if let t = tally {
                    if let n = t.clipNumber(b) { byNumber[n] = Int32(clipList.count) }
                } else {
                    _ = clipTable.index(0, b)
                }
            }
            clipList.append((uid, c))
        }
        var lastClip: [UInt8] = [], lastNumber = -1
        var clip: ClipInfo?
        var options = JSONLine.Options()
        var line: [UInt8] = []
        line.reserveCapacity(1 << 14)
        var index = 0
        let empty = UnsafeBufferPointer<UInt8>(start: nil, count: 0)

        // SQLite is read on this thread while the loop runs on another (on one core, one thread does both).
        let totals = try reader.forEachAcceptedRaw(counting: &tally, pipelined: ProcessInfo.processInfo.activeProcessorCount > 1) { row in
            defer { index += 1 }
            // The clip: consecutive samples mostly share one.
            let sameClip = row.clip >= 0 ? row.clip == lastNumber
                : lastClip.count == row.clipUID.count
                    && (row.clipUID.count == 0 || lastClip.withUnsafeBufferPointer { memcmp($0.baseAddress!, row.clipUID.baseAddress!, row.clipUID.count) == 0 })
            if !sameClip {
                // The clip's place in `clipList`; -1: not a usable clip with a side (the table keeps the miss; it never matches a clip).
                let i: Int
                if row.clip >= 0 {
                    lastNumber = row.clip
                    i = row.clip < byNumber.count ? Int(byNumber[row.clip]) : -1
                } else {
                    lastClip.removeAll(keepingCapacity: true)
                    lastClip.append(contentsOf: row.clipUID)
                    let (j, new) = clipTable.index(0, row.clipUID)
                    i = !new && j < clipList.count ? j : -1
                }
                if i >= 0, let entry = used.entry(uid: clipList[i].uid, clipList[i].clip) {
                    let c = clipList[i].clip
                    let source = sources.id(c.source)
                    if source == sourceRules.count { sourceRules.append(instructRules[c.source] ?? []) }
                    var video: [UInt8] = []
                    JSONLine.appendQuoted(entry, to: &video)
                    clip = ClipInfo(source: source, side: sideNames.id(c.side), label: c.label.map { Array($0.utf8) }, quotedVideo: video)
                } else {
                    clip = nil
                }
            }
            guard let c = clip else { return }

            // The shard.
            let task = tasks.id(row.task), form = forms.id(row.form)
            let directory: Int
            if let d = directoryOf[task << 16 | form] { directory = d } else {
                directory = directories.id(Self.directory(task: tasks.string(task), form: forms.string(form)))
                directoryOf[task << 16 | form] = directory
            }
            if (directory == rationale || directory == trees) && c.side == test { return }  // the evaluation has no rationale or tree files
            let packed = c.side << 48 | directory << 32 | c.source << 16 | task
            let shard: Int32
            if let s = shardOf[packed] { shard = s } else {
                shard = try newShard(ShardKey(side: sideNames.string(c.side), directory: directories.string(directory),
                                              source: sources.string(c.source), task: tasks.string(task)))
                shardOf[packed] = shard
            }

            // The line: the question (with its options unless it shows them), the letters or the answer.
            let question = row.question ?? empty
            var shown: JSONLine.Options?
            let hasOptions = row.options.map { JSONLine.decodeOptions($0, into: &options) } ?? false
            if hasOptions, !JSONLine.showsAll(question, options) { shown = options }
            let answer = (row.answerLetters.map { $0.count > 0 } ?? false) ? row.answerLetters! : (row.answer ?? empty)
            line.removeAll(keepingCapacity: true)
            let videosAt = JSONLine.render(question: question, options: shown, answer: answer, quotedVideo: c.quotedVideo, into: &line)
            let offset = shards[Int(shard)].full.append(line)

            // The evaluation files that take every matching sample; the sampled ones are filled later.
            var evaluationTarget: Int8 = 0, aspect: Int8 = -1
            let stage = stages.id(row.stage)
            if c.side != train {
                if stage == instruct, let kind = row.kind {
                    for rule in sourceRules[c.source] where Self.equal(rule.family, kind) && Self.equal(rule.form, row.form) {
                        rule.sink.append(line)
                    }
                } else if stage == captionStage {
                    evaluationTarget = 1
                } else if stage == qaStage, let a = row.aspect, let i = attributes.firstIndex(of: String(decoding: a, as: UTF8.self)) {
                    evaluationTarget = 2
                    aspect = Int8(i)
                }
            }

            // The sampled sets: per shard and stratum (the sample's label, else its QA aspect, else
            // its clip's label), the `sampledPerLabel` with the smallest rank, the first 8 bytes
            // (big-endian) of SHA-256(`seed|uid`); ties by position.
            var hasher = seedHasher
            hasher.update(UnsafeRawBufferPointer(row.uid))
            let rank = hasher.finalizeLeading64()
            /// Offers a line of `shard` to the sampled set of its stratum.
            func offer(_ shard: Int32, _ stratum: UnsafeBufferPointer<UInt8>, offset: Int64, length: Int, videosAt: Int,
                       evaluation: Int8, aspect: Int8) {
                let (i, new) = strata.index(UInt32(shard), stratum)
                if new {
                    candidates.append([])
                    limits.append(nil)
                }
                // A stratum that has been trimmed keeps only newcomers ranked before its last kept sample.
                if let limit = limits[i], rank >= limit { return }
                candidates[i].append(Candidate(rank: rank, index: index, offset: offset, length: Int32(length),
                                               videosAt: Int32(videosAt), shard: shard, evaluation: evaluation, aspect: aspect))
                // Keep each stratum's list bounded: trim to the cap whenever it doubles.
                if candidates[i].count >= 2 * cap + 64 {
                    candidates[i].sort { ($0.rank, $0.index) < ($1.rank, $1.index) }
                    candidates[i].removeLast(candidates[i].count - cap)
                    limits[i] = candidates[i][cap - 1].rank
                }
            }
            if let label = row.label ?? row.aspect {
                offer(shard, label, offset: offset, length: line.count, videosAt: videosAt, evaluation: evaluationTarget, aspect: aspect)
            } else if let label = c.label {
                label.withUnsafeBufferPointer { offer(shard, $0, offset: offset, length: line.count, videosAt: videosAt, evaluation: evaluationTarget, aspect: aspect) }
            } else {
                offer(shard, empty, offset: offset, length: line.count, videosAt: videosAt, evaluation: evaluationTarget, aspect: aspect)
            }

            // The RL row (jsons/train/rl/, see `RLExport`): a train-side tree sample whose answer holds a
            // valid tree, or a multiple-choice instruct sample with its right letters. Its sampled set is
            // chosen per source and stratum (the reward task, then the tree's emotions or the family and label).
            guard c.side == train, stage == treeStage || (stage == instruct && form == mcq) else { return }
            rlLine.removeAll(keepingCapacity: true)
            rlStratum.removeAll(keepingCapacity: true)
            if task == treeTask {
                guard let tree = try? AffectiveTree.parse(description: String(decoding: row.answer ?? empty, as: UTF8.self)) else { return }
                RLExport.render(prompt: question, options: nil, task: "affective_tree", solution: nil, tree: tree.json.canonical,
                                quotedVideo: c.quotedVideo, into: &rlLine)
                RLExport.stratum(tree: tree, into: &rlStratum)
            } else if form == mcq, let letters = row.answerLetters, letters.count > 0 {
                let task: StaticString = RLExport.letterCount(letters) == 1 ? "mcq_accuracy" : "mcq_f1"
                // The options follow the question unless it shows the first of them already.
                let listed = hasOptions && options.bytes.withUnsafeBufferPointer { !JSONLine.contains(question, UnsafeBufferPointer(rebasing: $0[options.ranges[0]])) }
                RLExport.render(prompt: question, options: listed ? options : nil, task: task, solution: letters, tree: nil,
                                quotedVideo: c.quotedVideo, into: &rlLine)
                RLExport.stratum(task: task, kind: row.kind ?? empty, label: row.label ?? empty, into: &rlStratum)
            } else {
                return
            }
            let rlShard: Int32
            if let s = rlShardOf[c.source] { rlShard = s } else {
                rlShard = try newShard(ShardKey(side: "train", directory: RLExport.directory, source: sources.string(c.source), task: RLExport.directory))
                rlShardOf[c.source] = rlShard
            }
            let rlOffset = shards[Int(rlShard)].full.append(rlLine)
            rlStratum.withUnsafeBufferPointer { offer(rlShard, $0, offset: rlOffset, length: rlLine.count, videosAt: 0, evaluation: 0, aspect: -1) }
        }

        // The sampled sets, each in its full shard's order, read back from the full shard's file.
        var chosen = [[Candidate]](repeating: [], count: shards.count)
        for list in candidates {
            for c in list.sorted(by: { ($0.rank, $0.index) < ($1.rank, $1.index) }).prefix(cap) { chosen[Int(c.shard)].append(c) }
        }
        candidates = []
        strata = ByteTable()
        try writer.drain()
        var held: [(index: Int, evaluation: Int8, aspect: Int8, videosAt: Int32, line: [UInt8])] = []
        for (shard, list) in chosen.enumerated() where !list.isEmpty {
            let sampled = try shardSink(shards[shard].key, "sampled")
            let back = try ShardReadBack(shards[shard].full)
            for c in list.sorted(by: { $0.index < $1.index }) {
                line.removeAll(keepingCapacity: true)
                try back.read(offset: c.offset, length: Int(c.length), into: &line)
                sampled.append(line)
                // A copy of its own: `line` keeps a large capacity, and sharing it would cost that much per held line.
                if c.evaluation != 0 { held.append((c.index, c.evaluation, c.aspect, c.videosAt, line.withUnsafeBufferPointer { Array($0) })) }
            }
        }
        // The sampled evaluation files and the QA ground truth, in uid order across sources.
        for h in held.sorted(by: { $0.index < $1.index }) {
            if h.evaluation == 1 {
                sampledCaptions?.append(h.line)
                continue
            }
            // VidEmo keys the ground truth by user content + first video: a second item with the same
            // key would overwrite the first, so it goes to neither file.
            guard qa.admit(h.line) else { continue }
            qa.items[attributes[Int(h.aspect)], default: 0] += 1
            sampledQA?.append(h.line)
            var item = Array(h.line[..<Int(h.videosAt)])
            JSONLine.appendLiteral(#""source":"#, to: &item)
            JSONLine.appendQuoted("QA_\(attributes[Int(h.aspect)])", to: &item)
            item.append(0x2C)
            item.append(contentsOf: h.line[Int(h.videosAt)...])
            truth.append(item)
        }
        return totals
    }

    static func equal(_ a: [UInt8], _ b: UnsafeBufferPointer<UInt8>) -> Bool {
        a.count == b.count && (b.count == 0 || a.withUnsafeBufferPointer { memcmp($0.baseAddress!, b.baseAddress!, b.count) == 0 })
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
}
