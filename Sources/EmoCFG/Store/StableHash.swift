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
    public static func encode<T: Encodable>(_ value: T) -> String {
        let enc = JSONEncoder()
        enc.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        guard let data = try? enc.encode(value) else { return "null" }
        return String(decoding: data, as: UTF8.self)
    }

    public static func decode<T: Decodable>(_ type: T.Type, _ text: String?) -> T? {
        guard let text, let data = text.data(using: .utf8) else { return nil }
        return try? JSONDecoder().decode(type, from: data)
    }
}
