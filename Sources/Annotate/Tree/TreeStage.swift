import EmoCFG
import Foundation

/// A text model turns a clip's three captions (and the emotion caption's rationale, when there is
/// one) into its affective tree: attributes, the expressions they support, the emotions those
/// support (`AffectiveTree`). The answer must pass `schemas/affective-tree.schema.json` and the
/// structural checks (`AnswerCheck.affectiveTree`); the client asks again when it does not, and the
/// runner records the item as failed with the reason when it never does.
///
/// The tree becomes one sample (task `tree`, form `open`) whose answer is the tree as a `<tree>`
/// block: the committee votes on it like on any sample, a rewrite keeps the block (and its tree is
/// read from it again), the RL export gives it as the reference of the tree reward, and the SFT
/// export teaches the block's format, which the reward later parses from a model's description.
public struct TreeStage: ModelStage {
    public let name = "tree"
    public let needsFrames = false
    public let steps = 1
    public static let answerFields = [["attributes", "expressions", "emotions"]]
    public var answerFields: [[String]] { Self.answerFields }
    let prompt: PromptTemplate
    let schema: JSONValue

    public init(library: PromptLibrary) throws {
        prompt = try library.prompt("tree", "tree")
        schema = try library.schema("affective-tree", reading: Self.answerFields[0])
    }

    static func uid(_ clip: String) -> String { "tree/\(clip)" }

    /// The question of a tree sample, which is also the user turn of its RL row: a description
    /// that ends with the tree as a `<tree>` block.
    static func question(_ clip: StoredClip) -> String {
        "Describe \(Subject.phrase(clip))'s visible cues, facial expression and emotion in this video in fine detail. "
            + "End with the affective tree as <tree>{\"attributes\": [{\"id\", \"aspect\", \"item\"}], "
            + "\"expressions\": [{\"id\", \"aspect\", \"item\", \"supported_by\": [attribute ids]}], "
            + "\"emotions\": [{\"id\", \"item\", \"supported_by\": [expression ids]}]}</tree>."
    }

    /// Clips whose three captions are there (the newest version of each that the committee has not
    /// rejected: a rewrite replaces its parent), with the emotion caption's rationale when there is one.
    public func pendingItems(store: Store, sources: [String]?) throws -> [StageItem] {
        let done = Set(try store.samples(stage: name).map(\.clipUID))
        let captions = Dictionary(grouping: try store.samples(stage: "caption"), by: \.clipUID)
        let rationales = Dictionary(grouping: try store.samples(stage: "rationale").filter { $0.status != .rejected }, by: \.clipUID)
        return try usableClips(store: store, sources: sources).compactMap { clip in
            guard !done.contains(clip.uid), let ordered = CaptionChain.latest(captions[clip.uid] ?? []) else { return nil }
            let emotionRoot = ordered[2].uid.components(separatedBy: "#r")[0]
            let rationale = rationales[clip.uid]?
                .filter { ($0.parentUID ?? "").components(separatedBy: "#r")[0] == emotionRoot }
                .max { $0.round < $1.round }
            return StageItem(id: clip.uid, clip: clip, inputs: ordered + (rationale.map { [$0] } ?? []))
        }
    }

    public func request(for item: StageItem, step: Int, previous: [JSONValue], frames: [LLMImage]) throws -> LLMRequest {
        let text = item.inputs.map { $0.content["answer"]?.stringValue ?? "" }
        let user = prompt.render(["attribute_caption": text[0], "expression_caption": text[1], "emotion_caption": text[2],
                                  "rationale": text.count > 3 ? text[3] : "(none)"])
        var request = LLMRequest(stage: name, messages: [.system(prompt.system), .user([.text(user)])], schema: schema,
                                 schemaName: "affective_tree", promptID: prompt.id, promptHash: prompt.hash)
        request.checks = [.affectiveTree]
        return request
    }

    public func samples(for item: StageItem, answers: [LLMAnswer], model: ModelConfig) -> [NewSample] {
        // The client has checked the tree already; an answer that still is not one makes no sample
        // (the runner records why).
        guard let answer = answers.first, let json = answer.json, let tree = try? AffectiveTree(json: json) else { return [] }
        return [NewSample(
            uid: Self.uid(item.clip.uid), clipUID: item.clip.uid, stage: name, task: .tree, form: .open,
            content: .object(["question": .string(Self.question(item.clip)), "answer": .string(tree.block),
                              "nodes": .number(Double(tree.labelled.count)), "detail": json]),
            promptID: prompt.id, promptHash: prompt.hash, model: model.alias, llmCall: answer.key,
            parentUID: item.inputs[2].uid)]
    }
}
