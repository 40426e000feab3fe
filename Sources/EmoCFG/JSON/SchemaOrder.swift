import Foundation

/// The order in which a schema's author listed each object's properties.
///
/// Servers that constrain their output to a schema (llama.cpp, vLLM, OpenAI's strict mode, Gemini)
/// write an answer's fields in the order the schema lists them, so the order decides whether a model
/// reasons before it concludes (`rationale` before `emotion`, the judge's reasons before `pass`).
/// `JSONValue` keeps no key order, so the order is read from the file once and kept in the schema
/// itself as Gemini's `propertyOrdering` keyword on every object schema with `properties`: Gemini
/// reads it as is, the OpenAI wire format writes `properties` in that order (and leaves the keyword
/// out), validators ignore it, and the canonical form used in cache keys stays canonical.
public enum SchemaOrder {
    /// `data` parsed as JSON, with `propertyOrdering` added to every object that has a `properties`
    /// object and no `propertyOrdering` of its own: the keys of `properties` as written in the file.
    public static func parse(_ data: Data) throws -> JSONValue {
        _ = try JSONValue.parse(data)  // the reader's own error, with its offset, for a broken file
        var reader = OrderedReader(bytes: Array(data))
        return try reader.node().value
    }

    /// A JSON value with its objects' keys in file order.
    indirect enum Node {
        case object([(String, Node)])
        case array([Node])
        case scalar(JSONValue)

        /// As a `JSONValue`, with `propertyOrdering` recorded where the order matters.
        var value: JSONValue {
            switch self {
            case .scalar(let v): return v
            case .array(let a): return .array(a.map(\.value))
            case .object(let pairs):
                var o: [String: JSONValue] = [:]
                for (k, v) in pairs { o[k] = v.value }
                if o["propertyOrdering"] == nil, let props = pairs.first(where: { $0.0 == "properties" })?.1, case .object(let names) = props {
                    o["propertyOrdering"] = .array(names.map { .string($0.0) })
                }
                return .object(o)
            }
        }
    }

    /// Reads the structure in order; strings, numbers and literals are handed to `JSONValue.parse`
    /// one token at a time (the file was already checked to be valid JSON).
    struct OrderedReader {
        let bytes: [UInt8]
        var i = 0

        static let whitespace: Set<UInt8> = [0x20, 0x0A, 0x0D, 0x09]
        /// Bytes that end a number or a literal.
        static let tokenEnd = whitespace.union(",]}".utf8)

        mutating func space() {
            while i < bytes.count, Self.whitespace.contains(bytes[i]) { i += 1 }
        }

        mutating func node() throws -> Node {
            space()
            guard i < bytes.count else { throw JSONParseError(offset: i, message: "unexpected end of input") }
            switch bytes[i] {
            case UInt8(ascii: "{"):
                i += 1
                var pairs: [(String, Node)] = []
                space()
                if i < bytes.count, bytes[i] == UInt8(ascii: "}") { i += 1; return .object(pairs) }
                while true {
                    space()
                    guard case .string(let key) = try scalar() else { throw JSONParseError(offset: i, message: "expected a key") }
                    space()
                    i += 1  // ':'
                    pairs.append((key, try node()))
                    space()
                    guard i < bytes.count else { throw JSONParseError(offset: i, message: "unexpected end of input") }
                    let c = bytes[i]
                    i += 1
                    if c == UInt8(ascii: "}") { return .object(pairs) }
                }
            case UInt8(ascii: "["):
                i += 1
                var items: [Node] = []
                space()
                if i < bytes.count, bytes[i] == UInt8(ascii: "]") { i += 1; return .array(items) }
                while true {
                    items.append(try node())
                    space()
                    guard i < bytes.count else { throw JSONParseError(offset: i, message: "unexpected end of input") }
                    let c = bytes[i]
                    i += 1
                    if c == UInt8(ascii: "]") { return .array(items) }
                }
            default:
                return .scalar(try scalar())
            }
        }

        /// One string, number or literal token.
        mutating func scalar() throws -> JSONValue {
            let start = i
            if bytes[i] == UInt8(ascii: "\"") {
                i += 1
                while i < bytes.count, bytes[i] != UInt8(ascii: "\"") { i += bytes[i] == UInt8(ascii: "\\") ? 2 : 1 }
                i += 1
            } else {
                while i < bytes.count, !Self.tokenEnd.contains(bytes[i]) { i += 1 }
            }
            return try JSONValue.parse(Data(bytes[start..<min(i, bytes.count)]))
        }
    }

    /// `schema` without the `propertyOrdering` this type adds: what the cache key hashes, so answers
    /// stored before the order was sent keep answering (the key stays what it was for a schema
    /// whose content did not change).
    public static func withoutOrdering(_ schema: JSONValue) -> JSONValue {
        switch schema {
        case .array(let a): return .array(a.map(withoutOrdering))
        case .object(var o):
            o["propertyOrdering"] = nil
            return .object(o.mapValues(withoutOrdering))
        default: return schema
        }
    }

    /// `schema` as JSON text with each `properties` object written in its `propertyOrdering` order
    /// and the keyword itself left out (other keys sorted): what an OpenAI-compatible server gets.
    public static func wireText(_ schema: JSONValue) -> String {
        var out = ""
        write(schema, to: &out)
        return out
    }

    private static func write(_ v: JSONValue, to out: inout String) {
        switch v {
        case .array(let a):
            out += "["
            for (i, x) in a.enumerated() {
                if i > 0 { out += "," }
                write(x, to: &out)
            }
            out += "]"
        case .object(let o):
            let order = o["propertyOrdering"]?.arrayValue?.compactMap(\.stringValue)
            out += "{"
            var first = true
            for k in o.keys.sorted() where k != "propertyOrdering" {
                if !first { out += "," }
                first = false
                CanonicalJSON.appendQuoted(k, to: &out)
                out += ":"
                if k == "properties", let order, case .object(let props) = o[k]! {
                    let names = order.filter { props[$0] != nil } + props.keys.sorted().filter { !order.contains($0) }
                    out += "{"
                    for (i, name) in names.enumerated() {
                        if i > 0 { out += "," }
                        CanonicalJSON.appendQuoted(name, to: &out)
                        out += ":"
                        write(props[name]!, to: &out)
                    }
                    out += "}"
                } else {
                    write(o[k]!, to: &out)
                }
            }
            out += "}"
        default:
            out += v.canonical
        }
    }
}
