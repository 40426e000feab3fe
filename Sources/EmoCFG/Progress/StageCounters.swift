import Foundation

/// The compact counters every command ends with, one row per stage it ran: items in, done,
/// failed, skipped, model requests, tokens, cost and time. `--json` prints the same rows under
/// `summary`, and `emocfg run` collects them across the whole pipeline.
public struct StageCounters: Codable, Sendable, Equatable {
    public var stage: String
    public var itemsIn = 0
    public var done = 0
    public var failed = 0
    public var skipped = 0
    public var requests = 0
    public var tokens = 0
    public var cost = 0.0
    public var seconds = 0.0
    public var note: String?

    enum CodingKeys: String, CodingKey {
        case stage, itemsIn = "in", done, failed, skipped, requests, tokens, cost, seconds, note
    }

    public init(stage: String, itemsIn: Int = 0, done: Int = 0, failed: Int = 0, skipped: Int = 0,
                requests: Int = 0, tokens: Int = 0, cost: Double = 0, seconds: Double = 0, note: String? = nil) {
        self.stage = stage
        self.itemsIn = itemsIn
        self.done = done
        self.failed = failed
        self.skipped = skipped
        self.requests = requests
        self.tokens = tokens
        self.cost = cost
        self.seconds = seconds
        self.note = note
    }

    /// The counters as an aligned table with a header, one line per stage (and its note, if any).
    public static func table(_ rows: [StageCounters]) -> String {
        let header = ["stage", "in", "done", "failed", "skipped", "requests", "tokens", "cost", "time"]
        let cells = rows.map { r in
            [r.stage, "\(r.itemsIn)", "\(r.done)", "\(r.failed)", "\(r.skipped)", "\(r.requests)", "\(r.tokens)",
             String(format: "$%.4f", r.cost), String(format: "%.1f s", r.seconds)]
        }
        var widths = header.map(\.count)
        for c in cells { for (i, v) in c.enumerated() { widths[i] = max(widths[i], v.count) } }
        func line(_ c: [String]) -> String {
            c.enumerated().map { i, v in
                let pad = String(repeating: " ", count: widths[i] - v.count)
                return i == 0 ? v + pad : pad + v
            }.joined(separator: "  ")
        }
        var out = [line(header)]
        for (r, c) in zip(rows, cells) {
            out.append(line(c))
            if let note = r.note { out.append("  \(r.stage): \(note)") }
        }
        return out.joined(separator: "\n")
    }
}
