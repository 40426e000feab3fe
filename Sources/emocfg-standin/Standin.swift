import Dispatch
import Foundation
import NIOHTTP1

/// What the server does with one request, decided before anything is written.
struct Reply: Sendable {
    enum Action: Sendable {
        case send(status: Int, headers: [(String, String)], body: [UInt8])
        /// Close the connection without a byte of answer.
        case drop
    }

    var action: Action
    var delayMs = 0
    /// The model whose in-flight count this request holds until it is answered.
    var inFlight: String?
    /// The request's digest (path and body), for counting distinct requests; nil for control calls.
    var digest: String?
}

/// The stand-in's behaviour, apart from the sockets: routes a request to a provider, checks the
/// key, applies the rate window and the scripted faults, writes the answer, and counts it all.
///
/// Event-loop threads call it concurrently; one lock guards the counters, the fault queue and the
/// rate window (each request holds it for microseconds; answers are built outside it).
final class Standin: @unchecked Sendable {
    let options: StandinOptions
    private let lock = NSLock()
    private var counters = Counters()
    private var faults: [ScriptedFault] = []
    private var answers: [ScriptedAnswer] = []
    /// Arrival times (ns, monotonic) of the requests admitted in the last 60 s, oldest first.
    private var window: [UInt64] = []
    private var windowStart = 0
    /// The hidden concurrency limit per model (`--capacity`, `POST /_standin/capacity`).
    private var capacity: Int?
    /// Until when (monotonic ns) every provider request gets `outageStatus` (`POST /_standin/outage`).
    private var outageUntil: UInt64 = 0
    private var outageStatus = 503
    /// Files and jobs of the batch lane (OpenAI Batch API, Gemini Batch Mode).
    let batch = BatchJobs()

    init(options: StandinOptions) {
        self.options = options
        capacity = options.capacity
    }

    func handle(method: HTTPMethod, uri: String, headers: HTTPHeaders, body: [UInt8]) -> Reply {
        let (path, query) = Self.split(uri)
        if path.hasPrefix("/_standin/") { return control(method: method, path: path, body: body) }
        if method == .GET, path == "/props" || path == "/v1/props" {
            // llama.cpp's server properties: what a client can check before sending images.
            return Reply(action: .send(status: 200, headers: [("content-type", "application/json")], body: object(
                ("modalities", object(("vision", .bool(!options.textOnly)), ("audio", .bool(false)))),
                ("model_path", .string(options.servedModel ?? "standin.gguf"))).bytes))
        }

        if let route = batchRoute(method: method, path: path, query: query, headers: headers, body: body) {
            // Batch calls carry whole files: counted by path, not digested.
            lock.withLock { counters.arrived(path: path) }
            var reply = route
            reply.delayMs += options.latencyMs
            if case .send(let status, _, _) = reply.action { lock.withLock { counters.byStatus[String(status), default: 0] += 1 } }
            return reply
        }
        let digest = Self.digest(path: path, body: body)
        lock.withLock {
            counters.arrived(path: path)
            counters.arrived(digest: digest)
        }
        var reply = api(method: method, path: path, query: query, headers: headers, body: body)
        reply.delayMs += options.latencyMs
        reply.digest = digest
        if case .send(let status, _, _) = reply.action { lock.withLock { counters.byStatus[String(status), default: 0] += 1 } }
        return reply
    }

    /// Counts accepted connections: with keep-alive, many requests share few connections.
    func connectionOpened() { lock.withLock { counters.connections += 1 } }

    /// Called once the answer is written (`delivered`: to a connection still open), or the
    /// connection dropped or found closed (its client gone, e.g. killed while waiting).
    func finished(_ reply: Reply, delivered: Bool) {
        lock.withLock {
            if let model = reply.inFlight { counters.leave(model) }
            if delivered, let digest = reply.digest {
                counters.bodies[digest, default: BodyCount()].delivered += 1
                counters.bodies[digest, default: BodyCount()].deliveredAt.append(Self.nowMs())
            }
        }
    }

    /// Wall-clock milliseconds since 1970, so a script can line the events up with its own clock.
    static func nowMs() -> Int { Int((Date().timeIntervalSince1970 * 1000).rounded()) }

