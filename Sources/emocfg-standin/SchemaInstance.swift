import Foundation

/// Writes a JSON value that a JSON Schema accepts, built from the request it answers.
///
/// Strings quote a few words of the request and a digest of it, so a different request gets a
/// different answer and the same request the same one. Everything else is predictable: an enum
/// gives its first value (the i-th for the i-th array element, also inside an element's object), a boolean `true`, a number the
/// low end of its range. Both dialects are read: JSON Schema (`"type": "object"`, `$ref`,
/// `anyOf`) and Gemini's OpenAPI subset (`"type": "OBJECT"`, `nullable`, `propertyOrdering`).
/// `pattern` and `multipleOf` are not honoured.
struct SchemaInstance {
    let root: JSON
    let seed: AnswerSeed

    func instance() -> JSON { consistentVerdict(value(for: root, name: "answer", index: 0, ordinal: "", depth: 0)) }

    /// A judge's verdict as a sensible judge writes it: one that passes lists nothing wrong (clients
    /// treat a pass with wrong aspects as a verdict that contradicts itself), where the schema
    /// allows an empty list.
    func consistentVerdict(_ v: JSON) -> JSON {
        guard case .object(var members) = v, case .bool(true)? = v["pass"],
              let i = members.firstIndex(where: { $0.key == "wrong_aspects" }),
              (root["properties"]?["wrong_aspects"]?["minItems"]?.integer ?? 0) == 0 else { return v }
        members[i].value = .array([])
        return .object(members)
    }

    /// A well-formed answer the schema rejects: the first required property is left out, or,
    /// when nothing is required, the first value has the wrong type.
    func violation() -> JSON {
        let schema = resolved(root, depth: 0)
        guard case .object(var members) = instance() else {
            return typeName(schema) == "string" ? .int(42) : .string("not a \(typeName(schema) ?? "value")")
        }
        if let required = schema["required"]?.array?.compactMap(\.string), let first = required.first {
            members.removeAll { $0.key == first }
        } else if !members.isEmpty {
            members[0].value = { if case .string = members[0].value { return .int(42) } else { return .string("wrong type") } }()
        } else {
            return .array([])
        }
        return .object(members)
    }

    // MARK: - Generation

    /// `index` picks among enum values; `ordinal` numbers the array elements on the way down
    /// ("qa 2" is the second pair), so elements differ and `uniqueItems` holds.
    private func value(for raw: JSON, name: String, index: Int, ordinal: String, depth: Int) -> JSON {
        guard depth < 16 else { return .null }
        let schema = resolved(raw, depth: depth)
        if let constant = schema["const"] { return constant }
        if let choices = schema["enum"]?.array, !choices.isEmpty { return choices[index % choices.count] }
        for key in ["anyOf", "oneOf"] {
            if let branches = schema[key]?.array, !branches.isEmpty {
                // Prefer a branch that is not `null`: an optional field still gets content.
                let branch = branches.first { typeName(resolved($0, depth: depth)) != "null" } ?? branches[0]
                return value(for: branch, name: name, index: index, ordinal: ordinal, depth: depth + 1)
            }
        }
        switch typeName(schema) {
        case "object": return objectValue(schema, index: index, ordinal: ordinal, depth: depth)
        case "array": return arrayValue(schema, name: name, ordinal: ordinal, depth: depth)
        case "integer": return .int(integerValue(schema))
        case "number": return .double(numberValue(schema))
        case "boolean": return .bool(true)
        case "null": return .null
        default: return .string(stringValue(schema, name: name + ordinal))
        }
    }

    /// The i-th element of an array gives its properties' enums their i-th value too (an array of
    /// `{aspect, question, answer}` pairs names a different aspect in each pair).
    private func objectValue(_ schema: JSON, index: Int, ordinal: String, depth: Int) -> JSON {
        var properties = schema["properties"]?.members ?? []
        if let order = schema["propertyOrdering"]?.array?.compactMap(\.string) {
            properties.sort { (order.firstIndex(of: $0.key) ?? .max) < (order.firstIndex(of: $1.key) ?? .max) }
        }
        var members = properties.map { (key: $0.key, value: value(for: $0.value, name: $0.key, index: index, ordinal: ordinal, depth: depth + 1)) }
        for required in schema["required"]?.array?.compactMap(\.string) ?? [] where !members.contains(where: { $0.key == required }) {
            members.append((required, .string(derivedText(required + ordinal))))
        }
        return .object(members)
    }

