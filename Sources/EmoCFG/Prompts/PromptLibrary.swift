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
            throw PromptError(file: url.path, message: "cannot read the prompt (\(Self.projectHint))")
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

    /// Where a prompt or schema file is looked for, and how to point there.
    static let projectHint = "run from the project folder, or pass --project DIR, the folder that holds prompts/ and schemas/"

    public func schemaURL(_ name: String) -> URL { schemas.appendingPathComponent(name + ".schema.json") }

    /// The answer schema `name`, without the keys that only document it (`$schema`, `title`), which
    /// some servers reject inside `response_format`; the order of each object's properties as
    /// written in the file is kept (`SchemaOrder`): a server that constrains its output writes the
    /// fields in that order, so a schema lists the reasoning before the conclusion.
    public func schema(_ name: String) throws -> JSONValue {
        let url = schemaURL(name)
        guard let data = try? Data(contentsOf: url) else {
            throw PromptError(file: url.path, message: "cannot read the schema (\(Self.projectHint))")
        }
        let parsed: JSONValue
        do {
            parsed = try SchemaOrder.parse(data)
        } catch {
            throw PromptError(file: url.path, message: "is not valid JSON: \(error)")
        }
        guard case .object(var o) = parsed else { throw PromptError(file: url.path, message: "is not a JSON object") }
        o["$schema"] = nil
        o["title"] = nil
        return .object(o)
    }

    /// The answer schema `name`, checked to declare every field a stage reads from the answer: each
    /// must be in `properties` and listed in `required`, or the stage would find nothing to keep in
    /// an answer the schema allowed. `fields` are names at the top level, or `outer[].inner` for a
    /// field of the objects in the array `outer` (each part checked at its level).
    public func schema(_ name: String, reading fields: [String]) throws -> JSONValue {
        let schema = try schema(name)
        let missing = Self.undeclared(fields, in: schema)
        guard missing.isEmpty else {
            throw PromptError(file: schemaURL(name).path, message: "must declare, in \"properties\" and \"required\", the answer "
                + "field\(missing.count == 1 ? "" : "s") the stage reads: \(missing.joined(separator: "; ")); add "
                + "\(missing.count == 1 ? "it" : "them") (the shipped schemas/\(name).schema.json shows how)")
        }
        return schema
    }

    /// For each field of `fields` the schema does not both declare and require, why (e.g.
    /// `'pairs[].aspect' is not in required`).
    public static func undeclared(_ fields: [String], in schema: JSONValue) -> [String] {
        var out: [String] = []
        for field in fields {
            var level: JSONValue? = schema
            var path: [String] = []
            for (i, part) in field.components(separatedBy: "[].").enumerated() {
                if i > 0 { level = level?["items"] }
                path.append(part)
                let shown = path.joined(separator: "[].")
                let declared = level?["properties"]?[part] != nil
                let required = level?["required"]?.arrayValue?.contains(.string(part)) == true
                if !declared || !required {
                    out.append("'\(shown)' is not in \(!declared && !required ? "properties or required" : declared ? "required" : "properties")")
                    break
                }
                level = level?["properties"]?[part]
            }
        }
        var seen = Set<String>()
        return out.filter { seen.insert($0).inserted }
    }
}