    /// A stable 64-bit FNV-1a digest of a request's path and body, as 16 hex digits: the same
    /// request gets the same digest in every run (Swift's `Hasher` is seeded per process).
    static func digest(path: String, body: [UInt8]) -> String {
        var h: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in Array(path.utf8) + [0] + body {
            h ^= UInt64(byte)
            h = h &* 0x0000_0100_0000_01b3
        }
        let hex = String(h, radix: 16)
        return String(repeating: "0", count: 16 - hex.count) + hex
    }

    // MARK: - Provider endpoints

    private func api(method: HTTPMethod, path: String, query: [String: String], headers: HTTPHeaders, body: [UInt8]) -> Reply {
        let provider: Provider, pathModel: String?
        // Exactly the paths the real servers serve: a wrong base URL must get a 404, as it would.
        if path == "/v1/chat/completions" || path == "/chat/completions" {
            (provider, pathModel) = (.openai, nil)
        } else if let model = Self.geminiModel(path) {
            (provider, pathModel) = (.gemini, model)
        } else {
            return errorReply(.openai, 404, "Invalid URL (\(method.rawValue) \(path))", code: "unknown_url")
        }
        guard method == .POST else {
            return errorReply(provider, 405, "Invalid method for URL (\(method.rawValue) \(path)): use POST")
        }

        let (key, refusal) = authorize(provider, headers: headers, query: query)
        if let refusal { return refusal }
        guard let key else { return errorReply(provider, 401) }

        let request: ChatRequest
        do {
            let json = try JSON.parse(body)
            request = provider == .openai ? try ChatRequest(openAIBody: json) : try ChatRequest(geminiBody: json, model: pathModel ?? "")
        } catch let e as BadRequest {
            return errorReply(provider, 400, e.message)
        } catch {
            return errorReply(provider, 400, provider == .openai
                ? "We could not parse the JSON body of your request. (\(error))"
                : "Invalid JSON payload received. \(error)")
        }

        // Admission: the rate window first (a real provider limits before it looks at anything),
        // then faults, then scripted answers: a request that is refused or faulted consumes none,
        // so a test's answer for judge A still waits for the retry after A's scripted 503.
        let admission: (retryAfter: Int?, fault: ScriptedFault?, scripted: String?, refused: Int?) = lock.withLock {
            counters.byModel[request.model, default: 0] += 1
            counters.byProvider[provider.rawValue, default: 0] += 1
            let order = request.propertyOrder
            if !order.isEmpty { counters.propertyOrders[order.joined(separator: ","), default: 0] += 1 }
            if let retryAfter = admit() {
                counters.rateLimited += 1
                return (retryAfter, nil, nil, nil)
            }
            if DispatchTime.now().uptimeNanoseconds < outageUntil {
                counters.outageRefused += 1
                return (nil, nil, nil, outageStatus)
            }
            if let capacity, counters.inFlight[request.model, default: 0] >= capacity {
                counters.capacityRefused += 1
                return (nil, nil, nil, 429)
            }
            let fault = takeFault(for: request)
            if let fault { counters.faultsServed[fault.name, default: 0] += 1 }
            let scripted = fault == nil ? takeAnswer(for: request) : nil
            if scripted != nil { counters.scriptedAnswersServed += 1 }
            counters.enter(request.model)
            return (nil, fault, scripted, nil)
        }
        if let refused = admission.refused {
            return errorReply(provider, refused, refused == 429
                ? (provider == .openai ? "The server is overloaded (too many requests at once for \(request.model)); please retry." : "Resource has been exhausted (e.g. check quota).")
                : (provider == .openai ? "The server is temporarily unavailable." : "The model is overloaded. Please try again later."))
        }
        if let retryAfter = admission.retryAfter {
            return errorReply(provider, 429, provider == .openai
                ? "Rate limit reached for \(request.model): limit \(options.rpm ?? 0) requests per minute. Please try again in \(retryAfter)s."
                : "Resource has been exhausted (e.g. check quota).", retryAfter: retryAfter)
        }
        if options.textOnly, !request.images.isEmpty {
            // What llama.cpp's llama-server answers when its model has no vision projector.
            lock.withLock { counters.leave(request.model) }
            return errorReply(provider, 500, "image input is not supported - hint: if this is unexpected, you may need to provide the mmproj")
        }
        if admission.fault?.kind == .echoKey {
            var reply = Reply(action: .send(status: 200, headers: [("content-type", "text/plain")],
                                            body: Array("upstream proxy error: could not forward the request made with key \(key)".utf8)))
            reply.inFlight = request.model
            return reply
        }
        var reply = answer(request, fault: admission.fault, scripted: admission.scripted)
        reply.inFlight = request.model
        return reply
    }

