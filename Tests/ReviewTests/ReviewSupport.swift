import EmoCFG
import Foundation
import Ingest
import Review
import TestSupport
import XCTest
#if canImport(Glibc)
import Glibc
#endif

/// An HTTP answer as the raw client read it.
struct HTTPAnswer {
    var status: Int
    var headers: [(String, String)]
    var body: [UInt8]
    var text: String { String(decoding: body, as: UTF8.self) }
    func header(_ name: String) -> String? { headers.first { $0.0.lowercased() == name.lowercased() }?.1 }
    var json: JSONValue { (try? JSONValue.parse(text)) ?? .null }
}

/// A minimal HTTP/1.1 client over a loopback socket: the request line goes out exactly as written
/// (`..`, `%2e`, `//` untouched by any URL type), so the tests see what the server makes of it.
enum RawHTTP {
    static func send(port: Int, _ method: String, _ target: String, headers: [String: String] = [:], body: String = "",
                     host: String? = nil) throws -> HTTPAnswer {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw HumanReviewError("socket: \(errno)") }
        defer { close(fd) }
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_port = in_port_t(UInt16(port).bigEndian)
        addr.sin_addr.s_addr = inet_addr("127.0.0.1")
        let ok = withUnsafePointer(to: &addr) { p in
            p.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard ok == 0 else { throw HumanReviewError("connect to 127.0.0.1:\(port): errno \(errno)") }
        var head = "\(method) \(target) HTTP/1.1\r\nHost: \(host ?? "127.0.0.1:\(port)")\r\nConnection: close\r\n"
        var all = headers
        if !body.isEmpty || method == "POST" { all["Content-Length"] = "\(body.utf8.count)" }
        for (k, v) in all.sorted(by: { $0.key < $1.key }) { head += "\(k): \(v)\r\n" }
        let bytes = Array((head + "\r\n" + body).utf8)
        var sent = 0
        while sent < bytes.count {
            let n = bytes[sent...].withUnsafeBufferPointer { Glibc.send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            guard n > 0 else { throw HumanReviewError("send: errno \(errno)") }
            sent += n
        }
        var received: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 65536)
        while true {
            let n = recv(fd, &buffer, buffer.count, 0)
            if n <= 0 { break }
            received += buffer[0..<n]
        }
        return try parse(received)
    }

    static func parse(_ bytes: [UInt8]) throws -> HTTPAnswer {
        guard let end = (0..<max(0, bytes.count - 3)).first(where: { bytes[$0] == 13 && bytes[$0 + 1] == 10 && bytes[$0 + 2] == 13 && bytes[$0 + 3] == 10 }) else {
            throw HumanReviewError("no HTTP answer (\(bytes.count) bytes)")
        }
        let lines = String(decoding: bytes[0..<end], as: UTF8.self).components(separatedBy: "\r\n")
        let status = Int(lines[0].split(separator: " ")[1]) ?? 0
        let headers = lines.dropFirst().compactMap { line -> (String, String)? in
            guard let colon = line.firstIndex(of: ":") else { return nil }
            return (String(line[..<colon]), line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces))
        }
        var body = Array(bytes[(end + 4)...])
        if headers.contains(where: { $0.0.lowercased() == "transfer-encoding" && $0.1.lowercased().contains("chunked") }) {
            var out: [UInt8] = [], i = 0
            while i < body.count {
                guard let lineEnd = (i..<body.count - 1).first(where: { body[$0] == 13 && body[$0 + 1] == 10 }),
                      let size = Int(String(decoding: body[i..<lineEnd], as: UTF8.self).split(separator: ";")[0], radix: 16) else { break }
                if size == 0 { break }
                out += body[(lineEnd + 2)..<(lineEnd + 2 + size)]
                i = lineEnd + 2 + size + 2
            }
            body = out
        }
        return HTTPAnswer(status: status, headers: headers, body: body)
    }

    /// A form body (`application/x-www-form-urlencoded`).
    static func form(_ fields: [(String, String)]) -> String {
        var allowed = CharacterSet.alphanumerics
        allowed.insert(charactersIn: "-._~")
        return fields.map { "\($0.0)=\($0.1.addingPercentEncoding(withAllowedCharacters: allowed) ?? "")" }.joined(separator: "&")
    }
}

/// A review server on a free loopback port for one test.
final class RunningReview: @unchecked Sendable {
    let server: ReviewServer
    let port: Int
    private let task: Task<Void, Error>

    init(store: Store, settings: ReviewSettings) throws {
        var settings = settings
        settings.port = 0
        server = try ReviewServer(store: store, settings: settings)
        let box = PortBox()
        let s = server
        task = Task { try await s.run { port in box.set(port) } }
        var port: Int?
        for _ in 0..<1000 where port == nil {
            port = box.get()
            if port == nil { usleep(10_000) }
        }
        guard let port else {
            task.cancel()
            throw HumanReviewError("the review server did not start")
        }
        self.port = port
    }

    func stop() {
        task.cancel()
        let t = task
        _ = try? blocking { try? await t.value }
    }

    var csrf: String { server.settings.sessionToken }

    func get(_ target: String, headers: [String: String] = [:], host: String? = nil) throws -> HTTPAnswer {
        try RawHTTP.send(port: port, "GET", target, headers: headers, host: host)
    }

