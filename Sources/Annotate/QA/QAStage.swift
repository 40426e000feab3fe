import EmoCFG
import Foundation

/// A text model turns a clip's three captions into question-answer pairs, one per aspect: the 15
/// open attributes of the evaluation, plus expression and emotion.
public struct QAStage: ModelStage {
    public let name = "qa"
    public let needsFrames = false
    public let steps = 1
    public static let aspects = ["Gender", "Body_actions", "Skin", "Facial_features", "Nose", "Eyes", "Age", "Hair",
                                 "Facial_actions", "Accessories", "Eyebrows", "Head_actions", "Chin", "Mouth", "Face_shape",
                                 "Expression", "Emotion"]
    public static let answerFields = [["pairs", "pairs[].aspect", "pairs[].question", "pairs[].answer"]]
    public var answerFields: [[String]] { Self.answerFields }
    let prompt: PromptTemplate
    let schema: JSONValue

    public init(library: PromptLibrary) throws {
        prompt = try library.prompt("qa", "qa")
        schema = try library.schema("qa", reading: Self.answerFields[0])
    }

    public func pendingItems(store: Store, sources: [String]?) throws -> [StageItem] {
        let captions = Dictionary(grouping: try store.samples(stage: "caption"), by: \.clipUID)
        let done = Set(try store.samples(stage: name).map(\.clipUID))
        return try usableClips(store: store, sources: sources).compactMap { clip in
            guard !done.contains(clip.uid), let caps = captions[clip.uid], caps.count == 3 else { return nil }
            return StageItem(id: clip.uid, clip: clip, inputs: caps.sorted { Self.order($0) < Self.order($1) })
        }
    }

    static func order(_ s: NewSample) -> Int { ["attribute": 0, "expression": 1, "emotion": 2][s.task.rawValue] ?? 3 }

    public func request(for item: StageItem, step: Int, previous: [JSONValue], frames: [LLMImage]) throws -> LLMRequest {
        let text = item.inputs.map { $0.content["answer"]?.stringValue ?? "" }
        let user = prompt.render(["attribute_caption": text[0], "expression_caption": text[1], "emotion_caption": text[2],
                                  "aspects": Self.aspects.joined(separator: ", ")])
        return LLMRequest(stage: name, messages: [.system(prompt.system), .user([.text(user)])], schema: schema,
                          schemaName: "qa_pairs", promptID: prompt.id, promptHash: prompt.hash)
    }

    public func samples(for item: StageItem, answers: [LLMAnswer], model: ModelConfig) -> [NewSample] {
        guard let answer = answers.first, let pairs = answer.json?["pairs"]?.arrayValue else { return [] }
        var seen = Set<String>()
        return pairs.compactMap { pair in
            guard let aspect = pair["aspect"]?.stringValue, seen.insert(aspect).inserted,
                  let q = pair["question"]?.stringValue, let a = pair["answer"]?.stringValue else { return nil }
            return NewSample(
                uid: "qa/\(item.clip.uid)/\(aspect)", clipUID: item.clip.uid, stage: name, task: .qa, form: .open,
                content: .object(["question": .string(q), "answer": .string(a), "aspect": .string(aspect), "source": .string("QA_\(aspect)")]),
                promptID: prompt.id, promptHash: prompt.hash, model: model.alias, llmCall: answer.key,
                parentUID: item.inputs.last?.uid)
        }
    }
}
