import Foundation

/// The statistics report of a store: one self-contained `index.html` (inline CSS and SVG charts,
/// no script, no reference to anything outside the file, so it opens the same from a laptop, an
/// archive or a dataset card) and `stats.json`, the `StatsData` it was drawn from.
public struct StatsReport: Sendable {
    public var data: StatsData

    public init(data: StatsData) { self.data = data }

    /// Writes `index.html` and `stats.json` into `folder` (created if needed) and returns the
    /// `index.html` written.
    @discardableResult
    public func write(to folder: URL) throws -> URL {
        let html = folder.appendingPathComponent("index.html")
        let json = folder.appendingPathComponent("stats.json")
        do {
            try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        } catch {
            throw StatsError(message: "cannot create the report folder \(folder.path): \(error.localizedDescription)")
        }
        for (file, bytes) in [(html, Data(self.html().utf8)), (json, try data.jsonData())] {
            do { try bytes.write(to: file, options: .atomic) } catch {
                throw StatsError(message: "cannot write \(file.path): \(error.localizedDescription)")
            }
        }
        return html
    }

    static let outcomeSeries = [
        SVGChart.Series(name: "accepted", color: "#2e7d32"), SVGChart.Series(name: "rewritten", color: "#e0a100"),
        SVGChart.Series(name: "rejected", color: "#c62828"), SVGChart.Series(name: "pending", color: "#8c99a6"),
    ]
    static let viewSeries = [
        SVGChart.Series(name: "head", color: "#1f4e9c"), SVGChart.Series(name: "half body", color: "#4f8fd8"),
        SVGChart.Series(name: "full body", color: "#a9cdf2"), SVGChart.Series(name: "no face box", color: "#d5dbe1"),
    ]
    static let acceptanceSeries = [
        SVGChart.Series(name: "accepted", color: "#2e7d32"), SVGChart.Series(name: "not accepted", color: "#b9c3cc"),
    ]
    static let sections = [
        ("sources", "Sources"), ("durations", "Clip durations"), ("faces", "Face size"), ("views", "Views"),
        ("labels", "Labels"), ("tasks", "Tasks and forms"), ("committee", "Committee"), ("terms", "Caption terms"),
    ]

    /// The whole page.
    public func html() -> String {
        var ids = ChartIDs()
        var body = header()
        body += "<nav class=\"toc\"><h2>Contents</h2><ol>"
            + Self.sections.map { "<li><a href=\"#\($0.0)\">\(esc($0.1))</a></li>" }.joined() + "</ol></nav>"
        body += sourcesSection()
        body += histogramSection(
            id: "durations", title: "Clip durations", chart: "duration", ids: &ids,
            note: "Usable clips by length in seconds; the same bins for every source.",
            bins: binLabels(StatsData.durationBins, scale: 1, suffix: ""), axis: "seconds", histogram: \.duration,
            unknown: "not probed")
        body += histogramSection(
            id: "faces", title: "Face size", chart: "face-ratio", ids: &ids,
            note: "Usable clips by the share of the frame the face box covers (2% and 10% are the default half-body and head thresholds).",
            bins: binLabels(StatsData.faceRatioBins, scale: 100, suffix: "%"), axis: "face area, % of frame",
            histogram: \.faceRatio, unknown: "without a face box")
        body += viewsSection()
        body += labelsSection(ids: &ids)
        body += tasksSection()
        body += committeeSection()
        body += termsSection()
        return """
            <!doctype html>
            <html lang="en">
            <head>
            <meta charset="utf-8">
            <meta name="viewport" content="width=device-width, initial-scale=1">
            <title>emocfg dataset statistics</title>
            <style>\(Self.css)</style>
            </head>
            <body><main>
            \(body)
            <footer>Written by <code>emocfg stats</code>. The figures are in <a href="stats.json">stats.json</a> next to this page.</footer>
            </main></body>
            </html>

            """
    }

    func header() -> String {
        let clips = data.sources.reduce(0) { $0 + $1.clips }
        let unusable = data.sources.reduce(0) { $0 + $1.unusableClips }
        let seconds = data.sources.reduce(0) { $0 + $1.seconds }
        let samples = data.stages.reduce(0) { $0 + $1.outcomes.total }
        let accepted = data.stages.reduce(0) { $0 + $1.outcomes.accepted }
        let verdicts = data.judges.reduce(0) { $0 + $1.verdicts }
        let totals: [(String, String)] = [
            (count(data.sources.count), "sources"), (count(clips), "usable clips"), (Self.duration(seconds), "total duration"),
            (count(unusable), "unusable clips"), (count(samples), "samples"), (count(accepted), "accepted"),
            (count(verdicts), "verdicts"), (data.agreement.kappa.map { String(format: "%.3f", $0) } ?? "–", "Fleiss' kappa"),
        ]
        return "<header><h1>Dataset statistics</h1><p class=\"note\">What the emocfg store holds: clips, samples and the committee's votes.</p>"
            + "<div class=\"totals\">" + totals.map { "<div class=\"total\"><b>\(esc($0.0))</b><span>\(esc($0.1))</span></div>" }.joined()
            + "</div></header>"
    }