    /// The request's key, or the provider's 401: OpenAI takes `Authorization: Bearer`, Gemini
    /// `x-goog-api-key` (or `?key=`).
    func authorize(_ provider: Provider, headers: HTTPHeaders, query: [String: String]) -> (key: String?, refusal: Reply?) {
        let key: String? = switch provider {
        case .openai: headers.first(name: "authorization").flatMap { auth in
                auth.lowercased().hasPrefix("bearer ") ? String(auth.dropFirst(7)).trimmingCharacters(in: .whitespaces) : nil
            }
        case .gemini: headers.first(name: "x-goog-api-key") ?? query["key"]
        }
        guard let key, !key.isEmpty else {
            return (nil, errorReply(provider, 401, provider == .openai
                ? "You didn't provide an API key. You need to provide your API key in an Authorization header using Bearer auth (i.e. Authorization: Bearer YOUR_KEY)."
                : "Method doesn't allow unregistered callers (callers without established identity). Please use API Key or other form of API consumer identity to call this API.",
                code: provider == .openai ? "missing_api_key" : nil))
        }
        // Neither message repeats the key: clients log provider errors, and a key must never reach a log.
        if let expected = options.key, key != expected {
            return (nil, errorReply(provider, 401, provider == .openai
                ? "Incorrect API key provided. You can find your API key at https://platform.openai.com/account/api-keys."
                : "API key not valid. Please pass a valid API key."))
        }
        return (key, nil)
    }

    /// One row of a batch job, answered as a chat request would be (scripted faults, then scripted
    /// answers, then an instance of the schema), without the rate window, outage or capacity, which
    /// batch jobs do not share with online calls. A status fault (and a dropped connection, which
    /// a batch row cannot have: 500) makes the row an error row with that status.
    func batchAnswer(_ request: ChatRequest) -> (status: Int, body: JSON) {
        let (fault, scripted): (ScriptedFault?, String?) = lock.withLock {
            counters.byModel[request.model, default: 0] += 1
            counters.batchRows += 1
            let fault = takeFault(for: request)
            if let fault { counters.faultsServed[fault.name, default: 0] += 1 }
            let scripted = fault == nil ? takeAnswer(for: request) : nil
            if scripted != nil { counters.scriptedAnswersServed += 1 }
            return (fault, scripted)
        }
        switch fault?.kind {
        case .status(let status)?: return (status, ProviderReply.error(request.provider, status: status))
        case .drop?, .echoKey?: return (500, ProviderReply.error(request.provider, status: 500))
        default: break
        }
        let answer = Answer(for: request, violatingSchema: fault?.kind == .schemaViolation, scripted: scripted)
        let empty = fault?.kind == .empty
        lock.withLock {
            counters.promptTokens += answer.promptTokens
            counters.completionTokens += empty ? 0 : answer.completionTokens
        }
        return (200, ProviderReply.success(request, answer: answer, emptyContent: empty, servedModel: options.servedModel))
    }

    private func answer(_ request: ChatRequest, fault: ScriptedFault?, scripted: String?) -> Reply {
        let provider = request.provider
        switch fault?.kind {
        case .status(let status)?:
            let retryAfter = status == 429 ? fault?.retryAfter : nil
            var reply = errorReply(provider, status, retryAfter: retryAfter)
            if let retryAfter, fault?.retryAfterDate == true {
                reply.replaceHeader("retry-after", with: Self.httpDate(Date(timeIntervalSince1970: Date().timeIntervalSince1970.rounded(.up) + Double(retryAfter))))
            }
            return reply
        case .drop?:
            return Reply(action: .drop)
        default: break
        }
        let answer = Answer(for: request, violatingSchema: fault?.kind == .schemaViolation, scripted: scripted)
        let empty = fault?.kind == .empty
        var body = ProviderReply.success(request, answer: answer, emptyContent: empty, servedModel: options.servedModel).bytes
        if fault?.kind == .truncated { body = Array(body.prefix(body.count / 2)) }
        lock.withLock {
            counters.promptTokens += answer.promptTokens
            counters.completionTokens += empty ? 0 : answer.completionTokens
        }
        return Reply(action: .send(status: 200, headers: [("content-type", Self.contentType(provider))], body: body),
                     delayMs: fault?.kind == .slow ? fault?.delayMs ?? 0 : 0)
    }

