import Foundation

/// The filters chosen on the page (the query string of the queue and item URLs), applied within
/// the command line's: a page can narrow the queue, never widen it.
struct PageFilter: Sendable, Equatable {
    var source: String?
    var task: String?
    var queue: QueueKind?
    var judge: String?
    var reviewed: Bool?

    init(source: String? = nil, task: String? = nil, queue: QueueKind? = nil, judge: String? = nil, reviewed: Bool? = nil) {
        self.source = source
        self.task = task
        self.queue = queue
        self.judge = judge
        self.reviewed = reviewed
    }

    init(_ fields: FormFields) {
        func value(_ name: String) -> String? { fields[name].flatMap { $0.isEmpty ? nil : $0 } }
        source = value("source")
        task = value("task")
        queue = value("queue").flatMap(QueueKind.init(rawValue:))
        judge = value("judge")
        reviewed = value("reviewed").flatMap { $0 == "yes" ? true : $0 == "no" ? false : nil }
    }

    /// The query string that gives this filter back (no `?`).
    var query: String {
        HTML.query([("source", source), ("task", task), ("queue", queue?.rawValue), ("judge", judge),
                    ("reviewed", reviewed.map { $0 ? "yes" : "no" })])
    }

    /// `base` narrowed by this filter. A source or task outside the command line's gives an empty queue.
    func applied(to base: ReviewFilter) -> ReviewFilter {
        var f = base
        if let source { f.sources = base.sources.isEmpty || base.sources.contains(source) ? [source] : ["\u{0}none"] }
        if let task { f.tasks = base.tasks.isEmpty || base.tasks.contains(task) ? [task] : ["\u{0}none"] }
        if let queue, base.queue == .all { f.queue = queue }
        if let judge { f.judge = judge }
        if let reviewed { f.reviewed = reviewed }
        return f
    }
}
