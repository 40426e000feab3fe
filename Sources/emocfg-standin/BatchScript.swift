/// How the next batch jobs behave, posted to `POST /_standin/batch`: a list of scripts, each
/// applied to the next `times` jobs created (of `provider`, when given), in order.
///
/// `{"delay_ms": N}`: the job reaches its end state N ms after creation (intermediate states in
/// between: the first tenth validating/PENDING, then in_progress/RUNNING, the last fifth
/// finalizing for OpenAI). `{"expire": true, "done_fraction": 0.5}`: it ends expired with that
/// fraction of its rows answered and the others as expired error rows. `{"fail": true, "message":
/// "…"}`: the whole job fails. `{"fail_rows": "all", "status": 500}`: it ends completed/SUCCEEDED
/// but every row (or the first fraction, `"fail_rows": 0.5`) is an error row with that status.
/// `{"lose_id": true}`: the job is created but the create call is answered by closing the
/// connection. `done_fraction` without `expire` sets how many rows a cancel keeps done.
struct BatchScript: Sendable {
    var delayMs = 0
    var expire = false
    var doneFraction: Double?
    var fail = false
    var failMessage: String?
    /// The fraction of rows answered with `failRowsStatus` instead of an answer (1: all).
    var failRows: Double?
    var failRowsStatus = 500
    var loseID = false
    var provider: Provider?
    var remaining = 1

    init() {}

    init(_ json: JSON) throws {
        guard case .object = json else { throw BadRequest(message: "a batch script must be an object like {\"delay_ms\": 0}") }
        let known: Set<String> = ["delay_ms", "expire", "done_fraction", "fail", "message", "fail_rows", "status", "lose_id", "provider", "times"]
        for (key, _) in json.members ?? [] where !known.contains(key) {
            throw BadRequest(message: "unknown batch script field '\(key)'; known: \(known.sorted().joined(separator: ", "))")
        }
        if let d = json["delay_ms"] {
            guard let n = d.integer, n >= 0 else { throw BadRequest(message: "delay_ms must be a whole number ≥ 0") }
            delayMs = n
        }
        expire = Self.flag(json["expire"])
        fail = Self.flag(json["fail"])
        loseID = Self.flag(json["lose_id"])
        failMessage = json["message"]?.string
        if let f = json["done_fraction"] {
            guard let x = f.number, (0...1).contains(x) else { throw BadRequest(message: "done_fraction must be a number from 0 to 1") }
            doneFraction = x
        }
        switch json["fail_rows"] {
        case nil, .null?: break
        case .string("all")?, .bool(true)?: failRows = 1
        case let v?:
            guard let x = v.number, (0...1).contains(x) else { throw BadRequest(message: "fail_rows must be \"all\" or a fraction from 0 to 1") }
            failRows = x
        }
        if let s = json["status"] {
            guard let n = s.integer, (400..<600).contains(n) else { throw BadRequest(message: "status must be an HTTP error status (400…599)") }
            failRowsStatus = n
        }
        if let p = json["provider"], !p.isNull {
            guard let name = p.string, let provider = Provider(rawValue: name) else { throw BadRequest(message: "provider must be openai or gemini") }
            self.provider = provider
        }
        if let t = json["times"] {
            guard let n = t.integer, n >= 1 else { throw BadRequest(message: "times must be a whole number ≥ 1") }
            remaining = n
        }
        if expire && fail { throw BadRequest(message: "a script cannot both expire and fail") }
    }

    private static func flag(_ v: JSON?) -> Bool { if case .bool(true)? = v { true } else { false } }

    var json: JSON {
        object(("delay_ms", .int(delayMs)), ("expire", expire ? .bool(true) : nil), ("done_fraction", doneFraction.map(JSON.double)),
               ("fail", fail ? .bool(true) : nil), ("message", failMessage.map(JSON.string)),
               ("fail_rows", failRows.map(JSON.double)), ("status", failRows != nil ? .int(failRowsStatus) : nil),
               ("lose_id", loseID ? .bool(true) : nil), ("provider", provider.map { .string($0.rawValue) }), ("times", .int(remaining)))
    }
}

/// The providers' documented limits, made smaller by `POST /_standin/batch/limits` for tests of
/// splitting. OpenAI: 50,000 requests and 200 MB per input file; Gemini: 20 MB of inline requests.
struct BatchLimits: Sendable {
    static let openAIMaxRequests = 50_000
    static let openAIMaxBytes = 200 * 1024 * 1024
    static let geminiMaxInlineBytes = 20 * 1024 * 1024

    var maxRequests: Int?
    var maxBytes: Int?
    var maxInlineBytes: Int?

    var requests: Int { maxRequests ?? Self.openAIMaxRequests }
    var bytes: Int { maxBytes ?? Self.openAIMaxBytes }
    var inlineBytes: Int { maxInlineBytes ?? Self.geminiMaxInlineBytes }

    var json: JSON {
        object(("max_requests", .int(requests)), ("max_bytes", .int(bytes)), ("max_inline_bytes", .int(inlineBytes)))
    }
}

/// Delays (`POST /_standin/batch/stall`) of the answers to uploads, job creations and result
/// downloads, each after the server has done its part, so a test can kill the client then.
struct BatchStall: Sendable {
    var uploadMs = 0
    var createMs = 0
    var downloadMs = 0

    var json: JSON { object(("upload_ms", .int(uploadMs)), ("create_ms", .int(createMs)), ("download_ms", .int(downloadMs))) }
}
