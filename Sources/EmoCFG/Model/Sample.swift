import Foundation

/// What a sample teaches: the evaluation's task families.
public enum SampleTask: String, Codable, Sendable, CaseIterable {
    case attribute
    case expression
    case emotion
    case caption
    case qa
    case rationale
    /// An affective tree (attributes → expressions → emotions) as a `<tree>` block: VidEmo's
    /// reference for the reinforcement stage's tree reward (`AffectiveTree`).
    case tree
}

/// How a sample asks: multiple choice, open question, short caption, or a full caption.
public enum SampleForm: String, Codable, Sendable, CaseIterable {
    case mcq
    case open
    case short
    case caption
}

/// Where a sample stands with the critic.
public enum SampleStatus: String, Codable, Sendable {
    case pending
    case accepted
    case rejected
}

/// One instruction sample about one clip, before it is stored.
///
/// `content` always has `question` and `answer` strings (the user and assistant turns, without the
/// `<video>` tag, which the export adds); multiple-choice samples add `options` (the lettered
/// choices, in the order shown) and `answer_letters`; model-written samples keep the model's whole
/// structured answer under `detail`.
public struct NewSample: Sendable, Equatable {
    /// A stable identity: the same clip, stage and item always give the same uid, so reruns upsert.
    public var uid: String
    public var clipUID: String
    /// The stage that made it: `instruct`, `caption`, `qa`, `rationale`, `tree`.
    public var stage: String
    public var task: SampleTask
    public var form: SampleForm
    public var content: JSONValue
    /// The prompt or template it came from, and that file's hash (part of the cache key).
    public var promptID: String
    public var promptHash: String
    /// The model alias that wrote it; nil for label-derived samples.
    public var model: String?
    /// The cache key of the model call that produced it.
    public var llmCall: String?
    /// The sample this one was derived from (a rationale's caption, a rewrite's parent).
    public var parentUID: String?
    public var round: Int
    public var status: SampleStatus

    public init(uid: String, clipUID: String, stage: String, task: SampleTask, form: SampleForm, content: JSONValue,
                promptID: String, promptHash: String, model: String? = nil, llmCall: String? = nil,
                parentUID: String? = nil, round: Int = 0, status: SampleStatus = .pending) {
        self.uid = uid
        self.clipUID = clipUID
        self.stage = stage
        self.task = task
        self.form = form
        self.content = content
        self.promptID = promptID
        self.promptHash = promptHash
        self.model = model
        self.llmCall = llmCall
        self.parentUID = parentUID
        self.round = round
        self.status = status
    }
}