    func errorReply(_ provider: Provider, _ status: Int, _ message: String? = nil, retryAfter: Int? = nil, code: String? = nil) -> Reply {
        var headers = [("content-type", Self.contentType(provider))]
        if let retryAfter { headers.append(("retry-after", String(retryAfter))) }
        let body = ProviderReply.error(provider, status: status, message: message, retryAfter: retryAfter, code: code).bytes
        return Reply(action: .send(status: status, headers: headers, body: body))
    }

    /// `nil` when the request fits in the `--rpm` window, else the seconds until it would.
    /// Only admitted requests occupy the window, so a client that backs off is served again.
    private func admit() -> Int? {
        let now = DispatchTime.now().uptimeNanoseconds
        guard let rpm = options.rpm else { return nil }
        let minute: UInt64 = 60_000_000_000
        while windowStart < window.count, now - window[windowStart] >= minute { windowStart += 1 }
        if windowStart > 4096 { window.removeFirst(windowStart); windowStart = 0 }
        guard window.count - windowStart < rpm else {
            let wait = minute - (now - window[windowStart])
            return max(1, Int((wait + 999_999_999) / 1_000_000_000))
        }
        window.append(now)
        return nil
    }

    private func takeFault(for request: ChatRequest) -> ScriptedFault? {
        guard let i = faults.firstIndex(where: { $0.matches(request) }) else { return nil }
        // `every: n`: only every n-th matching request gets the fault; the others are answered normally.
        faults[i].seen += 1
        guard faults[i].seen % faults[i].every == 0 else { return nil }
        let fault = faults[i]
        faults[i].remaining -= 1
        if faults[i].remaining == 0 { faults.remove(at: i) }
        return fault
    }

    /// The text of the first pending answer that matches, counted down (unless it is for ever).
    private func takeAnswer(for request: ChatRequest) -> String? {
        guard !answers.isEmpty else { return nil }
        let requestText = answers.contains { $0.match != nil } ? request.texts.joined(separator: "\n") : ""
        guard let i = answers.firstIndex(where: { $0.matches(request, requestText: requestText) }) else { return nil }
        let text = answers[i].text
        if !answers[i].isForever {
            answers[i].remaining -= 1
            if answers[i].remaining == 0 { answers.remove(at: i) }
        }
        return text
    }

    // MARK: - Control endpoints

