import Foundation

/// The text of one answer and the token counts the provider would bill for it.
struct Answer: Sendable {
    /// What a provider counts for one image: Gemini bills 258 tokens per image up to 384 px; one
    /// fixed figure keeps estimates easy to check.
    static let tokensPerImage = 258

    var content: String
    let seed: AnswerSeed
    /// The answer was cut at `max_tokens`, as a provider does (`finish_reason: "length"`).
    var cutAtMaxTokens = false
    var promptTokens: Int
    var completionTokens: Int

    /// The answer the request asks for: an instance of its schema (given, or embedded in the
    /// prompt), `{"answer": …}` for JSON without a schema, a short sentence otherwise; or the
    /// `scripted` text a test posted, billed and cut at `max_tokens` like any other answer.
    init(for request: ChatRequest, violatingSchema: Bool = false, scripted: String? = nil) {
        seed = AnswerSeed(request)
        let schema = request.schema ?? EmbeddedSchema.find(in: request.texts)
        if let scripted {
            content = scripted
        } else if let schema {
            let generator = SchemaInstance(root: schema, seed: seed)
            content = (violatingSchema ? generator.violation() : generator.instance()).text
        } else if request.wantsJSON {
            content = violatingSchema ? "[]" : object(("answer", .string("Stand-in answer to “\(seed.quote)” [\(seed.tag)]"))).text
        } else {
            content = "Stand-in answer to “\(seed.quote)” [\(seed.tag)]"
        }
        promptTokens = request.texts.reduce(0) { $0 + Answer.estimateTokens($1) } + request.images.count * Answer.tokensPerImage
        completionTokens = max(1, Answer.estimateTokens(content))
        if let limit = request.maxTokens, limit > 0, completionTokens > limit {
            // A real provider stops mid-answer at the limit; so does the stand-in (by bytes, on a character boundary).
            var cut = ""
            for ch in content {
                if cut.utf8.count + ch.utf8.count > limit * 4 { break }
                cut.append(ch)
            }
            content = cut
            completionTokens = limit
            cutAtMaxTokens = true
        }
    }

    /// About four characters a token, the rule of thumb for English.
    static func estimateTokens(_ text: String) -> Int { (text.utf8.count + 3) / 4 }
}

/// Bodies in the shapes the providers send: successes and errors.
enum ProviderReply {
    static func success(_ request: ChatRequest, answer: Answer, emptyContent: Bool, servedModel: String? = nil) -> JSON {
        let id = String(answer.seed.digest, radix: 16)
        let completion = emptyContent ? 0 : answer.completionTokens
        switch request.provider {
        case .openai:
            return object(
                ("id", .string("chatcmpl-standin\(id)")),
                ("object", .string("chat.completion")),
                ("created", .int(Int(Date().timeIntervalSince1970))),
                ("model", .string(servedModel ?? request.model)),
                ("choices", .array([object(
                    ("index", .int(0)),
                    ("message", object(
                        ("role", .string("assistant")),
                        ("content", .string(emptyContent ? "" : answer.content)),
                        ("refusal", .null),
                        ("annotations", .array([])))),
                    ("logprobs", .null),
                    ("finish_reason", .string(answer.cutAtMaxTokens && !emptyContent ? "length" : "stop")))])),
                ("usage", object(
                    ("prompt_tokens", .int(answer.promptTokens)),
                    ("completion_tokens", .int(completion)),
                    ("total_tokens", .int(answer.promptTokens + completion)))),
                ("service_tier", .string("default")),
                ("system_fingerprint", .string("fp_standin")))
        case .gemini:
            // An empty Gemini answer is a candidate whose content has no parts at all, which is how
            // Gemini reports a turn that produced nothing.
            let content: JSON = emptyContent
                ? object(("role", .string("model")))
                : object(("parts", .array([object(("text", .string(answer.content)))])), ("role", .string("model")))
            return object(
                ("candidates", .array([object(
                    ("content", content),
                    ("finishReason", .string(answer.cutAtMaxTokens && !emptyContent ? "MAX_TOKENS" : "STOP")),
                    ("index", .int(0)))])),
                ("usageMetadata", object(
                    ("promptTokenCount", .int(answer.promptTokens)),
                    ("candidatesTokenCount", .int(completion)),
                    ("totalTokenCount", .int(answer.promptTokens + completion)))),
                ("modelVersion", .string(servedModel ?? request.model)),
                ("responseId", .string("standin\(id)")))
        }
    }

    /// OpenAI: `{"error": {"message", "type", "param", "code"}}`; Gemini: `{"error": {"code",
    /// "message", "status"}}`, with a `RetryInfo` detail on 429 as Gemini sends it.
    static func error(_ provider: Provider, status: Int, message: String? = nil, retryAfter: Int? = nil, code: String? = nil) -> JSON {
        let message = message ?? defaultMessage(provider, status)
        switch provider {
        case .openai:
            let (type, defaultCode): (String, String?) = switch status {
            case 401: ("invalid_request_error", "invalid_api_key")
            case 404: ("invalid_request_error", "model_not_found")
            case 429: ("requests", "rate_limit_exceeded")
            case 500..<600: ("server_error", nil)
            default: ("invalid_request_error", nil)
            }
            return object(("error", object(
                ("message", .string(message)),
                ("type", .string(type)),
                ("param", .null),
                ("code", (code ?? defaultCode).map(JSON.string) ?? .null))))
        case .gemini:
            var details: JSON?
            if status == 429, let retryAfter {
                details = .array([object(
                    ("@type", .string("type.googleapis.com/google.rpc.RetryInfo")),
                    ("retryDelay", .string("\(retryAfter)s")))])
            }
            return object(("error", object(
                ("code", .int(status)),
                ("message", .string(message)),
                ("status", .string(geminiStatus(status))),
                ("details", details))))
        }
    }

    static func geminiStatus(_ status: Int) -> String {
        switch status {
        case 400, 413: "INVALID_ARGUMENT"
        case 401: "UNAUTHENTICATED"
        case 403: "PERMISSION_DENIED"
        case 404: "NOT_FOUND"
        case 429: "RESOURCE_EXHAUSTED"
        case 503, 502: "UNAVAILABLE"
        case 504: "DEADLINE_EXCEEDED"
        default: "INTERNAL"
        }
    }

    private static func defaultMessage(_ provider: Provider, _ status: Int) -> String {
        switch (provider, status) {
        case (.openai, 429): "Rate limit reached for requests. Please try again later."
        case (.gemini, 429): "Resource has been exhausted (e.g. check quota)."
        case (.openai, 500): "The server had an error while processing your request. Sorry about that!"
        case (.gemini, 500): "An internal error has occurred. Please retry or report in https://developers.generativeai.google/guide/troubleshooting"
        case (.openai, 503): "The engine is currently overloaded, please try again later."
        case (.gemini, 503): "The model is overloaded. Please try again later."
        case (_, 400): "Bad request."
        case (_, 403): "Permission denied."
        case (_, 404): "Not found."
        default: "HTTP \(status) from the stand-in (scripted fault)."
        }
    }
}