    func sourcesSection() -> String {
        var table = "<table><thead><tr><th>source</th><th>licence</th><th class=\"n\">usable clips</th><th class=\"n\">unusable</th>"
            + "<th class=\"n\">duration</th><th class=\"n\">train</th><th class=\"n\">test</th><th class=\"n\">samples</th>"
            + "<th class=\"n\">accepted</th></tr></thead><tbody>"
        for s in data.sources {
            table += "<tr><td>\(esc(s.name))</td><td>\(esc(s.licence ?? "–"))</td><td class=\"n\">\(count(s.clips))</td>"
                + "<td class=\"n\">\(count(s.unusableClips))</td><td class=\"n\">\(Self.duration(s.seconds))</td>"
                + "<td class=\"n\">\(count(s.train))</td><td class=\"n\">\(count(s.test))</td>"
                + "<td class=\"n\">\(count(s.samples.total))</td><td class=\"n\">\(count(s.samples.accepted))</td></tr>"
        }
        table += "</tbody></table>"
        let clips = SVGChart.horizontal(
            id: "clips-per-source", rows: data.sources.map { SVGChart.Row(label: $0.name, values: [Double($0.clips)]) },
            series: [SVGChart.Series(name: "usable clips", color: SVGChart.barColor)], axis: "usable clips", format: SVGChart.count)
        let samples = SVGChart.horizontal(
            id: "samples-per-source", rows: data.sources.map { SVGChart.Row(label: $0.name, values: Self.values($0.samples)) },
            series: Self.outcomeSeries, axis: "samples", format: SVGChart.count)
        return section("sources", "Sources", note: "Usable clips are those whose media was found and read; train and test count "
                       + "the clips whose side an export has decided.")
            + table + "<div class=\"grid wide\">" + figure("Usable clips per source", clips)
            + figure("Samples per source, by committee outcome", samples) + "</div></section>"
    }

    func histogramSection(
        id: String, title: String, chart: String, ids: inout ChartIDs, note: String, bins: [String], axis: String,
        histogram: KeyPath<StatsData.Source, StatsData.Histogram>, unknown: String
    ) -> String {
        var out = section(id, title, note: note) + "<div class=\"grid\">"
        for s in data.sources {
            let h = s[keyPath: histogram]
            let svg = SVGChart.columns(id: ids.make("\(chart)-\(s.name)"), bins: bins, values: h.counts, xAxis: axis, yAxis: "clips")
            let missing = h.unknown > 0 ? " <span class=\"note\">(\(count(h.unknown)) \(esc(unknown)))</span>" : ""
            out += "<figure><figcaption>\(esc(s.name))\(missing)</figcaption>\(svg)</figure>"
        }
        return out + "</div></section>"
    }

    func viewsSection() -> String {
        let chart = SVGChart.horizontal(
            id: "views-per-source",
            rows: data.sources.map { s in
                SVGChart.Row(label: s.name, values: [s.views.head, s.views.half, s.views.full, s.views.unknown].map(Double.init))
            },
            series: Self.viewSeries, axis: "usable clips", format: SVGChart.count)
        var table = "<table><thead><tr><th>source</th><th class=\"n\">from the dataset</th><th class=\"n\">from a sidecar</th>"
            + "<th class=\"n\">from the detector</th><th class=\"n\">no face found</th><th class=\"n\">not searched</th></tr></thead><tbody>"
        for s in data.sources {
            let f = s.faceBoxes
            table += "<tr><td>\(esc(s.name))</td>" + [f.dataset, f.sidecar, f.detector, f.noFaceFound, f.notSearched]
                .map { "<td class=\"n\">\(count($0))</td>" }.joined() + "</tr>"
        }
        table += "</tbody></table>"
        return section("views", "Views", note: "How much of the person a usable clip shows, from its face-area ratio; "
                       + "a clip without a face box has no view. The table says where each usable clip's face box came from: "
                       + "the dataset's own annotation, a sidecar file, or emocfg's face detector at ingest (dlib's HOG "
                       + "detector on a few frames per clip), and how many clips the detector searched without finding a face.")
            + figure("Head, half-body and full-body clips per source", chart) + table + "</section>"
    }

