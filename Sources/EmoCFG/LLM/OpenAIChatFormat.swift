import Foundation

/// OpenAI chat completions, as OpenAI, vLLM, SGLang, Ollama and llama.cpp's `llama-server` speak it:
/// `POST {base_url}/chat/completions`, `Authorization: Bearer <key>`.
public struct OpenAIChatFormat: WireFormat {
    public init() {}

    public func url(for model: ModelConfig) -> String { model.baseURL + "/chat/completions" }

    public func headers(for model: ModelConfig, key: String?) -> [(String, String)] {
        var h = [("Content-Type", "application/json"), ("Accept", "application/json")]
        if let key, !key.isEmpty { h.append(("Authorization", "Bearer \(key)")) }
        return h
    }

    public func body(for request: LLMRequest, model: ModelConfig) -> Data {
        let messages = model.jsonMode == .schema ? request.messages : Self.messagesWithSchemaInstruction(request)
        var body: [String: JSONValue] = [
            "model": .string(model.model),
            "messages": .array(messages.map(Self.message)),
            "max_tokens": .number(Double(model.maxOutputTokens)),
        ]
        if let t = model.temperature { body["temperature"] = .number(t) }
        if let schema = request.schema {
            switch model.jsonMode {
            case .schema:
                // The schema goes in as written (properties in their authored order), spliced into
                // the otherwise canonical body.
                body["response_format"] = .object(["type": "json_schema", "json_schema": .object([
                    "name": .string(request.schemaName), "schema": .string(Self.schemaSlot), "strict": true,
                ])])
                let text = JSONValue.object(body).canonical
                let slot = "\"" + Self.schemaSlot + "\""
                guard let r = text.range(of: slot, options: .backwards) else { return Data(text.utf8) }
                return Data(text.replacingCharacters(in: r, with: SchemaOrder.wireText(schema)).utf8)
            case .object:
                body["response_format"] = .object(["type": "json_object"])
            case .prompt:
                break
            }
        }
        return JSONValue.object(body).canonicalData
    }

    /// Stands for the schema in the body until the schema's ordered text replaces it (the last
    /// occurrence: `response_format` is written after `messages`, keys being sorted).
    static let schemaSlot = "@@emocfg-schema@@"

    /// A system or assistant turn as a plain string; a user turn with images as content parts.
    static func message(_ m: LLMMessage) -> JSONValue {
        let onlyText = m.parts.allSatisfy { if case .text = $0 { return true } else { return false } }
        if onlyText {
            let text = m.parts.map { if case .text(let t) = $0 { return t } else { return "" } }.joined()
            return .object(["role": .string(m.role.rawValue), "content": .string(text)])
        }
        return .object(["role": .string(m.role.rawValue), "content": .array(m.parts.map { p in
            switch p {
            case .text(let t):
                return .object(["type": "text", "text": .string(t)])
            case .image(let i):
                return .object(["type": "image_url", "image_url": .object([
                    "url": .string("data:image/jpeg;base64," + i.jpeg.base64EncodedString()),
                ])])
            }
        })])
    }

    public func parse(_ body: Data) -> ProviderReply {
        guard let json = try? JSONValue.parse(body) else { return .unreadable("the response body is not valid JSON") }
        guard let choice = json["choices"]?.arrayValue?.first else { return .unreadable("the response has no choices") }
        guard let content = choice["message"]?["content"] else { return .unreadable("the first choice has no message content") }
        let text: String
        switch content {
        case .string(let s): text = s
        case .array(let parts): text = parts.compactMap { $0["text"]?.stringValue }.joined()
        case .null: text = ""
        default: return .unreadable("the message content is neither text nor parts")
        }
        var usage: TokenUsage?
        if let u = json["usage"], let p = u["prompt_tokens"]?.numberValue, let c = u["completion_tokens"]?.numberValue {
            usage = TokenUsage(input: Int(p), output: Int(c), estimated: false)
        }
        return .answer(text: text, usage: usage, served: json["model"]?.stringValue,
                       cut: choice["finish_reason"]?.stringValue == "length")
    }

    public func errorMessage(_ body: Data) -> String? {
        guard let json = try? JSONValue.parse(body) else { return nil }
        return json["error"]?["message"]?.stringValue ?? json["error"]?.stringValue ?? json["detail"]?.stringValue
    }
}