    private func control(method: HTTPMethod, path: String, body: [UInt8]) -> Reply {
        func json(_ status: Int, _ value: JSON) -> Reply {
            Reply(action: .send(status: status, headers: [("content-type", "application/json")], body: value.bytes))
        }
        switch (method, path) {
        case (.GET, "/_standin/stats"):
            let batchStats = batch.statsJSON
            var stats = lock.withLock { counters.json(pendingFaults: faults.reduce(0) { $0 + $1.remaining }, pendingAnswers: answers.count) }
            if case .object(var members) = stats {
                members.append((key: "batch", value: batchStats))
                stats = .object(members)
            }
            return json(200, stats)
        case (.GET, "/_standin/batch/keys"):
            return json(200, batch.keysJSON)
        case (.GET, "/_standin/batch"):
            return json(200, object(("scripts", batch.pendingScripts), ("limits", batch.currentLimits.json), ("stall", batch.currentStall.json)))
        case (.POST, "/_standin/batch"):
            do {
                let posted = try JSON.parse(body)
                let list = posted.array ?? posted["scripts"]?.array ?? [posted]
                let parsed = try list.map(BatchScript.init)
                return json(200, object(("queued", .int(parsed.count)), ("pending", .int(batch.addScripts(parsed)))))
            } catch let e as BadRequest {
                return json(400, object(("error", .string(e.message))))
            } catch {
                return json(400, object(("error", .string("batch scripts must be a JSON list: \(error)"))))
            }
        case (.POST, "/_standin/batch/limits"):
            guard let posted = try? JSON.parse(body), case .object = posted else {
                return json(400, object(("error", .string("expected {\"max_requests\": N, \"max_bytes\": N, \"max_inline_bytes\": N}"))))
            }
            var limits = BatchLimits()
            for (name, path) in [("max_requests", \BatchLimits.maxRequests), ("max_bytes", \BatchLimits.maxBytes), ("max_inline_bytes", \BatchLimits.maxInlineBytes)] {
                switch posted[name] {
                case nil, .null?: break
                case let v?:
                    guard let n = v.integer, n >= 1 else { return json(400, object(("error", .string("\(name) must be a whole number ≥ 1, or null for the documented limit")))) }
                    limits[keyPath: path] = n
                }
            }
            batch.setLimits(limits)
            return json(200, limits.json)
        case (.POST, "/_standin/batch/stall"):
            guard let posted = try? JSON.parse(body), case .object = posted else {
                return json(400, object(("error", .string("expected {\"upload_ms\": N, \"create_ms\": N, \"download_ms\": N}"))))
            }
            var stall = BatchStall()
            for (name, path) in [("upload_ms", \BatchStall.uploadMs), ("create_ms", \BatchStall.createMs), ("download_ms", \BatchStall.downloadMs)] {
                switch posted[name] {
                case nil, .null?: break
                case let v?:
                    guard let n = v.integer, n >= 0 else { return json(400, object(("error", .string("\(name) must be a whole number ≥ 0")))) }
                    stall[keyPath: path] = n
                }
            }
            batch.setStall(stall)
            return json(200, stall.json)
        case (.GET, "/_standin/digests"):
            // Each distinct request's digest with how often it arrived and was delivered, and when
            // (wall-clock ms).
            return json(200, lock.withLock {
                .object(counters.bodies.sorted { $0.key < $1.key }.map {
                    ($0.key, object(("arrived", .int($0.value.arrived)), ("delivered", .int($0.value.delivered)),
                                    ("arrived_at", .array($0.value.arrivedAt.map { .int($0) })),
                                    ("delivered_at", .array($0.value.deliveredAt.map { .int($0) }))))
                })
            })
        case (.GET, "/_standin/faults"):
            return json(200, .array(lock.withLock { faults.map(\.json) }))
        case (.POST, "/_standin/faults"):
            do {
                let posted = try JSON.parse(body)
                let list = posted.array ?? posted["faults"]?.array ?? [posted]
                let parsed = try list.map(ScriptedFault.init)
                let pending = lock.withLock {
                    faults += parsed
                    return faults.reduce(0) { $0 + $1.remaining }
                }
                return json(200, object(("queued", .int(parsed.count)), ("pending", .int(pending))))
            } catch let e as BadRequest {
                return json(400, object(("error", .string(e.message))))
            } catch {
                return json(400, object(("error", .string("faults must be a JSON list: \(error)"))))
            }
        case (.GET, "/_standin/answers"):
            return json(200, .array(lock.withLock { answers.map(\.json) }))
        case (.POST, "/_standin/answers"):
            do {
                let posted = try JSON.parse(body)
                let list = posted.array ?? posted["answers"]?.array ?? [posted]
                let parsed = try list.map(ScriptedAnswer.init)
                let pending = lock.withLock {
                    answers += parsed
                    return answers.count
                }
                return json(200, object(("queued", .int(parsed.count)), ("pending", .int(pending))))
            } catch let e as BadRequest {
                return json(400, object(("error", .string(e.message))))
            } catch {
                return json(400, object(("error", .string("answers must be a JSON list: \(error)"))))
            }
        case (.POST, "/_standin/capacity"):
            guard let posted = try? JSON.parse(body) else { return json(400, object(("error", .string("expected {\"concurrent\": N}")))) }
            let value: Int?
            switch posted["concurrent"] {
            case .int(let n)? where n >= 1: value = n
            case .null?, nil: value = nil
            default: return json(400, object(("error", .string("concurrent must be a whole number ≥ 1, or null to remove the limit"))))
            }
            lock.withLock { capacity = value }
            return json(200, object(("concurrent", value.map { .int($0) } ?? .null)))
        case (.POST, "/_standin/outage"):
            guard let posted = try? JSON.parse(body), case .int(let seconds)? = posted["seconds"], seconds >= 0 else {
                return json(400, object(("error", .string("expected {\"seconds\": S, \"status\": 503}"))))
            }
            var status = 503
            if case .int(let s)? = posted["status"], (400...599).contains(s) { status = s }
            lock.withLock {
                outageUntil = DispatchTime.now().uptimeNanoseconds + UInt64(seconds) * 1_000_000_000
                outageStatus = status
            }
            return json(200, object(("seconds", .int(seconds)), ("status", .int(status))))
        case (.POST, "/_standin/reset"):
            lock.withLock {
                outageUntil = 0
                faults = []
                answers = []
                window = []
                windowStart = 0
                counters.reset()
            }
            batch.reset()
            return json(200, object(("reset", .bool(true))))
        default:
            return json(404, object(("error", .string("unknown control endpoint \(method.rawValue) \(path); try GET /_standin/stats, GET /_standin/digests, GET|POST /_standin/faults, GET|POST /_standin/answers, POST /_standin/capacity, POST /_standin/outage, GET|POST /_standin/batch, POST /_standin/batch/limits, POST /_standin/batch/stall, GET /_standin/batch/keys, POST /_standin/reset"))))
        }
    }