    func labelsSection(ids: inout ChartIDs) -> String {
        var out = section("labels", "Labels", note: "Each usable clip's primary label: its emotion, else its sentiment; "
                          + "clips with neither have other labels (valence and arousal, attributes) or none.")
            + "<div class=\"grid\">"
        for s in data.sources {
            let svg = SVGChart.horizontal(
                id: ids.make("labels-\(s.name)"), rows: s.labels.map { SVGChart.Row(label: $0.name, values: [Double($0.count)]) },
                series: [SVGChart.Series(name: "clips", color: SVGChart.barColor)], axis: "usable clips", width: 390,
                format: SVGChart.count)
            out += figure(s.name, svg)
        }
        return out + "</div></section>"
    }

    func tasksSection() -> String {
        let chart = SVGChart.horizontal(
            id: "samples-per-task-form",
            rows: data.tasks.map { SVGChart.Row(label: "\($0.task) · \($0.form)", values: [Double($0.accepted), Double($0.samples - $0.accepted)]) },
            series: Self.acceptanceSeries, axis: "samples", format: SVGChart.count)
        return section("tasks", "Tasks and forms", note: "Samples by what they teach (task) and how they ask (form).")
            + figure("Samples per task and form", chart) + "</section>"
    }

    func committeeSection() -> String {
        let stages = SVGChart.horizontal(
            id: "stage-outcomes", rows: data.stages.map { SVGChart.Row(label: $0.name, values: Self.values($0.outcomes)) },
            series: Self.outcomeSeries, axis: "samples", format: SVGChart.count)
        var table = "<table><thead><tr><th>stage</th><th class=\"n\">accepted</th><th class=\"n\">rewritten</th>"
            + "<th class=\"n\">rejected</th><th class=\"n\">pending</th><th class=\"n\">total</th></tr></thead><tbody>"
        for s in data.stages {
            let o = s.outcomes
            table += "<tr><td>\(esc(s.name))</td>" + [o.accepted, o.rewritten, o.rejected, o.pending, o.total]
                .map { "<td class=\"n\">\(count($0))</td>" }.joined() + "</tr>"
        }
        table += "</tbody></table>"
        let judges = SVGChart.horizontal(
            id: "judge-pass-rate", rows: data.judges.map { SVGChart.Row(label: $0.judge, values: [$0.passRate]) },
            series: [SVGChart.Series(name: "pass rate", color: SVGChart.barColor)], axis: "share of verdicts that pass", top: 1,
            format: Self.percent)
        let a = data.agreement
        let kappa = a.kappa.map {
            "Fleiss' κ = <b>\(String(format: "%.3f", $0))</b> over \(count(a.subjects)) samples with \(a.raters) verdicts each "
                + "(1 is full agreement, 0 what chance alone gives)."
        } ?? "Fleiss' κ is undefined: no sample has verdicts from two or more judges that differ anywhere."
        let h = data.humanReview
        // People's decisions (`emocfg review`) overrule the committee's: the outcomes above already include them.
        let human = "<p id=\"human-review\">Reviewed by people: <b>\(count(h.reviewed))</b> samples (accepted \(count(h.accepted)), "
            + "rejected \(count(h.rejected)), answer corrected \(count(h.edited))); a person's decision overrules the committee's.</p>"
        return section("committee", "Committee", note: "A sample the committee fails is rewritten and voted on again; "
                       + "after the last round it is rejected. A rewritten sample's rewrite is counted on its own.")
            + human
            + "<div class=\"grid wide\">" + figure("Samples per stage, by committee outcome", stages + table)
            + figure("Pass rate per judge", judges + "<p>\(kappa)</p>") + "</div></section>"
    }

    func termsSection() -> String {
        let chart = SVGChart.horizontal(
            id: "caption-terms", rows: data.terms.map { SVGChart.Row(label: $0.name, values: [Double($0.count)]) },
            series: [SVGChart.Series(name: "occurrences", color: SVGChart.barColor)], axis: "occurrences", format: SVGChart.count)
        return section("terms", "Caption terms", note: "The \(StatsData.termCount) most frequent words (three letters or more, "
                       + "without common English function words) in caption answers that are accepted or awaiting a vote.")
            + figure("Most frequent caption words", chart) + "</section>"
    }

    /// A duration as hours, minutes and seconds (`12:04:09`): readable for a few clips and for 2,000 hours alike.
    public static func duration(_ seconds: Double) -> String {
        let s = Int(seconds.rounded())
        return String(format: "%d:%02d:%02d", s / 3600, s / 60 % 60, s % 60)
    }

