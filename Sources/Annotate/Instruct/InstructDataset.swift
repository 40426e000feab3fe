import EmoCFG
import Foundation

/// What the `instruct` stage needs to know about one source beyond a clip's own labels: the
/// dataset's class vocabularies (the choices of its multiple-choice questions, in the dataset's
/// order) and how its grades are named.
///
/// The vocabularies repeat `shared/datasets.md` (the Ingest adapters keep theirs private, and
/// Annotate does not depend on Ingest). Emotions are given as emocfg's canonical names, so DFEW's
/// `Happy` and MELD's `joy` are both offered as `happiness`, the same word the open answer uses.
public struct InstructDataset: Sendable, Equatable {
    /// The continuous sentiment score's fine-grained classes, as the MMSA toolkit bins them.
    public enum SentimentScale: String, Sendable, Equatable {
        /// CMU-MOSI and CMU-MOSEI: the score in [-3, 3] rounded (half to even, as numpy rounds) to
        /// seven classes.
        case seven
        /// CH-SIMS: the score in [-1, 1] cut at -0.7, -0.1, 0.1 and 0.7 (each bin closed on the
        /// right) into five classes.
        case five

        public var classes: [String] {
            switch self {
            case .seven: return ["strongly negative", "negative", "weakly negative", "neutral",
                                 "weakly positive", "positive", "strongly positive"]
            case .five: return ["negative", "weakly negative", "neutral", "weakly positive", "positive"]
            }
        }

        public func className(_ score: Double) -> String {
            switch self {
            case .seven:
                let r = Int(min(max(score.rounded(.toNearestOrEven), -3), 3))
                return classes[r + 3]
            case .five:
                let cuts = [-0.7, -0.1, 0.1, 0.7]
                return classes[cuts.firstIndex { score <= $0 } ?? 4]
            }
        }
    }

    public var adapter: String
    /// Single-label emotion classes, canonical names, dataset order. Empty: no multiple choice.
    public var emotions: [String]
    /// Native intensity (`labels.intensity`) → the word the answer uses, in grade order.
    public var intensities: [(native: String, word: String)]
    public var sentimentScale: SentimentScale?
    /// The micro-expression classes (CASME family), canonical names where the class is an emotion.
    public var microExpressions: [String]
    public var views: [String]
    /// Every identity of the source (MEAD actors), sorted: the identity question's distractors.
    public var identities: [String]
    public var compoundEmotions: [String]
    public var appearance: [String]
    public var actions: [String]
    public var actionUnits: [String]

    public init(
        adapter: String, emotions: [String] = [], intensities: [(native: String, word: String)] = [],
        sentimentScale: SentimentScale? = nil, microExpressions: [String] = [], views: [String] = [],
        identities: [String] = [], compoundEmotions: [String] = [], appearance: [String] = [],
        actions: [String] = [], actionUnits: [String] = []
    ) {
        self.adapter = adapter
        self.emotions = emotions
        self.intensities = intensities
        self.sentimentScale = sentimentScale
        self.microExpressions = microExpressions
        self.views = views
        self.identities = identities
        self.compoundEmotions = compoundEmotions
        self.appearance = appearance
        self.actions = actions
        self.actionUnits = actionUnits
    }

    public static func == (a: InstructDataset, b: InstructDataset) -> Bool {
        a.adapter == b.adapter && a.emotions == b.emotions && a.intensities.map(\.native) == b.intensities.map(\.native)
            && a.intensities.map(\.word) == b.intensities.map(\.word) && a.sentimentScale == b.sentimentScale
            && a.microExpressions == b.microExpressions && a.views == b.views && a.identities == b.identities
            && a.compoundEmotions == b.compoundEmotions && a.appearance == b.appearance && a.actions == b.actions
            && a.actionUnits == b.actionUnits
    }

    /// The CASME family asks micro-expression questions instead of emotion questions.
    var isMicroExpression: Bool { ["casme", "casme2", "casme_sq"].contains(adapter) }

    // MARK: - Known datasets

    static let sevenBasic = ["anger", "disgust", "fear", "happiness", "neutral", "sadness", "surprise"]
    static let mafwClasses = ["anger", "disgust", "fear", "happiness", "neutral", "sadness", "surprise",
                              "contempt", "anxiety", "helplessness", "disappointment"]

    /// The source's profile: the vocabularies of its adapter, plus what only the clips can tell
    /// (identities; the emotions of a generic manifest; whether an MMSA source is CH-SIMS).
    public static func make(source: SourceRow, clips: [StoredClip]) -> InstructDataset {
        var d = InstructDataset(adapter: source.adapter)
        switch source.adapter {
        case "dfew": d.emotions = ["happiness", "sadness", "neutral", "anger", "surprise", "disgust", "fear"]
        case "ferv39k", "afew", "caer": d.emotions = sevenBasic
        case "mafw":
            d.emotions = mafwClasses
            d.compoundEmotions = mafwClasses
        case "ravdess":
            d.emotions = ["neutral", "calm", "happiness", "sadness", "anger", "fear", "disgust", "surprise"]
            d.intensities = [("normal", "normal"), ("strong", "strong")]
        case "mead":
            d.emotions = ["anger", "contempt", "disgust", "fear", "happiness", "neutral", "sadness", "surprise"]
            // MEAD grades levels 1-3 without naming them; weak/medium/strong is our wording.
            d.intensities = [("level_1", "weak"), ("level_2", "medium"), ("level_3", "strong")]
            d.views = ["front", "down", "top", "left_30", "left_60", "right_30", "right_60"]
            d.identities = Set(clips.compactMap { $0.record.identity }).sorted()
        case "meld": d.emotions = ["neutral", "happiness", "sadness", "anger", "surprise", "fear", "disgust"]
        case "mer2023": d.emotions = ["neutral", "anger", "happiness", "sadness", "worry", "surprise"]
        case "celebvhq":
            d.emotions = ["neutral", "happiness", "anger", "sadness", "contempt", "fear", "disgust", "surprise"]
            d.appearance = DatasetVocabulary.celebvhqAppearance
            d.actions = DatasetVocabulary.celebvhqAction
        case "affwild2":
            d.emotions = ["neutral", "anger", "disgust", "fear", "happiness", "sadness", "surprise", "other"]
            d.actionUnits = DatasetVocabulary.affwild2ActionUnits
        case "casme": d.microExpressions = ["happiness", "disgust", "sadness", "surprise", "contempt", "fear", "repression", "tense"]
        case "casme2": d.microExpressions = ["happiness", "disgust", "repression", "surprise", "fear", "sadness", "other"]
        case "casme_sq": d.microExpressions = ["negative", "positive", "surprise", "other"]
        case "mmsa":
            // The adapter's `variant` is not stored; like the adapter, read it from the names.
            let names = (source.name + " " + source.root).lowercased()
            d.sentimentScale = names.contains("sims") ? .five : .seven
        default:
            // A generic manifest (PERR, …): the classes are the emotions its clips carry.
            let seen = Set(clips.filter { $0.status == .ok }.compactMap { $0.record.labels.emotion })
            d.emotions = EmotionVocabulary.canonical.filter { seen.contains($0) }
                + seen.filter { !EmotionVocabulary.canonical.contains($0) }.sorted()
        }
        return d
    }
}
