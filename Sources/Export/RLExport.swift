import EmoCFG
import Foundation

/// The reinforcement-learning export: `jsons/train/rl/{full,sampled}/<Source>_rl.jsonl`, one line per
/// accepted train-side sample that a reward can score, in the form ms-swift's GRPO trainer reads:
///
/// ```json
/// {"messages":[{"content":"<video>…","role":"user"}],"solution":"B","task":"mcq_accuracy","tree":null,"videos":["videos/DFEW/1.mp4"]}
/// ```
///
/// `messages` holds the user turn only (the policy writes the answer); ms-swift hands the other
/// columns to the reward functions. `task` names the reward of `plugins/affective_tree_reward.py`:
/// - `affective_tree`: a tree sample; `tree` is the reference tree as canonical JSON text, and the
///   reward is `exp(-λ·d)` between it and the tree of the generated description (`TreeEditDistance`).
/// - `mcq_accuracy`, `mcq_f1`: a multiple-choice instruct sample with one or several right options;
///   `solution` is the right letters (`"B"`, `"AC"`).
/// Test-side clips never appear (the test side is for evaluation only). A tree whose answer no longer
/// holds a valid tree (a rewrite that broke it) is left out. The sampled file keeps, per source, task
/// and label, the `sampled_per_label` lines of smallest rank SHA-256(`seed|uid`), in the full file's order.
/// A multiple-choice prompt lists the options after the question unless the question shows the first
/// one already. Strings are escaped as in the SFT lines (`JSONLine`); `tree` is the tree's
/// `JSONValue.canonical` text.
enum RLExport {
    /// The directory, and the `task` of its files in receipts and curation mixes.
    static let directory = "rl"

    // The rows are rendered on the export's single pass (`Exporter.write`), from the bytes SQLite
    // hands over, like the SFT lines: a tree sample's answer is parsed (`AffectiveTree.parse`), the
    // rest is copied and escaped (`JSONLine`).

    /// `{"messages":[{"content":"<video>…","role":"user"}],"solution":…,"task":"…","tree":…,"videos":[…]}`
    /// (keys sorted): the prompt with the options one per line after it when given, `solution` and
    /// `tree` as JSON strings or `null`.
    static func render(prompt: UnsafeBufferPointer<UInt8>, options: JSONLine.Options?, task: StaticString,
                       solution: UnsafeBufferPointer<UInt8>?, tree: String?, quotedVideo: [UInt8], into out: inout [UInt8]) {
        JSONLine.appendUserTurn(question: prompt, options: options, to: &out)
        JSONLine.appendLiteral(#"}],"solution":"#, to: &out)
        if let solution {
            out.append(0x22)
            JSONLine.appendEscaped(solution, to: &out)
            out.append(0x22)
        } else {
            JSONLine.appendLiteral("null", to: &out)
        }
        JSONLine.appendLiteral(#","task":""#, to: &out)
        JSONLine.appendLiteral(task, to: &out)
        JSONLine.appendLiteral(#"","tree":"#, to: &out)
        if let tree { JSONLine.appendQuoted(tree, to: &out) } else { JSONLine.appendLiteral("null", to: &out) }
        JSONLine.appendLiteral(#","videos":["#, to: &out)
        out.append(contentsOf: quotedVideo)
        JSONLine.appendLiteral("]}", to: &out)
    }

    /// A tree row's stratum: `affective_tree|` and its emotions, normalised, sorted, comma-separated.
    static func stratum(tree: AffectiveTree, into out: inout [UInt8]) {
        JSONLine.appendLiteral("affective_tree|", to: &out)
        out.append(contentsOf: tree.emotions.map { AffectiveTree.normalise($0.item) }.sorted().joined(separator: ",").utf8)
    }

    /// A multiple-choice row's stratum: `<task>|<family>|<label>`.
    static func stratum(task: StaticString, kind: UnsafeBufferPointer<UInt8>, label: UnsafeBufferPointer<UInt8>, into out: inout [UInt8]) {
        JSONLine.appendLiteral(task, to: &out)
        out.append(0x7C)
        out.append(contentsOf: kind)
        out.append(0x7C)
        out.append(contentsOf: label)
    }

    /// How many letters (characters) the right answer has: one makes an accuracy task, more an F1 one.
    static func letterCount(_ letters: UnsafeBufferPointer<UInt8>) -> Int {
        letters.allSatisfy { $0 < 0x80 } ? letters.count : String(decoding: letters, as: UTF8.self).count
    }
}
