import EmoCFG
import Foundation

/// The reinforcement-learning export: `jsons/train/rl/{full,sampled}/<Source>_rl.jsonl`, one line per
/// accepted train-side sample that a reward can score, in the form ms-swift's GRPO trainer reads:
///
/// ```json
/// {"messages":[{"content":"<video>…","role":"user"}],"solution":"B","task":"mcq_accuracy","tree":null,"videos":["videos/DFEW/1.mp4"]}
/// ```
///
/// `messages` holds the user turn only (the policy writes the answer); ms-swift hands the other
/// columns to the reward functions. `task` names the reward of `plugins/affective_tree_reward.py`:
/// - `affective_tree`: a tree sample; `tree` is the reference tree as canonical JSON text, and the
///   reward is `exp(-λ·d)` between it and the tree of the generated description (`TreeEditDistance`).
/// - `mcq_accuracy`, `mcq_f1`: a multiple-choice instruct sample with one or several right options;
///   `solution` is the right letters (`"B"`, `"AC"`).
/// Test-side clips never appear (the test side is for evaluation only). A tree whose answer no longer
/// holds a valid tree (a rewrite that broke it) is left out. The sampled file keeps, per source, task
/// and label, the `sampled_per_label` lines of smallest rank SHA-256(`seed|uid`), in the full file's order.
enum RLExport {
    /// The directory, and the `task` of its files in receipts and curation mixes.
    static let directory = "rl"

    struct Row {
        var uid: String
        var source: String
        var stratum: String
        var line: JSONValue
    }

    /// The RL rows of the store, in uid order, one at a time (the store is read through a cursor: an
    /// export of millions of samples keeps one row in memory); `video` gives a clip's `videos` entry.
    static func forEachRow(store: Store, clips: [String: ExportClip], video: (String, ExportClip) -> String?,
                           _ body: (Row) throws -> Void) throws {
        try store.forEachAcceptedSample(stages: ["tree"], mcqStages: ["instruct"]) { s in
            guard let clip = clips[s.clipUID], clip.side == "train" else { return }
            let question = s.content["question"]?.stringValue ?? ""
            var task: String, solution: JSONValue = .null, tree: JSONValue = .null, prompt = question, stratum: String
            if s.task == .tree {
                guard let parsed = try? AffectiveTree.parse(description: s.content["answer"]?.stringValue ?? "") else { return }
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
                return
            }
            guard let entry = video(s.clipUID, clip) else { return }
            let line: JSONValue = [
                "messages": [["role": "user", "content": .string("<video>" + prompt)]],
                "videos": [.string(entry)], "task": .string(task), "solution": solution, "tree": tree,
            ]
            try body(Row(uid: s.uid, source: clip.source, stratum: task + "|" + stratum, line: line))
        }
    }

    /// The rows of the RL export as a list (tests; the export streams them).
    static func rows(store: Store, clips: [String: ExportClip], video: (String, ExportClip) -> String?) throws -> [Row] {
        var out: [Row] = []
        try forEachRow(store: store, clips: clips, video: video) { out.append($0) }
        return out
    }

    /// Chooses the sampled files' rows as they stream by: per source and stratum, the `cap` of smallest
    /// rank, holding at most twice `cap` candidates per group.
    struct Chooser {
        let seed: String
        let cap: Int
        var groups: [String: [(rank: UInt64, uid: String)]] = [:]

        mutating func add(_ r: Row) {
            var h = SHA256Hasher()
            h.update(seed + "|" + r.uid)
            let key = r.source + "\u{0}" + r.stratum
            groups[key, default: []].append((h.finalizeLeading64(), r.uid))
            if groups[key]!.count > 2 * cap { groups[key] = Self.smallest(groups[key]!, cap) }
        }

        static func smallest(_ list: [(rank: UInt64, uid: String)], _ cap: Int) -> [(rank: UInt64, uid: String)] {
            Array(list.sorted(by: { ($0.rank, $0.uid) < ($1.rank, $1.uid) }).prefix(cap))
        }

        var chosen: Set<String> { Set(groups.values.flatMap { Self.smallest($0, cap).map(\.uid) }) }
    }

    /// The rows chosen for the sampled files: per source and stratum, the `cap` of smallest rank.
    static func sampled(_ rows: [Row], seed: String, cap: Int) -> Set<String> {
        var c = Chooser(seed: seed, cap: cap)
        for r in rows { c.add(r) }
        return c.chosen
    }
}

extension Exporter {
    /// Adds the RL shards to the export's sinks (they are finished, moved and listed with the rest).
    func writeRL(store: Store, writer: ShardWriter, sinks: inout [String: ShardSink], meta: inout [String: ExportedFile],
                 used: inout VideosUsed) throws {
        let clips = try store.withExportReader { try $0.clips() }
        // Two passes through a cursor: the first chooses the sampled rows, the second writes both files.
        var chooser = RLExport.Chooser(seed: settings.seed, cap: settings.sampledPerLabel)
        try RLExport.forEachRow(store: store, clips: clips, video: { uid, clip in used.entry(uid: uid, clip) }) { chooser.add($0) }
        let chosen = chooser.chosen
        try RLExport.forEachRow(store: store, clips: clips, video: { uid, clip in used.entry(uid: uid, clip) }) { row in
            for set in ["full", "sampled"] where set == "full" || chosen.contains(row.uid) {
                let path = "jsons/train/\(RLExport.directory)/\(set)/\(row.source)_rl.jsonl" + (settings.zstd ? ".zst" : "")
                let sink: ShardSink
                if let s = sinks[path] { sink = s } else {
                    sink = try ShardSink(out: out, path: path, zstd: settings.zstd, indexLines: true, writer: writer)
                    sinks[path] = sink
                    meta[path] = ExportedFile(path: path, set: set, side: "train", directory: RLExport.directory, source: row.source,
                                              task: RLExport.directory, lines: 0, sha256: "")
                }
                sink.append(Array(row.line.canonical.utf8))
            }
        }
    }
}
