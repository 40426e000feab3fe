import EmoCFG
import Foundation

/// JSON lines written byte by byte, the way Python's `json.dumps(obj, sort_keys=True,
/// separators=(",", ":"), ensure_ascii=False)` writes them, so a line's bytes depend only on the
/// sample and any tool that re-serialises the same way gets the same file.
enum JSONLine {
    static func appendQuoted(_ s: String, to out: inout [UInt8]) {
        out.append(0x22)
        var s = s
        s.withUTF8 { bytes in
            var start = 0
            for (i, b) in bytes.enumerated() where b < 0x20 || b == 0x22 || b == 0x5C {
                out.append(contentsOf: UnsafeBufferPointer(rebasing: bytes[start..<i]))
                start = i + 1
                switch b {
                case 0x22: out.append(contentsOf: [0x5C, 0x22])
                case 0x5C: out.append(contentsOf: [0x5C, 0x5C])
                case 0x0A: out.append(contentsOf: [0x5C, UInt8(ascii: "n")])
                case 0x0D: out.append(contentsOf: [0x5C, UInt8(ascii: "r")])
                case 0x09: out.append(contentsOf: [0x5C, UInt8(ascii: "t")])
                case 0x08: out.append(contentsOf: [0x5C, UInt8(ascii: "b")])
                case 0x0C: out.append(contentsOf: [0x5C, UInt8(ascii: "f")])
                default:
                    let hex = Array("0123456789abcdef".utf8)
                    out.append(contentsOf: [0x5C, UInt8(ascii: "u"), 0x30, 0x30, hex[Int(b >> 4)], hex[Int(b & 0xF)]])
                }
            }
            out.append(contentsOf: UnsafeBufferPointer(rebasing: bytes[start...]))
        }
        out.append(0x22)
    }

    /// The user turn: the question, with the lettered options appended unless it already shows them.
    static func question(_ row: ExportSampleRow) -> String {
        var q = row.question ?? ""
        if let text = row.options, let options = (try? JSONValue.parse(text))?.arrayValue?.compactMap(\.stringValue),
           !options.isEmpty, !options.allSatisfy({ q.contains($0) }) {
            q += "\n" + options.joined(separator: "\n")
        }
        return q
    }

    /// The assistant turn: the letters for a multiple-choice sample, the answer otherwise.
    static func answer(_ row: ExportSampleRow) -> String {
        if let letters = row.answerLetters, !letters.isEmpty { return letters }
        return row.answer ?? ""
    }

    /// `{"messages":[{"content":"<video>…","role":"user"},{"content":"…","role":"assistant"}],"videos":["…"]}`,
    /// plus `"source":"…"` between them when given (the QA ground truth's items).
    static func render(question: String, answer: String, video: String, source: String? = nil, into out: inout [UInt8]) {
        out.append(contentsOf: Array(#"{"messages":[{"content":"#.utf8))
        appendQuoted("<video>" + question, to: &out)
        out.append(contentsOf: Array(#","role":"user"},{"content":"#.utf8))
        appendQuoted(answer, to: &out)
        out.append(contentsOf: Array(#","role":"assistant"}],"#.utf8))
        if let source {
            out.append(contentsOf: Array(#""source":"#.utf8))
            appendQuoted(source, to: &out)
            out.append(0x2C)
        }
        out.append(contentsOf: Array(#""videos":["#.utf8))
        appendQuoted(video, to: &out)
        out.append(contentsOf: Array("]}".utf8))
    }
}

/// 64-bit FNV-1a: the per-line fingerprint of a curation line index. It only locates the first
/// changed line; the shard's SHA-256 is what proves it unchanged.
enum FNV1a {
    static func hash(_ bytes: UnsafeBufferPointer<UInt8>) -> UInt64 {
        var h: UInt64 = 0xcbf29ce484222325
        for b in bytes { h = (h ^ UInt64(b)) &* 0x100000001b3 }
        return h
    }
}

/// One output file being written: lines go to `<path>.partial` through a buffer, hashed and
/// counted on the way; `finish` closes it and says what it holds. The caller renames it into place
/// once the whole export has succeeded, so a failed export leaves the previous tree as it was.
final class ShardSink {
    let path: String
    let partial: URL
    private(set) var lines = 0
    private var hasher = SHA256Hasher()
    private var buffer: [UInt8] = []
    private let zstd: Bool
    private var handle: FileHandle?
    private let flushAt: Int
    /// One FNV-1a per line, for shards a curation mix may use.
    private(set) var lineHashes: [UInt64]?
    /// Bytes written before the first line and after the last (the ground truth's array brackets).
    private let header: [UInt8]
    private let separator: [UInt8]
    private let footer: [UInt8]

    init(out: URL, path: String, zstd: Bool, indexLines: Bool,
         header: String = "", separator: String = "\n", footer: String = "\n") throws {
        self.path = path
        self.zstd = zstd
        let final = out.appendingPathComponent(path)
        try FileManager.default.createDirectory(at: final.deletingLastPathComponent(), withIntermediateDirectories: true)
        partial = URL(fileURLWithPath: final.path + ".partial")
        guard FileManager.default.createFile(atPath: partial.path, contents: nil), let h = FileHandle(forWritingAtPath: partial.path) else {
            throw ExportError("cannot create \(partial.path)")
        }
        handle = h
        flushAt = zstd ? 1 << 18 : 1 << 16
        lineHashes = indexLines ? [] : nil
        self.header = Array(header.utf8)
        self.separator = Array(separator.utf8)
        self.footer = Array(footer.utf8)
        buffer.append(contentsOf: self.header)
    }

    func append(_ line: [UInt8]) throws {
        if lines > 0 { buffer.append(contentsOf: separator) }
        buffer.append(contentsOf: line)
        lines += 1
        if lineHashes != nil { lineHashes!.append(line.withUnsafeBufferPointer(FNV1a.hash)) }
        if buffer.count >= flushAt { try flush() }
    }

    private func flush() throws {
        guard !buffer.isEmpty, let handle else { return }
        hasher.update(buffer)
        // Each flush of a compressed shard is one zstd frame; frames concatenated are one stream.
        try handle.write(contentsOf: zstd ? Zstd.compress(Data(buffer)) : Data(buffer))
        buffer.removeAll(keepingCapacity: true)
    }

    /// Closes the file; the SHA-256 covers the content (decompressed for `.zst`).
    func finish() throws -> (lines: Int, sha256: String) {
        if lines > 0 || !header.isEmpty { buffer.append(contentsOf: footer) }
        try flush()
        try handle?.close()
        handle = nil
        return (lines, hasher.finalizeHex())
    }

    /// Removes the unfinished file after a failure.
    func abandon() {
        try? handle?.close()
        handle = nil
        try? FileManager.default.removeItem(at: partial)
    }
}

public struct ExportError: Error, CustomStringConvertible, Sendable {
    public var description: String
    public init(_ description: String) { self.description = description }
}
