import Foundation
import EmoCFG

/// The report's charts as inline SVG, so the page needs no script and no network. Every bar is a
/// `<rect class="bar">` with a `<title>` tooltip giving its value, and every chart is an
/// `<svg class="chart" data-chart="ID" data-expected="N">` stating how many bars it must contain:
/// `scripts/report-screenshot.sh` counts them in the page a browser rendered. A chart whose values
/// are all zero (or that has none) draws the text "no data" and expects no bar, so a chart that
/// expects bars always has at least one of non-zero size.
enum SVGChart {
    struct Series {
        var name: String
        var color: String
    }

    /// One row of a horizontal chart: a label and one value per series (stacked left to right).
    struct Row {
        var label: String
        var values: [Double]
    }

    static let barColor = "#3b6fb6"

    /// Horizontal bars, one row per item, the series stacked within a row. Every (row, series) cell
    /// is a bar, zero-width when its value is zero, so a chart has rows × series bars.
    static func horizontal(
        id: String, rows: [Row], series: [Series], axis: String, width: Double = 600, top fixedTop: Double? = nil,
        format: (Double) -> String
    ) -> String {
        let totals = rows.map { $0.values.reduce(0, +) }
        guard !rows.isEmpty, totals.contains(where: { $0 > 0 }) else { return noData(id: id, width: width) }
        let longest = rows.map { min($0.label.count, maxLabelCharacters) }.max() ?? 0
        // About 7.2 px per character at 12 px: wide enough for `m` and `W`, without measuring text.
        let labelWidth = min(250, max(48, Double(longest) * 7.2 + 14))
        let valueWidth = 64.0
        let plot = width - labelWidth - valueWidth
        let legend = series.count > 1 ? 24.0 : 0
        let rowHeight = 22.0, barHeight = 15.0
        let plotTop = legend + 6
        let plotBottom = plotTop + Double(rows.count) * rowHeight
        let height = plotBottom + 40
        let (step, axisTop) = ticks(max: fixedTop ?? totals.max()!, integral: fixedTop == nil)
        let scale = plot / axisTop

        var svg = open(id: id, expected: rows.count * series.count, width: width, height: height)
        if series.count > 1 { svg += legendRow(series, x: labelWidth) }
        for t in stride(from: 0, through: axisTop + step / 2, by: step) {
            let x = fmt(labelWidth + t * scale)
            svg += "<line class=\"grid-line\" x1=\"\(x)\" y1=\"\(fmt(plotTop - 2))\" x2=\"\(x)\" y2=\"\(fmt(plotBottom))\"/>"
            svg += "<text class=\"tick\" x=\"\(x)\" y=\"\(fmt(plotBottom + 14))\" text-anchor=\"middle\">\(escape(format(t)))</text>"
        }
        for (r, row) in rows.enumerated() {
            let y = plotTop + Double(r) * rowHeight + (rowHeight - barHeight) / 2
            svg += "<text x=\"\(fmt(labelWidth - 6))\" y=\"\(fmt(y + barHeight - 3))\" text-anchor=\"end\">"
                + "<title>\(escape(row.label))</title>\(escape(shortened(row.label)))</text>"
            var x = labelWidth
            for (s, value) in row.values.enumerated() {
                // A value too small to see still gets a visible sliver.
                let w = value > 0 ? max(1, value * scale) : 0
                let tip = series.count > 1 ? "\(row.label) · \(series[s].name): \(format(value))" : "\(row.label): \(format(value))"
                svg += "<rect class=\"bar\" x=\"\(fmt(x))\" y=\"\(fmt(y))\" width=\"\(fmt(w))\" height=\"\(fmt(barHeight))\" "
                    + "fill=\"\(series[s].color)\"><title>\(escape(tip))</title></rect>"
                x += w
            }
            svg += "<text class=\"value\" x=\"\(fmt(x + 5))\" y=\"\(fmt(y + barHeight - 3))\">\(escape(format(totals[r])))</text>"
        }
        svg += "<line class=\"axis-line\" x1=\"\(fmt(labelWidth))\" y1=\"\(fmt(plotTop - 2))\" x2=\"\(fmt(labelWidth))\" y2=\"\(fmt(plotBottom))\"/>"
        svg += "<text class=\"axis-title\" x=\"\(fmt(labelWidth + plot / 2))\" y=\"\(fmt(plotBottom + 32))\" text-anchor=\"middle\">\(escape(axis))</text>"
        return svg + "</svg>"
    }

