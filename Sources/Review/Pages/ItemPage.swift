import EmoCFG
import Foundation

/// One sample: its clip (video and frames with the face box), labels and metadata, question and
/// answer, the chain of rewrites with every judge's verdict, and the decision forms.
struct ItemPage {
    var item: ReviewItem
    var queue: ReviewQueue
    var filter: PageFilter
    var video: ClipMediaFiles.Video?
    var frames: Result<[SampledFrame], FrameSamplingError>
    var reviewer: String
    var csrf: String
    var flash: String?

    func render() -> String {
        let uid = item.sample.sample.uid
        let f = filter.query
        let suffix = f.isEmpty ? "" : "&" + f
        func itemURL(_ u: String) -> String { "/item?uid=\(HTML.q(u))\(suffix)" }
        let position = queue.index(of: uid)
        let prev = queue.previous(before: uid), next = position == nil ? nil : queue.next(after: uid)
        let open = queue.nextUnreviewed(after: uid)

        var body = "<header class=\"bar\"><h1><a id=\"queue-link\" href=\"/\(f.isEmpty ? "" : "?" + f)\">emocfg review</a></h1>"
        body += "<span class=\"progress\" id=\"progress\">reviewed <b id=\"reviewed-count\">\(queue.reviewed)</b> / <b id=\"total-count\">\(queue.total)</b></span>"
        body += "<span class=\"nav\">"
        body += prev.map { "<a id=\"prev-link\" href=\"\(itemURL($0.candidate.uid))\">← previous <kbd>k</kbd></a>" } ?? "<span class=\"muted\">← previous</span> "
        body += position.map { "<span id=\"position\">\($0 + 1) / \(queue.total)</span> " } ?? "<span class=\"muted\">not in this queue</span> "
        body += next.map { " <a id=\"next-link\" href=\"\(itemURL($0.candidate.uid))\">next <kbd>j</kbd> →</a>" } ?? " <span class=\"muted\">next →</span>"
        body += open.map { " <a id=\"unreviewed-link\" href=\"\(itemURL($0.candidate.uid))\">next unreviewed <kbd>u</kbd></a>" } ?? ""
        body += "</span><span class=\"muted\"><kbd>?</kbd> keys</span></header><main>"
        body += """
            <section class="card" id="help"><h2>Keys</h2>
            <kbd>a</kbd> accept · <kbd>r</kbd> reject (type the reason, <kbd>Enter</kbd>) · <kbd>e</kbd> edit the answer (<kbd>Ctrl</kbd>+<kbd>Enter</kbd> saves) ·
            <kbd>j</kbd>/<kbd>→</kbd> next · <kbd>k</kbd>/<kbd>←</kbd> previous · <kbd>u</kbd> next unreviewed · <kbd>q</kbd> queue · <kbd>space</kbd> play/pause · <kbd>Esc</kbd> leave a field
            </section>
            """
        if let flash { body += "<div class=\"flash\" id=\"flash\">\(HTML.esc(flash))</div>" }
        body += "<div class=\"grid\"><div>"
        body += clipSection()
        body += qaSection()
        body += chainSection()
        body += "</div><div>"
        body += decisionSection()
        body += metadataSection()
        body += "</div></div></main>"
        return HTML.page(title: uid, csrf: csrf, body: body)
    }

    var faceOverlay: String {
        guard let b = item.clip.face else { return "" }
        func pct(_ v: Double) -> String { String(format: "%.3f%%", max(0, min(1, v)) * 100) }
        return "<div class=\"face\" title=\"face box (\(HTML.esc(b.origin.rawValue)))\" style=\"left:\(pct(b.x));top:\(pct(b.y));width:\(pct(b.w));height:\(pct(b.h))\"></div>"
    }

