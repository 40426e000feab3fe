import Foundation

/// Checks of a model's answer beyond its schema: a schema can say a field is a string, not that
/// the string says something. Small and local models pass schemas with answers like a question
/// that is only its aspect's name ("Gender"), an answer that repeats the question, a rewrite that
/// copies a judge's suggestion, or a judge that passes a sample while listing what is wrong.
/// `pipeline.yaml`'s `gates:` section sets the lengths; every rejected piece of content is recorded
/// with the gate's reason (`gated_content`) and counted.
public struct ContentGates: Sendable, Equatable {
    /// A question shorter than this (characters, trimmed) says nothing.
    public var minQuestionChars = 8
    /// An answer shorter than this says nothing (a letter of a multiple choice is 1).
    public var minAnswerChars = 1
    /// A caption or rationale shorter than this is a fragment.
    public var minTextChars = 12

    public init() {}

    public static let keys = ["min_question_chars", "min_answer_chars", "min_text_chars"]

    public static func read(_ r: ConfigReader?) throws -> ContentGates {
        var g = ContentGates()
        guard let r else { return g }
        _ = try r.requireMap(allowed: keys)
        g.minQuestionChars = try r.int("min_question_chars", range: 0...10_000) ?? g.minQuestionChars
        g.minAnswerChars = try r.int("min_answer_chars", range: 0...10_000) ?? g.minAnswerChars
        g.minTextChars = try r.int("min_text_chars", range: 0...100_000) ?? g.minTextChars
        return g
    }

    /// Lower-case letters and digits only, for comparing texts that differ in case, spacing or punctuation.
    public static func normalized(_ s: String) -> String {
        String(s.lowercased().unicodeScalars.filter { CharacterSet.alphanumerics.contains($0) }.map(Character.init))
    }

    /// Why a generated sample's content is not worth keeping, or nil. `aspect` is the QA pair's aspect.
    /// QA pairs get the question and answer gates; captions and rationales the length gate; other
    /// samples (label-derived ones, whose answers are letters and class names) none.
    public func problem(stage: String, task: String, question: String, answer: String, aspect: String?) -> String? {
        let q = question.trimmingCharacters(in: .whitespacesAndNewlines)
        let a = answer.trimmingCharacters(in: .whitespacesAndNewlines)
        switch task == "qa" ? "qa" : stage {
        case "qa":
            if let aspect, Self.normalized(q) == Self.normalized(aspect) {
                return "the question is only the aspect's name ('\(q)')"
            }
            if q.count < minQuestionChars { return "the question is shorter than \(minQuestionChars) characters ('\(q)')" }
            if a.count < minAnswerChars { return "the answer is shorter than \(minAnswerChars) characters" }
            if Self.normalized(a) == Self.normalized(q) { return "the answer repeats the question ('\(a)')" }
        case "caption", "rationale":
            if a.count < minTextChars { return "the text is shorter than \(minTextChars) characters ('\(a)')" }
        default:
            break
        }
        return nil
    }

    /// Why `sample`'s content is not worth keeping, or nil: `problem(stage:task:…)` on its fields.
    public func problem(of sample: NewSample) -> String? {
        problem(stage: sample.stage, task: sample.task.rawValue, question: sample.content["question"]?.stringValue ?? "",
                answer: sample.content["answer"]?.stringValue ?? "", aspect: sample.content["aspect"]?.stringValue)
    }

    /// Whether a rewrite's answer is one of the judges' suggestions copied in (or contained whole in one).
    public static func copiesSuggestion(_ answer: String, suggestions: [String]) -> Bool {
        let a = normalized(answer)
        guard !a.isEmpty else { return false }
        return suggestions.map(normalized).contains { !$0.isEmpty && ($0 == a || $0.contains(a)) }
    }
}
