/// The two provider wire formats the stand-in speaks.
enum Provider: String, Sendable {
    case openai
    case gemini
}

/// What the stand-in needs from one model request, whichever wire format it came in: enough to
/// build an answer that fits the requested schema and depends on the request.
struct ChatRequest: Sendable {
    var provider: Provider
    var model: String
    /// Every text of the request in order (system instruction first), for the token estimate and
    /// for the schema a plain-JSON prompt embeds.
    var texts: [String] = []
    /// The text of the last user turn, quoted in the answer so a test can see the answer depends on it.
    var lastUserText = ""
    /// Base64 payloads (or URLs) of the images, in order.
    var images: [String] = []
    /// The schema of a structured-output request (OpenAI `json_schema`, Gemini `responseSchema`).
    var schema: JSON?
    /// A JSON answer was asked for without a schema (OpenAI `json_object`, Gemini `application/json`).
    var wantsJSON = false
    var maxTokens: Int?

    /// The top-level properties of the schema in the order the request lists them (Gemini's
    /// `propertyOrdering` when given): a server that constrains output writes fields in this order.
    var propertyOrder: [String] {
        guard let schema else { return [] }
        if let ordering = schema["propertyOrdering"], case .array(let names) = ordering { return names.compactMap(\.string) }
        guard let props = schema["properties"], case .object(let pairs) = props else { return [] }
        return pairs.map(\.key)
    }
}

/// A request body the stand-in refuses, with the message of the provider's 400.
struct BadRequest: Error {
    let message: String
}

// MARK: - OpenAI chat completions

extension ChatRequest {
    /// Reads `POST /v1/chat/completions`: `messages[].content` is a string or a list of `text`
    /// and `image_url` parts; `response_format` is `json_schema`, `json_object` or absent.
    init(openAIBody body: JSON) throws {
        guard case .object = body else { throw BadRequest(message: "The request body must be a JSON object.") }
        guard let model = body["model"]?.string, !model.isEmpty else {
            throw BadRequest(message: "you must provide a model parameter")
        }
        guard let messages = body["messages"]?.array, !messages.isEmpty else {
            throw BadRequest(message: "Missing required parameter: 'messages'.")
        }
        self.init(provider: .openai, model: model)
        for (i, message) in messages.enumerated() {
            guard let role = message["role"]?.string else {
                throw BadRequest(message: "Missing required parameter: 'messages[\(i)].role'.")
            }
            var turn: [String] = []
            switch message["content"] {
            case .string(let s)?: turn.append(s)
            case .array(let parts)?:
                for (j, part) in parts.enumerated() {
                    switch part["type"]?.string {
                    case "text": turn.append(part["text"]?.string ?? "")
                    case "image_url":
                        // `image_url` is an object `{url, detail}`; older clients send the URL string itself.
                        guard let url = part["image_url"]?["url"]?.string ?? part["image_url"]?.string else {
                            throw BadRequest(message: "Missing required parameter: 'messages[\(i)].content[\(j)].image_url.url'.")
                        }
                        images.append(Self.imagePayload(url))
                    case let other:
                        throw BadRequest(message: "Invalid value: '\(other ?? "null")'. Supported values are: 'text' and 'image_url'.")
                    }
                }
            case .null?, nil: break
            default: throw BadRequest(message: "Invalid type for 'messages[\(i)].content'.")
            }
            texts.append(contentsOf: turn)
            if role == "user" { lastUserText = turn.joined(separator: "\n") }
        }
        switch body["response_format"]?["type"]?.string {
        case "json_schema":
            guard let schema = body["response_format"]?["json_schema"]?["schema"] else {
                throw BadRequest(message: "Missing required parameter: 'response_format.json_schema.schema'.")
            }
            self.schema = schema
            wantsJSON = true
        case "json_object": wantsJSON = true
        default: break
        }
        maxTokens = body["max_completion_tokens"]?.integer ?? body["max_tokens"]?.integer
    }

    /// The base64 part of a `data:` URL; the whole URL otherwise.
    static func imagePayload(_ url: String) -> String {
        guard url.hasPrefix("data:"), let comma = url.firstIndex(of: ",") else { return url }
        return String(url[url.index(after: comma)...])
    }
}

// MARK: - Gemini generateContent

extension ChatRequest {
    /// Reads `POST /v1beta/models/{model}:generateContent`. Google's JSON mapping accepts both
    /// snake_case and camelCase field names, so both are read.
    init(geminiBody body: JSON, model: String) throws {
        guard case .object = body else { throw BadRequest(message: "Invalid JSON payload received. Expected an object.") }
        guard let contents = body["contents"]?.array, !contents.isEmpty else {
            throw BadRequest(message: "* GenerateContentRequest.contents: contents is not specified")
        }
        self.init(provider: .gemini, model: model)
        if let system = body[anyOf: "systemInstruction", "system_instruction"] {
            texts.append(contentsOf: (system["parts"]?.array ?? []).compactMap { $0["text"]?.string })
        }
        for (i, content) in contents.enumerated() {
            guard let parts = content["parts"]?.array else {
                throw BadRequest(message: "* GenerateContentRequest.contents[\(i)].parts: contents.parts must not be empty.")
            }
            var turn: [String] = []
            for (j, part) in parts.enumerated() {
                if let text = part["text"]?.string {
                    turn.append(text)
                } else if let inline = part[anyOf: "inline_data", "inlineData"] {
                    guard let data = inline["data"]?.string else {
                        throw BadRequest(message: "* GenerateContentRequest.contents[\(i)].parts[\(j)].inline_data.data: required")
                    }
                    images.append(data)
                } else if let file = part[anyOf: "file_data", "fileData"] {
                    images.append(file[anyOf: "file_uri", "fileUri"]?.string ?? "")
                } else {
                    throw BadRequest(message: "* GenerateContentRequest.contents[\(i)].parts[\(j)].data: required oneof field 'data' must have one initialized field")
                }
            }
            texts.append(contentsOf: turn)
            // A content without a role is the user's (Gemini's default).
            if (content["role"]?.string ?? "user") == "user" { lastUserText = turn.joined(separator: "\n") }
        }
        if let config = body[anyOf: "generationConfig", "generation_config"] {
            wantsJSON = config[anyOf: "responseMimeType", "response_mime_type"]?.string == "application/json"
            schema = config[anyOf: "responseSchema", "response_schema", "responseJsonSchema", "response_json_schema"]
            maxTokens = config[anyOf: "maxOutputTokens", "max_output_tokens"]?.integer
        }
    }
}
