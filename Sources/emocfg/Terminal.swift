import Foundation
import EmoCFG

/// Draws progress: a redrawn bar when standard error is a terminal, a plain line every few seconds
/// otherwise (CI logs, pipes).
final class ProgressDisplay: @unchecked Sendable {
    private let lock = NSLock()
    private let isTTY = isatty(2) != 0
    private var lastPlain = Date.distantPast
    private var lastDraw = Date.distantPast
    private var barShown = false

    func update(label: String, done: Int, total: Int) {
        lock.lock()
        defer { lock.unlock() }
        let now = Date()
        if isTTY {
            guard done == total || now.timeIntervalSince(lastDraw) > 0.05 else { return }
            lastDraw = now
            let width = 30
            let filled = total > 0 ? Int(Double(width) * Double(done) / Double(total)) : width
            let bar = String(repeating: "█", count: filled) + String(repeating: "░", count: width - filled)
            write("\r\u{1B}[2K\(label) \(bar) \(done)/\(total)")
            barShown = true
        } else if done == total || now.timeIntervalSince(lastPlain) >= 5 {
            lastPlain = now
            write("\(label): \(done)/\(total)\n")
        }
    }

    /// Ends the bar line, so the next output starts on a fresh line.
    func finishLine() {
        lock.lock()
        defer { lock.unlock() }
        if isTTY && barShown { write("\r\u{1B}[2K") }
        barShown = false
    }

    func message(_ text: String) {
        finishLine()
        lock.lock()
        write(text + "\n")
        lock.unlock()
    }

    private func write(_ s: String) { FileHandle.standardError.write(Data(s.utf8)) }
}

/// A plain text table with right-aligned numbers.
struct TextTable {
    var header: [String]
    var rows: [[String]] = []

    func render() -> String {
        let cols = header.count
        var widths = header.map(\.count)
        for r in rows { for (i, c) in r.enumerated() where i < cols { widths[i] = max(widths[i], c.count) } }
        func line(_ cells: [String]) -> String {
            cells.enumerated().map { i, c in
                let pad = String(repeating: " ", count: widths[i] - c.count)
                return i == 0 || Double(c) == nil && c != "-" ? c + pad : pad + c
            }.joined(separator: "  ").trimmingCharacters(in: .whitespaces)
        }
        var out = [line(header), widths.map { String(repeating: "-", count: $0) }.joined(separator: "  ")]
        out += rows.map(line)
        return out.joined(separator: "\n")
    }
}

func printJSON<T: Encodable>(_ value: T) {
    let enc = JSONEncoder()
    enc.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
    if let data = try? enc.encode(value) { print(String(decoding: data, as: UTF8.self)) }
}

/// Collects the stage counters of the commands that ran in this process, so `emocfg run` can print
/// the whole pipeline's counters at its end.
final class SummaryCollector: @unchecked Sendable {
    static let shared = SummaryCollector()
    private let lock = NSLock()
    private var rows: [StageCounters] = []

    func add(_ r: [StageCounters]) { lock.withLock { rows += r } }

    /// The rows added since `mark` (a count from `count`).
    func rows(since mark: Int) -> [StageCounters] { lock.withLock { Array(rows.dropFirst(mark)) } }
    var count: Int { lock.withLock { rows.count } }
}

/// Ends a command: prints the compact per-stage counters (as text, or under `summary` in the
/// command's JSON), and hands them to the collector.
func finish(_ counters: [StageCounters], json: Bool) {
    SummaryCollector.shared.add(counters)
    if !json { print("\n" + StageCounters.table(counters)) }
}

/// A command's JSON with the counters added under `summary`.
struct WithSummary<T: Encodable>: Encodable {
    var value: T
    var summary: [StageCounters]
    enum Key: String, CodingKey { case summary }
    func encode(to encoder: Encoder) throws {
        try value.encode(to: encoder)
        var c = encoder.container(keyedBy: Key.self)
        try c.encode(summary, forKey: .summary)
    }
}

func printJSON<T: Encodable>(_ value: T, summary: [StageCounters]) {
    printJSON(WithSummary(value: value, summary: summary))
}

extension String {
    /// Nil when empty, for "or a default" in messages.
    var nonEmpty: String? { isEmpty ? nil : self }
}

/// Before a run's first request: imports answers an earlier run spilled, reserves the spill file
/// and warns when the store's disk is nearly full.
func prepare(_ client: LLMClient) throws {
    let p = try client.prepare()
    if p.imported > 0 {
        FileHandle.standardError.write(Data("imported \(p.imported) answer(s) an earlier run could not store, from \(client.spill.url.path)\n".utf8))
    }
    if let free = p.lowSpace {
        FileHandle.standardError.write(Data(String(format: "warning: only %.0f MiB free on the disk of the store %@; a full disk stops the run\n",
                                                   Double(free) / 1_048_576, client.store.path).utf8))
    }
}