    // MARK: - Wire details

    static func contentType(_ provider: Provider) -> String {
        provider == .openai ? "application/json" : "application/json; charset=UTF-8"
    }

    static func split(_ uri: String) -> (path: String, query: [String: String]) {
        guard let q = uri.firstIndex(of: "?") else { return (uri, [:]) }
        var query: [String: String] = [:]
        for pair in uri[uri.index(after: q)...].split(separator: "&") {
            let kv = pair.split(separator: "=", maxSplits: 1)
            let name = String(kv[0]).removingPercentEncoding ?? String(kv[0])
            query[name] = kv.count > 1 ? (String(kv[1]).removingPercentEncoding ?? String(kv[1])) : ""
        }
        return (String(uri[..<q]), query)
    }

    /// The model of `…/models/{model}:generateContent` (`/v1beta/` or `/v1/`), percent-decoded.
    static func geminiModel(_ path: String) -> String? {
        let suffix = ":generateContent"
        guard path.hasSuffix(suffix), path.hasPrefix("/v1beta/models/") || path.hasPrefix("/v1/models/"),
              let range = path.range(of: "/models/", options: .backwards) else { return nil }
        let model = String(path[range.upperBound..<path.index(path.endIndex, offsetBy: -suffix.count)])
        return model.isEmpty ? nil : (model.removingPercentEncoding ?? model)
    }

    /// RFC 9110 IMF-fixdate, e.g. `Sun, 06 Nov 1994 08:49:37 GMT`.
    static func httpDate(_ date: Date) -> String {
        let f = DateFormatter()
        f.locale = Locale(identifier: "en_US_POSIX")
        f.timeZone = TimeZone(identifier: "GMT")
        f.dateFormat = "EEE, dd MMM yyyy HH:mm:ss 'GMT'"
        return f.string(from: date)
    }
}

extension Reply {
    mutating func replaceHeader(_ name: String, with value: String) {
        guard case .send(let status, var headers, let body) = action else { return }
        headers.removeAll { $0.0 == name }
        headers.append((name, value))
        action = .send(status: status, headers: headers, body: body)
    }
}

