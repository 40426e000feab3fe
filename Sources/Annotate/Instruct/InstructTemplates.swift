import EmoCFG
import Foundation

/// One phrasing of a question and its answer, with `{placeholders}` the stage fills in.
public struct InstructPhrasing: Sendable, Equatable {
    /// Unique within its file; the sample's `promptID` is `instruct/<family>/<id>`.
    public var id: String
    public var question: String
    public var answer: String

    public init(id: String, question: String, answer: String) {
        self.id = id
        self.question = question
        self.answer = answer
    }

    /// `text` with every `{name}` replaced by `values[name]`; other braces are left as written.
    static func fill(_ text: String, _ values: [String: String]) -> String {
        var out = ""
        var rest = Substring(text)
        while let open = rest.firstIndex(of: "{") {
            out += rest[..<open]
            let after = rest[rest.index(after: open)...]
            if let close = after.firstIndex(of: "}"), let value = values[String(after[..<close])] {
                out += value
                rest = after[after.index(after: close)...]
            } else {
                out += "{"
                rest = after
            }
        }
        return out + rest
    }

    /// The `{name}` placeholders in `text` (names of letters, digits and underscores).
    static func placeholders(in text: String) -> [String] {
        var names: [String] = []
        var rest = Substring(text)
        while let open = rest.firstIndex(of: "{") {
            let after = rest[rest.index(after: open)...]
            guard let close = after.firstIndex(of: "}") else { break }
            let name = after[..<close]
            if !name.isEmpty, name.allSatisfy({ $0.isLetter || $0.isNumber || $0 == "_" }) { names.append(String(name)) }
            rest = after
        }
        return names
    }
}

/// The phrasings of one family, read from `prompts/instruct/<family>.yaml`.
public struct InstructTemplateFile: Sendable, Equatable {
    public var family: InstructFamily
    /// SHA-256 of the file's bytes: every sample made from it carries this as `promptHash`, so
    /// editing a phrasing rewrites exactly the samples of that family.
    public var hash: String
    public var phrasings: [SampleForm: [InstructPhrasing]]
    /// `emotion.yaml` only: canonical emotion name → adjective, for the short captions.
    public var adjectives: [String: String]

    public init(family: InstructFamily, hash: String, phrasings: [SampleForm: [InstructPhrasing]],
                adjectives: [String: String] = [:]) {
        self.family = family
        self.hash = hash
        self.phrasings = phrasings
        self.adjectives = adjectives
    }

    /// Parses one template file; errors name the file, the line and the key.
    public static func parse(_ data: Data, family: InstructFamily, file: String) throws -> InstructTemplateFile {
        guard let text = String(data: data, encoding: .utf8) else {
            throw ConfigError(file: file, line: nil, key: nil, message: "is not UTF-8 text")
        }
        let root = ConfigReader(file: file, value: try ConfigValue.parse(yaml: text, file: file))
        let allowed = family.forms.map(\.rawValue) + (family == .emotion ? ["adjectives"] : [])
        _ = try root.requireMap(allowed: allowed)

        var phrasings: [SampleForm: [InstructPhrasing]] = [:]
        for form in family.forms {
            guard let list = root.value[form.rawValue] else {
                throw root.error("is required: a list of phrasings (id, question, answer) for the \(form.rawValue) form",
                                 key: form.rawValue)
            }
            guard let items = list.items, !items.isEmpty else {
                throw root.error("expected a non-empty list of phrasings, found \(list.shapeName)", key: form.rawValue, line: list.line)
            }
            let variables = family.variables(for: form)
            var seen: Set<String> = []
            var out: [InstructPhrasing] = []
            for (i, item) in items.enumerated() {
                let entry = ConfigReader(file: file, path: [form.rawValue, "\(i)"], value: item)
                _ = try entry.requireMap(allowed: ["id", "question", "answer"])
                let phrasing = InstructPhrasing(
                    id: try entry.requiredString("id"), question: try entry.requiredString("question"),
                    answer: try entry.requiredString("answer"))
                guard seen.insert(phrasing.id).inserted else {
                    throw entry.error("'\(phrasing.id)' is used by another phrasing of this file", key: "id", line: item["id"]?.line)
                }
                for (key, text) in [("question", phrasing.question), ("answer", phrasing.answer)] {
                    for name in InstructPhrasing.placeholders(in: text) where !variables.contains(name) {
                        throw entry.error("unknown placeholder {\(name)}; a \(form.rawValue) phrasing of \(family.rawValue) may use "
                                          + variables.sorted().map { "{\($0)}" }.joined(separator: ", "),
                                          key: key, line: item[key]?.line)
                    }
                }
                if form == .mcq, !InstructPhrasing.placeholders(in: phrasing.question).contains("options") {
                    throw entry.error("a multiple-choice question must show {options}", key: "question", line: item["question"]?.line)
                }
                out.append(phrasing)
            }
            phrasings[form] = out
        }
        let adjectives = try root.stringMap("adjectives") ?? [:]
        return InstructTemplateFile(family: family, hash: SHA256Digest.hex(data), phrasings: phrasings, adjectives: adjectives)
    }
}

/// Every family's phrasings, loaded from a prompts directory.
public struct InstructTemplates: Sendable, Equatable {
    public var files: [InstructFamily: InstructTemplateFile]

    public init(files: [InstructFamily: InstructTemplateFile]) {
        self.files = files
    }

    /// Reads `<promptsDirectory>/instruct/<family>.yaml` for every family; a missing or invalid file
    /// is an error that names it.
    public static func load(promptsDirectory: URL) throws -> InstructTemplates {
        var files: [InstructFamily: InstructTemplateFile] = [:]
        for family in InstructFamily.allCases {
            let url = promptsDirectory.appendingPathComponent("instruct").appendingPathComponent("\(family.rawValue).yaml")
            guard let data = FileManager.default.contents(atPath: url.path) else {
                throw ConfigError(file: url.path, line: nil, key: nil,
                                  message: "cannot be read: the instruct stage needs one template file per question family")
            }
            files[family] = try InstructTemplateFile.parse(data, family: family, file: url.path)
        }
        return InstructTemplates(files: files)
    }
}
