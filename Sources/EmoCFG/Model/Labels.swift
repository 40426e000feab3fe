import Foundation

/// Labels mapped onto emocfg's vocabularies, next to the native ones a `ClipRecord` keeps as given.
public struct NormalizedLabels: Codable, Sendable, Equatable {
    /// The single emotion, canonical name (see `EmotionVocabulary`).
    public var emotion: String?
    /// Every emotion that applies (compound / multi-label sets), canonical names, in the dataset's order.
    public var emotions: [String]
    /// `positive`, `neutral` or `negative`.
    public var sentiment: String?
    /// A continuous sentiment score as given (MOSI/MOSEI in [-3, 3], SIMS in [-1, 1]).
    public var sentimentScore: Double?
    public var valence: Double?
    public var arousal: Double?
    /// Intensity (`normal`, `strong`, `level_2`, …) where the dataset grades it.
    public var intensity: String?
    /// Multi-valued attributes: `appearance`, `action`, `action_units`, … (names from their vocabularies).
    public var attributes: [String: [String]]
    /// Other single-valued facts from labels or paths: `view`, `vocal_channel`, `gender`, `scene`, …
    public var facts: [String: String]

    public init(
        emotion: String? = nil, emotions: [String] = [], sentiment: String? = nil,
        sentimentScore: Double? = nil, valence: Double? = nil, arousal: Double? = nil,
        intensity: String? = nil, attributes: [String: [String]] = [:], facts: [String: String] = [:]
    ) {
        self.emotion = emotion
        self.emotions = emotions
        self.sentiment = sentiment
        self.sentimentScore = sentimentScore
        self.valence = valence
        self.arousal = arousal
        self.intensity = intensity
        self.attributes = attributes
        self.facts = facts
    }

    /// Whether any label at all is present: the clip counts as labelled in summaries.
    public var isEmpty: Bool {
        emotion == nil && emotions.isEmpty && sentiment == nil && sentimentScore == nil
            && valence == nil && arousal == nil && attributes.isEmpty
    }
}

/// emocfg's canonical emotion names and the synonyms datasets use for them.
///
/// Canonical names are nouns (`happiness`, `anger`) so that DFEW's `Happy`, MELD's `joy`, RAVDESS's
/// `happy` and MAFW's `happiness` all meet in one class.
public enum EmotionVocabulary {
    public static let canonical: [String] = [
        "neutral", "happiness", "sadness", "anger", "surprise", "fear", "disgust", "contempt",
        "calm", "anxiety", "worry", "helplessness", "disappointment", "repression", "tense", "other",
    ]

    static let synonyms: [String: String] = [
        "neutral": "neutral", "neutrality": "neutral",
        "happy": "happiness", "happiness": "happiness", "joy": "happiness", "happily": "happiness",
        "sad": "sadness", "sadness": "sadness",
        "angry": "anger", "anger": "anger",
        "surprise": "surprise", "surprised": "surprise",
        "fear": "fear", "fearful": "fear", "scared": "fear",
        "disgust": "disgust", "disgusted": "disgust",
        "contempt": "contempt", "calm": "calm",
        "anxiety": "anxiety", "anxious": "anxiety",
        "worried": "worry", "worry": "worry",
        "helplessness": "helplessness", "disappointment": "disappointment",
        "repression": "repression", "tense": "tense",
        "other": "other", "others": "other",
    ]

    /// The canonical name for a dataset's emotion word, or nil when the word is not an emotion we know.
    public static func canonicalize(_ raw: String) -> String? {
        synonyms[raw.trimmingCharacters(in: .whitespacesAndNewlines).lowercased()]
    }
}

/// The three sentiment classes and the words datasets use for them.
public enum SentimentVocabulary {
    public static func canonicalize(_ raw: String) -> String? {
        switch raw.trimmingCharacters(in: .whitespacesAndNewlines).lowercased() {
        case "positive", "pos": return "positive"
        case "negative", "neg": return "negative"
        case "neutral", "neu": return "neutral"
        default: return nil
        }
    }

    /// The sentiment class of a continuous score: its sign.
    public static func fromScore(_ score: Double) -> String {
        score > 0 ? "positive" : (score < 0 ? "negative" : "neutral")
    }
}
