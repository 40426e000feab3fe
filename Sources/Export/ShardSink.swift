import EmoCFG
import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// JSON lines written byte by byte, the way Python's `json.dumps(obj, sort_keys=True,
/// separators=(",", ":"), ensure_ascii=False)` writes them, so a line's bytes depend only on the
/// sample and any tool that re-serialises the same way gets the same file. Everything works on
/// UTF-8 bytes as SQLite hands them over: the export renders two million lines without making a
/// `String` for any of their fields.
enum JSONLine {
    static let hex: [UInt8] = Array("0123456789abcdef".utf8)

    /// Appends `bytes` escaped as a JSON string's content: `"`, `\` and the control characters, as
    /// `json.dumps` escapes them (short forms where JSON has them, `\u00XX` otherwise); the rest as is.
    static func appendEscaped(_ bytes: UnsafeBufferPointer<UInt8>, to out: inout [UInt8]) {
        guard let base = bytes.baseAddress else { return }
        let n = bytes.count
        var start = 0, i = 0
        let raw = UnsafeRawPointer(base)
        while i < n {
            // Eight bytes at a time while none of them needs escaping (most text has nothing to escape).
            while i + 8 <= n && !needsEscape(raw.loadUnaligned(fromByteOffset: i, as: UInt64.self)) { i += 8 }
            guard i < n else { break }
            let b = base[i]
            if b == 0xE2 || b == 0xC2 {
                // U+2028, U+2029 (E2 80 A8/A9) and U+0085 (C2 85): json.dumps leaves them as they are,
                // but Python's str.splitlines (VidEmo's evaluation reads files with it) breaks a line
                // there, so they are escaped; the line parses to the same value.
                let sep = b == 0xE2 && i + 2 < n && base[i + 1] == 0x80 && (base[i + 2] == 0xA8 || base[i + 2] == 0xA9)
                let nel = b == 0xC2 && i + 1 < n && base[i + 1] == 0x85
                guard sep || nel else { i += 1; continue }
                if i > start { out.append(contentsOf: UnsafeBufferPointer(start: base + start, count: i - start)) }
                appendLiteral(sep ? (base[i + 2] == 0xA8 ? "\\u2028" : "\\u2029") : "\\u0085", to: &out)
                i += sep ? 3 : 2
                start = i
                continue
            }
            if b >= 0x20 && b != 0x22 && b != 0x5C { i += 1; continue }
            if i > start { out.append(contentsOf: UnsafeBufferPointer(start: base + start, count: i - start)) }
            out.append(0x5C)
            switch b {
            case 0x22: out.append(0x22)
            case 0x5C: out.append(0x5C)
            case 0x0A: out.append(UInt8(ascii: "n"))
            case 0x0D: out.append(UInt8(ascii: "r"))
            case 0x09: out.append(UInt8(ascii: "t"))
            case 0x08: out.append(UInt8(ascii: "b"))
            case 0x0C: out.append(UInt8(ascii: "f"))
            default:
                out.append(UInt8(ascii: "u")); out.append(0x30); out.append(0x30)
                out.append(hex[Int(b >> 4)]); out.append(hex[Int(b & 0xF)])
            }
            i += 1
            start = i
        }
        if n > start { out.append(contentsOf: UnsafeBufferPointer(start: base + start, count: n - start)) }
    }

    /// Whether any of the eight bytes is below 0x20, `"`, `\`, or 0xE2 / 0xC2 (the lead bytes of
    /// U+2028, U+2029 and U+0085), by the classic has-zero-byte bit tricks: exact for the first three
    /// (no borrow crosses out of a byte below 0x80, and bytes at or above 0x80 are masked out); the
    /// lead-byte tests may also fire after a match, which only sends those bytes down the slow path.
    @inline(__always)
    static func needsEscape(_ w: UInt64) -> Bool {
        let ones: UInt64 = 0x0101_0101_0101_0101, highs: UInt64 = 0x8080_8080_8080_8080
        let low = (w &- ones &* 0x20) & ~w & highs
        let quote = w ^ (ones &* 0x22), slash = w ^ (ones &* 0x5C)
        let q = (quote &- ones) & ~quote & highs, s = (slash &- ones) & ~slash & highs
        let e2 = w ^ (ones &* 0xE2), c2 = w ^ (ones &* 0xC2)
        let lead = ((e2 &- ones) & ~e2 & highs) | ((c2 &- ones) & ~c2 & highs)
        return (low | q | s | lead) != 0
    }

