/// Text made safe for HTML and XML: in content and in quoted attributes (the statistics report, the
/// dataset card's charts and the review page all write user-supplied labels and captions).
public enum MarkupEscape {
    public static func escape(_ s: String) -> String {
        var out = ""
        out.reserveCapacity(s.utf8.count)
        for c in s {
            switch c {
            case "&": out += "&amp;"
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "\"": out += "&quot;"
            case "'": out += "&#39;"
            default: out.append(c)
            }
        }
        return out
    }
}
