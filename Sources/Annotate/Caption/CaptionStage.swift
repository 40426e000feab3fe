import EmoCFG
import Foundation

/// The caption chain: from the sampled frames, a vision model writes the attribute caption, then
/// the expression caption given the first, then the emotion caption given both.
public struct CaptionStage: ModelStage {
    public let name = "caption"
    public let needsFrames = true
    public let steps = 3
    static let parts = ["attribute", "expression", "emotion"]
    /// Every step's caption is read from `caption` (and handed to the next steps).
    public static let answerFields = [["caption"], ["caption"], ["caption"]]
    public var answerFields: [[String]] { Self.answerFields }
    let prompts: [PromptTemplate]
    let schemas: [JSONValue]

    public init(library: PromptLibrary) throws {
        prompts = try Self.parts.map { try library.prompt("caption", $0) }
        schemas = try zip(Self.parts, Self.answerFields).map { try library.schema("caption-\($0)", reading: $1) }
    }

    static func uid(_ clip: String, _ part: String) -> String { "caption/\(clip)/\(part)" }

    public func pendingItems(store: Store, sources: [String]?) throws -> [StageItem] {
        let done = Set(try store.samples(stage: name).map(\.uid))
        return try usableClips(store: store, sources: sources)
            .filter { !done.contains(Self.uid($0.uid, "emotion")) }
            .map { StageItem(id: $0.uid, clip: $0) }
    }

    public func request(for item: StageItem, step: Int, previous: [JSONValue], frames: [LLMImage]) throws -> LLMRequest {
        let p = prompts[step]
        var values = ["frame_count": "\(frames.count)", "context": Self.context(of: item.clip)]
        if previous.count > 0 { values["attribute_caption"] = previous[0]["caption"]?.stringValue ?? "" }
        if previous.count > 1 { values["expression_caption"] = previous[1]["caption"]?.stringValue ?? "" }
        let user: [LLMPart] = frames.map { .image($0) } + [.text(p.render(values))]
        return LLMRequest(stage: name, messages: [.system(p.system), .user(user)], schema: schemas[step],
                          schemaName: "caption_\(Self.parts[step])", promptID: p.id, promptHash: p.hash)
    }

    public func samples(for item: StageItem, answers: [LLMAnswer], model: ModelConfig) -> [NewSample] {
        let who = Subject.phrase(item.clip)
        let questions = [
            "Describe \(who)'s appearance and visible attributes in this video.",
            "Describe how \(who)'s facial expression changes in this video.",
            "Describe the emotion \(who) shows in this video and the cues that reveal it.",
        ]
        let tasks: [SampleTask] = [.attribute, .expression, .emotion]
        return zip(Self.parts.indices, answers).map { i, a in
            NewSample(
                uid: Self.uid(item.clip.uid, Self.parts[i]), clipUID: item.clip.uid, stage: name, task: tasks[i], form: .caption,
                content: .object(["question": .string(questions[i]), "answer": .string(a.json?["caption"]?.stringValue ?? a.text),
                                  "detail": a.json ?? .null]),
                promptID: prompts[i].id, promptHash: prompts[i].hash, model: model.alias, llmCall: a.key)
        }
    }
}
