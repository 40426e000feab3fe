/// A misbehaviour a test asks for through `POST /_standin/faults`: the next `times` requests that
/// match its filters get it instead of a normal answer, in the order the faults were posted.
///
/// `{"fault": "429", "times": 2, "model": "gpt-4o", "retry_after": 3}`; `"every": 2` faults only every
/// second matching request (the others are answered normally), for a steady share of failures. Kinds: an HTTP status
/// (`"429"`, `"500"`, `"503"`, any other 4xx/5xx), `"slow"` (answers after `delay_ms`), `"drop"`
/// (closes the connection without answering), `"truncated"` (half the body, valid HTTP, invalid
/// JSON), `"schema_violation"` (valid JSON the schema rejects), `"empty"` (empty content) and
/// `"echo_key"` (HTTP 200 with a plain-text body that repeats the request's key, as a broken proxy
/// might: for checking that clients never store or print a key a server sends back).
struct ScriptedFault: Sendable {
    enum Kind: Sendable, Equatable {
        case status(Int)
        case slow
        case drop
        case truncated
        case schemaViolation
        case empty
        case echoKey
    }

    var kind: Kind
    /// The name the fault was posted under, as counted in `faults_served`.
    var name: String
    var remaining: Int
    var model: String?
    var provider: Provider?
    /// Seconds sent in `Retry-After` with a 429.
    var retryAfter: Int
    /// Send `Retry-After` as an HTTP date instead of seconds.
    var retryAfterDate: Bool
    var delayMs: Int
    /// Apply to every `every`-th matching request only (`"every": 2` faults half of them).
    var every: Int
    var seen = 0

    init(_ json: JSON) throws {
        guard case .object = json else { throw BadRequest(message: "a fault must be an object like {\"fault\": \"429\"}") }
        let name: String
        switch json["fault"] {
        case .string(let s)?: name = s
        case .int(let i)?: name = String(i)
        default: throw BadRequest(message: "a fault needs \"fault\": one of 429, 500, 503 (or any 4xx/5xx), slow, drop, truncated, schema_violation, empty")
        }
        switch name {
        case "slow": kind = .slow
        case "drop": kind = .drop
        case "truncated": kind = .truncated
        case "schema_violation": kind = .schemaViolation
        case "empty": kind = .empty
        case "echo_key": kind = .echoKey
        default:
            guard let status = Int(name), (400..<600).contains(status) else {
                throw BadRequest(message: "unknown fault '\(name)': expected 429, 500, 503 (or any 4xx/5xx), slow, drop, truncated, schema_violation, empty")
            }
            kind = .status(status)
        }
        self.name = name
        remaining = json["times"]?.integer ?? 1
        guard remaining > 0 else { throw BadRequest(message: "fault '\(name)': times must be at least 1") }
        model = json["model"]?.string
        if let p = json["provider"]?.string {
            guard let provider = Provider(rawValue: p) else { throw BadRequest(message: "fault '\(name)': provider must be openai or gemini") }
            self.provider = provider
        }
        retryAfter = json["retry_after"]?.integer ?? 1
        retryAfterDate = { if case .bool(true)? = json["retry_after_date"] { return true } else { return false } }()
        delayMs = json["delay_ms"]?.integer ?? 3000
        every = json["every"]?.integer ?? 1
        guard every >= 1 else { throw BadRequest(message: "fault '\(name)': every must be at least 1") }
    }

    func matches(_ request: ChatRequest) -> Bool {
        (model == nil || model == request.model) && (provider == nil || provider == request.provider)
    }

    var json: JSON {
        object(("fault", .string(name)), ("times", .int(remaining)), ("model", model.map(JSON.string)),
               ("provider", provider.map { .string($0.rawValue) }))
    }
}
