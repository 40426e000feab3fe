import Foundation

/// Checks a value against the subset of JSON Schema emocfg's schemas use: `type` (one or a list),
/// `properties`, `required`, `additionalProperties: false`, `items`, `enum`, `minItems`, `maxItems`,
/// `minLength`, `maxLength`, `minimum`, `maximum`. Returns every violation with its JSON path.
public enum JSONSchemaValidator {
    public static func violations(of value: JSONValue, against schema: JSONValue, path: String = "$") -> [String] {
        guard case .object(let s) = schema else { return [] }
        var out: [String] = []
        if let t = s["type"] {
            let types = t.stringValue.map { [$0] } ?? t.arrayValue?.compactMap(\.stringValue) ?? []
            if !types.isEmpty && !types.contains(where: { matches(value, $0) }) {
                out.append("\(path): expected \(types.joined(separator: " or ")), found \(kind(value))")
                return out
            }
        }
        if let e = s["enum"]?.arrayValue, !e.contains(value) {
            out.append("\(path): \(value.canonical) is not one of \(JSONValue.array(e).canonical)")
        }
        switch value {
        case .object(let o):
            for name in s["required"]?.arrayValue?.compactMap(\.stringValue) ?? [] where o[name] == nil {
                out.append("\(path): lacks the required property '\(name)'")
            }
            let props = s["properties"]?.objectValue ?? [:]
            for (k, v) in o {
                if let ps = props[k] {
                    out += violations(of: v, against: ps, path: "\(path).\(k)")
                } else if s["additionalProperties"] == .bool(false) {
                    out.append("\(path): has a property '\(k)' the schema does not allow")
                }
            }
        case .array(let a):
            if let n = s["minItems"]?.numberValue, Double(a.count) < n { out.append("\(path): \(a.count) items, at least \(Int(n)) expected") }
            if let n = s["maxItems"]?.numberValue, Double(a.count) > n { out.append("\(path): \(a.count) items, at most \(Int(n)) expected") }
            if let items = s["items"] {
                for (i, v) in a.enumerated() { out += violations(of: v, against: items, path: "\(path)[\(i)]") }
            }
        case .string(let str):
            if let n = s["minLength"]?.numberValue, Double(str.count) < n { out.append("\(path): shorter than \(Int(n)) characters") }
            if let n = s["maxLength"]?.numberValue, Double(str.count) > n { out.append("\(path): longer than \(Int(n)) characters") }
        case .number(let d):
            if let n = s["minimum"]?.numberValue, d < n { out.append("\(path): \(d) is below the minimum \(n)") }
            if let n = s["maximum"]?.numberValue, d > n { out.append("\(path): \(d) is above the maximum \(n)") }
        default:
            break
        }
        return out
    }

    static func matches(_ v: JSONValue, _ type: String) -> Bool {
        switch (type, v) {
        case ("object", .object), ("array", .array), ("string", .string), ("boolean", .bool), ("null", .null), ("number", .number):
            return true
        case ("integer", .number(let d)): return d == d.rounded()
        default: return false
        }
    }

    static func kind(_ v: JSONValue) -> String {
        switch v {
        case .null: return "null"
        case .bool: return "boolean"
        case .number: return "number"
        case .string: return "string"
        case .array: return "array"
        case .object: return "object"
        }
    }
}
