import Foundation

/// VidEmo's affective tree of one clip: the visible attributes (aspect–item pairs), the expressions
/// they support, and the emotions those support. Edges are `supported_by` lists pointing one level
/// down (emotion → expressions → attributes), so the tree reads from the conclusion to its cues.
///
/// The JSON form is `schemas/affective-tree.schema.json`; the structural rules a schema cannot say
/// are checked here (`problems(in:)`): ids unique across the tree, every `supported_by` entry names
/// a node of the level just below, every expression supports some emotion (no orphans above the
/// attribute level; an attribute no expression cites is allowed and hangs from the root). The same
/// rules are written in `plugins/affective_tree_reward.py`, which must agree with this file.
public struct AffectiveTree: Sendable, Equatable {
    public struct Attribute: Sendable, Equatable {
        public var id: String
        public var aspect: String
        public var item: String
        public init(id: String, aspect: String, item: String) {
            self.id = id
            self.aspect = aspect
            self.item = item
        }
    }

    public struct Expression: Sendable, Equatable {
        public var id: String
        public var aspect: String
        public var item: String
        public var supportedBy: [String]
        public init(id: String, aspect: String, item: String, supportedBy: [String]) {
            self.id = id
            self.aspect = aspect
            self.item = item
            self.supportedBy = supportedBy
        }
    }

    public struct Emotion: Sendable, Equatable {
        public var id: String
        public var item: String
        public var supportedBy: [String]
        public init(id: String, item: String, supportedBy: [String]) {
            self.id = id
            self.item = item
            self.supportedBy = supportedBy
        }
    }

    public var attributes: [Attribute]
    public var expressions: [Expression]
    public var emotions: [Emotion]

    public init(attributes: [Attribute], expressions: [Expression], emotions: [Emotion]) {
        self.attributes = attributes
        self.expressions = expressions
        self.emotions = emotions
    }

    /// Why a JSON value is not a usable tree.
    public struct Invalid: Error, CustomStringConvertible, Sendable, Equatable {
        public var problems: [String]
        public var description: String { "not a valid affective tree: " + problems.joined(separator: "; ") }
    }

    /// The tree in `json`, or why not (shape and structure).
    public init(json: JSONValue) throws(Invalid) {
        var problems: [String] = []
        func text(_ v: JSONValue?, _ path: String) -> String {
            guard let s = v?.stringValue, !s.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty else {
                problems.append("\(path) must be a non-empty string")
                return ""
            }
            return s
        }
        func ids(_ v: JSONValue?, _ path: String) -> [String] {
            guard let a = v?.arrayValue, !a.isEmpty else {
                problems.append("\(path) must be a non-empty list of ids")
                return []
            }
            return a.enumerated().map { text($0.element, "\(path)[\($0.offset)]") }
        }
        func list(_ key: String) -> [JSONValue] {
            guard let a = json[key]?.arrayValue, !a.isEmpty else {
                problems.append("\(key) must be a non-empty list")
                return []
            }
            return a
        }
        guard json.objectValue != nil else { throw Invalid(problems: ["the tree is not a JSON object"]) }
        attributes = list("attributes").enumerated().map { i, v in
            Attribute(id: text(v["id"], "attributes[\(i)].id"), aspect: text(v["aspect"], "attributes[\(i)].aspect"), item: text(v["item"], "attributes[\(i)].item"))
        }
        expressions = list("expressions").enumerated().map { i, v in
            Expression(id: text(v["id"], "expressions[\(i)].id"), aspect: text(v["aspect"], "expressions[\(i)].aspect"),
                       item: text(v["item"], "expressions[\(i)].item"), supportedBy: ids(v["supported_by"], "expressions[\(i)].supported_by"))
        }
        emotions = list("emotions").enumerated().map { i, v in
            Emotion(id: text(v["id"], "emotions[\(i)].id"), item: text(v["item"], "emotions[\(i)].item"),
                    supportedBy: ids(v["supported_by"], "emotions[\(i)].supported_by"))
        }
        if problems.isEmpty { problems = structuralProblems() }
        guard problems.isEmpty else { throw Invalid(problems: problems) }
    }

    /// Why `json` is not a usable tree, or nothing.
    public static func problems(in json: JSONValue) -> [String] {
        do {
            _ = try AffectiveTree(json: json)
            return []
        } catch {
            return error.problems
        }
    }

    /// The rules between nodes: unique ids, edges one level down to existing nodes, no id listed
    /// twice in one `supported_by`, every expression cited by an emotion.
    public func structuralProblems() -> [String] {
        var problems: [String] = []
        var seen = Set<String>()
        for id in attributes.map(\.id) + expressions.map(\.id) + emotions.map(\.id) where !seen.insert(id).inserted {
            problems.append("id '\(id)' is used twice")
        }
        let attributeIDs = Set(attributes.map(\.id)), expressionIDs = Set(expressions.map(\.id))
        func check(_ refs: [String], of node: String, below: Set<String>, level: String) {
            var listed = Set<String>()
            for r in refs {
                if !listed.insert(r).inserted { problems.append("\(node) lists '\(r)' twice in supported_by") }
                if !below.contains(r) { problems.append("\(node) is supported by '\(r)', which is not \(level)") }
            }
        }
        for e in expressions { check(e.supportedBy, of: "expression '\(e.id)'", below: attributeIDs, level: "an attribute") }
        for m in emotions { check(m.supportedBy, of: "emotion '\(m.id)'", below: expressionIDs, level: "an expression") }
        let cited = Set(emotions.flatMap(\.supportedBy))
        for e in expressions where !cited.contains(e.id) {
            problems.append("expression '\(e.id)' supports no emotion (an orphan above the attribute level)")
        }
        return problems
    }

