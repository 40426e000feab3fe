import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1

/// Where a provider says a batch job is, in the lane's words.
public enum BatchPhase: String, Sendable, Equatable {
    case pending, running, finalizing, cancelling
    case completed, failed, expired, cancelled

    /// The provider will not change the job any more.
    public var hasEnded: Bool { [.completed, .failed, .expired, .cancelled].contains(self) }
}

/// A provider's view of one job.
public struct BatchStatus: Sendable, Equatable {
    public var phase: BatchPhase
    /// The state as the provider wrote it (`in_progress`, `BATCH_STATE_RUNNING`, …).
    public var raw: String
    public var total: Int?
    public var done: Int?
    public var failed: Int?
    /// OpenAI: the output and error files; Gemini: the responses file.
    public var outputFileID: String?
    public var errorFileID: String?
    /// Gemini inline jobs: the responses, in the status itself.
    public var inlineRows: [BatchRow]?
    /// Why the job failed as a whole, in the provider's words.
    public var errors: [String] = []
}

/// One answered, failed or unrun request of a job, matched to its request by key.
public struct BatchRow: Sendable, Equatable {
    public var key: String
    /// The HTTP status the request got (nil when it never ran).
    public var status: Int?
    /// The response body as the online API would have answered it (chat completion / GenerateContentResponse).
    public var body: Data?
    /// The provider's error for the request.
    public var error: String?
    /// Not run: the job expired or was cancelled first (`batch_expired`, `batch_cancelled`).
    public var notRun = false

    public init(key: String, status: Int?, body: Data?, error: String?, notRun: Bool = false) {
        self.key = key
        self.status = status
        self.body = body
        self.error = error
        self.notRun = notRun
    }
}

/// A management call of a batch API that failed.
public struct BatchAPIError: Error, CustomStringConvertible, Sendable {
    public var status: Int?
    public var message: String
    /// Whether asking again later may work (a transport error, 429, 5xx).
    public var transient: Bool
    public var description: String { (status.map { "HTTP \($0): " } ?? "") + message }
}

/// One provider's batch API: files, jobs, results. Implementations speak the published wire format
/// (see `OpenAIBatchAPI`, `GeminiBatchAPI`); the lane knows nothing of either.
public protocol BatchAPI: Sendable {
    /// The line for one request in the job's input file (without the newline).
    func line(key: String, body: Data) -> Data
    /// An uploaded input file named for `jobID`, if an earlier (killed) run uploaded it.
    func findUploadedFile(jobID: String) async throws(BatchAPIError) -> String?
    /// Uploads the job's input file; nil when the job is sent without a file (Gemini inline requests).
    func upload(jobID: String, file: URL, bytes: Int) async throws(BatchAPIError) -> String?
    /// The provider's id of the job created for `jobID`, if one was (its create call's answer may be lost).
    func findJob(jobID: String) async throws(BatchAPIError) -> String?
    /// Creates the job; returns its id.
    func create(jobID: String, stage: String, inputFileID: String?, file: URL) async throws(BatchAPIError) -> String
    func status(of id: String) async throws(BatchAPIError) -> BatchStatus
    /// The rows of an ended job (from its files or its inline responses).
    func rows(of status: BatchStatus) async throws(BatchAPIError) -> [BatchRow]
    func cancel(_ id: String) async throws(BatchAPIError)
}

/// The batch API of a model's provider.
public func batchAPI(for model: ModelConfig, key: String?, http: HTTPClient) -> any BatchAPI {
    let caller = BatchHTTP(http: http, key: key, provider: model.provider)
    switch model.provider {
    case .openai: return OpenAIBatchAPI(model: model, http: caller)
    case .gemini: return GeminiBatchAPI(model: model, http: caller)
    }
}

/// HTTP for the management calls: retries transport errors, 429 and 5xx with backoff (honouring
/// `Retry-After`), except where a retry could create a second job (`retry: false`).
struct BatchHTTP: Sendable {
    let http: HTTPClient
    let key: String?
    let provider: ModelConfig.Provider
    var attempts = 5
    var timeout: TimeAmount = .seconds(600)

    struct Response {
        var status: Int
        var headers: HTTPHeaders
        var body: Data
    }

