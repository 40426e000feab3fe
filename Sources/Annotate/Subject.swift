import EmoCFG

/// Who a clip's labels are about, when the frames show more than one annotated person: Aff-Wild2 labels
/// the two people of some videos separately (`<video>_left`, `<video>_right`), so both share one video
/// and one window. Without naming the person, the same question on the same video would have two
/// different answers.
enum Subject {
    /// `left` or `right` for a clip labelled for one of two people, else nil.
    static func side(_ clip: StoredClip) -> String? {
        guard let p = clip.record.labels.facts["person"], p == "left" || p == "right" else { return nil }
        return p
    }

    /// "the person on the left" for such a clip, else "the person".
    static func phrase(_ clip: StoredClip) -> String {
        side(clip).map { "the person on the \($0)" } ?? "the person"
    }

    /// Put before a question: "About the person on the left: ", or nothing.
    static func questionPrefix(_ clip: StoredClip) -> String {
        side(clip).map { "About the person on the \($0): " } ?? ""
    }

    /// A line for a model's context saying whom to describe, or nothing.
    static func context(_ clip: StoredClip) -> String {
        side(clip).map { "Two people are annotated in this video; describe only the person on the \($0) of the frame." } ?? ""
    }
}