    /// A share as a percentage: whole on the axis (`50%`), to one decimal otherwise (`78.1%`).
    static func percent(_ share: Double) -> String {
        let p = share * 100
        return p == p.rounded() ? String(format: "%.0f%%", p) : String(format: "%.1f%%", p)
    }

    static func values(_ o: StatsData.Outcomes) -> [Double] {
        [o.accepted, o.rewritten, o.rejected, o.pending].map(Double.init)
    }

    /// `0–1`, `1–2`, …, `≥60`: the bins of `StatsData.Histogram`, scaled (to percent) for display.
    func binLabels(_ bounds: [Double], scale: Double, suffix: String) -> [String] {
        func number(_ x: Double) -> String { String(format: "%g", x * scale) }
        return bounds.indices.map { i in
            i + 1 < bounds.count ? "\(number(bounds[i]))–\(number(bounds[i + 1]))\(suffix)" : "≥\(number(bounds[i]))\(suffix)"
        }
    }

    func section(_ id: String, _ title: String, note: String) -> String {
        "<section id=\"\(id)\"><h2>\(esc(title))</h2><p class=\"note\">\(note)</p>"
    }

    func figure(_ caption: String, _ content: String) -> String {
        "<figure><figcaption>\(esc(caption))</figcaption>\(content)</figure>"
    }

    func esc(_ s: String) -> String { SVGChart.escape(s) }
    func count(_ n: Int) -> String { SVGChart.count(Double(n)) }

    static let css = """
        body{margin:0;background:#f4f6f8;color:#1f2328;font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,"DejaVu Sans",sans-serif}
        main{max-width:1340px;margin:0 auto;padding:24px 24px 48px}
        h1{font-size:28px;margin:0 0 4px}h2{font-size:20px;margin:0 0 6px}
        .note{color:#57606a;margin:0 0 10px}
        .totals{display:flex;flex-wrap:wrap;gap:12px;margin:16px 0 8px}
        .total{background:#fff;border:1px solid #d0d7de;border-radius:8px;padding:10px 16px;min-width:110px}
        .total b{display:block;font-size:22px;font-variant-numeric:tabular-nums}
        .total span{color:#57606a;font-size:12px;text-transform:uppercase;letter-spacing:.04em}
        nav.toc{background:#fff;border:1px solid #d0d7de;border-radius:8px;padding:12px 24px;margin:16px 0}
        nav.toc ol{columns:4;margin:0;padding-left:20px}nav.toc a{color:#0b5cad;text-decoration:none}
        section{background:#fff;border:1px solid #d0d7de;border-radius:8px;padding:18px 20px;margin:20px 0}
        figure{margin:10px 0}figcaption{font-weight:600;margin-bottom:4px}figcaption .note{font-weight:400}
        .grid{display:grid;grid-template-columns:repeat(auto-fill,minmax(390px,1fr));gap:8px 24px}
        .grid.wide{grid-template-columns:repeat(auto-fill,minmax(600px,1fr))}
        table{border-collapse:collapse;margin:8px 0 12px}
        th,td{padding:4px 12px;border-bottom:1px solid #e6eaee;text-align:left}
        th{font-weight:600;color:#57606a;font-size:12px;text-transform:uppercase;letter-spacing:.03em}
        .n{text-align:right;font-variant-numeric:tabular-nums}
        svg.chart{display:block;max-width:100%;height:auto}
        svg.chart text{font-size:12px;fill:#1f2328}
        svg.chart .tick,svg.chart .axis-title{font-size:11px;fill:#57606a}
        svg.chart .value{font-size:11px;fill:#1f2328;font-variant-numeric:tabular-nums}
        svg.chart .no-data{font-size:13px;fill:#8c959f;font-style:italic}
        svg.chart .grid-line{stroke:#e6eaee}svg.chart .axis-line{stroke:#8c959f}
        footer{color:#57606a;margin-top:24px}
        """
}

/// Chart ids unique within a page: two sources whose names differ only in case or punctuation
/// would otherwise make the same id.
struct ChartIDs {
    var used: Set<String> = []

    mutating func make(_ name: String) -> String {
        let slug = String(name.lowercased().unicodeScalars.map { CharacterSet.alphanumerics.contains($0) ? Character($0) : "-" })
        var id = slug
        var n = 2
        while used.contains(id) {
            id = "\(slug)-\(n)"
            n += 1
        }
        used.insert(id)
        return id
    }
}

/// The report could not be written.
public struct StatsError: Error, CustomStringConvertible, Sendable {
    public var message: String
    public var description: String { message }
}
