import Foundation
import Yams

/// A value from a YAML configuration file together with where it was written, so every error can
/// name the file, the line and the key.
public indirect enum ConfigValue: Sendable, Equatable {
    case scalar(String, line: Int)
    case list([ConfigValue], line: Int)
    case map([(key: String, keyLine: Int, value: ConfigValue)], line: Int)
    case null(line: Int)

    public static func == (a: ConfigValue, b: ConfigValue) -> Bool {
        switch (a, b) {
        case let (.scalar(x, l1), .scalar(y, l2)): return x == y && l1 == l2
        case let (.list(x, l1), .list(y, l2)): return x == y && l1 == l2
        case let (.null(l1), .null(l2)): return l1 == l2
        case let (.map(x, l1), .map(y, l2)):
            return l1 == l2 && x.count == y.count
                && zip(x, y).allSatisfy { $0.key == $1.key && $0.keyLine == $1.keyLine && $0.value == $1.value }
        default: return false
        }
    }

    public var line: Int {
        switch self {
        case .scalar(_, let l), .list(_, let l), .map(_, let l), .null(let l): return l
        }
    }

    /// Builds the tree from a Yams node, keeping line numbers (1-based).
    init(node: Node) {
        let line = (node.mark?.line ?? 0)
        switch node {
        case .scalar(let s):
            if s.style == .plain && ["", "~", "null", "Null", "NULL"].contains(s.string) {
                self = .null(line: line)
            } else {
                self = .scalar(s.string, line: line)
            }
        case .sequence(let seq):
            self = .list(seq.map { ConfigValue(node: $0) }, line: line)
        case .mapping(let map):
            self = .map(
                map.map { pair in
                    (key: pair.key.string ?? "\(pair.key)", keyLine: pair.key.mark?.line ?? line,
                     value: ConfigValue(node: pair.value))
                }, line: line)
        case .alias:
            self = .null(line: line)
        }
    }

    public var string: String? {
        if case .scalar(let s, _) = self { return s }
        return nil
    }

    public var entries: [(key: String, keyLine: Int, value: ConfigValue)]? {
        if case .map(let e, _) = self { return e }
        return nil
    }

    public var items: [ConfigValue]? {
        if case .list(let i, _) = self { return i }
        return nil
    }

    /// The value under `key` in a map.
    public subscript(key: String) -> ConfigValue? {
        entries?.first { $0.key == key }?.value
    }

    /// A short name of the value's shape, for "expected a map, found a list" messages.
    public var shapeName: String {
        switch self {
        case .scalar: return "a value"
        case .list: return "a list"
        case .map: return "a map"
        case .null: return "nothing"
        }
    }
}

/// A configuration file that cannot be used, with the file, line, key and what is allowed.
public struct ConfigError: Error, CustomStringConvertible, Equatable, Sendable {
    public var file: String
    public var line: Int?
    public var key: String?
    public var message: String

    public init(file: String, line: Int?, key: String?, message: String) {
        self.file = file
        self.line = line
        self.key = key
        self.message = message
    }

    public var description: String {
        var s = file
        if let line { s += ":\(line)" }
        s += ": "
        if let key { s += "'\(key)': " }
        return s + message
    }
}

/// Reads typed values out of a `ConfigValue` map and turns every mistake into a `ConfigError`.
public struct ConfigReader: Sendable {
    public var file: String
    public var path: [String]
    public var value: ConfigValue

    public init(file: String, path: [String] = [], value: ConfigValue) {
        self.file = file
        self.path = path
        self.value = value
    }

    public var keyPath: String { path.joined(separator: ".") }

    public func error(_ message: String, key: String? = nil, line: Int? = nil) -> ConfigError {
        let full = ([keyPath] + (key.map { [$0] } ?? [])).filter { !$0.isEmpty }.joined(separator: ".")
        return ConfigError(file: file, line: line ?? value.line, key: full.isEmpty ? nil : full, message: message)
    }

    /// Fails on any key outside `allowed`, naming it and listing what is allowed.
    public func requireMap(allowed: [String]) throws -> [(key: String, keyLine: Int, value: ConfigValue)] {
        guard let entries = value.entries else {
            throw error("expected a map of keys, found \(value.shapeName)")
        }
        for e in entries where !allowed.contains(e.key) {
            throw error(
                "unknown key; allowed here: \(allowed.joined(separator: ", "))", key: e.key, line: e.keyLine)
        }
        return entries
    }

