import EmoCFG
import Foundation

/// One training mix of the curation: the train shards of these sample tasks, in this order.
public struct CurationMix: Sendable, Equatable, Codable {
    public var name: String
    /// Sample tasks (`attribute`, `expression`, `emotion`, `caption`, `qa`, `rationale`, `tree`), or
    /// `rl` for the reinforcement rows of `jsons/train/rl/`.
    public var tasks: [String]
    /// Which shards: `full` or `sampled`.
    public var set: String

    public init(name: String, tasks: [String], set: String = "full") {
        self.name = name
        self.tasks = tasks
        self.set = set
    }

    /// Emo-CFG's curriculum: attributes first, then expressions, emotions, rationales, everything.
    public static let curriculum: [CurationMix] = [
        CurationMix(name: "attribute", tasks: ["attribute"]),
        CurationMix(name: "expression", tasks: ["attribute", "expression"]),
        CurationMix(name: "emotion", tasks: ["attribute", "expression", "emotion"]),
        CurationMix(name: "rationale", tasks: ["attribute", "expression", "emotion", "rationale"]),
        CurationMix(name: "all", tasks: ["attribute", "expression", "emotion", "rationale", "caption", "qa", "tree"]),
        // The reinforcement stage's rows (jsons/train/rl/): rule-based and tree-reward tasks.
        CurationMix(name: "rl", tasks: ["rl"]),
    ]
}

/// The `export:` section of `pipeline.yaml`:
///
/// ```yaml
/// export:
///   seed: emocfg              # seeds the split hash and the sampled sets
///   test_fraction: 0.1        # share of identity groups on the test side where a dataset has no split
///   sampled_per_label: 200    # a sampled file keeps at most this many lines per source and label
///   zstd: false               # write .jsonl.zst shards
///   render:                   # frame folders, windows and expression intervals become video files
///     encoder: auto           # auto (libx264 where libavcodec has it, else mpeg4) | libx264 | mpeg4
///     crf: 20                 # libx264 quality (mpeg4: mapped to a quantiser)
///     preset: veryfast        # libx264 preset
///     max_side: null          # scale down so the longer side is at most this; null keeps the size
///     audio: true             # cut the source's audio with a window
///   mixes:                    # curation versions, in order (default: the curriculum below)
///     attribute: {tasks: [attribute]}
///     expression: {tasks: [attribute, expression]}
///     emotion: {tasks: [attribute, expression, emotion]}
///     rationale: {tasks: [attribute, expression, emotion, rationale]}
///     all: {tasks: [attribute, expression, emotion, rationale, caption, qa], set: full}
///     rl: {tasks: [rl]}         # jsons/train/rl/: the GRPO rows (tree reward, rule-based rewards)
/// ```
public struct ExportSettings: Sendable, Equatable {
    public var seed = "emocfg"
    public var testFraction = 0.1
    public var sampledPerLabel = 200
    public var zstd = false
    public var copyVideos = false
    public var mixes = CurationMix.curriculum
    /// How clips that are not whole video files are rendered (part of each rendered file's key).
    public var render = RenderSettings()
    /// Clips rendered at once (default: the number of cores).
    public var renderJobs = ProcessInfo.processInfo.activeProcessorCount

    public init() {}

    public static func read(_ section: ConfigReader?) throws -> ExportSettings {
        var s = ExportSettings()
        guard let r = section else { return s }
        _ = try r.requireMap(allowed: ["seed", "test_fraction", "sampled_per_label", "zstd", "copy_videos", "mixes", "render"])
        s.seed = try r.string("seed") ?? s.seed
        if let f = try r.double("test_fraction") {
            guard f >= 0, f < 1 else { throw r.error("must be at least 0 and below 1, found \(f)", key: "test_fraction", line: r.value["test_fraction"]?.line) }
            s.testFraction = f
        }
        s.sampledPerLabel = try r.int("sampled_per_label", range: 1...10_000_000) ?? s.sampledPerLabel
        s.zstd = try r.bool("zstd") ?? s.zstd
        s.copyVideos = try r.bool("copy_videos") ?? s.copyVideos
        if let rr = r.child("render") {
            _ = try rr.requireMap(allowed: ["encoder", "crf", "preset", "max_side", "audio"])
            s.render.encoder = try rr.oneOf("encoder", ["auto", "libx264", "mpeg4"]) ?? s.render.encoder
            s.render.crf = try rr.int("crf", range: 0...51) ?? s.render.crf
            s.render.preset = try rr.oneOf("preset", ["ultrafast", "superfast", "veryfast", "faster", "fast", "medium", "slow", "slower", "veryslow"])
                ?? s.render.preset
            s.render.maxSide = try rr.int("max_side", range: 16...16384) ?? s.render.maxSide
            s.render.audio = try rr.bool("audio") ?? s.render.audio
        }
        if let m = r.child("mixes") {
            let tasks = SampleTask.allCases.map(\.rawValue) + [RLExport.directory]
            var mixes: [CurationMix] = []
            for e in try m.requireMap(allowed: m.value.entries?.map(\.key) ?? []) {
                let mr = ConfigReader(file: r.file, path: m.path + [e.key], value: e.value)
                _ = try mr.requireMap(allowed: ["tasks", "set"])
                let list = try mr.stringList("tasks") ?? []
                guard !list.isEmpty else { throw mr.error("names no tasks; list some of: \(tasks.joined(separator: ", "))", key: "tasks") }
                for t in list where !tasks.contains(t) {
                    throw mr.error("'\(t)' is not a sample task; allowed: \(tasks.joined(separator: ", "))", key: "tasks", line: e.value["tasks"]?.line)
                }
                mixes.append(CurationMix(name: e.key, tasks: list, set: try mr.oneOf("set", ["full", "sampled"]) ?? "full"))
            }
            guard !mixes.isEmpty else { throw m.error("defines no mix") }
            s.mixes = mixes
        }
        return s
    }

    /// What the receipt records of the settings, and what the config hash covers.
    public var json: JSONValue {
        ["seed": .string(seed), "test_fraction": .number(testFraction), "sampled_per_label": .number(Double(sampledPerLabel)),
         "zstd": .bool(zstd), "copy_videos": .bool(copyVideos), "render": ClipMedia.settingsJSON(render),
         "mixes": .array(mixes.map { ["name": .string($0.name), "tasks": .array($0.tasks.map { .string($0) }), "set": .string($0.set)] })]
    }
}
