/// An answer text a test chooses through `POST /_standin/answers`, so that each model of a
/// committee can be made to say exactly what the test needs (`{"pass": false, …}` from one
/// judge, a pass from another) while everything else about the reply stays the provider's own.
///
/// `{"model": "judge-a", "content": {"pass": false}, "times": 2, "match": "sample 17"}`: the next
/// `times` requests to `model` whose text contains `match` get `content`, serialised as compact
/// JSON, as their answer text. `"text": "…"` instead of `content` gives a string verbatim (a
/// malformed answer, prose). `times` defaults to 1; -1 keeps the answer until a reset.
/// Without `model` any model matches.
struct ScriptedAnswer: Sendable {
    /// The answer text, as it goes out.
    var text: String
    /// What was posted (`content` or `text`), for the listing.
    var posted: (key: String, value: JSON)
    /// Requests still to be answered with it; -1 for every request until a reset.
    var remaining: Int
    var model: String?
    var match: String?

    var isForever: Bool { remaining < 0 }

    init(_ json: JSON) throws {
        guard case .object = json else {
            throw BadRequest(message: "a scripted answer must be an object like {\"model\": \"judge-a\", \"content\": {\"pass\": true}}")
        }
        switch (json["content"], json["text"]) {
        case (let content?, nil):
            text = content.text
            posted = ("content", content)
        case (nil, .string(let verbatim)?):
            text = verbatim
            posted = ("text", .string(verbatim))
        case (nil, _?):
            throw BadRequest(message: "a scripted answer's \"text\" must be a string (use \"content\" for any JSON)")
        case (_?, _?):
            throw BadRequest(message: "a scripted answer takes \"content\" or \"text\", not both")
        case (nil, nil):
            throw BadRequest(message: "a scripted answer needs \"content\" (any JSON, sent serialised) or \"text\" (a string, sent as is)")
        }
        switch json["times"] {
        case nil: remaining = 1
        case let times?:
            guard let n = times.integer, n >= 1 || n == -1 else {
                throw BadRequest(message: "a scripted answer's times must be a whole number ≥ 1, or -1 for every request until a reset")
            }
            remaining = n
        }
        switch json["model"] {
        case nil, .null?: model = nil
        case .string(let m)?: model = m
        default: throw BadRequest(message: "a scripted answer's model must be a string")
        }
        switch json["match"] {
        case nil, .null?: match = nil
        case .string(let m)?: match = m
        default: throw BadRequest(message: "a scripted answer's match must be a string")
        }
    }

    /// `requestText` is the request's texts joined by newlines, built once per request.
    func matches(_ request: ChatRequest, requestText: String) -> Bool {
        (model == nil || model == request.model) && (match.map { requestText.contains($0) } ?? true)
    }

    var json: JSON {
        object(("model", model.map(JSON.string)), (posted.key, posted.value), ("times", .int(remaining)),
               ("match", match.map(JSON.string)))
    }
}