    private func arrayValue(_ schema: JSON, name: String, ordinal: String, depth: Int) -> JSON {
        let tuple = schema["prefixItems"]?.array ?? schema["items"]?.array ?? []
        let items = schema["items"].flatMap { $0.array == nil ? $0 : nil }
        let low = max(schema["minItems"]?.integer ?? 0, tuple.count)
        var high = schema["maxItems"]?.integer ?? Int.max
        if case .bool(true)? = schema["uniqueItems"], let choices = items.flatMap({ resolved($0, depth: depth)["enum"]?.array }) {
            high = min(high, choices.count)
        }
        // One to three elements unless the schema says otherwise; which of the three depends on the request.
        let count = min(max(1 + Int(seed.digest % 3), low), max(high, low))
        return .array((0..<count).map { i in
            let element = i < tuple.count ? tuple[i] : (items ?? .object([]))
            return value(for: element, name: name, index: i, ordinal: "\(ordinal) \(i + 1)", depth: depth + 1)
        })
    }

    private func integerValue(_ schema: JSON) -> Int {
        let low = schema["minimum"]?.number.map { Int($0.rounded(.up)) } ?? schema["exclusiveMinimum"]?.number.map { Int($0.rounded(.down)) + 1 }
        let high = schema["maximum"]?.number.map { Int($0.rounded(.down)) } ?? schema["exclusiveMaximum"]?.number.map { Int($0.rounded(.up)) - 1 }
        switch (low, high) {
        case let (l?, h?): return min(l, h)
        case let (l?, nil): return l
        case let (nil, h?): return min(h, 1)
        case (nil, nil): return 1
        }
    }

    private func numberValue(_ schema: JSON) -> Double {
        let low = schema["minimum"]?.number, high = schema["maximum"]?.number
        let exLow = schema["exclusiveMinimum"]?.number, exHigh = schema["exclusiveMaximum"]?.number
        if let l = low ?? exLow, let h = high ?? exHigh {
            // A quarter of the way up keeps clear of exclusive bounds.
            return l + (h - l) / 4
        }
        if let l = low { return l }
        if let l = exLow { return l + 1 }
        if let h = high { return min(h, 0.5) }
        if let h = exHigh { return h - 1 }
        return 0.5
    }

    private func stringValue(_ schema: JSON, name: String) -> String {
        switch schema["format"]?.string {
        case "date-time": return "2024-01-01T00:00:00Z"
        case "date": return "2024-01-01"
        case "time": return "00:00:00"
        case "email": return "standin@example.com"
        case "uri", "url": return "https://example.com/standin/\(seed.tag)"
        case "uuid": return "00000000-0000-4000-8000-\(String(repeating: "0", count: 12 - min(12, seed.tag.count)))\(seed.tag.prefix(12))"
        default: break
        }
        var text = derivedText(name)
        if let low = schema["minLength"]?.integer, text.count < low {
            text += String(repeating: ".", count: low - text.count)
        }
        if let high = schema["maxLength"]?.integer, text.count > high {
            text = String(text.prefix(max(high, 0)))
        }
        return text
    }

    private func derivedText(_ name: String) -> String {
        "\(name.replacingOccurrences(of: "_", with: " ")): “\(seed.quote)” [\(seed.tag)]"
    }

    // MARK: - Dialects

    /// The schema itself, or what its `$ref` points at, with `allOf` branches merged into one.
    private func resolved(_ schema: JSON, depth: Int) -> JSON {
        var current = schema
        var hops = 0
        while let ref = current["$ref"]?.string, hops < 16, let target = pointer(ref) {
            current = target
            hops += 1
        }
        if let parts = current["allOf"]?.array, !parts.isEmpty {
            var merged: [(key: String, value: JSON)] = (current.members ?? []).filter { $0.key != "allOf" }
            var properties: [(key: String, value: JSON)] = merged.first { $0.key == "properties" }?.value.members ?? []
            var required: [JSON] = merged.first { $0.key == "required" }?.value.array ?? []
            for part in parts {
                let p = depth < 16 ? resolved(part, depth: depth + 1) : part
                properties += p["properties"]?.members ?? []
                required += p["required"]?.array ?? []
                for m in p.members ?? [] where !["properties", "required"].contains(m.key) && !merged.contains(where: { $0.key == m.key }) {
                    merged.append(m)
                }
            }
            merged.removeAll { $0.key == "properties" || $0.key == "required" }
            if !properties.isEmpty { merged.append(("properties", .object(properties))) }
            if !required.isEmpty { merged.append(("required", .array(required))) }
            current = .object(merged)
        }
        return current
    }

