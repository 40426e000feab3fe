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

    /// Clips with no QA yet whose three captions are there: the newest version of each that the
    /// committee has not rejected (`CaptionChain.latest`), so a clip whose caption was rewritten
    /// before its QA ran gets QA from the rewrite, and none comes from a rejected caption.
    public func pendingItems(store: Store, sources: [String]?) throws -> [StageItem] {
        let captions = Dictionary(grouping: try store.samples(stage: "caption"), by: \.clipUID)
        let done = Set(try store.samples(stage: name).map(\.clipUID))
        return try usableClips(store: store, sources: sources).compactMap { clip in
            guard !done.contains(clip.uid), let caps = CaptionChain.latest(captions[clip.uid] ?? []) else { return nil }
            return StageItem(id: clip.uid, clip: clip, inputs: caps)
        }
    }

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

/// A clip's caption chain as the later stages read it.
enum CaptionChain {
    /// The attribute, expression and emotion captions, each the newest version (highest rewrite
    /// round) the committee has not rejected; nil unless all three are there.
    static func latest(_ captions: [NewSample]) -> [NewSample]? {
        var latest: [SampleTask: NewSample] = [:]
        for c in captions where c.status != .rejected {
            if let have = latest[c.task], have.round >= c.round { continue }
            latest[c.task] = c
        }
        let ordered = [SampleTask.attribute, .expression, .emotion].compactMap { latest[$0] }
        return ordered.count == 3 ? ordered : nil
    }
}
