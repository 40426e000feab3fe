import Foundation

/// One parsed CSV record with the physical line it started on (1-based), so errors can name it.
public struct CSVRow: Sendable, Equatable {
    public var line: Int
    public var fields: [String]
    public init(line: Int, fields: [String]) {
        self.line = line
        self.fields = fields
    }
}

/// A small RFC 4180 reader: quoted fields with commas, doubled quotes and line breaks, CRLF or LF
/// line ends, a UTF-8 byte-order mark, and any single-byte delimiter.
///
/// MELD's CSVs need all of these (CRLF, quoted utterances with commas and `""`); SIMS needs quoted
/// Chinese text with commas.
public struct CSVReader: Sendable {
    public var delimiter: UInt8

    public init(delimiter: Character = ",") {
        self.delimiter = delimiter.asciiValue ?? UInt8(ascii: ",")
    }

    public enum Failure: Error, CustomStringConvertible, Equatable {
        case notUTF8(line: Int)
        case unterminatedQuote(line: Int)
        public var description: String {
            switch self {
            case .notUTF8(let line): return "line \(line) is not valid UTF-8"
            case .unterminatedQuote(let line): return "a quoted field opened on line \(line) is never closed"
            }
        }
    }

    /// Reads all records. Blank lines are skipped. Throws only for damage that makes the rest of the
    /// file unreadable (an unterminated quote); a row with invalid UTF-8 throws `notUTF8`.
    public func parse(_ data: Data) throws -> [CSVRow] {
        var rows: [CSVRow] = []
        var fields: [String] = []
        var field: [UInt8] = []
        var inQuotes = false
        var line = 1
        var rowStart = 1
        var fieldWasQuoted = false
        var bytes = [UInt8](data)
        if bytes.starts(with: [0xEF, 0xBB, 0xBF]) { bytes.removeFirst(3) }

        func finishField() throws {
            guard let s = String(validating: field, as: UTF8.self) else { throw Failure.notUTF8(line: rowStart) }
            fields.append(s)
            field.removeAll(keepingCapacity: true)
            fieldWasQuoted = false
        }
        func finishRow() throws {
            try finishField()
            if !(fields.count == 1 && fields[0].isEmpty) {
                rows.append(CSVRow(line: rowStart, fields: fields))
            }
            fields.removeAll(keepingCapacity: true)
        }

        var i = 0
        let n = bytes.count
        while i < n {
            let b = bytes[i]
            if inQuotes {
                if b == UInt8(ascii: "\"") {
                    if i + 1 < n && bytes[i + 1] == UInt8(ascii: "\"") {
                        field.append(b)
                        i += 2
                        continue
                    }
                    inQuotes = false
                } else {
                    if b == UInt8(ascii: "\n") { line += 1 }
                    field.append(b)
                }
                i += 1
                continue
            }
            switch b {
            case UInt8(ascii: "\""):
                if field.isEmpty && !fieldWasQuoted {
                    inQuotes = true
                    fieldWasQuoted = true
                } else {
                    field.append(b)  // a stray quote inside an unquoted field is kept as text
                }
            case delimiter:
                try finishField()
            case UInt8(ascii: "\r"):
                if i + 1 < n && bytes[i + 1] == UInt8(ascii: "\n") { i += 1 }
                try finishRow()
                line += 1
                rowStart = line
            case UInt8(ascii: "\n"):
                try finishRow()
                line += 1
                rowStart = line
            default:
                field.append(b)
            }
            i += 1
        }
        if inQuotes { throw Failure.unterminatedQuote(line: rowStart) }
        if !field.isEmpty || !fields.isEmpty || fieldWasQuoted { try finishRow() }
        return rows
    }
}

/// A CSV file read by header name, so column order does not matter (MOSEI copies reorder MMSA's).
public struct CSVTable: Sendable {
    public var header: [String]
    public var rows: [CSVRow]
    private var index: [String: Int]

    public init(header: [String], rows: [CSVRow]) {
        self.header = header.map { $0.trimmingCharacters(in: .whitespaces) }
        self.rows = rows
        var index: [String: Int] = [:]
        for (i, name) in self.header.enumerated() where index[name] == nil { index[name] = i }
        self.index = index
    }

    /// Parses `data`, taking the first record as the header.
    public init(data: Data, delimiter: Character = ",") throws {
        let all = try CSVReader(delimiter: delimiter).parse(data)
        self.init(header: all.first?.fields ?? [], rows: Array(all.dropFirst()))
    }

    public func column(_ name: String) -> Int? { index[name] }

    /// The named field of `row`, trimmed; nil when the column is absent or the row too short.
    public func value(_ row: CSVRow, _ name: String) -> String? {
        guard let i = index[name], i < row.fields.count else { return nil }
        return row.fields[i].trimmingCharacters(in: .whitespaces)
    }

    /// The header names out of `names` that this table lacks.
    public func missingColumns(_ names: [String]) -> [String] { names.filter { index[$0] == nil } }
}