/// What `GET /_standin/stats` reports.
struct Counters {
    var connections = 0
    var requests = 0
    var byPath: [String: Int] = [:]
    var byModel: [String: Int] = [:]
    var byProvider: [String: Int] = [:]
    var byStatus: [String: Int] = [:]
    var faultsServed: [String: Int] = [:]
    /// Requests answered with a text posted to `/_standin/answers`.
    var scriptedAnswersServed = 0
    /// 429s sent because of `--rpm` (scripted 429s count under `faults_served`).
    var rateLimited = 0
    /// 429s sent because of the hidden concurrency limit (`--capacity`).
    var capacityRefused = 0
    /// Requests answered with the outage status (`POST /_standin/outage`).
    var outageRefused = 0
    var promptTokens = 0
    var completionTokens = 0
    /// Rows of batch jobs answered through the chat path.
    var batchRows = 0
    /// Requests by the order of their schema's top-level properties ("rationale,cues,emotion").
    var propertyOrders: [String: Int] = [:]
    var inFlight: [String: Int] = [:]
    /// The most requests of each model being answered at once: shows a client's concurrency limit.
    var maxInFlight: [String: Int] = [:]
    var totalInFlight = 0
    var maxTotalInFlight = 0
    /// Provider requests by digest of path and body: how often each arrived and was delivered.
    var bodies: [String: BodyCount] = [:]
    /// Arrivals of a request already received before (`requests` minus `distinct_requests`).
    var repeated = 0
    /// Of those, arrivals of a request whose answer had already been delivered: the client got it
    /// and asks again (a duplicate, unless it was killed between receiving and keeping it). The
    /// others repeat a request whose answer never reached an open connection (in flight at a kill).
    var repeatedAfterDelivery = 0

    mutating func arrived(path: String) {
        requests += 1
        byPath[path, default: 0] += 1
    }

    mutating func arrived(digest: String) {
        let before = bodies[digest, default: BodyCount()]
        if before.arrived > 0 { repeated += 1 }
        if before.delivered > 0 { repeatedAfterDelivery += 1 }
        bodies[digest] = BodyCount(arrived: before.arrived + 1, delivered: before.delivered,
                                   arrivedAt: before.arrivedAt + [Standin.nowMs()], deliveredAt: before.deliveredAt)
    }

    mutating func enter(_ model: String) {
        inFlight[model, default: 0] += 1
        maxInFlight[model] = max(maxInFlight[model] ?? 0, inFlight[model]!)
        totalInFlight += 1
        maxTotalInFlight = max(maxTotalInFlight, totalInFlight)
    }

    mutating func leave(_ model: String) {
        inFlight[model, default: 1] -= 1
        totalInFlight -= 1
    }

    /// Everything back to zero but the requests still being answered.
    mutating func reset() {
        let live = (inFlight.filter { $0.value > 0 }, totalInFlight)
        self = Counters()
        (inFlight, totalInFlight) = live
        maxInFlight = live.0
        maxTotalInFlight = live.1
    }

    func json(pendingFaults: Int, pendingAnswers: Int) -> JSON {
        func table(_ d: [String: Int]) -> JSON { .object(d.sorted { $0.key < $1.key }.map { ($0.key, .int($0.value)) }) }
        return object(
            ("requests", .int(requests)),
            ("distinct_requests", .int(bodies.count)),
            ("repeated_requests", .int(repeated)),
            ("repeated_after_delivery", .int(repeatedAfterDelivery)),
            ("connections", .int(connections)),
            ("by_path", table(byPath)),
            ("by_model", table(byModel)),
            ("by_provider", table(byProvider)),
            ("by_status", table(byStatus)),
            ("faults_served", table(faultsServed)),
            ("faults_pending", .int(pendingFaults)),
            ("scripted_answers_served", .int(scriptedAnswersServed)),
            ("scripted_answers_pending", .int(pendingAnswers)),
            ("rate_limited", .int(rateLimited)),
            ("capacity_refused", .int(capacityRefused)),
            ("outage_refused", .int(outageRefused)),
            ("prompt_tokens", .int(promptTokens)),
            ("completion_tokens", .int(completionTokens)),
            ("batch_rows_answered", .int(batchRows)),
            ("property_orders", table(propertyOrders)),
            ("in_flight", .int(totalInFlight)),
            ("max_in_flight", .int(maxTotalInFlight)),
            ("max_in_flight_by_model", table(maxInFlight)))
    }
}

/// How often one distinct request arrived, and how often its answer reached an open connection.
struct BodyCount {
    var arrived = 0
    var delivered = 0
    /// When it arrived and when it was delivered, wall-clock ms.
    var arrivedAt: [Int] = []
    var deliveredAt: [Int] = []
}
