import Foundation

/// Google Gemini: `POST {base_url}/v1beta/models/{model}:generateContent`, key in `x-goog-api-key`.
public struct GeminiFormat: WireFormat {
    public init() {}

    /// The model name is percent-escaped: a space, `?` or `#` in it would otherwise change the URL.
    public func url(for model: ModelConfig) -> String {
        model.baseURL + "/v1beta/models/\(Self.pathName(model.model)):generateContent"
    }

    /// A model name as a URL path segment (also for Batch Mode's `:batchGenerateContent`).
    static func pathName(_ model: String) -> String {
        var allowed = CharacterSet.urlPathAllowed
        allowed.remove(charactersIn: ":?#")
        return model.addingPercentEncoding(withAllowedCharacters: allowed) ?? model
    }

    public func headers(for model: ModelConfig, key: String?) -> [(String, String)] {
        var h = [("Content-Type", "application/json"), ("Accept", "application/json")]
        if let key, !key.isEmpty { h.append(("x-goog-api-key", key)) }
        return h
    }

    public func body(for request: LLMRequest, model: ModelConfig) -> Data {
        let messages = model.jsonMode == .schema ? request.messages : Self.messagesWithSchemaInstruction(request)
        var body: [String: JSONValue] = [:]
        let system = messages.filter { $0.role == .system }.flatMap(\.parts)
        if !system.isEmpty { body["systemInstruction"] = .object(["parts": .array(system.map(Self.part))]) }
        body["contents"] = .array(messages.filter { $0.role != .system }.map { m in
            .object(["role": .string(m.role == .assistant ? "model" : "user"), "parts": .array(m.parts.map(Self.part))])
        })
        var generation: [String: JSONValue] = ["maxOutputTokens": .number(Double(model.maxOutputTokens))]
        if let t = model.temperature { generation["temperature"] = .number(t) }
        if let schema = request.schema, model.jsonMode != .prompt {
            generation["responseMimeType"] = "application/json"
            if model.jsonMode == .schema { generation["responseSchema"] = Self.geminiSchema(schema) }
        }
        body["generationConfig"] = .object(generation)
        return JSONValue.object(body).canonicalData
    }

    static func part(_ p: LLMPart) -> JSONValue {
        switch p {
        case .text(let t): return .object(["text": .string(t)])
        case .image(let i):
            return .object(["inline_data": .object(["mime_type": "image/jpeg", "data": .string(i.jpeg.base64EncodedString())])])
        }
    }

    /// Gemini's `responseSchema` is an OpenAPI subset: upper-case type names, and no
    /// `additionalProperties`, `$schema`, `minLength` or `pattern`. The rest carries over.
    static func geminiSchema(_ s: JSONValue) -> JSONValue {
        guard case .object(let o) = s else { return s }
        var out: [String: JSONValue] = [:]
        for (k, v) in o {
            switch k {
            case "type":
                if let t = v.stringValue { out["type"] = .string(t.uppercased()) }
                else if let ts = v.arrayValue?.compactMap(\.stringValue) {
                    // ["string", "null"] → STRING, nullable
                    if let t = ts.first(where: { $0 != "null" }) { out["type"] = .string(t.uppercased()) }
                    if ts.contains("null") { out["nullable"] = true }
                }
            case "properties":
                out["properties"] = .object((v.objectValue ?? [:]).mapValues(geminiSchema))
            case "items":
                out["items"] = geminiSchema(v)
            case "required", "enum", "description", "nullable", "minItems", "maxItems", "minimum", "maximum", "format",
                 "propertyOrdering":
                out[k] = v
            default:
                break
            }
        }
        return .object(out)
    }

    public func parse(_ body: Data) -> ProviderReply {
        guard let json = try? JSONValue.parse(body) else { return .unreadable("the response body is not valid JSON") }
        guard let candidate = json["candidates"]?.arrayValue?.first else {
            let reason = json["promptFeedback"]?["blockReason"]?.stringValue
            return .unreadable(reason.map { "no candidates (prompt blocked: \($0))" } ?? "the response has no candidates")
        }
        let parts = candidate["content"]?["parts"]?.arrayValue ?? []
        let text = parts.compactMap { $0["text"]?.stringValue }.joined()
        var usage: TokenUsage?
        if let u = json["usageMetadata"], let p = u["promptTokenCount"]?.numberValue {
            usage = TokenUsage(input: Int(p), output: Int(u["candidatesTokenCount"]?.numberValue ?? 0), estimated: false)
        }
        return .answer(text: text, usage: usage, served: json["modelVersion"]?.stringValue,
                       cut: candidate["finishReason"]?.stringValue == "MAX_TOKENS")
    }

    public func errorMessage(_ body: Data) -> String? {
        guard let json = try? JSONValue.parse(body) else { return nil }
        return json["error"]?["message"]?.stringValue
    }
}