    func post(_ target: String, _ fields: [(String, String)], headers: [String: String] = [:]) throws -> HTTPAnswer {
        var h = headers
        h["Content-Type"] = "application/x-www-form-urlencoded"
        return try RawHTTP.send(port: port, "POST", target, headers: h, body: RawHTTP.form(fields))
    }

    /// Decides through the page's form, with the session token.
    func decide(_ uid: String, _ decision: String, reason: String = "", answer: String? = nil, back: String = "") throws -> HTTPAnswer {
        var fields = [("csrf", csrf), ("uid", uid), ("decision", decision), ("reason", reason), ("back", back)]
        if let answer { fields.append(("answer", answer)) }
        return try post("/decide", fields)
    }

    func queue(_ query: String = "") throws -> JSONValue {
        try get("/queue.json" + (query.isEmpty ? "" : "?" + query)).json
    }
}

final class PortBox: @unchecked Sendable {
    private let lock = NSLock()
    private var port: Int?
    func set(_ p: Int) { lock.lock(); port = p; lock.unlock() }
    func get() -> Int? { lock.lock(); defer { lock.unlock() }; return port }
}

/// A store with two sources' clips and samples in every state the queue orders by.
struct ReviewFixture {
    static let repo = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    let store: Store
    /// The RAVDESS clips (video files with sidecar face boxes) and the CelebV-HQ ones.
    let ravdess: [String]
    let celebv: [String]

    /// Judges split 2–1, accepted.
    var split: String { "caption/\(ravdess[0])/split" }
    /// Rejected, rewritten, and the rewrite rejected unanimously: the queue shows the rewrite.
    var rejectedOriginal: String { "caption/\(ravdess[0])/rejected" }
    var rejected: String { "caption/\(ravdess[0])/rejected#r1" }
    /// Not voted on yet.
    var pending: String { "qa/\(ravdess[1])/pending" }
    /// Accepted unanimously.
    var accepted: String { "caption/\(ravdess[1])/accepted" }
    /// Accepted unanimously, of the other source.
    var otherSource: String { "caption/\(celebv[0])/accepted" }

    static let judges = ["judge-a", "judge-b", "judge-c"]

    init() throws {
        store = try Store(path: try temporaryStorePath())
        let config = try SourcesConfig.load(Self.repo.appendingPathComponent("samples/sources.yaml"), adapters: AdapterRegistry.names)
        let s = store
        _ = try blocking { try await IngestRunner(store: s, config: config, jobs: 2).run(sources: ["RAVDESS", "CelebV-HQ"]) }
        let clips = try store.clips().filter { $0.status == .ok && $0.record.kind == .video }
        // Clips with a face box first (the page draws it).
        ravdess = clips.filter { $0.source == "RAVDESS" }.sorted { ($0.face == nil ? 1 : 0, $0.uid) < ($1.face == nil ? 1 : 0, $1.uid) }.map(\.uid)
        celebv = clips.filter { $0.source == "CelebV-HQ" }.map(\.uid)
        guard ravdess.count >= 2, !celebv.isEmpty else { throw XCTSkip("the RAVDESS and CelebV-HQ replicas did not ingest") }

        func sample(_ uid: String, clip: String, stage: String = "caption", task: SampleTask = .emotion, answer: String,
                    parent: String? = nil, round: Int = 0) -> NewSample {
            NewSample(uid: uid, clipUID: clip, stage: stage, task: task, form: stage == "qa" ? .open : .caption,
                      content: ["question": "What emotion does the person show?", "answer": .string(answer)],
                      promptID: "\(stage)/test", promptHash: "h", model: "writer", parentUID: parent, round: round)
        }
        try store.upsertSamples([
            sample(split, clip: ravdess[0], answer: "SPLIT-ANSWER: the person looks calm."),
            sample(rejectedOriginal, clip: ravdess[0], answer: "ORIGINAL-ANSWER: the person is furious."),
            sample(pending, clip: ravdess[1], stage: "qa", task: .qa, answer: "PENDING-ANSWER: a woman."),
            sample(accepted, clip: ravdess[1], answer: "ACCEPTED-ANSWER: the person smiles with joy."),
            sample(otherSource, clip: celebv[0], answer: "OTHER-ANSWER: the person is surprised."),
        ])
        func vote(_ uid: String, _ passes: [Bool], round: Int = 0) throws {
            for (judge, pass) in zip(Self.judges, passes) {
                try store.saveVerdict(Verdict(sampleUID: uid, round: round, judge: judge, pass: pass, wrongAspects: pass ? [] : ["emotion"],
                                              suggestion: pass ? "" : "SUGGESTION-\(judge): name the emotion the face shows", llmCall: nil))
            }
        }
        try vote(split, [true, true, false])
        try store.decide(sample: split, status: .accepted, reasons: nil)
        try vote(rejectedOriginal, [false, false, true])
        try store.decide(sample: rejectedOriginal, status: .rejected, reasons: "rewritten: judge-a: emotion",
                         rewrite: sample(rejected, clip: ravdess[0], answer: "REWRITE-ANSWER: the person is very furious.",
                                         parent: rejectedOriginal, round: 1))
        try vote(rejected, [false, false, false], round: 1)
        try store.decide(sample: rejected, status: .rejected, reasons: "judge-a: emotion")
        try vote(accepted, [true, true, true])
        try store.decide(sample: accepted, status: .accepted, reasons: nil)
        try vote(otherSource, [true, true, true])
        try store.decide(sample: otherSource, status: .accepted, reasons: nil)
    }
}
