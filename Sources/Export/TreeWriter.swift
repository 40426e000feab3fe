import EmoCFG
import Foundation

/// Writes the `jsons/{train,test}/<task>/full/` shards: accepted samples only (a rewritten sample's
/// accepted rewrite, never its rejected parent), one shard per source and sample task, lines in the
/// ms-swift shape with videos as `videos/<Source>/…`, and `videos/<Source>` linked to the source root.
public struct TreeWriter: Sendable {
    /// Where each sample task's shards go. Caption-form samples go to `caption/` whatever their task.
    public static func directory(for s: NewSample) -> String {
        if s.form == .caption { return "caption" }
        switch s.task {
        case .attribute: return "attribute"
        case .expression, .emotion: return "emotion"
        case .caption: return "caption"
        case .qa: return "qa"
        case .rationale: return "rationale"
        }
    }

    /// One written shard: where, how many lines, and their SHA-256.
    public struct Shard: Sendable, Equatable, Codable {
        public var path: String
        public var side: String
        public var directory: String
        public var source: String
        public var task: String
        public var lines: Int
        public var sha256: String
    }

    public var out: URL

    public init(out: URL) { self.out = out }

    /// The ms-swift line of a sample: the user turn with one `<video>` tag per video, the answer.
    public static func line(_ s: NewSample, video: String) -> JSONValue {
        var question = s.content["question"]?.stringValue ?? ""
        if let options = s.content["options"]?.arrayValue?.compactMap(\.stringValue), !options.isEmpty,
           !options.allSatisfy({ question.contains($0) }) {
            question += "\n" + options.joined(separator: "\n")
        }
        let answer = s.content["answer_letters"]?.stringValue.flatMap { $0.isEmpty ? nil : $0 }
            ?? s.content["answer"]?.stringValue ?? ""
        return ["messages": [["role": "user", "content": .string("<video>" + question)],
                             ["role": "assistant", "content": .string(answer)]],
                "videos": [.string(video)]]
    }

    /// Writes the full shards and the video links; returns the shards in path order.
    public func writeFull(store: Store, sides: [String: String]) throws -> [Shard] {
        let clips = Dictionary(try store.clips().map { ($0.uid, $0) }, uniquingKeysWith: { a, _ in a })
        let roots = Dictionary(try store.sources().map { ($0.name, $0.root) }, uniquingKeysWith: { a, _ in a })
        var groups: [String: (side: String, dir: String, source: String, task: String, lines: [String])] = [:]
        for s in try store.samples() where s.status == .accepted {
            guard let clip = clips[s.clipUID], clip.status == .ok, let side = sides[clip.uid] else { continue }
            let dir = Self.directory(for: s)
            if dir == "rationale" && side == "test" { continue }  // the evaluation has no rationale files
            let key = "\(side)/\(dir)/\(clip.source)_\(s.task.rawValue)"
            let line = Self.line(s, video: "videos/\(clip.source)/\(clip.record.path)").canonical
            groups[key, default: (side, dir, clip.source, s.task.rawValue, [])].lines.append(line)
        }
        let fm = FileManager.default
        var shards: [Shard] = []
        for key in groups.keys.sorted() {
            let g = groups[key]!
            let folder = out.appendingPathComponent("jsons/\(g.side)/\(g.dir)/full")
            try fm.createDirectory(at: folder, withIntermediateDirectories: true)
            let file = folder.appendingPathComponent("\(g.source)_\(g.task).jsonl")
            let data = Data((g.lines.joined(separator: "\n") + "\n").utf8)
            try data.write(to: file)
            shards.append(Shard(path: "jsons/\(g.side)/\(g.dir)/full/\(file.lastPathComponent)", side: g.side, directory: g.dir,
                                source: g.source, task: g.task, lines: g.lines.count, sha256: SHA256Digest.hex(data)))
        }
        let videos = out.appendingPathComponent("videos")
        try fm.createDirectory(at: videos, withIntermediateDirectories: true)
        for source in Set(shards.map(\.source)) {
            let link = videos.appendingPathComponent(source)
            guard let root = roots[source], (try? fm.destinationOfSymbolicLink(atPath: link.path)) != root else { continue }
            try? fm.removeItem(at: link)
            try fm.createSymbolicLink(atPath: link.path, withDestinationPath: root)
        }
        return shards
    }
}
