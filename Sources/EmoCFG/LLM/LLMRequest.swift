import Foundation

/// A JPEG image sent to a model, with its SHA-256: the cache key uses the digest, not the bytes.
public struct LLMImage: Sendable, Equatable {
    public var jpeg: Data
    public var digest: String
    public init(jpeg: Data) {
        self.jpeg = jpeg
        self.digest = SHA256Digest.hex(jpeg)
    }
}

/// One piece of a message: text or an image.
public enum LLMPart: Sendable, Equatable {
    case text(String)
    case image(LLMImage)
}

/// One turn of a conversation.
public struct LLMMessage: Sendable, Equatable {
    public enum Role: String, Sendable {
        case system
        case user
        case assistant
    }
    public var role: Role
    public var parts: [LLMPart]
    public init(role: Role, parts: [LLMPart]) {
        self.role = role
        self.parts = parts
    }
    public static func system(_ text: String) -> LLMMessage { LLMMessage(role: .system, parts: [.text(text)]) }
    public static func user(_ parts: [LLMPart]) -> LLMMessage { LLMMessage(role: .user, parts: parts) }
}

/// A provider-neutral request: what a stage asks of a model. The client turns it into the wire
/// format of the model's provider, caches it, limits its rate and pays for it.
public struct LLMRequest: Sendable, Equatable {
    /// The stage asking (`caption`, `qa`, …), for accounting.
    public var stage: String
    public var messages: [LLMMessage]
    /// The JSON Schema the answer must satisfy; nil for free text.
    public var schema: JSONValue?
    /// A short name for the schema (OpenAI's `json_schema.name`).
    public var schemaName: String
    /// The prompt file's id and SHA-256: a changed prompt is a new request.
    public var promptID: String
    public var promptHash: String
    /// Checks of the answer beyond its schema; an answer that fails one is unusable (retried, then
    /// failed with the reason). Not part of the cache key: they decide what is kept, not what is asked.
    public var checks: [AnswerCheck] = []
    /// The step of a chain of requests (the caption chain's attribute, expression, emotion), for the
    /// batch lane's jobs (each step is its own job). Not part of the cache key.
    public var step: Int?

    public init(stage: String, messages: [LLMMessage], schema: JSONValue?, schemaName: String,
                promptID: String, promptHash: String) {
        self.stage = stage
        self.messages = messages
        self.schema = schema
        self.schemaName = schemaName
        self.promptID = promptID
        self.promptHash = promptHash
    }

    public var imageCount: Int {
        messages.reduce(0) { $0 + $1.parts.filter { if case .image = $0 { return true } else { return false } }.count }
    }

    public var textLength: Int {
        messages.reduce(0) { $0 + $1.parts.reduce(0) { n, p in if case .text(let t) = p { return n + t.count } else { return n } } }
    }

    /// The cache key: SHA-256 of the canonical request for `model`: what determines the answer
    /// (provider, model name, parameters, messages with image digests instead of bytes, schema,
    /// prompt hash), never where the server is (a local server restarted on another port, or a
    /// proxy, still answers from the cache; `base_url` stays in the call record) and never the key.
    public func cacheKey(for model: ModelConfig) -> String {
        SHA256Digest.hex(canonical(for: model, endpoint: nil).canonicalData)
    }

    /// The key as versions up to 0.6 computed it, with the base URL in it: looked up when the
    /// current key is not in the store, so caches made by earlier versions keep answering.
    public func legacyCacheKey(for model: ModelConfig) -> String {
        SHA256Digest.hex(canonical(for: model, endpoint: model.baseURL).canonicalData)
    }

    private func canonical(for model: ModelConfig, endpoint: String?) -> JSONValue {
        let messages: [JSONValue] = self.messages.map { m in
            .object(["role": .string(m.role.rawValue), "parts": .array(m.parts.map { p in
                switch p {
                case .text(let t): return .object(["text": .string(t)])
                case .image(let i): return .object(["image_sha256": .string(i.digest)])
                }
            })])
        }
        var fields: [String: JSONValue] = [
            "provider": .string(model.provider.rawValue), "model": .string(model.model),
            "json_mode": .string(model.jsonMode.rawValue), "temperature": model.temperature.map { .number($0) } ?? .null,
            "max_output_tokens": .number(Double(model.maxOutputTokens)), "messages": .array(messages),
            "schema": schema.map(SchemaOrder.withoutOrdering) ?? .null, "schema_name": .string(schemaName), "prompt_hash": .string(promptHash),
        ]
        if let endpoint { fields["endpoint"] = .string(endpoint) }
        return .object(fields)
    }

    /// Input tokens, estimated before sending: about four characters a token, plus a fixed count per image.
    public func estimatedInputTokens(for model: ModelConfig) -> Int {
        let schemaChars = schema?.canonical.count ?? 0
        return (textLength + schemaChars) / 4 + 1 + imageCount * model.imageTokens
    }
}

/// A check of an answer that a JSON Schema cannot express.
public enum AnswerCheck: String, Sendable, Equatable {
    /// A verdict (`pass`, `wrong_aspects`) that passes while listing wrong aspects contradicts itself.
    case passMeansNoWrongAspects = "pass_means_no_wrong_aspects"
    /// An affective tree whose structure is broken (ids repeated, an edge to a missing node or not
    /// one level down, an expression that supports no emotion): see `AffectiveTree`.
    case affectiveTree = "affective_tree"

    /// Why `answer` fails the check, or nil.
    public func problem(_ answer: JSONValue) -> String? {
        switch self {
        case .passMeansNoWrongAspects:
            if answer["pass"]?.boolValue == true, let wrong = answer["wrong_aspects"]?.arrayValue, !wrong.isEmpty {
                return "the verdict passes the sample while listing wrong aspects (\(wrong.compactMap(\.stringValue).joined(separator: ", ")))"
            }
            return nil
        case .affectiveTree:
            let problems = AffectiveTree.problems(in: answer)
            return problems.isEmpty ? nil : "the affective tree is broken: " + problems.joined(separator: "; ")
        }
    }
}

/// Token counts of one call, as the server reported them or as estimated.
public struct TokenUsage: Sendable, Equatable, Codable {
    public var input: Int
    public var output: Int
    public var estimated: Bool
    public init(input: Int, output: Int, estimated: Bool) {
        self.input = input
        self.output = output
        self.estimated = estimated
    }
}

/// A model's answer.
public struct LLMAnswer: Sendable, Equatable {
    /// The answer text as the model wrote it.
    public var text: String
    /// The answer parsed and validated against the request's schema (nil for free text).
    public var json: JSONValue?
    public var usage: TokenUsage
    public var cost: Double
    /// True when it came from the store and nothing was sent.
    public var cached: Bool
    /// The cache key of the call.
    public var key: String
    public var attempts: Int

    public init(text: String, json: JSONValue?, usage: TokenUsage, cost: Double, cached: Bool, key: String, attempts: Int) {
        self.text = text
        self.json = json
        self.usage = usage
        self.cost = cost
        self.cached = cached
        self.key = key
        self.attempts = attempts
    }
}
