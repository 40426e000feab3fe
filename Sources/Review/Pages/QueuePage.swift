import EmoCFG
import Foundation

/// The queue: filters, progress, and the items in review order.
struct QueuePage {
    var queue: ReviewQueue
    var filter: PageFilter
    var base: ReviewFilter
    var reviewer: String
    var csrf: String
    var page: Int
    static let pageSize = 200

    func render() -> String {
        let f = filter.query
        let suffix = f.isEmpty ? "" : "&" + f
        let pages = max(1, (queue.total + Self.pageSize - 1) / Self.pageSize)
        let page = min(max(1, self.page), pages)
        let slice = queue.items.dropFirst((page - 1) * Self.pageSize).prefix(Self.pageSize)
        let firstOpen = queue.items.first { $0.candidate.human == nil } ?? queue.items.first

        var body = """
            <header class="bar"><h1>emocfg review</h1>
            <span class="progress" id="progress">reviewed <b id="reviewed-count">\(queue.reviewed)</b> / <b id="total-count">\(queue.total)</b></span>
            <span class="muted">deciding as <b>\(HTML.esc(Store.humanJudge(reviewer)))</b></span>
            \(firstOpen.map { "<a id=\"unreviewed-link\" href=\"/item?uid=\(HTML.q($0.candidate.uid))\(suffix)\">start reviewing <kbd>u</kbd></a>" } ?? "")
            </header><main>
            """
        body += filterForm()
        body += "<p class=\"muted\">Judges split first, then rejected samples (their rewrites are on the item page), then pending, then accepted. "
            + "A decision here overrules the committee in the export.</p>"
        if queue.items.isEmpty {
            body += "<p id=\"empty\">No sample matches these filters.</p>"
        } else {
            body += "<table id=\"queue\"><thead><tr><th>#</th><th>group</th><th>sample</th><th>source</th><th>task</th><th>form</th>"
                + "<th>committee</th><th>votes</th><th>failed by</th><th>human</th></tr></thead><tbody>"
            for (offset, item) in slice.enumerated() {
                let c = item.candidate
                let n = (page - 1) * Self.pageSize + offset + 1
                body += "<tr class=\"item\(c.human == nil ? "" : " reviewed")\" data-uid=\"\(HTML.esc(c.uid))\" data-group=\"\(item.group.label)\">"
                    + "<td>\(n)</td><td><span class=\"pill \(item.group == .split ? "split" : item.group.label)\">\(item.group.label)</span></td>"
                    + "<td><a href=\"/item?uid=\(HTML.q(c.uid))\(suffix)\">\(HTML.esc(c.uid))</a></td>"
                    + "<td>\(HTML.esc(c.source))</td><td>\(HTML.esc(c.task))</td><td>\(HTML.esc(c.form))</td>"
                    + "<td><span class=\"pill \(c.committee.rawValue)\">\(c.committee.rawValue)</span></td>"
                    + "<td>\(c.votes == 0 ? "<span class=\"muted\">no vote</span>" : "\(c.passes)/\(c.votes) pass")</td>"
                    + "<td>\(HTML.esc(c.failedBy.joined(separator: ", ")))</td>"
                    + "<td>\(c.human.map { "<span class=\"pill \($0.rawValue)\">\($0.rawValue)</span> <span class=\"muted\">\(HTML.esc(c.reviewer ?? ""))</span>" } ?? "")</td></tr>"
            }
            body += "</tbody></table>"
            if pages > 1 {
                body += "<p class=\"nav\">"
                if page > 1 { body += "<a href=\"/?page=\(page - 1)\(suffix)\">← previous page</a>" }
                body += "page \(page) of \(pages) "
                if page < pages { body += "<a href=\"/?page=\(page + 1)\(suffix)\">next page →</a>" }
                body += "</p>"
            }
        }
        body += "</main>"
        return HTML.page(title: "queue", csrf: csrf, body: body)
    }

    func filterForm() -> String {
        func select(_ name: String, _ label: String, _ options: [(String, String)], _ selected: String?) -> String {
            "<label>\(label)<select name=\"\(name)\"><option value=\"\">all</option>"
                + options.map { "<option value=\"\(HTML.esc($0.0))\"\($0.0 == selected ? " selected" : "")>\(HTML.esc($0.1))</option>" }.joined()
                + "</select></label>"
        }
        let sources = base.sources.isEmpty ? queue.sources : base.sources
        let tasks = base.tasks.isEmpty ? queue.tasks : base.tasks
        var out = "<form class=\"filters\" method=\"get\" action=\"/\">"
        out += select("source", "source", sources.map { ($0, $0) }, filter.source)
        out += select("task", "task", tasks.map { ($0, $0) }, filter.task)
        if base.queue == .all {
            out += select("queue", "committee", QueueKind.allCases.filter { $0 != .all }.map { ($0.rawValue, $0.rawValue) }, filter.queue?.rawValue)
        }
        out += select("judge", "failed by judge", queue.judges.map { ($0, $0) }, filter.judge)
        out += select("reviewed", "reviewed", [("no", "not yet"), ("yes", "by a person")], filter.reviewed.map { $0 ? "yes" : "no" })
        out += "<button type=\"submit\">filter</button></form>"
        return out
    }
}