    /// The tree as JSON (the schema's form, lists in the order given).
    public var json: JSONValue {
        ["attributes": .array(attributes.map { ["id": .string($0.id), "aspect": .string($0.aspect), "item": .string($0.item)] }),
         "expressions": .array(expressions.map {
             ["id": .string($0.id), "aspect": .string($0.aspect), "item": .string($0.item), "supported_by": .array($0.supportedBy.map { .string($0) })]
         }),
         "emotions": .array(emotions.map { ["id": .string($0.id), "item": .string($0.item), "supported_by": .array($0.supportedBy.map { .string($0) })] })]
    }

    // MARK: - In a description

    /// The tree as a description carries it: `<tree>` + canonical JSON + `</tree>`. A tree sample's
    /// answer is this text, and a model trained on it writes the block at the end of its description,
    /// where the reward finds it again (`extract(from:)`).
    public var block: String { Self.open + json.canonical + Self.close }

    static let open = "<tree>", close = "</tree>"

    /// The JSON of the last `<tree>…</tree>` block of a description (a model may quote the format
    /// earlier), or nil when there is none or it does not parse. Mirrored by `extract_tree` in the plugin.
    public static func extract(from text: String) -> JSONValue? {
        let bytes = Array(text.utf8)
        func last(_ needle: String, before limit: Int) -> Int? {
            let n = Array(needle.utf8)
            var i = limit - n.count
            while i >= 0 {
                if bytes[i] == n[0] && bytes[i..<(i + n.count)].elementsEqual(n) { return i }
                i -= 1
            }
            return nil
        }
        guard let end = last(close, before: bytes.count), let start = last(open, before: end) else { return nil }
        return bytes.withUnsafeBufferPointer { try? JSONValue.parse(bytes: UnsafeBufferPointer(rebasing: $0[(start + open.utf8.count)..<end])) }
    }

    /// The tree of a description, or why there is none.
    public static func parse(description text: String) throws(Invalid) -> AffectiveTree {
        guard let json = extract(from: text) else { throw Invalid(problems: ["no <tree>…</tree> block with JSON in it"]) }
        return try AffectiveTree(json: json)
    }

    // MARK: - As a labelled tree

    /// A label as compared: lower case, `_` and `-` read as spaces, white space collapsed. The
    /// plugin's `normalise` does the same (Python's `str.split()` white space, listed in `isSpace`).
    public static func normalise(_ s: String) -> String {
        // ASCII (nearly every label): bytes, without Unicode case mapping.
        if s.utf8.allSatisfy({ $0 < 0x80 }) {
            var out: [UInt8] = []
            out.reserveCapacity(s.utf8.count)
            var gap = false
            for var b in s.utf8 {
                if b == 0x5F || b == 0x2D || (b >= 0x09 && b <= 0x0D) || (b >= 0x1C && b <= 0x20) {
                    gap = !out.isEmpty
                    continue
                }
                if gap { out.append(0x20); gap = false }
                if b >= 0x41 && b <= 0x5A { b += 0x20 }
                out.append(b)
            }
            return String(decoding: out, as: UTF8.self)
        }
        var words: [String] = []
        var word = String.UnicodeScalarView()
        for u in s.lowercased().unicodeScalars {
            if u == "_" || u == "-" || isSpace(u) {
                if !word.isEmpty { words.append(String(word)); word = String.UnicodeScalarView() }
            } else {
                word.append(u)
            }
        }
        if !word.isEmpty { words.append(String(word)) }
        return words.joined(separator: " ")
    }

    /// Python's white space (`str.isspace`), so both sides split labels at the same characters.
    static func isSpace(_ u: Unicode.Scalar) -> Bool {
        switch u.value {
        case 0x09...0x0D, 0x1C...0x20, 0x85, 0xA0, 0x1680, 0x2000...0x200A, 0x2028, 0x2029, 0x202F, 0x205F, 0x3000: return true
        default: return false
        }
    }

    /// The tree to compare: a root whose children are the emotions, each with the expressions that
    /// support it, each with its attributes; an attribute cited twice appears under both (the
    /// support graph unfolded into a tree); attributes no expression cites hang from the root.
    /// Labels name the level and the normalised aspect and item; ids are not part of them, so
    /// renumbering a tree changes nothing.
    public var labelled: LabelledTree {
        var b = LabelledTree.Builder(root: "root")
        let attributeByID = Dictionary(attributes.map { ($0.id, $0) }, uniquingKeysWith: { a, _ in a })
        let expressionByID = Dictionary(expressions.map { ($0.id, $0) }, uniquingKeysWith: { a, _ in a })
        func label(_ a: Attribute) -> String { "attribute:" + Self.normalise(a.aspect) + "=" + Self.normalise(a.item) }
        for m in emotions {
            let mn = b.add("emotion=" + Self.normalise(m.item), under: 0)
            for xid in Self.unique(m.supportedBy) {
                guard let x = expressionByID[xid] else { continue }
                let xn = b.add("expression:" + Self.normalise(x.aspect) + "=" + Self.normalise(x.item), under: mn)
                for aid in Self.unique(x.supportedBy) {
                    if let a = attributeByID[aid] { b.add(label(a), under: xn) }
                }
            }
        }
        let cited = Set(expressions.flatMap(\.supportedBy))
        for a in attributes where !cited.contains(a.id) { b.add(label(a), under: 0) }
        return b.build()
    }

    static func unique(_ ids: [String]) -> [String] {
        var seen = Set<String>()
        return ids.filter { seen.insert($0).inserted }
    }
}
