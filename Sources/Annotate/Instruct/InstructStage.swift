import EmoCFG
import Foundation

/// The `instruct` stage: instruction samples made from a clip's ground-truth labels through the
/// phrasings in `prompts/instruct/`, without any model. Ground truth needs no vote, so its samples
/// are stored `accepted`.
///
/// Everything random (which phrasing, the order of the choices, an identity question's distractors)
/// is drawn from a `SplitMix64` seeded with the clip uid, the family and the form, so a rerun, or a
/// second store ingesting the same data, makes byte-identical samples, while different clips see
/// their choices in different orders.
public struct InstructStage: Sendable {
    public static let name = "instruct"

    public var templates: InstructTemplates
    /// Per source name. A clip of a source not listed gets only the questions its labels answer
    /// without a vocabulary (no multiple choice).
    public var datasets: [String: InstructDataset]

    public init(templates: InstructTemplates, datasets: [String: InstructDataset]) {
        self.templates = templates
        self.datasets = datasets
    }

    /// The uid of a clip's sample of one family and form.
    public static func sampleUID(clip: String, family: InstructFamily, form: SampleForm) -> String {
        "instruct/\(clip)/\(family.rawValue)/\(form.rawValue)"
    }

    /// Every sample the clip's labels support, in family then form order. A clip whose media is not
    /// usable (`status` other than ok) or that has neither labels nor texts gives none.
    public func samples(for clip: StoredClip) -> [NewSample] {
        guard clip.status == .ok, !clip.record.labels.isEmpty || !clip.record.texts.isEmpty else { return [] }
        let dataset = datasets[clip.source] ?? InstructDataset(adapter: "")
        var out: [NewSample] = []
        for question in Self.questions(clip: clip, dataset: dataset) {
            guard let file = templates.files[question.family] else { continue }
            for form in question.family.forms {
                if let s = sample(question, form: form, clip: clip, file: file) { out.append(s) }
            }
        }
        return out
    }

    // MARK: - Questions from labels

    /// What one family asks of a clip: the answer, and the choices a multiple-choice form offers.
    struct Question {
        var family: InstructFamily
        /// The answer as text: a class name, or (multi-label) names joined by commas.
        var answer: String
        /// The choices before lettering, and which of them are right; nil: no multiple choice.
        var choices: [String]?
        var correct: Set<String> = []
        /// Whether the choices are shuffled (MAFW's compound letters are fixed by the evaluation).
        var shuffle = true
        /// Multi-label families: every name an answer may contain, for the question to list.
        var candidates: [String] = []
        /// Identity questions offer the right identity and this many others.
        var distractors: Int?
    }

    static func questions(clip: StoredClip, dataset d: InstructDataset) -> [Question] {
        let labels = clip.record.labels
        var out: [Question] = []

        if d.isMicroExpression {
            // CAS(ME)^2 classes mix sentiments and emotions; its class as written is kept as a fact.
            let micro = d.adapter == "casme_sq"
                ? labels.facts["emotion_class"].map { EmotionVocabulary.canonicalize($0) ?? $0.lowercased() }
                : labels.emotion
            // Micro-expression questions take micro-expressions only: CAS(ME)^2 codes macro-expressions
            // too (`facts["expression_type"]`), which keep the `expression_type` family. CASME and
            // CASME II code micro-expressions only.
            let isMicro = d.adapter != "casme_sq" || labels.facts["expression_type"] == "micro"
            if let micro, isMicro {
                out.append(Question(family: .microExpression, answer: micro, choices: d.microExpressions.nonEmpty,
                                    correct: [micro]))
            }
            if let type = labels.facts["expression_type"], ["micro", "macro"].contains(type) {
                out.append(Question(family: .expressionType, answer: "\(type)-expression",
                                    choices: ["micro-expression", "macro-expression"], correct: ["\(type)-expression"]))
            }
        } else if let emotion = labels.emotion {
            out.append(Question(family: .emotion, answer: emotion, choices: d.emotions.nonEmpty, correct: [emotion]))
        }

        let sentiment = labels.sentimentScore.map(SentimentVocabulary.fromScore) ?? labels.sentiment
        if let sentiment, !d.isMicroExpression {
            // A score's sign decides (MOSI/MOSEI/SIMS scoring does); the annotation column is not
            // always consistent with it.
            out.append(Question(family: .sentiment, answer: sentiment, choices: ["positive", "neutral", "negative"],
                                correct: [sentiment]))
        }
        if let score = labels.sentimentScore, let scale = d.sentimentScale {
            let name = scale.className(score)
            out.append(Question(family: .fineSentiment, answer: name, choices: scale.classes, correct: [name]))
        }

        if let emotion = labels.emotion, let intensity = labels.intensity, !d.intensities.isEmpty,
           let word = d.intensities.first(where: { $0.native == intensity })?.word {
            let fine = fineName(emotion, word)
            // Neutral has one grade only in RAVDESS and MEAD: it is offered without one.
            let choices = d.emotions.flatMap { e in e == "neutral" ? ["neutral"] : d.intensities.map { fineName(e, $0.word) } }
            out.append(Question(family: .fineEmotion, answer: fine, choices: choices.contains(fine) ? choices : nil, correct: [fine]))
        }

        if !d.compoundEmotions.isEmpty, !labels.emotions.isEmpty {
            let set = ordered(labels.emotions, by: d.compoundEmotions)
            out.append(Question(family: .compoundEmotion, answer: set.joined(separator: ","), choices: d.compoundEmotions,
                                correct: Set(set), shuffle: false, candidates: d.compoundEmotions))
        }

        if !d.actionUnits.isEmpty, let units = labels.attributes["action_units"], !units.isEmpty {
            out.append(Question(family: .actionUnits, answer: ordered(units, by: d.actionUnits).joined(separator: ","),
                                candidates: d.actionUnits))
        }

        if !d.views.isEmpty, let view = labels.facts["view"] {
            out.append(Question(family: .headPose, answer: view, choices: d.views.contains(view) ? d.views : nil, correct: [view]))
        }
        if !d.identities.isEmpty, let identity = clip.record.identity {
            out.append(Question(family: .identity, answer: identity,
                                choices: d.identities.count > 1 ? d.identities : nil, correct: [identity], distractors: 3))
        }
        if let gender = labels.facts["gender"], ["male", "female"].contains(gender) {
            out.append(Question(family: .gender, answer: gender, choices: ["male", "female"], correct: [gender]))
        }

        for (family, key, vocabulary) in [(InstructFamily.appearance, "appearance", d.appearance), (.action, "action", d.actions)]
        where !vocabulary.isEmpty {
            guard let names = labels.attributes[key], !names.isEmpty else { continue }
            // Alphabetical, as the evaluation's own example answer is (`mustache,receding_hairline`,
            // which is not vocabulary order).
            out.append(Question(family: family, answer: names.sorted().joined(separator: ","),
                                candidates: vocabulary))
        }

        // A dataset's own descriptions (CelebV-Text) are captions as written: the sentences of the
        // clip's text file, one per line there, joined by spaces.
        for family in [InstructFamily.emotionCaption, .appearanceCaption, .actionCaption] {
            guard let key = family.textKey, let text = clip.record.texts[key] else { continue }
            let sentences = text.split(whereSeparator: \.isNewline).map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
            guard !sentences.isEmpty else { continue }
            out.append(Question(family: family, answer: sentences.joined(separator: " ")))
        }
        return out
    }

