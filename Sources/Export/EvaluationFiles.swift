import EmoCFG
import Foundation

/// The test files the VidEmo evaluation reads, by their exact names (JSONL despite `.json`), and
/// which accepted test samples go into each. Sources are matched by the names `sources.yaml`
/// gives them (DFEW, MAFW, CH-SIMS, CAS(ME)^2, …); a file whose source is absent is still written,
/// empty, so an evaluator finds every name, and the export reports it (`ExportResult.evaluationGaps`).
public struct EvaluationFile: Sendable, Equatable {
    public enum Rule: Sendable, Equatable {
        /// Label-derived samples of one source, instruct family and form.
        case instruct(source: String, family: String, form: String)
        /// The test side's sampled captions of every source (model-written, accepted).
        case sampledCaptions
        /// The test side's sampled open-attribute QA pairs.
        case sampledAttributeQA
    }

    public var name: String
    /// The `jsons/test/<directory>/` folder it sits in.
    public var directory: String
    public var rule: Rule

    /// Answers are class names (open form) for single-label recognition, the evaluation's scoring
    /// by name; MAFW's multi-label file asks with lettered options and answers with the letters
    /// concatenated (`AD`); AffWild2 answers `AU1,AU4`, CelebV-HQ `mustache,receding_hairline`.
    public static let all: [EvaluationFile] = [
        .init(name: "RAVDESS_Fine-grained-Emotion-Recognition.json", directory: "emotion", rule: .instruct(source: "RAVDESS", family: "fine_emotion", form: "open")),
        .init(name: "PERR_Single-Label-Conversational-Emotion-Recognition.json", directory: "emotion", rule: .instruct(source: "PERR", family: "emotion", form: "open")),
        .init(name: "MOSI_Single-Label-Sentiment-Recognition.json", directory: "emotion", rule: .instruct(source: "MOSI", family: "sentiment", form: "open")),
        .init(name: "MOSEI_Single-Label-Sentiment-Recognition.json", directory: "emotion", rule: .instruct(source: "MOSEI", family: "sentiment", form: "open")),
        .init(name: "MER2023_Single-Label-Emotion-Recognition.json", directory: "emotion", rule: .instruct(source: "MER2023", family: "emotion", form: "open")),
        .init(name: "MELD_Single-Label-Conversational-Emotion-Recognition_new.json", directory: "emotion", rule: .instruct(source: "MELD", family: "emotion", form: "open")),
        .init(name: "MEAD_Fine-grained-Emotion-Recognition.json", directory: "emotion", rule: .instruct(source: "MEAD", family: "fine_emotion", form: "open")),
        .init(name: "MEAD_ID.json", directory: "attribute", rule: .instruct(source: "MEAD", family: "identity", form: "open")),
        .init(name: "MEAD_Head-Pose.json", directory: "attribute", rule: .instruct(source: "MEAD", family: "head_pose", form: "open")),
        .init(name: "MAFW_Single-Label-Emotion-Recognition.json", directory: "emotion", rule: .instruct(source: "MAFW", family: "emotion", form: "open")),
        .init(name: "DFEW_Single-Label-Emotion-Recognition.json", directory: "emotion", rule: .instruct(source: "DFEW", family: "emotion", form: "open")),
        .init(name: "CHSIMIv1_Fine-grained-Sentiment-Recognition.json", directory: "emotion", rule: .instruct(source: "CH-SIMS", family: "fine_sentiment", form: "open")),
        .init(name: "CelebV-Text_Emotion-Caption.json", directory: "caption", rule: .instruct(source: "CelebV-Text", family: "emotion_caption", form: "caption")),
        .init(name: "CelebV-Text_Appearance-Caption.json", directory: "caption", rule: .instruct(source: "CelebV-Text", family: "appearance_caption", form: "caption")),
        .init(name: "CelebV-Text_Action-Caption.json", directory: "caption", rule: .instruct(source: "CelebV-Text", family: "action_caption", form: "caption")),
        .init(name: "CAS_Single-Label-Micro-Expression-Recognition.json", directory: "emotion", rule: .instruct(source: "CAS(ME)^2", family: "micro_expression", form: "open")),
        .init(name: "MAFW_Multiple-Label-Emotion-Recognition.json", directory: "emotion", rule: .instruct(source: "MAFW", family: "compound_emotion", form: "mcq")),
        .init(name: "AffWild2_Action_Unit_Detection.json", directory: "emotion", rule: .instruct(source: "AffWild2", family: "action_units", form: "open")),
        .init(name: "CelebV-HQ_Appearance-Recognition.json", directory: "attribute", rule: .instruct(source: "CelebV-HQ", family: "appearance", form: "open")),
        .init(name: "CelebV-HQ_Action-Recognition.json", directory: "attribute", rule: .instruct(source: "CelebV-HQ", family: "action", form: "open")),
        .init(name: "caption_test_sampling_v2_all_example.json", directory: "caption", rule: .sampledCaptions),
        .init(name: "QA_test_sampling_all.json", directory: "qa", rule: .sampledAttributeQA),
    ]

    /// The open attributes of the QA evaluation (`source` = `QA_<Attribute>`).
    public static let qaAttributes: Set<String> = [
        "Gender", "Body_actions", "Skin", "Facial_features", "Nose", "Eyes", "Age", "Hair",
        "Facial_actions", "Accessories", "Eyebrows", "Head_actions", "Chin", "Mouth", "Face_shape",
    ]

    /// The open attributes in the evaluation's (and the qa stage's) order.
    public static let qaAttributeOrder = [
        "Gender", "Body_actions", "Skin", "Facial_features", "Nose", "Eyes", "Age", "Hair",
        "Facial_actions", "Accessories", "Eyebrows", "Head_actions", "Chin", "Mouth", "Face_shape",
    ]

    /// The sources of identity-recognition files (MEAD): their clips are held out per clip within each
    /// identity, not by whole identity, so that every test identity is also on the train side.
    public static var identitySources: Set<String> {
        Set(all.compactMap { e in e.instructRule.flatMap { $0.family == "identity" ? $0.source : nil } })
    }

    /// Where the open-attribute QA ground truth goes, as one JSON array.
    public static let qaGroundTruthPath = "anno/QA_test_sampling_all/QA_test_sampling_all.json"

    public var path: String { "jsons/test/\(directory)/\(name)" }

    /// Which test-side samples belong in each file (the exporter applies this on the bytes it reads):
    /// `.instruct`: stage `instruct`, the file's source, `content.kind` == family and the form;
    /// `.sampledCaptions`: stage `caption` and in the sampled set; `.sampledAttributeQA`: stage `qa`,
    /// an aspect in `qaAttributes`, and in the sampled set.
    var instructRule: (source: String, family: String, form: String)? {
        if case let .instruct(source, family, form) = rule { return (source, family, form) }
        return nil
    }
}
