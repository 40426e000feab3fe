import EmoCFG

/// The annotate stages: `instruct` (label-derived samples, no model), `caption`, `qa` and
/// `rationale` (model-written). Each stage builds requests and parses answers; the LLM client in
/// EmoCFG sends them, caches them, limits their rate and pays for them.
public enum AnnotateStages {
    public static let names = ["instruct", "caption", "qa", "rationale"]
}
