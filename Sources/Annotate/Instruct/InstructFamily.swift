import EmoCFG

/// A kind of question the `instruct` stage asks from a clip's ground-truth labels. Each family has
/// one template file, `prompts/instruct/<family>.yaml`, and counts toward one `SampleTask`:
///
/// | family             | task       | forms            | asked of                                      |
/// |--------------------|------------|------------------|-----------------------------------------------|
/// | `emotion`          | emotion    | mcq, open, short | every single emotion label (not CASME)         |
/// | `sentiment`        | emotion    | mcq, open, short | MOSI, MOSEI, CH-SIMS (score sign), MELD        |
/// | `fine_sentiment`   | emotion    | mcq, open        | MOSI/MOSEI (7 classes), CH-SIMS (5 classes)    |
/// | `fine_emotion`     | emotion    | mcq, open        | RAVDESS and MEAD: emotion with its intensity   |
/// | `compound_emotion` | emotion    | mcq, open        | MAFW multi-label sets                          |
/// | `micro_expression` | expression | mcq, open, short | CASME, CASME II, CAS(ME)^2 (micro rows only)   |
/// | `expression_type`  | expression | mcq, open        | CAS(ME)^2 micro versus macro                   |
/// | `action_units`     | expression | open             | AffWild2 action units                          |
/// | `head_pose`        | attribute  | mcq, open        | MEAD camera view                               |
/// | `identity`         | attribute  | mcq, open        | MEAD actor                                     |
/// | `gender`           | attribute  | mcq, open        | RAVDESS and MEAD (from the actor)              |
/// | `appearance`       | attribute  | open             | CelebV-HQ appearance attributes                |
/// | `action`           | attribute  | open             | CelebV-HQ actions                              |
/// | `emotion_caption`  | caption    | caption          | CelebV-Text `texts/emotion`                    |
/// | `appearance_caption` | caption  | caption          | CelebV-Text `texts/face40_details_new`         |
/// | `action_caption`   | caption    | caption          | CelebV-Text `texts/action_dur`                 |
///
/// Sentiment counts as `emotion` because the evaluation scores it with the affect tasks; action
/// units count as `expression` because they are the parts an expression is made of.
public enum InstructFamily: String, CaseIterable, Sendable, Comparable {
    case emotion
    case sentiment
    case fineSentiment = "fine_sentiment"
    case fineEmotion = "fine_emotion"
    case compoundEmotion = "compound_emotion"
    case microExpression = "micro_expression"
    case expressionType = "expression_type"
    case actionUnits = "action_units"
    case headPose = "head_pose"
    case identity
    case gender
    case appearance
    case action
    case emotionCaption = "emotion_caption"
    case appearanceCaption = "appearance_caption"
    case actionCaption = "action_caption"

    public var task: SampleTask {
        switch self {
        case .emotion, .sentiment, .fineSentiment, .fineEmotion, .compoundEmotion: return .emotion
        case .microExpression, .expressionType, .actionUnits: return .expression
        case .headPose, .identity, .gender, .appearance, .action: return .attribute
        case .emotionCaption, .appearanceCaption, .actionCaption: return .caption
        }
    }

    /// The forms its template file must give phrasings for.
    public var forms: [SampleForm] {
        switch self {
        case .emotion, .sentiment, .microExpression: return [.mcq, .open, .short]
        case .fineSentiment, .fineEmotion, .compoundEmotion, .expressionType, .headPose, .identity, .gender:
            return [.mcq, .open]
        case .actionUnits, .appearance, .action: return [.open]
        case .emotionCaption, .appearanceCaption, .actionCaption: return [.caption]
        }
    }

    /// The dataset text (`ClipRecord.texts` key) a caption family answers with.
    var textKey: String? {
        switch self {
        case .emotionCaption: return "emotion"
        case .appearanceCaption: return "face40_details_new"
        case .actionCaption: return "action_dur"
        default: return nil
        }
    }

    /// Whether the answer is a set of names (comma-joined) and the question lists the candidates.
    var isMultiLabel: Bool {
        [.compoundEmotion, .actionUnits, .appearance, .action].contains(self)
    }

    /// The placeholders a phrasing of `form` may use:
    /// - `{answer}`: the answer as text (a class name, or names joined by commas without spaces);
    /// - `{options}`: the lettered choices, one per line (`(A) anger`); `{letters}`: the right
    ///   letters, concatenated (`B`, `AD`);
    /// - `{candidates}`: every name the answer can contain, comma-separated (multi-label families);
    /// - `{adjective}`: the emotion as an adjective (`happy`), from `adjectives:` in `emotion.yaml`.
    func variables(for form: SampleForm) -> Set<String> {
        var names: Set<String> = ["answer"]
        if form == .mcq { names.formUnion(["options", "letters"]) }
        if isMultiLabel { names.insert("candidates") }
        if self == .emotion && form == .short { names.insert("adjective") }
        return names
    }

    public static func < (a: InstructFamily, b: InstructFamily) -> Bool {
        allCases.firstIndex(of: a)! < allCases.firstIndex(of: b)!
    }
}