    func clipSection() -> String {
        let clip = item.clip
        var out = "<section class=\"card\" id=\"clip\"><h2>Clip <span class=\"muted\">\(HTML.esc(clip.uid))</span></h2>"
        if let video {
            var src = "/media/video?clip=\(HTML.q(clip.uid))"
            if let w = video.window { src += String(format: "#t=%.3f,%.3f", w.start, w.end) }
            out += "<div class=\"media\"><video id=\"player\" controls preload=\"metadata\" src=\"\(src)\" data-origin=\"\(video.origin)\"></video>\(faceOverlay)</div>"
            out += "<p class=\"muted\">" + (video.origin == "rendered" ? "The clip as the export rendered it." : "The dataset's own file"
                + (video.window == nil ? "." : String(format: ", playing %.2f–%.2f s.", video.window!.start, video.window!.end))) + "</p>"
        } else {
            out += "<p class=\"muted\" id=\"no-video\">No playable video for this clip (its file is not a format browsers play and no export rendered it); its frames:</p>"
        }
        switch frames {
        case .success(let frames):
            out += "<div class=\"frames\" id=\"frames\">"
            for (i, fr) in frames.enumerated() {
                let t = fr.time.map { String(format: "%.2f s", $0) } ?? "frame \(fr.index)"
                out += "<figure class=\"frame\"><img src=\"/media/frame?clip=\(HTML.q(clip.uid))&amp;n=\(i)\" width=\"\(fr.width)\" height=\"\(fr.height)\" alt=\"frame \(fr.index)\">"
                    + faceOverlay + "<figcaption>\(t)</figcaption></figure>"
            }
            out += "</div>"
        case .failure(let e):
            out += "<p class=\"flash\">The frames could not be read: \(HTML.esc(e.message))</p>"
        }
        return out + "</section>"
    }

    func qaSection() -> String {
        let s = item.sample.sample
        var out = "<section class=\"card qa\" id=\"qa\"><h2>Question and answer <span class=\"muted\">\(HTML.esc(s.task.rawValue)) · \(HTML.esc(s.form.rawValue)) · \(HTML.esc(s.stage))</span></h2>"
        out += "<div class=\"label\">question</div><p id=\"question\">\(HTML.esc(s.content["question"]?.stringValue ?? ""))</p>"
        out += "<div class=\"label\">answer</div><p class=\"answer\" id=\"answer\">\(HTML.esc(s.content["answer"]?.stringValue ?? ""))</p>"
        if let c = item.correction {
            out += "<div class=\"label\">corrected answer (exported instead)</div><p class=\"answer\" id=\"corrected-answer\">\(HTML.esc(c.sample.content["answer"]?.stringValue ?? ""))</p>"
        }
        if let about = item.about {
            out += "<details><summary>the \(HTML.esc(about.sample.stage)) sample it explains (\(HTML.esc(about.sample.uid)))</summary>"
                + "<p class=\"answer\">\(HTML.esc(about.sample.content["answer"]?.stringValue ?? ""))</p></details>"
        }
        if let detail = s.content["detail"] {
            out += "<details><summary>the model's structured answer</summary><pre>\(HTML.esc(detail.canonical))</pre></details>"
        }
        return out + "</section>"
    }

