import Foundation

/// A prompt file: its system and user templates, and its SHA-256 (part of every cache key).
public struct PromptTemplate: Sendable, Equatable {
    public var id: String
    public var system: String
    public var user: String
    public var hash: String

    /// The user template with `{{name}}` replaced; unknown names are left as they are.
    public func render(_ values: [String: String]) -> String {
        var out = user
        for (k, v) in values { out = out.replacingOccurrences(of: "{{\(k)}}", with: v) }
        return out
    }
}

/// Why a prompt or schema file could not be used.
public struct PromptError: Error, CustomStringConvertible, Sendable {
    public var file: String
    public var message: String
    public var description: String { "\(file): \(message)" }
}

/// Reads prompts from `prompts/<stage>/<name>.md` and answer schemas from `schemas/<name>.schema.json`.
public struct PromptLibrary: Sendable {
    public var prompts: URL
    public var schemas: URL

    public init(prompts: URL, schemas: URL) {
        self.prompts = prompts
        self.schemas = schemas
    }

    /// The project's own folders, found from the working directory (`./prompts`, `./schemas`).
    public static func inWorkingDirectory() -> PromptLibrary {
        let cwd = URL(fileURLWithPath: FileManager.default.currentDirectoryPath)
        return PromptLibrary(prompts: cwd.appendingPathComponent("prompts"), schemas: cwd.appendingPathComponent("schemas"))
    }

    public func prompt(_ stage: String, _ name: String) throws -> PromptTemplate {
        let url = prompts.appendingPathComponent(stage).appendingPathComponent(name + ".md")
        guard let data = try? Data(contentsOf: url), let text = String(data: data, encoding: .utf8) else {
            throw PromptError(file: url.path, message: "cannot read the prompt (run from the project folder, or pass --prompts DIR)")
        }
        let lines = text.components(separatedBy: "\n")
        guard let cut = lines.firstIndex(of: "---") else {
            throw PromptError(file: url.path, message: "has no line '---' between the system and the user message")
        }
        return PromptTemplate(
            id: "\(stage)/\(name)", system: lines[..<cut].joined(separator: "\n").trimmingCharacters(in: .whitespacesAndNewlines),
            user: lines[(cut + 1)...].joined(separator: "\n").trimmingCharacters(in: .whitespacesAndNewlines),
            hash: SHA256Digest.hex(data))
    }

    /// The answer schema `name`, without the keys that only document it (`$schema`, `title`), which
    /// some servers reject inside `response_format`.
    /// The `## <name>` sections of a prompt file's user part, by name (the critic's rubrics).
    public func sections(_ stage: String, _ name: String) throws -> [String: String] {
        let p = try prompt(stage, name)
        var out: [String: String] = [:]
        var current: String?
        for line in p.user.components(separatedBy: "\n") {
            if line.hasPrefix("## ") {
                current = String(line.dropFirst(3)).trimmingCharacters(in: .whitespaces)
                out[current!] = ""
            } else if let c = current {
                out[c, default: ""] += (out[c]!.isEmpty ? "" : "\n") + line
            }
        }
        return out.mapValues { $0.trimmingCharacters(in: .whitespacesAndNewlines) }
    }

    public func schema(_ name: String) throws -> JSONValue {
        let url = schemas.appendingPathComponent(name + ".schema.json")
        guard let data = try? Data(contentsOf: url) else { throw PromptError(file: url.path, message: "cannot read the schema") }
        guard case .object(var o) = try JSONValue.parse(data) else { throw PromptError(file: url.path, message: "is not a JSON object") }
        o["$schema"] = nil
        o["title"] = nil
        return .object(o)
    }
}