    /// Follows a local JSON pointer such as `#/$defs/Caption`.
    private func pointer(_ ref: String) -> JSON? {
        guard ref.hasPrefix("#") else { return nil }
        var node: JSON? = root
        for token in ref.dropFirst().split(separator: "/") {
            let key = token.replacingOccurrences(of: "~1", with: "/").replacingOccurrences(of: "~0", with: "~")
            if let items = node?.array, let i = Int(key), items.indices.contains(i) { node = items[i] } else { node = node?[key] }
        }
        return node
    }

    /// The lower-cased type name: JSON Schema says `"object"`, Gemini `"OBJECT"`; a list of types
    /// gives its first that is not `null`; a schema without `type` is typed by its keywords.
    private func typeName(_ schema: JSON) -> String? {
        switch schema["type"] {
        case .string(let t)?: return t.lowercased()
        case .array(let ts)?:
            let names = ts.compactMap { $0.string?.lowercased() }
            return names.first { $0 != "null" } ?? names.first
        default:
            if schema["properties"] != nil || schema["required"] != nil { return "object" }
            if schema["items"] != nil || schema["prefixItems"] != nil { return "array" }
            return nil
        }
    }
}

/// What an answer is derived from: a few words of the last user text and a digest of the whole
/// request (texts and image bytes), so two requests that differ only in a frame still differ.
struct AnswerSeed: Sendable {
    let quote: String
    let digest: UInt64
    var tag: String { String(String(digest, radix: 16).suffix(8)) }

    init(_ request: ChatRequest) {
        var hash = FNV1a()
        hash.add(request.model)
        for t in request.texts { hash.add(t) }
        for i in request.images { hash.add(i) }
        digest = hash.value
        let words = EmbeddedSchema.removingSchema(from: request.lastUserText)
            .split(whereSeparator: { $0.isWhitespace }).map { String($0.prefix(24)) }
        quote = words.count <= 8 ? words.joined(separator: " ")
            : (words.prefix(4) + ["…"] + words.suffix(4)).joined(separator: " ")
    }
}

/// 64-bit FNV-1a: deterministic across runs and platforms, unlike `Hasher`.
struct FNV1a {
    private(set) var value: UInt64 = 0xcbf2_9ce4_8422_2325

    private static let prime: UInt64 = 0x0000_0100_0000_01B3

    /// Folds in eight bytes at a step (a frame is hundreds of kilobytes), then a separator so
    /// that ("ab", "c") and ("a", "bc") differ.
    mutating func add(_ s: String) {
        var s = s
        s.withUTF8 { buffer in
            let raw = UnsafeRawBufferPointer(buffer)
            var i = 0
            while i + 8 <= raw.count {
                value = (value ^ raw.loadUnaligned(fromByteOffset: i, as: UInt64.self)) &* Self.prime
                i += 8
            }
            while i < raw.count {
                value = (value ^ UInt64(raw[i])) &* Self.prime
                i += 1
            }
        }
        value = (value ^ UInt64(s.utf8.count)) &* Self.prime
    }
}

/// A schema written into a prompt between the lines `BEGIN SCHEMA` and `END SCHEMA`: how a prompt
/// for a server without structured output says what JSON it wants.
enum EmbeddedSchema {
    /// The last embedded schema that parses, searching every text of the request.
    static func find(in texts: [String]) -> JSON? {
        for text in texts.reversed() {
            if let schema = blocks(in: text).reversed().lazy.compactMap({ try? JSON.parse($0) }).first { return schema }
        }
        return nil
    }

    static func removingSchema(from text: String) -> String {
        var kept: [Substring] = []
        var inside = false
        for line in text.split(separator: "\n", omittingEmptySubsequences: false) {
            let t = line.trimmingCharacters(in: .whitespaces)
            if t == "BEGIN SCHEMA" { inside = true; continue }
            if t == "END SCHEMA" { inside = false; continue }
            if !inside { kept.append(line) }
        }
        return kept.joined(separator: "\n")
    }

    private static func blocks(in text: String) -> [String] {
        var found: [String] = []
        var current: [Substring]?
        for line in text.split(separator: "\n", omittingEmptySubsequences: false) {
            let t = line.trimmingCharacters(in: .whitespaces)
            if t == "BEGIN SCHEMA" { current = []; continue }
            if t == "END SCHEMA", let lines = current { found.append(lines.joined(separator: "\n")); current = nil; continue }
            // Code fences around the schema are presentation, not JSON.
            if !t.hasPrefix("```") { current?.append(line) }
        }
        return found
    }
}
