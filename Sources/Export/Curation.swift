import EmoCFG
import Foundation

/// A curation version: `jsons/curation/vN/source.txt` (the shards of one training mix, in order,
/// one per line: path, line count, SHA-256, tab-separated) and `receipt.json` (the same shards with
/// their line indexes, the settings and their hash, the store's state, the tool version, and every
/// file the export wrote).
public struct CurationVersion: Sendable, Equatable {
    public struct Shard: Sendable, Equatable {
        public var path: String
        public var lines: Int
        public var sha256: String
    }

    public var version: Int
    public var mix: String
    public var shards: [Shard]
    public var lines: Int { shards.reduce(0) { $0 + $1.lines } }
    /// SHA-256 of `source.txt`.
    public var sourceSHA256: String
    /// `receipt.json` as written.
    public var receipt: String

    public var name: String { "v\(version)" }

    static func sourceText(_ shards: [Shard]) -> String {
        shards.map { "\($0.path)\t\($0.lines)\t\($0.sha256)\n" }.joined()
    }
}

/// Why a reproduction failed: the shard, and the line where it first differs when that is known.
public struct ReproduceError: Error, CustomStringConvertible, Sendable {
    public var version: String
    public var shard: String?
    public var line: Int?
    public var message: String
    public var description: String {
        var where_ = version
        if let shard { where_ += ": \(shard)" + (line.map { ":\($0)" } ?? "") }
        return "\(where_): \(message)"
    }
}

/// What a reproduction rebuilt.
public struct Reproduction: Sendable {
    public var version: String
    public var output: String
    public var lines: Int
    public var sha256: String
    public var shards: Int
}

/// The `jsons/curation/` folder of an export.
public struct Curation {
    public var out: URL
    var folder: URL { out.appendingPathComponent("jsons/curation") }

    public init(out: URL) { self.out = out }

    /// Where a line index is kept: one FNV-1a (8 bytes, little-endian) per line of a shard with that SHA-256.
    static func indexPath(_ sha: String) -> String { "jsons/curation/lines/\(sha).fnv" }
    /// Where a shard's content is kept once a newer export has replaced the file a receipt names.
    static func preservedPath(_ sha: String, zstd: Bool) -> String { "jsons/curation/shards/\(sha).jsonl" + (zstd ? ".zst" : "") }

    /// Every version in the folder, oldest first.
    public func versions() throws -> [CurationVersion] {
        let fm = FileManager.default
        guard let names = try? fm.contentsOfDirectory(atPath: folder.path) else { return [] }
        return try names.compactMap { name -> Int? in
            guard name.hasPrefix("v"), let n = Int(name.dropFirst()) else { return nil }
            return n
        }.sorted().map { try version($0) }
    }

    /// One version, read from its receipt.
    public func version(_ n: Int) throws -> CurationVersion {
        let dir = folder.appendingPathComponent("v\(n)")
        let receiptURL = dir.appendingPathComponent("receipt.json")
        guard let data = FileManager.default.contents(atPath: receiptURL.path) else {
            throw ReproduceError(version: "v\(n)", message: "no receipt at \(receiptURL.path)")
        }
        let json: JSONValue
        do { json = try JSONValue.parse(data) } catch {
            throw ReproduceError(version: "v\(n)", message: "\(receiptURL.path) is not valid JSON: \(error)")
        }
        guard let mix = json["mix"]?.stringValue, let source = json["source_sha256"]?.stringValue,
              let shards = json["shards"]?.arrayValue else {
            throw ReproduceError(version: "v\(n)", message: "\(receiptURL.path) lacks mix, source_sha256 or shards")
        }
        return CurationVersion(
            version: n, mix: mix,
            shards: shards.map { Shard(path: $0["path"]?.stringValue ?? "", lines: Int($0["lines"]?.numberValue ?? -1), sha256: $0["sha256"]?.stringValue ?? "") },
            sourceSHA256: source, receipt: String(decoding: data, as: UTF8.self))
    }

    typealias Shard = CurationVersion.Shard