    static func appendQuoted(_ s: String, to out: inout [UInt8]) {
        var s = s
        out.append(0x22)
        s.withUTF8 { appendEscaped($0, to: &out) }
        out.append(0x22)
    }

    @inline(__always)
    static func appendLiteral(_ s: StaticString, to out: inout [UInt8]) {
        out.append(contentsOf: UnsafeBufferPointer(start: s.utf8Start, count: s.utf8CodeUnitCount))
    }

    /// Lettered options decoded from their JSON array, kept in one reused buffer.
    struct Options {
        var bytes: [UInt8] = []
        var ranges: [Range<Int>] = []
        mutating func clear() {
            bytes.removeAll(keepingCapacity: true)
            ranges.removeAll(keepingCapacity: true)
        }
    }

    /// The options a sample shows (`content.options` as the JSON text SQLite extracts): the array's
    /// strings, other values left out. False when there is nothing to show (no array, or no strings).
    static func decodeOptions(_ text: UnsafeBufferPointer<UInt8>, into o: inout Options) -> Bool {
        o.clear()
        if !decodeStringArray(text, into: &o) {
            // Anything the fast decoder does not take (\u escapes, other values): the general parser.
            o.clear()
            guard let values = (try? JSONValue.parse(String(decoding: text, as: UTF8.self)))?.arrayValue else { return false }
            for case let .string(s) in values {
                let start = o.bytes.count
                o.bytes.append(contentsOf: s.utf8)
                o.ranges.append(start..<o.bytes.count)
            }
        }
        return !o.ranges.isEmpty
    }

    /// A JSON array of strings without `\u` escapes, decoded; false for anything else.
    static func decodeStringArray(_ text: UnsafeBufferPointer<UInt8>, into o: inout Options) -> Bool {
        guard let p = text.baseAddress else { return false }
        let n = text.count
        var i = 0
        func skipSpace() { while i < n, p[i] == 0x20 || p[i] == 0x0A || p[i] == 0x0D || p[i] == 0x09 { i += 1 } }
        skipSpace()
        guard i < n, p[i] == UInt8(ascii: "[") else { return false }
        i += 1
        skipSpace()
        if i < n, p[i] == UInt8(ascii: "]") {
            i += 1
            skipSpace()
            return i == n
        }
        while true {
            guard i < n, p[i] == 0x22 else { return false }
            i += 1
            let start = o.bytes.count
            var run = i
            while true {
                guard i < n else { return false }
                let b = p[i]
                if b == 0x22 { break }
                if b < 0x20 { return false }
                if b != 0x5C { i += 1; continue }
                o.bytes.append(contentsOf: UnsafeBufferPointer(start: p + run, count: i - run))
                guard i + 1 < n else { return false }
                switch p[i + 1] {
                case 0x22: o.bytes.append(0x22)
                case 0x5C: o.bytes.append(0x5C)
                case UInt8(ascii: "/"): o.bytes.append(UInt8(ascii: "/"))
                case UInt8(ascii: "b"): o.bytes.append(0x08)
                case UInt8(ascii: "f"): o.bytes.append(0x0C)
                case UInt8(ascii: "n"): o.bytes.append(0x0A)
                case UInt8(ascii: "r"): o.bytes.append(0x0D)
                case UInt8(ascii: "t"): o.bytes.append(0x09)
                default: return false
                }
                i += 2
                run = i
            }
            o.bytes.append(contentsOf: UnsafeBufferPointer(start: p + run, count: i - run))
            o.ranges.append(start..<o.bytes.count)
            i += 1
            skipSpace()
            guard i < n else { return false }
            if p[i] == UInt8(ascii: "]") {
                i += 1
                skipSpace()
                return i == n
            }
            guard p[i] == UInt8(ascii: ",") else { return false }
            i += 1
            skipSpace()
        }
    }

    /// Whether `question` contains every option (then it shows them already). An empty option never counts as shown.
    static func showsAll(_ question: UnsafeBufferPointer<UInt8>, _ o: Options) -> Bool {
        o.bytes.withUnsafeBufferPointer { ob in
            for r in o.ranges {
                guard !r.isEmpty, contains(question, UnsafeBufferPointer(rebasing: ob[r])) else { return false }
            }
            return true
        }
    }

