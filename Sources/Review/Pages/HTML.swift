import Foundation
import EmoCFG

/// Small helpers for the server-rendered pages: escaping, URLs, the page frame.
enum HTML {
    /// Text escaped for HTML content and attribute values.
    static func esc(_ s: String) -> String { MarkupEscape.escape(s) }

    /// `s` percent-encoded for a query value (only unreserved characters stay).
    static func q(_ s: String) -> String {
        var allowed = CharacterSet.alphanumerics
        allowed.insert(charactersIn: "-._~")
        return s.addingPercentEncoding(withAllowedCharacters: allowed) ?? ""
    }

    /// A query string from name/value pairs, empty values left out (`a=1&b=2`, no `?`).
    static func query(_ pairs: [(String, String?)]) -> String {
        pairs.compactMap { k, v in v.flatMap { $0.isEmpty ? nil : "\(q(k))=\(q($0))" } }.joined(separator: "&")
    }

    /// The whole page around `body`.
    static func page(title: String, csrf: String, body: String) -> String {
        """
        <!doctype html>
        <html lang="en"><head><meta charset="utf-8">
        <meta name="viewport" content="width=device-width, initial-scale=1">
        <meta name="csrf-token" content="\(esc(csrf))">
        <title>\(esc(title)) · emocfg review</title>
        <link rel="stylesheet" href="/assets/review.css">
        <script src="/assets/review.js" defer></script>
        </head><body>
        \(body)
        </body></html>
        """
    }
}

/// Form fields from `application/x-www-form-urlencoded` text (a request body or a URL's query):
/// `+` is a space, `%XX` a byte; a name given twice keeps every value.
struct FormFields: Sendable {
    var pairs: [(String, String)] = []

    init(_ text: String) {
        for part in text.split(separator: "&", omittingEmptySubsequences: true) {
            let kv = part.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            func decode(_ s: Substring) -> String {
                let plus = s.replacingOccurrences(of: "+", with: " ")
                return plus.removingPercentEncoding ?? plus
            }
            pairs.append((decode(kv[0]), kv.count > 1 ? decode(kv[1]) : ""))
        }
    }

    subscript(_ name: String) -> String? { pairs.first { $0.0 == name }?.1 }

    func all(_ name: String) -> [String] { pairs.filter { $0.0 == name }.map(\.1) }
}