    /// Keeps the content of `file` (which should have `sha256`) where a receipt can still find it.
    func preserve(_ file: URL, sha256: String) throws {
        let fm = FileManager.default
        let target = out.appendingPathComponent(Self.preservedPath(sha256, zstd: file.path.hasSuffix(".zst")))
        guard !fm.fileExists(atPath: target.path) else { return }
        try fm.createDirectory(at: target.deletingLastPathComponent(), withIntermediateDirectories: true)
        do { try fm.linkItem(at: file, to: target) } catch { try fm.copyItem(at: file, to: target) }
    }

    /// Writes a new version for every mix whose shards differ from its latest version; returns the
    /// new versions and the latest version of each unchanged mix.
    func writeVersions(mixes: [CurationMix], files: [ExportedFile], lineHashes: [String: [UInt64]], previous: [CurationVersion],
                       receipt common: [String: JSONValue]) throws -> (new: [CurationVersion], unchanged: [CurationVersion]) {
        let fm = FileManager.default
        var next = (previous.map(\.version).max() ?? 0) + 1
        var new: [CurationVersion] = [], unchanged: [CurationVersion] = []
        let train = files.filter { $0.side == "train" && ($0.set == "full" || $0.set == "sampled") }
        for mix in mixes {
            var shards: [Shard] = []
            for task in mix.tasks {
                shards += train.filter { $0.set == mix.set && $0.task == task }.map { Shard(path: $0.path, lines: $0.lines, sha256: $0.sha256) }
            }
            let source = CurationVersion.sourceText(shards)
            let sourceSHA = SHA256Digest.hex(source)
            if let last = previous.last(where: { $0.mix == mix.name }), last.sourceSHA256 == sourceSHA {
                unchanged.append(last)
                continue
            }
            for s in shards {
                let index = out.appendingPathComponent(Self.indexPath(s.sha256))
                guard !fm.fileExists(atPath: index.path), let hashes = lineHashes[s.path] else { continue }
                try fm.createDirectory(at: index.deletingLastPathComponent(), withIntermediateDirectories: true)
                try hashes.withUnsafeBytes { Data($0) }.write(to: index, options: .atomic)
            }
            var receipt = common
            receipt["version"] = .number(Double(next))
            receipt["mix"] = .string(mix.name)
            receipt["tasks"] = .array(mix.tasks.map { .string($0) })
            receipt["set"] = .string(mix.set)
            receipt["created_at"] = .string(ISO8601DateFormatter().string(from: Date()))
            receipt["source_sha256"] = .string(sourceSHA)
            receipt["mix_lines"] = .number(Double(shards.reduce(0) { $0 + $1.lines }))
            receipt["shards"] = .array(shards.map {
                ["path": .string($0.path), "lines": .number(Double($0.lines)), "sha256": .string($0.sha256),
                 "line_index": .string(Self.indexPath($0.sha256))]
            })
            let dir = folder.appendingPathComponent("v\(next)")
            try fm.createDirectory(at: dir, withIntermediateDirectories: true)
            try Data(source.utf8).write(to: dir.appendingPathComponent("source.txt"))
            let text = JSONValue.object(receipt).canonical + "\n"
            try Data(text.utf8).write(to: dir.appendingPathComponent("receipt.json"))
            new.append(CurationVersion(version: next, mix: mix.name, shards: shards, sourceSHA256: sourceSHA, receipt: text))
            next += 1
        }
        return (new, unchanged)
    }

    /// Rebuilds version `n`'s training mix by concatenating its shards, checking every line against
    /// the line index and every shard against its SHA-256; writes it to `to` (default
    /// `jsons/curation/vN/train.jsonl`). Fails at the first shard and line that differ.
    public func reproduce(_ n: Int, to target: URL? = nil) throws -> Reproduction {
        let v = try version(n)
        let name = v.name
        let fm = FileManager.default
        let dir = folder.appendingPathComponent(name)
        let sourceURL = dir.appendingPathComponent("source.txt")
        guard let sourceData = fm.contents(atPath: sourceURL.path) else {
            throw ReproduceError(version: name, message: "no \(sourceURL.path)")
        }
        guard SHA256Digest.hex(sourceData) == v.sourceSHA256 else {
            throw ReproduceError(version: name, shard: "source.txt", message: "does not match the SHA-256 its receipt records; it was edited")
        }
        guard CurationVersion.sourceText(v.shards) == String(decoding: sourceData, as: UTF8.self) else {
            throw ReproduceError(version: name, shard: "source.txt", message: "lists other shards than its receipt")
        }
        let output = target ?? dir.appendingPathComponent("train.jsonl")
        let partial = URL(fileURLWithPath: output.path + ".partial")
        try fm.createDirectory(at: output.deletingLastPathComponent(), withIntermediateDirectories: true)
        guard fm.createFile(atPath: partial.path, contents: nil), let handle = FileHandle(forWritingAtPath: partial.path) else {
            throw ReproduceError(version: name, message: "cannot write \(partial.path)")
        }
        var total = SHA256Hasher()
        var lines = 0
        do {
            for shard in v.shards {
                lines += try copy(shard, version: name, into: handle, total: &total)
            }
            try handle.close()
        } catch {
            try? handle.close()
            try? fm.removeItem(at: partial)
            throw error
        }
        _ = try? fm.removeItem(at: output)
        try fm.moveItem(at: partial, to: output)
        return Reproduction(version: name, output: output.path, lines: lines, sha256: total.finalizeHex(), shards: v.shards.count)
    }