    /// Whether `needle` (not empty) occurs in `haystack`, byte for byte.
    static func contains(_ haystack: UnsafeBufferPointer<UInt8>, _ needle: UnsafeBufferPointer<UInt8>) -> Bool {
        let n = needle.count, h = haystack.count
        guard n > 0, h >= n, let hp = haystack.baseAddress, let np = needle.baseAddress else { return false }
        let first = np[0]
        var i = 0
        while i <= h - n {
            guard let hit = memchr(hp + i, Int32(first), h - n - i + 1) else { return false }
            let at = hp.distance(to: hit.assumingMemoryBound(to: UInt8.self))
            if memcmp(hp + at, np, n) == 0 { return true }
            i = at + 1
        }
        return false
    }

    /// `{"messages":[{"content":"<video>…","role":"user"`: the line's start up to the user turn's closing
    /// brace, the question with the options (one per line) after it when `options` is given.
    static func appendUserTurn(question: UnsafeBufferPointer<UInt8>, options: Options?, to out: inout [UInt8]) {
        appendLiteral(#"{"messages":[{"content":"<video>"#, to: &out)
        appendEscaped(question, to: &out)
        if let options {
            options.bytes.withUnsafeBufferPointer { ob in
                for r in options.ranges {
                    out.append(0x5C); out.append(UInt8(ascii: "n"))
                    appendEscaped(UnsafeBufferPointer(rebasing: ob[r]), to: &out)
                }
            }
        }
        appendLiteral(#"","role":"user""#, to: &out)
    }

    /// `{"messages":[{"content":"<video>…","role":"user"},{"content":"…","role":"assistant"}],"videos":["…"]}`:
    /// the user turn is the question, with the options (one per line) after it when `options` is given;
    /// `quotedVideo` is the video path already quoted. Returns where `"videos"` starts, which is where
    /// the QA ground truth's items carry `"source":"…",`.
    static func render(question: UnsafeBufferPointer<UInt8>, options: Options?, answer: UnsafeBufferPointer<UInt8>,
                       quotedVideo: [UInt8], into out: inout [UInt8]) -> Int {
        appendUserTurn(question: question, options: options, to: &out)
        appendLiteral(#"},{"content":""#, to: &out)
        appendEscaped(answer, to: &out)
        appendLiteral(#"","role":"assistant"}],"#, to: &out)
        let videosAt = out.count
        appendLiteral(#""videos":["#, to: &out)
        out.append(contentsOf: quotedVideo)
        appendLiteral("]}", to: &out)
        return videosAt
    }
}

/// 64-bit FNV-1a: the per-line fingerprint of a curation line index. It only locates the first
/// changed line; the shard's SHA-256 is what proves it unchanged.
enum FNV1a {
    static let basis: UInt64 = 0xcbf29ce484222325
    static let prime: UInt64 = 0x100000001b3

    static func hash(_ bytes: UnsafeBufferPointer<UInt8>) -> UInt64 {
        hash(bytes, from: basis)
    }

    /// The hash of `bytes` going on from `h` (the hash of the bytes before them).
    static func hash(_ bytes: UnsafeBufferPointer<UInt8>, from h: UInt64) -> UInt64 {
        var h = h
        for b in bytes { h = (h ^ UInt64(b)) &* prime }
        return h
    }

    /// Appends to `out` the hash of every line that ends in `bytes` (at a newline, which is not
    /// hashed); `carry` is the hash of the unfinished line before `bytes` (`basis` at the start of a
    /// file) and is left as that of the unfinished line after them. The same values as `hash` of each
    /// line, four lines at a time: one line is a serial chain of multiplies, so four independent
    /// chains run about three times as fast.
    static func hashLines(_ bytes: UnsafeBufferPointer<UInt8>, carry: inout UInt64, into out: inout [UInt64]) {
        guard let base = bytes.baseAddress, bytes.count > 0 else { return }
        let n = bytes.count
        var ends: [Int] = []
        var at = 0
        while at < n, let p = memchr(base + at, 0x0A, n - at) {
            let e = UnsafeRawPointer(p) - UnsafeRawPointer(base)
            ends.append(e)
            at = e + 1
        }
        guard let firstEnd = ends.first, let lastEnd = ends.last else {
            carry = hash(bytes, from: carry)
            return
        }
        out.append(hash(UnsafeBufferPointer(start: base, count: firstEnd), from: carry))
        carry = hash(UnsafeBufferPointer(start: base + lastEnd + 1, count: n - lastEnd - 1), from: basis)
        // The whole lines between: line j runs from ends[j] + 1 to ends[j + 1].
        let lines = ends.count - 1
        guard lines > 0 else { return }
        let first = out.count
        out.append(contentsOf: repeatElement(basis, count: lines))
        withUnsafeTemporaryAllocation(of: UInt8.self, capacity: 1) { idle in
            idle[0] = 0
            let idleByte = UnsafePointer(idle.baseAddress!)
            out.withUnsafeMutableBufferPointer { o in
                // Four lanes; an idle lane reads one dummy byte over and over (stride 0), its hash unused.
                var line = [Int](repeating: -1, count: 4), left = [Int](repeating: 0, count: 4)
                var ptr = [UnsafePointer<UInt8>](repeating: idleByte, count: 4), h = [UInt64](repeating: basis, count: 4)
                var next = 0
                while true {
                    for k in 0..<4 where line[k] < 0 {
                        while next < lines, ends[next + 1] == ends[next] + 1 { next += 1 }  // empty lines keep `basis`
                        guard next < lines else { break }
                        line[k] = next
                        ptr[k] = base + ends[next] + 1
                        left[k] = ends[next + 1] - ends[next] - 1
                        h[k] = basis
                        next += 1
                    }
                    var m = Int.max
                    for k in 0..<4 where line[k] >= 0 { m = min(m, left[k]) }
                    guard m != Int.max else { break }
                    var p0 = ptr[0], p1 = ptr[1], p2 = ptr[2], p3 = ptr[3]
                    let s0 = line[0] >= 0 ? 1 : 0, s1 = line[1] >= 0 ? 1 : 0, s2 = line[2] >= 0 ? 1 : 0, s3 = line[3] >= 0 ? 1 : 0
                    var h0 = h[0], h1 = h[1], h2 = h[2], h3 = h[3]
                    for _ in 0..<m {
                        h0 = (h0 ^ UInt64(p0.pointee)) &* prime
                        h1 = (h1 ^ UInt64(p1.pointee)) &* prime
                        h2 = (h2 ^ UInt64(p2.pointee)) &* prime
                        h3 = (h3 ^ UInt64(p3.pointee)) &* prime
                        p0 += s0; p1 += s1; p2 += s2; p3 += s3
                    }
                    ptr[0] = p0; ptr[1] = p1; ptr[2] = p2; ptr[3] = p3
                    h[0] = h0; h[1] = h1; h[2] = h2; h[3] = h3
                    for k in 0..<4 where line[k] >= 0 {
                        left[k] -= m
                        if left[k] == 0 {
                            o[first + line[k]] = h[k]
                            line[k] = -1
                            ptr[k] = idleByte
                        }
                    }
                }
            }
        }
    }
}

/// Hashes (SHA-256 and the FNV-1a line index) and writes the shards' filled buffers on one
/// background thread, in the order they come, while the export goes on reading and rendering:
/// about 13% of an export's CPU time since SHA-256 is swift-crypto's and the line index takes four
/// lines at a time (it was 40%). At most `depth` buffers wait at a time, so memory stays bounded.
final class ShardWriter: @unchecked Sendable {
    private let queue = DispatchQueue(label: "emocfg.export.shards", qos: .userInitiated)
    private let slots: DispatchSemaphore
    /// The first failure, set on the queue and read after `drain`.
    private var failure: (any Error)?

    init(depth: Int = 16) { slots = DispatchSemaphore(value: depth) }

    func submit(_ chunk: [UInt8], contentOffset: Int64, to file: ShardFile) {
        slots.wait()
        queue.async { [self] in
            defer { slots.signal() }
            guard failure == nil else { return }
            do { try file.write(chunk, contentOffset: contentOffset) } catch { failure = error }
        }
    }

    func close(_ file: ShardFile) {
        queue.async { [self] in
            do { try file.close() } catch { if failure == nil { failure = error } }
        }
    }

    /// Waits until everything submitted is written; throws the first failure.
    func drain() throws {
        try queue.sync { if let failure { throw failure } }
    }
}

/// The writing side of one output file; touched only on the writer's queue (and after a drain).
final class ShardFile: @unchecked Sendable {
    let partial: URL
    let zstd: Bool
    private var handle: FileHandle?
    private var hasher = SHA256Hasher()
    private var fileOffset: Int64 = 0
    /// One FNV-1a per line (lines never hold a raw newline), for shards a curation mix may use.
    private(set) var lineHashes: [UInt64]?
    private var lineHash: UInt64 = FNV1a.basis
    /// Each write: where its content starts, and where it sits in the file (a zstd frame for `.zst`).
    private(set) var chunks: [(content: Int64, file: Int64, length: Int)] = []
    private(set) var sha256 = ""

    init(partial: URL, handle: FileHandle, zstd: Bool, indexLines: Bool) {
        self.partial = partial
        self.handle = handle
        self.zstd = zstd
        lineHashes = indexLines ? [] : nil
    }

    func write(_ chunk: [UInt8], contentOffset: Int64) throws {
        guard let handle else { return }
        hasher.update(chunk)
        if lineHashes != nil {
            chunk.withUnsafeBufferPointer { FNV1a.hashLines($0, carry: &lineHash, into: &lineHashes!) }
        }
        // Each write of a compressed shard is one zstd frame; frames concatenated are one stream.
        let bytes = zstd ? [UInt8](Zstd.compress(Data(chunk))) : chunk
        try handle.write(contentsOf: bytes)
        chunks.append((contentOffset, fileOffset, bytes.count))
        fileOffset += Int64(bytes.count)
    }

    func close() throws {
        sha256 = hasher.finalizeHex()
        try handle?.close()
        handle = nil
    }

    /// After a failure: closes the file and removes it.
    func abandon() {
        try? handle?.close()
        handle = nil
        try? FileManager.default.removeItem(at: partial)
    }
}

/// One output file being written: lines go to `<path>.partial` through a buffer that the writer
/// hashes and writes in the background; `finish` closes it and says what it holds. The caller
/// renames it into place once the whole export has succeeded, so a failed export leaves the
/// previous tree as it was.
final class ShardSink {
    let path: String
    let file: ShardFile
    private let writer: ShardWriter
    private(set) var lines = 0
    private var buffer: [UInt8] = []
    /// Content offset of `buffer[0]`.
    private var bufferStart: Int64 = 0
    private let flushAt: Int
    /// One FNV-1a per line, for shards a curation mix may use (the writer computes them: read after `finish`).
    var lineHashes: [UInt64]? { file.lineHashes }
    /// Bytes written before the first line and after the last (the ground truth's array brackets).
    private let header: [UInt8]
    private let separator: [UInt8]
    private let footer: [UInt8]

    var partial: URL { file.partial }

    init(out: URL, path: String, zstd: Bool, indexLines: Bool, writer: ShardWriter,
         header: String = "", separator: String = "\n", footer: String = "\n") throws {
        self.path = path
        self.writer = writer
        let final = out.appendingPathComponent(path)
        try FileManager.default.createDirectory(at: final.deletingLastPathComponent(), withIntermediateDirectories: true)
        let partial = URL(fileURLWithPath: final.path + ".partial")
        guard FileManager.default.createFile(atPath: partial.path, contents: nil), let h = FileHandle(forWritingAtPath: partial.path) else {
            throw ExportError("cannot create \(partial.path)")
        }
        file = ShardFile(partial: partial, handle: h, zstd: zstd, indexLines: indexLines)
        flushAt = zstd ? 1 << 18 : 1 << 16
        buffer.reserveCapacity(flushAt + flushAt / 4)
        self.header = Array(header.utf8)
        self.separator = Array(separator.utf8)
        self.footer = Array(footer.utf8)
        buffer.append(contentsOf: self.header)
    }

    /// Appends one line; returns where it starts in the file's content.
    @discardableResult
    func append(_ line: UnsafeBufferPointer<UInt8>) -> Int64 {
        if lines > 0 { buffer.append(contentsOf: separator) }
        let at = bufferStart + Int64(buffer.count)
        buffer.append(contentsOf: line)
        lines += 1
        if buffer.count >= flushAt { flush() }
        return at
    }

    @discardableResult
    func append(_ line: [UInt8]) -> Int64 {
        line.withUnsafeBufferPointer { append($0) }
    }

    /// Appends the `length` bytes at content offset `offset` if they are still in the buffer.
    func buffered(offset: Int64, length: Int, into out: inout [UInt8]) -> Bool {
        guard offset >= bufferStart else { return false }
        let start = Int(offset - bufferStart)
        buffer.withUnsafeBufferPointer { out.append(contentsOf: UnsafeBufferPointer(rebasing: $0[start..<(start + length)])) }
        return true
    }

    /// Hands the buffer to the writer.
    func flush() {
        guard !buffer.isEmpty else { return }
        var chunk: [UInt8] = []
        chunk.reserveCapacity(flushAt + flushAt / 4)
        swap(&chunk, &buffer)
        writer.submit(chunk, contentOffset: bufferStart, to: file)
        bufferStart += Int64(chunk.count)
    }

    /// Closes the file; the SHA-256 covers the content (decompressed for `.zst`).
    func finish() throws -> (lines: Int, sha256: String) {
        if lines > 0 || !header.isEmpty { buffer.append(contentsOf: footer) }
        flush()
        writer.close(file)
        try writer.drain()
        return (lines, file.sha256)
    }

    /// Removes the unfinished file after a failure (once the writer is idle).
    func abandon() { file.abandon() }
}

/// Reads lines back from a shard being written (after the writer drained), by content offset, in
/// increasing order: the sampled files take their lines from the full shard's file, or from its
/// buffer for the lines not handed over yet (flushing early would move a `.zst` shard's frames).
final class ShardReadBack {
    private let sink: ShardSink
    private let file: ShardFile
    private let fd: Int32
    private var chunkIndex = -1
    /// The chunk read last (its first bytes: the buffer may be longer), and where its content ends.
    private var chunk: [UInt8] = []
    private var chunkEnd: Int64 = 0
    private var raw: [UInt8] = []

    init(_ sink: ShardSink) throws {
        self.sink = sink
        file = sink.file
        fd = open(file.partial.path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw ExportError("cannot read \(file.partial.path): \(String(cString: strerror(errno)))") }
    }

    deinit { close(fd) }

    /// Appends the `length` bytes at content offset `offset` to `out`. A line never spans two chunks:
    /// a buffer is handed over only after a whole line.
    func read(offset: Int64, length: Int, into out: inout [UInt8]) throws {
        if sink.buffered(offset: offset, length: length, into: &out) { return }
        let chunks = file.chunks
        if chunkIndex < 0 || offset < chunks[chunkIndex].content || offset >= chunkEnd {
            // Binary search for the chunk holding `offset`.
            var lo = 0, hi = chunks.count - 1
            while lo < hi {
                let mid = (lo + hi + 1) / 2
                if chunks[mid].content <= offset { lo = mid } else { hi = mid - 1 }
            }
            // pread into a buffer of our own (FileHandle.read allocates far more than it returns).
            let size = chunks[lo].length
            func readChunk(into buffer: inout [UInt8]) throws {
                if buffer.count < size { buffer = [UInt8](repeating: 0, count: size) }
                var got = 0
                while got < size {
                    let n = buffer.withUnsafeMutableBytes { pread(fd, $0.baseAddress! + got, size - got, off_t(chunks[lo].file) + off_t(got)) }
                    if n < 0 && errno == EINTR { continue }
                    guard n > 0 else { throw ExportError("\(file.partial.path): cannot read back: \(n < 0 ? String(cString: strerror(errno)) : "short file")") }
                    got += n
                }
            }
            if file.zstd {
                try readChunk(into: &raw)
                guard let plain = Zstd.decompress(Data(raw[0..<size])) else { throw ExportError("\(file.partial.path): cannot decompress a frame") }
                chunk = [UInt8](plain)
            } else {
                try readChunk(into: &chunk)
            }
            chunkEnd = chunks[lo].content + Int64(file.zstd ? chunk.count : size)
            chunkIndex = lo
        }
        let start = Int(offset - chunks[chunkIndex].content)
        guard offset + Int64(length) <= chunkEnd else { throw ExportError("\(file.partial.path): a line runs past its chunk") }
        chunk.withUnsafeBufferPointer { out.append(contentsOf: UnsafeBufferPointer(rebasing: $0[start..<(start + length)])) }
    }
}

public struct ExportError: Error, CustomStringConvertible, Sendable {
    public var description: String
    public init(_ description: String) { self.description = description }
}