    func chainSection() -> String {
        var out = "<section class=\"card\" id=\"chain\"><h2>Committee"
        out += item.chain.count > 1 ? " <span class=\"muted\">(\(item.chain.count - 1) rewrite\(item.chain.count == 2 ? "" : "s"), original first)</span>" : ""
        out += "</h2>"
        for (i, step) in item.chain.enumerated() {
            let s = step.sample
            let current = i == item.chain.count - 1
            out += "<div class=\"step\(current ? " current" : "")\" data-uid=\"\(HTML.esc(s.sample.uid))\">"
            out += "<div><b>round \(s.sample.round)</b> <span class=\"muted\">\(HTML.esc(s.sample.uid))</span> "
                + "<span class=\"pill \(s.committee.rawValue)\">\(s.committee.rawValue)</span>"
                + (s.sample.model.map { " <span class=\"muted\">by \(HTML.esc($0))</span>" } ?? "") + "</div>"
            if !current { out += "<p class=\"answer\">\(HTML.esc(s.sample.content["answer"]?.stringValue ?? ""))</p>" }
            if step.verdicts.isEmpty {
                out += "<p class=\"muted\">No judge voted on it\(s.sample.stage == "instruct" ? " (label-derived samples are accepted without a vote unless verify --include-instruct)" : "").</p>"
            } else {
                out += "<table class=\"verdicts\"><thead><tr><th>judge</th><th>verdict</th><th>wrong aspects</th><th>suggestion</th></tr></thead><tbody>"
                for v in step.verdicts {
                    out += "<tr><td>\(HTML.esc(v.judge))</td><td><span class=\"pill \(v.pass ? "pass" : "fail")\">\(v.pass ? "pass" : "fail")</span></td>"
                        + "<td>\(HTML.esc(v.wrongAspects.joined(separator: ", ")))</td><td>\(HTML.esc(v.suggestion))</td></tr>"
                }
                out += "</tbody></table>"
            }
            if let r = s.reasons, !current || s.committee == .rejected { out += "<p class=\"muted\">\(HTML.esc(r))</p>" }
            out += "</div>"
        }
        return out + "</section>"
    }

    func decisionSection() -> String {
        let s = item.sample.sample
        let back = filter.query
        func hidden(_ decision: String) -> String {
            "<input type=\"hidden\" name=\"csrf\" value=\"\(HTML.esc(csrf))\"><input type=\"hidden\" name=\"uid\" value=\"\(HTML.esc(s.uid))\">"
                + "<input type=\"hidden\" name=\"decision\" value=\"\(decision)\"><input type=\"hidden\" name=\"back\" value=\"\(HTML.esc(back))\">"
        }
        var out = "<section class=\"card decide\" id=\"decide\"><h2>Your decision <span class=\"muted\">as \(HTML.esc(Store.humanJudge(reviewer)))</span></h2>"
        if let h = item.standing {
            out += "<p id=\"standing\">Standing: <span class=\"pill \(h.decision.rawValue)\">\(h.decision.rawValue)</span> by \(HTML.esc(h.judge)) "
                + "<span class=\"muted\">\(HTML.esc(h.createdAt))\(h.reason.isEmpty ? "" : " · " + HTML.esc(h.reason))</span></p>"
        } else {
            out += "<p id=\"standing\" class=\"muted\">No person has decided on this sample yet; the committee's status stands: "
                + "<span class=\"pill \(item.sample.committee.rawValue)\">\(item.sample.committee.rawValue)</span></p>"
        }
        if item.sample.origin == "human" {
            return out + "<p>This is a correction made on this page; decide on the sample it corrects.</p></section>"
        }
        out += "<form method=\"post\" action=\"/decide\" id=\"accept-form\">\(hidden("accept"))"
            + "<button type=\"submit\" class=\"accept\">Accept <kbd>a</kbd></button> <span class=\"muted\">exported as it is</span></form>"
        out += "<form method=\"post\" action=\"/decide\" id=\"reject-form\">\(hidden("reject"))"
            + "<label class=\"label\" for=\"reject-reason\">reason <kbd>r</kbd></label>"
            + "<input type=\"text\" id=\"reject-reason\" name=\"reason\" required placeholder=\"what is wrong (Enter rejects)\" autocomplete=\"off\">"
            + "<button type=\"submit\" class=\"reject\">Reject</button> <span class=\"muted\">left out of the export</span></form>"
        let current = item.correction?.sample.content["answer"]?.stringValue ?? s.content["answer"]?.stringValue ?? ""
        out += "<form method=\"post\" action=\"/decide\" id=\"edit-form\">\(hidden("edit"))"
            + "<label class=\"label\" for=\"edit-answer\">corrected answer <kbd>e</kbd>\(s.form == .mcq ? " (option letters)" : "")</label>"
            + "<textarea id=\"edit-answer\" name=\"answer\" required>\(HTML.esc(current))</textarea>"
            + "<input type=\"text\" id=\"edit-reason\" name=\"reason\" placeholder=\"what was wrong (optional)\" autocomplete=\"off\">"
            + "<button type=\"submit\" class=\"edit\">Save the correction <kbd>Ctrl</kbd>+<kbd>Enter</kbd></button> "
            + "<span class=\"muted\">exported in place of the original</span></form>"
        if item.decisions.count > 1 || !item.corrections.isEmpty {
            out += "<details><summary>history (\(item.decisions.count) decisions)</summary><ul>"
            for d in item.decisions {
                out += "<li>\(HTML.esc(d.createdAt)) \(HTML.esc(d.judge)): \(d.decision.rawValue)\(d.reason.isEmpty ? "" : " – " + HTML.esc(d.reason))"
                    + (d.revisionUID.map { " → \(HTML.esc($0))" } ?? "") + "</li>"
            }
            out += "</ul></details>"
        }
        return out + "</section>"
    }

