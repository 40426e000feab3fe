import EmoCFG

extension CriticRunner {
    /// The fields the runner reads from a judge's verdict; `critic-verdict.schema.json` must declare
    /// and require each (checked when the runner is made, before any request).
    public static let verdictFields = ["pass", "wrong_aspects", "suggestion"]
    /// The field read from a rewrite (`question` is optional: the sample's own is kept without it).
    public static let rewriteFields = ["answer"]
}
