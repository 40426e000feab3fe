import Foundation

/// What a provider's server answered, before the client decides to retry, fail or keep it.
public enum ProviderReply: Sendable, Equatable {
    /// The model's text, the usage the server reported (nil when it reported none), the model the
    /// server says answered (nil when it did not say), and whether the answer was cut off at the
    /// output-token limit (`finish_reason: length`, `finishReason: MAX_TOKENS`).
    case answer(text: String, usage: TokenUsage?, served: String?, cut: Bool)
    /// A 2xx body the client cannot read (truncated JSON, no choices, …), with what was wrong.
    case unreadable(String)
}

/// One provider's wire format: where a request goes, its headers and body, and how to read the answer.
public protocol WireFormat: Sendable {
    func url(for model: ModelConfig) -> String
    /// Headers, the key among them. The key is added here and nowhere else.
    func headers(for model: ModelConfig, key: String?) -> [(String, String)]
    func body(for request: LLMRequest, model: ModelConfig) -> Data
    func parse(_ body: Data) -> ProviderReply
    /// The provider's own error message in an error body, if it has one.
    func errorMessage(_ body: Data) -> String?
}

// MARK: - Default implementations

extension WireFormat {
    /// Asks for the answer's JSON in the prompt itself, for servers that cannot enforce a schema.
    static func schemaInstruction(_ schema: JSONValue) -> String {
        "\n\nAnswer with one JSON object that satisfies this JSON Schema, and nothing else.\nBEGIN SCHEMA\n\(SchemaOrder.wireText(schema))\nEND SCHEMA"
    }

    /// The messages with the schema instruction appended to the last user turn.
    static func messagesWithSchemaInstruction(_ request: LLMRequest) -> [LLMMessage] {
        guard let schema = request.schema, let last = request.messages.lastIndex(where: { $0.role == .user }) else {
            return request.messages
        }
        var messages = request.messages
        messages[last].parts.append(.text(schemaInstruction(schema)))
        return messages
    }
}

/// The wire format of a model.
public func wireFormat(for model: ModelConfig) -> any WireFormat {
    switch model.provider {
    case .openai: return OpenAIChatFormat()
    case .gemini: return GeminiFormat()
    }
}
