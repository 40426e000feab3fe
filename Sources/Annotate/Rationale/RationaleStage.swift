import EmoCFG
import Foundation

/// For each caption and QA pair, the model explains which cues support the emotion (Caption-R, QA-R).
public struct RationaleStage: ModelStage {
    public let name = "rationale"
    public let needsFrames = false
    public let steps = 1
    public static let answerFields = [["rationale"]]
    public var answerFields: [[String]] { Self.answerFields }
    let prompt: PromptTemplate
    let schema: JSONValue

    public init(library: PromptLibrary) throws {
        prompt = try library.prompt("rationale", "rationale")
        schema = try library.schema("rationale", reading: Self.answerFields[0])
    }

    static func uid(_ parent: String) -> String { "rationale/\(parent)" }

    public func pendingItems(store: Store, sources: [String]?) throws -> [StageItem] {
        let clips = Dictionary(try usableClips(store: store, sources: sources).map { ($0.uid, $0) }, uniquingKeysWith: { a, _ in a })
        let done = Set(try store.samples(stage: name).map(\.uid))
        let parents = try store.samples(stage: "caption").filter { $0.task == .emotion } + store.samples(stage: "qa")
        return parents.compactMap { s in
            guard let clip = clips[s.clipUID], !done.contains(Self.uid(s.uid)), s.status != .rejected else { return nil }
            return StageItem(id: s.uid, clip: clip, inputs: [s])
        }
    }

    public func request(for item: StageItem, step: Int, previous: [JSONValue], frames: [LLMImage]) throws -> LLMRequest {
        let parent = item.inputs[0]
        let kind = parent.stage == "qa" ? "question-answer pair" : "caption"
        let text = parent.stage == "qa"
            ? "Q: \(parent.content["question"]?.stringValue ?? "")\nA: \(parent.content["answer"]?.stringValue ?? "")"
            : parent.content["answer"]?.stringValue ?? ""
        return LLMRequest(stage: name, messages: [.system(prompt.system), .user([.text(prompt.render(["kind": kind, "text": text]))])],
                          schema: schema, schemaName: "rationale", promptID: prompt.id, promptHash: prompt.hash)
    }

    /// The parent's question, ended as a sentence, and the request for the cues.
    static func question(_ parent: String) -> String {
        var q = parent.trimmingCharacters(in: .whitespacesAndNewlines)
        if let last = q.last, !".?!:".contains(last) { q += "?" }
        return (q.isEmpty ? "" : q + " ") + "Explain which cues support your answer."
    }

    public func samples(for item: StageItem, answers: [LLMAnswer], model: ModelConfig) -> [NewSample] {
        guard let a = answers.first, let rationale = a.json?["rationale"]?.stringValue else { return [] }
        let parent = item.inputs[0]
        return [NewSample(
            uid: Self.uid(parent.uid), clipUID: parent.clipUID, stage: name, task: .rationale, form: .open,
            content: .object(["question": .string(Self.question(parent.content["question"]?.stringValue ?? "")),
                              "answer": .string(rationale), "of": .string(parent.stage), "detail": a.json ?? .null]),
            promptID: prompt.id, promptHash: prompt.hash, model: model.alias, llmCall: a.key, parentUID: parent.uid)]
    }
}