    func call(_ method: HTTPMethod, _ url: String, headers: [(String, String)] = [], body: Data? = nil,
              retry: Bool = true) async throws(BatchAPIError) -> Response {
        var attempt = 0
        var last = BatchAPIError(status: nil, message: "not sent", transient: true)
        while attempt < (retry ? attempts : 1) {
            attempt += 1
            var req = HTTPClientRequest(url: url)
            req.method = method
            for (n, v) in authHeaders() + headers { req.headers.add(name: n, value: v) }
            if let body { req.body = .bytes(ByteBuffer(bytes: body)) }
            do {
                let response = try await http.execute(req, timeout: timeout)
                let buffer = try await response.body.collect(upTo: 4 << 30)
                let data = Data(buffer.readableBytesView)
                let status = Int(response.status.code)
                if (200..<300).contains(status) { return Response(status: status, headers: response.headers, body: data) }
                let message = redact(errorMessage(data) ?? String(decoding: data.prefix(300), as: UTF8.self))
                last = BatchAPIError(status: status, message: "\(method.rawValue) \(Self.path(url)): \(message)",
                                     transient: status == 429 || status >= 500 || status == 408)
                guard last.transient else { throw last }
                var delay = min(30, 0.5 * pow(2, Double(attempt - 1))) * Double.random(in: 0.5...1)
                if let ra = response.headers.first(name: "retry-after").flatMap(Double.init) { delay = min(ra, 300) }
                if attempt < (retry ? attempts : 1) { try? await Task.sleep(nanoseconds: UInt64(delay * 1e9)) }
            } catch let e as BatchAPIError {
                throw e
            } catch {
                last = BatchAPIError(status: nil, message: "\(method.rawValue) \(Self.path(url)): \(redact("\(error)"))", transient: true)
                if attempt < (retry ? attempts : 1) {
                    try? await Task.sleep(nanoseconds: UInt64(min(30, 0.5 * pow(2, Double(attempt - 1))) * 1e9))
                }
            }
        }
        throw last
    }

    /// The URL's path, for messages (never its query, which may hold a key).
    static func path(_ url: String) -> String {
        guard let u = URL(string: url) else { return url }
        return u.path
    }

    func json(_ method: HTTPMethod, _ url: String, body: JSONValue? = nil, retry: Bool = true) async throws(BatchAPIError) -> JSONValue {
        let r = try await call(method, url, headers: body == nil ? [] : [("Content-Type", "application/json")],
                               body: body?.canonicalData, retry: retry)
        guard let v = try? JSONValue.parse(r.body) else {
            throw BatchAPIError(status: r.status, message: "\(method.rawValue) \(Self.path(url)): the answer is not JSON", transient: true)
        }
        return v
    }

    func authHeaders() -> [(String, String)] {
        guard let key, !key.isEmpty else { return [] }
        switch provider {
        case .openai: return [("Authorization", "Bearer \(key)")]
        case .gemini: return [("x-goog-api-key", key)]
        }
    }

    func errorMessage(_ data: Data) -> String? {
        guard let json = try? JSONValue.parse(data) else { return nil }
        return json["error"]?["message"]?.stringValue ?? json["error"]?.stringValue
    }

    func redact(_ text: String) -> String {
        guard let key, key.count >= 4 else { return text }
        return text.replacingOccurrences(of: key, with: "[key redacted]")
    }
}

extension BatchRow {
    /// Rows from JSON Lines, one per non-empty line; `parse` reads one line's object.
    static func lines(_ data: Data, _ parse: (JSONValue) -> BatchRow?) -> [BatchRow] {
        var out: [BatchRow] = []
        data.withUnsafeBytes { (raw: UnsafeRawBufferPointer) in
            let bytes = raw.bindMemory(to: UInt8.self)
            var start = 0
            for i in 0...bytes.count {
                guard i == bytes.count || bytes[i] == 0x0A else { continue }
                if i > start, let v = try? JSONValue.parse(bytes: UnsafeBufferPointer(rebasing: bytes[start..<i])), let row = parse(v) {
                    out.append(row)
                }
                start = i + 1
            }
        }
        return out
    }
}