    static func fineName(_ emotion: String, _ intensity: String) -> String {
        emotion == "neutral" ? "neutral" : "\(emotion) (\(intensity) intensity)"
    }

    /// `names` in the vocabulary's order, names it does not know after them as given.
    static func ordered(_ names: [String], by vocabulary: [String]) -> [String] {
        let set = Set(names)
        return vocabulary.filter { set.contains($0) } + names.filter { !vocabulary.contains($0) }
    }

    // MARK: - Rendering

    static let letters = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZ").map(String.init)

    func sample(_ q: Question, form: SampleForm, clip: StoredClip, file: InstructTemplateFile) -> NewSample? {
        guard let phrasings = file.phrasings[form], !phrasings.isEmpty else { return nil }
        let uid = Self.sampleUID(clip: clip.uid, family: q.family, form: form)
        var rng = SplitMix64(key: uid)
        let phrasing = phrasings[rng.index(below: phrasings.count)]

        var values = ["answer": q.answer]
        if !q.candidates.isEmpty { values["candidates"] = q.candidates.joined(separator: ", ") }
        var content: [String: JSONValue] = ["kind": .string(q.family.rawValue), "label": .string(q.answer)]
        switch form {
        case .mcq:
            guard var choices = q.choices else { return nil }
            if let n = q.distractors {
                let others = rng.shuffled(choices.filter { !q.correct.contains($0) })
                choices = choices.filter { q.correct.contains($0) } + others.prefix(n)
            }
            for right in q.correct.sorted() where !choices.contains(right) { choices.append(right) }
            guard choices.count >= 2, choices.count <= Self.letters.count else { return nil }
            if q.shuffle { choices = rng.shuffled(choices) }
            let shown = choices.enumerated().map { "(\(Self.letters[$0.offset])) \($0.element)" }
            let answerLetters = choices.enumerated().filter { q.correct.contains($0.element) }.map { Self.letters[$0.offset] }.joined()
            values["options"] = shown.joined(separator: "\n")
            values["letters"] = answerLetters
            content["options"] = .array(shown.map { .string($0) })
            content["answer_letters"] = .string(answerLetters)
        case .short where q.family == .emotion:
            // No sentence for an emotion without an adjective (`other`).
            guard let adjective = file.adjectives[q.answer] else { return nil }
            values["adjective"] = adjective
        default:
            break
        }
        content["question"] = .string(Subject.questionPrefix(clip) + InstructPhrasing.fill(phrasing.question, values))
        content["answer"] = .string(InstructPhrasing.fill(phrasing.answer, values))
        return NewSample(
            uid: uid, clipUID: clip.uid, stage: Self.name, task: q.family.task, form: form, content: .object(content),
            promptID: "instruct/\(q.family.rawValue)/\(phrasing.id)", promptHash: file.hash, status: .accepted)
    }
}

fileprivate extension Array {
    /// Nil when empty: an empty vocabulary offers no multiple choice.
    var nonEmpty: [Element]? { isEmpty ? nil : self }
}