    /// Streams one shard into the mix, checking it line by line.
    private func copy(_ shard: Shard, version: String, into handle: FileHandle, total: inout SHA256Hasher) throws -> Int {
        let fm = FileManager.default
        let zstd = shard.path.hasSuffix(".zst")
        let kept = out.appendingPathComponent(Self.preservedPath(shard.sha256, zstd: zstd))
        let file = fm.fileExists(atPath: kept.path) ? kept : out.appendingPathComponent(shard.path)
        guard fm.fileExists(atPath: file.path) else {
            throw ReproduceError(version: version, shard: shard.path, message: "is missing")
        }
        let index: [UInt64]? = fm.contents(atPath: out.appendingPathComponent(Self.indexPath(shard.sha256)).path).map { data in
            data.withUnsafeBytes { Array($0.bindMemory(to: UInt64.self)) }
        }
        func fail(_ line: Int?, _ message: String) -> ReproduceError {
            ReproduceError(version: version, shard: shard.path, line: line, message: message)
        }
        let reader: ChunkedFileReader
        do { reader = try ChunkedFileReader(path: file.path) } catch { throw fail(nil, "cannot be read: \(error)") }
        var hasher = SHA256Hasher()
        var pending: [UInt8] = []
        var line = 0
        var outBuffer: [UInt8] = []
        func take(_ bytes: UnsafeBufferPointer<UInt8>) throws {
            line += 1
            if let index {
                guard line <= index.count else {
                    throw fail(line, "has more lines than the \(shard.lines) the receipt records")
                }
                guard FNV1a.hash(bytes) == index[line - 1] else {
                    throw fail(line, "differs from the line the receipt records (line index \(Self.indexPath(shard.sha256)))")
                }
            }
        }
        do {
            while let chunk = try reader.next() {
                hasher.update(chunk)
                outBuffer.append(contentsOf: chunk)
                var start = 0
                try chunk.withUnsafeBufferPointer { c in
                    for i in 0..<c.count where c[i] == 0x0A {
                        if pending.isEmpty {
                            try take(UnsafeBufferPointer(rebasing: c[start..<i]))
                        } else {
                            pending.append(contentsOf: c[start..<i])
                            try pending.withUnsafeBufferPointer { try take($0) }
                            pending.removeAll(keepingCapacity: true)
                        }
                        start = i + 1
                    }
                    pending.append(contentsOf: c[start...])
                }
                if outBuffer.count >= 1 << 20 {
                    try handle.write(contentsOf: outBuffer)
                    total.update(outBuffer)
                    outBuffer.removeAll(keepingCapacity: true)
                }
            }
        } catch let e as ReproduceError {
            throw e
        } catch {
            throw fail(line + 1, "cannot be read: \(error)")
        }
        if !pending.isEmpty { throw fail(line + 1, "ends without a newline") }
        try handle.write(contentsOf: outBuffer)
        total.update(outBuffer)
        if line != shard.lines {
            throw fail(line + 1, "has \(line) lines; the receipt records \(shard.lines)")
        }
        let sha = hasher.finalizeHex()
        guard sha == shard.sha256 else {
            throw fail(nil, "has SHA-256 \(sha), the receipt records \(shard.sha256)"
                       + (index == nil ? " (its line index is missing, so the line cannot be named)" : ""))
        }
        return line
    }
}
