import Foundation

/// Answers that were paid for but could not be committed to the store (a full disk, a read-only
/// file), kept in `<store>-spill` next to it until the next run imports them.
///
/// The file's space is reserved before the first request is sent (`reserve`), so writing the few
/// answers in flight when the disk fills does not need the space that just ran out. Records are
/// JSON lines written in place over the reserved zeros and flushed to disk one by one; reading
/// stops at the first zero byte.
public final class SpillFile: @unchecked Sendable {
    public let url: URL
    /// Space reserved ahead: room for a few hundred answers.
    public static let reservedBytes = 4 << 20
    private let lock = NSLock()
    private var fd: Int32 = -1
    private var offset: off_t = 0

    public init(storePath: String) {
        url = URL(fileURLWithPath: storePath + "-spill")
    }

    deinit { if fd >= 0 { close(fd) } }

    /// One answer as spilled: the call record, with the response body base64-encoded.
    struct Record: Codable {
        var key, stage, provider, model: String
        var ok: Bool
        var httpStatus: Int?
        var response: String?
        var answer: String?
        var attempts: Int
        var tokensIn, tokensOut: Int
        var estimated: Bool
        var cost: Double
        var latencyMs: Double?
        var error: String?
        var servedModel: String?

        init(_ c: LLMCallRecord) {
            key = c.key; stage = c.stage; provider = c.provider; model = c.model; ok = c.ok; httpStatus = c.httpStatus
            response = c.response?.base64EncodedString(); answer = c.answer; attempts = c.attempts
            tokensIn = c.usage.input; tokensOut = c.usage.output; estimated = c.usage.estimated; cost = c.cost
            latencyMs = c.latencyMs; error = c.error; servedModel = c.servedModel
        }

        var call: LLMCallRecord {
            LLMCallRecord(key: key, stage: stage, provider: provider, model: model, ok: ok, httpStatus: httpStatus,
                          response: response.flatMap { Data(base64Encoded: $0) }, answer: answer, attempts: attempts,
                          usage: TokenUsage(input: tokensIn, output: tokensOut, estimated: estimated), cost: cost,
                          latencyMs: latencyMs, error: error, servedModel: servedModel)
        }
    }

    /// The calls spilled by earlier runs (none when there is no file).
    public func pending() throws -> [LLMCallRecord] {
        guard let data = FileManager.default.contents(atPath: url.path) else { return [] }
        let used = data.firstIndex(of: 0).map { data[..<$0] } ?? data[...]
        var out: [LLMCallRecord] = []
        for (n, line) in used.split(separator: UInt8(ascii: "\n")).enumerated() where !line.isEmpty {
            guard let r = try? JSONDecoder().decode(Record.self, from: Data(line)) else {
                // A line cut by a crash in the middle of its write: its answer was not kept.
                throw StoreError(path: url.path, message: "line \(n + 1) of the spill file is not a complete record; move the file away to go on (the answer on that line is lost)")
            }
            out.append(r.call)
        }
        return out
    }

    /// Imports spilled calls into `store` (adding to what it holds, as `saveCall` does) and empties
    /// the file. Throws, keeping the file, when the store still cannot be written.
    @discardableResult
    public func importInto(_ store: Store) throws -> Int {
        let calls = try pending()
        guard !calls.isEmpty else { return 0 }
        try store.write { db in
            for c in calls { try Store.insertCall(c, db) }
        }
        lock.withLock {
            if fd >= 0 { close(fd); fd = -1 }
            offset = 0
        }
        try? FileManager.default.removeItem(at: url)
        return calls.count
    }

    /// Creates the file with its space reserved, once per run, before any request is sent. A file
    /// that holds records is left alone (import it first).
    public func reserve() throws {
        try lock.withLock {
            guard fd < 0 else { return }
            let d = open(url.path, O_RDWR | O_CREAT | O_CLOEXEC, 0o644)
            guard d >= 0 else { throw StoreError(path: url.path, message: "cannot create the spill file: \(String(cString: strerror(errno)))") }
            var st = stat()
            fstat(d, &st)
            if st.st_size == 0 {
                let rc = posix_fallocate(d, 0, off_t(Self.reservedBytes))
                if rc != 0 && rc != EOPNOTSUPP && rc != EINVAL {
                    close(d)
                    try? FileManager.default.removeItem(at: url)
                    throw StoreError(path: url.path, message: "cannot reserve \(Self.reservedBytes >> 20) MiB for the spill file: \(String(cString: strerror(rc)))")
                }
            }
            fd = d
            offset = 0
        }
    }

    /// Writes one call and flushes it to disk. Throws when even the reserved space is used up.
    public func append(_ call: LLMCallRecord) throws {
        var line = try JSONEncoder().encode(Record(call))
        line.append(UInt8(ascii: "\n"))
        try lock.withLock {
            if fd < 0 {
                let d = open(url.path, O_RDWR | O_CREAT | O_CLOEXEC, 0o644)
                guard d >= 0 else { throw StoreError(path: url.path, message: "cannot open the spill file: \(String(cString: strerror(errno)))") }
                fd = d
            }
            let written = line.withUnsafeBytes { pwrite(fd, $0.baseAddress, $0.count, offset) }
            guard written == line.count else {
                throw StoreError(path: url.path, message: "cannot write the spill file: \(String(cString: strerror(errno)))")
            }
            offset += off_t(written)
            fsync(fd)
        }
    }

    /// Removes the reserved file when it holds nothing (the end of a run that spilled nothing).
    public func removeIfEmpty() {
        lock.withLock {
            guard offset == 0 else { return }
            if fd >= 0 { close(fd); fd = -1 }
            if let data = FileManager.default.contents(atPath: url.path), data.allSatisfy({ $0 == 0 }) {
                try? FileManager.default.removeItem(at: url)
            }
        }
    }
}

extension Store {
    /// Free bytes on the file system holding the store, if the system says.
    public func freeBytes() -> Int64? {
        var s = statvfs()
        let dir = URL(fileURLWithPath: path).deletingLastPathComponent().path
        guard statvfs(dir.isEmpty ? "." : dir, &s) == 0 else { return nil }
        return Int64(s.f_bavail) * Int64(s.f_frsize)
    }
}
