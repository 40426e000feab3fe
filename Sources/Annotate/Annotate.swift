import EmoCFG

/// The annotate stages: `instruct` (label-derived samples, no model), `caption`, `qa`,
/// `rationale` and `tree` (model-written). Each stage builds requests and parses answers; the LLM client in
/// EmoCFG sends them, caches them, limits their rate and pays for them.
public enum AnnotateStages {
    public static let names = ["instruct", "caption", "qa", "rationale", "tree"]

    /// The model stages among `names`, by name, made before any of them runs: every prompt and
    /// schema they use is read and checked now (readable, parsed, each schema declaring the answer
    /// fields its stage reads), so a bad file stops the command before a request is paid for and
    /// its error names the file. `instruct` (no model) is left out.
    public static func modelStages(_ names: [String], library: PromptLibrary) throws -> [String: any ModelStage] {
        var out: [String: any ModelStage] = [:]
        for name in names where out[name] == nil {
            switch name {
            case "caption": out[name] = try CaptionStage(library: library)
            case "qa": out[name] = try QAStage(library: library)
            case "rationale": out[name] = try RationaleStage(library: library)
            case "tree": out[name] = try TreeStage(library: library)
            default: continue
            }
        }
        return out
    }
}