    func metadataSection() -> String {
        let c = item.clip, r = c.record
        var rows: [(String, String)] = [
            ("source", c.source), ("clip", c.uid), ("media", "\(r.kind.rawValue): \(r.path)"),
        ]
        if let w = r.window { rows.append(("window", String(format: "%.2f–%.2f s", w.start, w.end))) }
        if let fr = r.frameRange { rows.append(("frames", "\(fr.first)–\(fr.last)")) }
        rows.append(("split", [r.split, r.nativeSplit.map { "native: \($0)" }].compactMap { $0 }.joined(separator: " · ").ifEmpty("–")))
        if !r.folds.isEmpty { rows.append(("folds", r.folds.sorted { $0.key < $1.key }.map { "\($0.key): \($0.value)" }.joined(separator: ", "))) }
        let duration = r.window?.length ?? c.probe?.duration
        rows.append(("duration", duration.map { String(format: "%.2f s", $0) } ?? "–"))
        if let p = c.probe {
            rows.append(("picture", [p.width.flatMap { w in p.height.map { "\(w)×\($0)" } }, p.fps.map { String(format: "%.2f fps", $0) },
                                     p.codec, p.container].compactMap { $0 }.joined(separator: " · ")))
        }
        if let b = c.face {
            rows.append(("face box", String(format: "x %.3f y %.3f w %.3f h %.3f (%@)", b.x, b.y, b.w, b.h, b.origin.rawValue)))
        } else {
            rows.append(("face box", "none"))
        }
        if let v = c.view { rows.append(("view", v.rawValue)) }
        if let id = r.identity { rows.append(("identity", id)) }
        let labels = (try? JSONValue(encoding: r.labels))?.canonical ?? ""
        rows.append(("labels", labels))
        if !r.nativeLabels.isEmpty {
            rows.append(("native labels", r.nativeLabels.sorted { $0.key < $1.key }.map { "\($0.key): \($0.value)" }.joined(separator: "; ")))
        }
        for (k, v) in r.texts.sorted(by: { $0.key < $1.key }) { rows.append((k, v)) }
        if let o = r.labelOrigin { rows.append(("labels from", o.description)) }
        let s = item.sample.sample
        rows.append(("sample", s.uid))
        rows.append(("prompt", s.promptID))
        if let m = s.model { rows.append(("model", m)) }
        return "<section class=\"card\" id=\"metadata\"><h2>Labels and metadata</h2><dl class=\"meta\">"
            + rows.map { "<dt>\(HTML.esc($0.0))</dt><dd>\(HTML.esc($0.1))</dd>" }.joined() + "</dl></section>"
    }
}

extension String {
    func ifEmpty(_ other: String) -> String { isEmpty ? other : self }
}

extension JSONValue {
    /// The JSON of an `Encodable` value (through JSONEncoder).
    init<T: Encodable>(encoding value: T) throws {
        self = try JSONValue.parse(String(decoding: try JSONEncoder().encode(value), as: UTF8.self))
    }
}