    public func child(_ key: String) -> ConfigReader? {
        guard let v = value[key] else { return nil }
        return ConfigReader(file: file, path: path + [key], value: v)
    }

    public func string(_ key: String) throws -> String? {
        guard let v = value[key] else { return nil }
        if case .null = v { return nil }
        guard let s = v.string else {
            throw error("expected a single value, found \(v.shapeName)", key: key, line: v.line)
        }
        return s
    }

    public func requiredString(_ key: String) throws -> String {
        guard let s = try string(key) else {
            throw error("is required but missing", key: key)
        }
        return s
    }

    public func int(_ key: String, range: ClosedRange<Int>? = nil) throws -> Int? {
        guard let s = try string(key) else { return nil }
        guard let i = Int(s) else {
            throw error("expected a whole number, found '\(s)'", key: key, line: value[key]?.line)
        }
        if let range, !range.contains(i) {
            throw error("expected a number in \(range.lowerBound)...\(range.upperBound), found \(i)", key: key, line: value[key]?.line)
        }
        return i
    }

    /// A finite number (`nan` and `inf` are refused), within `range` when one is given.
    public func double(_ key: String, range: ClosedRange<Double>? = nil) throws -> Double? {
        guard let s = try string(key) else { return nil }
        guard let d = Double(s), d.isFinite else {
            throw error("expected a number, found '\(s)'", key: key, line: value[key]?.line)
        }
        if let range, !range.contains(d) {
            throw error("must be between \(range.lowerBound) and \(range.upperBound), found \(s)", key: key, line: value[key]?.line)
        }
        return d
    }

    public func bool(_ key: String) throws -> Bool? {
        guard let s = try string(key) else { return nil }
        switch s.lowercased() {
        case "true", "yes", "on": return true
        case "false", "no", "off": return false
        default: throw error("expected true or false, found '\(s)'", key: key, line: value[key]?.line)
        }
    }

    public func oneOf(_ key: String, _ allowed: [String]) throws -> String? {
        guard let s = try string(key) else { return nil }
        guard allowed.contains(s) else {
            throw error("'\(s)' is not allowed; expected one of: \(allowed.joined(separator: ", "))", key: key, line: value[key]?.line)
        }
        return s
    }

    public func stringList(_ key: String) throws -> [String]? {
        guard let v = value[key] else { return nil }
        if let s = v.string { return [s] }
        guard let items = v.items else {
            throw error("expected a list, found \(v.shapeName)", key: key, line: v.line)
        }
        return try items.map {
            guard let s = $0.string else { throw error("expected a list of values", key: key, line: $0.line) }
            return s
        }
    }

    public func stringMap(_ key: String) throws -> [String: String]? {
        guard let v = value[key] else { return nil }
        guard let entries = v.entries else {
            throw error("expected a map, found \(v.shapeName)", key: key, line: v.line)
        }
        var out: [String: String] = [:]
        for e in entries {
            guard let s = e.value.string else {
                throw error("expected a single value, found \(e.value.shapeName)", key: "\(key).\(e.key)", line: e.value.line)
            }
            out[e.key] = s
        }
        return out
    }
}

extension ConfigValue {
    /// Parses YAML text into a located tree; a syntax error names the file and line.
    public static func parse(yaml: String, file: String) throws -> ConfigValue {
        do {
            guard let node = try Yams.compose(yaml: yaml) else { return .map([], line: 1) }
            return ConfigValue(node: node)
        } catch let e as YamlError {
            switch e {
            case .scanner(_, let problem, let mark, _), .parser(_, let problem, let mark, _),
                .composer(_, let problem, let mark, _):
                throw ConfigError(file: file, line: mark.line, key: nil, message: "not valid YAML: \(problem)")
            case .duplicatedKeysInMapping(let duplicates, _):
                throw ConfigError(file: file, line: nil, key: duplicates.first, message: "this key appears more than once in one map")
            default:
                throw ConfigError(file: file, line: nil, key: nil, message: "not valid YAML: \(e)")
            }
        }
    }
}