    /// Vertical bars over fixed bins (a histogram): one bar per bin, zero-height when empty, with the
    /// count above each bar and the bin under it.
    static func columns(id: String, bins: [String], values: [Int], xAxis: String, yAxis: String, width: Double = 390) -> String {
        guard values.contains(where: { $0 > 0 }) else { return noData(id: id, width: width) }
        let (step, axisTop) = ticks(max: Double(values.max()!), integral: true)
        // Room for the widest tick label (about 6.6 px a character at 11 px) and the rotated axis title.
        let left = 30 + Double(count(axisTop).count) * 6.6, right = 8.0, plotTop = 20.0, plotHeight = 150.0
        let plotBottom = plotTop + plotHeight
        let height = plotBottom + 44
        let slot = (width - left - right) / Double(bins.count)
        let scale = plotHeight / axisTop

        var svg = open(id: id, expected: bins.count, width: width, height: height)
        for t in stride(from: 0, through: axisTop + step / 2, by: step) {
            let y = fmt(plotBottom - t * scale)
            svg += "<line class=\"grid-line\" x1=\"\(fmt(left))\" y1=\"\(y)\" x2=\"\(fmt(width - right))\" y2=\"\(y)\"/>"
            svg += "<text class=\"tick\" x=\"\(fmt(left - 6))\" y=\"\(fmt(plotBottom - t * scale + 4))\" text-anchor=\"end\">\(count(t))</text>"
        }
        for (i, (bin, value)) in zip(bins, values).enumerated() {
            let h = value > 0 ? max(1, Double(value) * scale) : 0
            let x = left + Double(i) * slot + slot * 0.1
            let mid = fmt(left + (Double(i) + 0.5) * slot)
            svg += "<rect class=\"bar\" x=\"\(fmt(x))\" y=\"\(fmt(plotBottom - h))\" width=\"\(fmt(slot * 0.8))\" height=\"\(fmt(h))\" "
                + "fill=\"\(barColor)\"><title>\(escape("\(bin) \(xAxis): \(count(Double(value)))"))</title></rect>"
            svg += "<text class=\"value\" x=\"\(mid)\" y=\"\(fmt(plotBottom - h - 4))\" text-anchor=\"middle\">\(count(Double(value)))</text>"
            svg += "<text class=\"tick\" x=\"\(mid)\" y=\"\(fmt(plotBottom + 15))\" text-anchor=\"middle\">\(escape(bin))</text>"
        }
        svg += "<line class=\"axis-line\" x1=\"\(fmt(left))\" y1=\"\(fmt(plotBottom))\" x2=\"\(fmt(width - right))\" y2=\"\(fmt(plotBottom))\"/>"
        svg += "<text class=\"axis-title\" x=\"\(fmt(left + (width - left - right) / 2))\" y=\"\(fmt(plotBottom + 34))\" "
            + "text-anchor=\"middle\">\(escape(xAxis))</text>"
        svg += "<text class=\"axis-title\" transform=\"translate(12 \(fmt(plotTop + plotHeight / 2))) rotate(-90)\" "
            + "text-anchor=\"middle\">\(escape(yAxis))</text>"
        return svg + "</svg>"
    }

    static func noData(id: String, width: Double) -> String {
        open(id: id, expected: 0, width: width, height: 44)
            + "<text class=\"no-data\" x=\"\(fmt(width / 2))\" y=\"27\" text-anchor=\"middle\">no data</text></svg>"
    }

    static func open(id: String, expected: Int, width: Double, height: Double) -> String {
        "<svg class=\"chart\" data-chart=\"\(escape(id))\" data-expected=\"\(expected)\" "
            + "width=\"\(fmt(width))\" height=\"\(fmt(height))\" viewBox=\"0 0 \(fmt(width)) \(fmt(height))\" role=\"img\">"
    }

    static func legendRow(_ series: [Series], x start: Double) -> String {
        var x = start
        var out = ""
        for s in series {
            out += "<rect class=\"swatch\" x=\"\(fmt(x))\" y=\"5\" width=\"12\" height=\"12\" rx=\"2\" fill=\"\(s.color)\"/>"
            out += "<text class=\"legend\" x=\"\(fmt(x + 17))\" y=\"15\">\(escape(s.name))</text>"
            x += 17 + Double(s.name.count) * 7.2 + 16
        }
        return out
    }

    /// A step of 1, 2 or 5 times a power of ten giving about four intervals, and the axis end: the
    /// first step at or above `max`. Counts never get fractional steps.
    static func ticks(max: Double, integral: Bool) -> (step: Double, top: Double) {
        guard max > 0 else { return (1, 1) }
        let raw = max / 4
        let magnitude = pow(10, floor(log10(raw)))
        var step = [1.0, 2, 5, 10].map { $0 * magnitude }.first { $0 >= raw } ?? 10 * magnitude
        if integral { step = Swift.max(1, step.rounded(.up)) }
        return (step, (max / step).rounded(.up) * step)
    }

    static let maxLabelCharacters = 32

    static func shortened(_ label: String) -> String {
        label.count > maxLabelCharacters ? String(label.prefix(maxLabelCharacters - 1)) + "…" : label
    }

    /// Coordinates with at most one decimal, so the markup stays small and stable.
    static func fmt(_ x: Double) -> String {
        let r = (x * 10).rounded() / 10
        return r == r.rounded() ? String(Int(r)) : String(r)
    }

    /// A count with thousands separators (`12,345`), the same on every machine.
    static func count(_ x: Double) -> String {
        let digits = String(Int(x.rounded()))
        var out = ""
        for (i, c) in digits.enumerated() {
            if i > 0 && (digits.count - i) % 3 == 0 { out += "," }
            out.append(c)
        }
        return out
    }

    /// Text safe in HTML and XML content and in quoted attributes.
    static func escape(_ s: String) -> String { MarkupEscape.escape(s) }
}
