import Foundation

/// A 64-bit FNV-1a digest as 16 hex digits: a cheap, stable fingerprint for change detection
/// (not for security: the LLM cache uses SHA-256).
public enum StableHash {
    public static func hex<S: Sequence>(_ bytes: S) -> String where S.Element == UInt8 {
        var h: UInt64 = 0xcbf2_9ce4_8422_2325
        for b in bytes {
            h ^= UInt64(b)
            h &*= 0x0000_0100_0000_01b3
        }
        let s = String(h, radix: 16)
        return String(repeating: "0", count: 16 - s.count) + s
    }

    public static func hex(_ string: String) -> String { hex(string.utf8) }
}

/// JSON with sorted keys and no escaped slashes: the same value always gives the same bytes.
public enum CanonicalJSON {
    /// One encoder for every call: building a `JSONEncoder` costs more than encoding a small value,
    /// and the store encodes four values per clip row. Its settings never change after this.
    private static let encoder: JSONEncoder = {
        let enc = JSONEncoder()
        enc.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return enc
    }()

    public static func encode<T: Encodable>(_ value: T) -> String {
        guard let data = try? encoder.encode(value) else { return "null" }
        return String(decoding: data, as: UTF8.self)
    }

    /// A string map with sorted keys, written directly: the store writes three such maps per clip
    /// row (native labels, texts, folds), and `JSONEncoder` made up most of the cost of an upsert.
    public static func encode(_ map: [String: String]) -> String {
        var out = "{"
        for (i, key) in map.keys.sorted().enumerated() {
            if i > 0 { out += "," }
            appendQuoted(key, to: &out)
            out += ":"
            appendQuoted(map[key]!, to: &out)
        }
        return out + "}"
    }

    /// Normalised labels written directly, keys sorted, nil fields left out (as `JSONEncoder` would):
    /// one row per clip makes this the hottest encode of an ingest.
    public static func encode(_ l: NormalizedLabels) -> String {
        var fields: [(String, String)] = []
        func str(_ s: String) -> String { var o = ""; appendQuoted(s, to: &o); return o }
        func num(_ d: Double) -> String? { d.isFinite ? "\(d)" : nil }
        func list(_ a: [String]) -> String { "[" + a.map(str).joined(separator: ",") + "]" }
        fields.append(("attributes", "{" + l.attributes.keys.sorted().map { str($0) + ":" + list(l.attributes[$0]!) }.joined(separator: ",") + "}"))
        if let v = l.arousal, let n = num(v) { fields.append(("arousal", n)) }
        if let v = l.emotion { fields.append(("emotion", str(v))) }
        fields.append(("emotions", list(l.emotions)))
        fields.append(("facts", encode(l.facts)))
        if let v = l.intensity { fields.append(("intensity", str(v))) }
        if let v = l.sentiment { fields.append(("sentiment", str(v))) }
        if let v = l.sentimentScore, let n = num(v) { fields.append(("sentimentScore", n)) }
        if let v = l.valence, let n = num(v) { fields.append(("valence", n)) }
        return "{" + fields.sorted { $0.0 < $1.0 }.map { str($0.0) + ":" + $0.1 }.joined(separator: ",") + "}"
    }

    public static func appendQuoted(_ s: String, to out: inout String) {
        out += "\""
        for u in s.unicodeScalars {
            switch u {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            case _ where u.value < 0x20:
                let hex = String(u.value, radix: 16)
                out += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
            default: out.unicodeScalars.append(u)
            }
        }
        out += "\""
    }

    public static func decode<T: Decodable>(_ type: T.Type, _ text: String?) -> T? {
        guard let text, let data = text.data(using: .utf8) else { return nil }
        return try? JSONDecoder().decode(type, from: data)
    }
}
