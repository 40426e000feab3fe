import Foundation
import ZIPFoundation
#if canImport(FoundationXML)
import FoundationXML
#endif

/// An `.xlsx` file as the dataset authors shipped it, read without any conversion step.
///
/// Reads sheets by name, shared and inline strings, numbers, booleans and empty cells. Cells keep the
/// text the file stores (`4`, `0.35`, `4+L10`), so labels stay exactly as given; dates are not
/// converted (no dataset here stores any).
public struct XLSXWorkbook: Sendable {
    public let path: String
    /// Sheet names in workbook order.
    public let sheetNames: [String]
    private let sheetTargets: [String: String]
    private let sharedStrings: [String]
    private let archiveData: Data

    public init(url: URL) throws(XLSXError) {
        path = url.path
        let data: Data
        do { data = try Data(contentsOf: url) } catch {
            throw XLSXError(path: url.path, message: "cannot read the file: \(error.localizedDescription)")
        }
        archiveData = data
        let archive: Archive
        do { archive = try Archive(data: data, accessMode: .read) } catch {
            throw XLSXError(path: url.path, message: "not an .xlsx file (not a zip archive)")
        }
        func entry(_ name: String, required: Bool) throws(XLSXError) -> Data? {
            guard let e = archive[name] else {
                if required { throw XLSXError(path: url.path, message: "not an .xlsx file: \(name) is missing") }
                return nil
            }
            var out = Data()
            do { _ = try archive.extract(e, skipCRC32: false) { out.append($0) } } catch {
                throw XLSXError(path: url.path, message: "\(name) is damaged: \(error)")
            }
            return out
        }
        let workbook = try XMLElements.parse(try entry("xl/workbook.xml", required: true)!, path: url.path, part: "xl/workbook.xml")
        let rels = try XMLElements.parse(try entry("xl/_rels/workbook.xml.rels", required: true)!, path: url.path, part: "xl/_rels/workbook.xml.rels")
        var targets: [String: String] = [:]
        for r in rels.elements where r.name == "Relationship" {
            if let id = r.attributes["Id"], var target = r.attributes["Target"] {
                if target.hasPrefix("/") { target.removeFirst() } else { target = "xl/" + target }
                targets[id] = target
            }
        }
        var names: [String] = []
        var sheetTargets: [String: String] = [:]
        for s in workbook.elements where s.name == "sheet" {
            guard let name = s.attributes["name"], let rid = s.attributes["r:id"] ?? s.attributes.first(where: { $0.key.hasSuffix(":id") })?.value,
                  let target = targets[rid] else { continue }
            names.append(name)
            sheetTargets[name] = target
        }
        sheetNames = names
        self.sheetTargets = sheetTargets
        if let sst = try entry("xl/sharedStrings.xml", required: false) {
            sharedStrings = try SharedStringsParser.parse(sst, path: url.path)
        } else {
            sharedStrings = []
        }
    }

    /// The sheet called `name`; a missing sheet is an error that lists the sheets the file has.
    public func sheet(named name: String) throws(XLSXError) -> XLSXSheet {
        guard let target = sheetTargets[name] else {
            throw XLSXError(path: path, message: "has no sheet '\(name)'; its sheets: \(sheetNames.joined(separator: ", "))")
        }
        let archive: Archive
        do { archive = try Archive(data: archiveData, accessMode: .read) } catch {
            throw XLSXError(path: path, message: "not an .xlsx file (not a zip archive)")
        }
        guard let e = archive[target] else {
            throw XLSXError(path: path, message: "sheet '\(name)' points at \(target), which the file lacks")
        }
        var data = Data()
        do { _ = try archive.extract(e, skipCRC32: false) { data.append($0) } } catch {
            throw XLSXError(path: path, message: "sheet '\(name)' is damaged: \(error)")
        }
        return try SheetParser.parse(data, name: name, sharedStrings: sharedStrings, path: path)
    }

    /// The first sheet in workbook order.
    public func firstSheet() throws(XLSXError) -> XLSXSheet {
        guard let first = sheetNames.first else { throw XLSXError(path: path, message: "has no sheets") }
        return try sheet(named: first)
    }
}

/// One worksheet: its non-empty rows with their spreadsheet row numbers (1-based), cells by column.
public struct XLSXSheet: Sendable, Equatable {
    public struct Row: Sendable, Equatable {
        /// The row number the spreadsheet shows (1-based), for error messages.
        public var number: Int
        /// Cells by column index (A = 0); nil for an empty cell. Trailing empty cells are dropped.
        public var cells: [String?]

        public init(number: Int, cells: [String?]) {
            self.number = number
            self.cells = cells
        }

        public subscript(column: Int) -> String? { column < cells.count ? cells[column] : nil }

        /// Whether every cell is empty or blank.
        public var isBlank: Bool { cells.allSatisfy { ($0 ?? "").trimmingCharacters(in: .whitespaces).isEmpty } }
    }

    public var name: String
    public var rows: [Row]

    public init(name: String, rows: [Row]) {
        self.name = name
        self.rows = rows
    }
}

/// A sheet read through its header row, so columns are found by name. Blank header cells stay
/// blank (CASME II's coding sheet has two) and are addressed by index.
public struct XLSXTable: Sendable {
    public var header: [String]
    public var rows: [XLSXSheet.Row]
    private var index: [String: Int] = [:]

    /// Takes the first non-blank row as the header.
    public init(sheet: XLSXSheet) {
        let headerRow = sheet.rows.first { !$0.isBlank }
        header = (headerRow?.cells ?? []).map { ($0 ?? "").trimmingCharacters(in: .whitespacesAndNewlines) }
        rows = sheet.rows.filter { $0.number > (headerRow?.number ?? 0) && !$0.isBlank }
        for (i, name) in header.enumerated() where !name.isEmpty && index[name] == nil { index[name] = i }
    }

    public func column(_ name: String) -> Int? { index[name] }

    /// The column whose header matches any of `names`, ignoring case and spaces.
    public func column(matching names: [String]) -> Int? {
        func norm(_ s: String) -> String { s.lowercased().filter { !$0.isWhitespace && $0 != "_" } }
        let wanted = Set(names.map(norm))
        return header.firstIndex { wanted.contains(norm($0)) }
    }

    public func value(_ row: XLSXSheet.Row, _ name: String) -> String? {
        index[name].flatMap { row[$0] }?.trimmingCharacters(in: .whitespacesAndNewlines)
    }
}

/// An `.xlsx` file that cannot be read, with the reason.
public struct XLSXError: Error, CustomStringConvertible, Equatable, Sendable {
    public var path: String
    public var message: String
    public var description: String { "\(path): \(message)" }
}

// MARK: - XML parts

/// A flat list of elements with their attributes: enough for workbook.xml and its relationships.
private final class XMLElements: NSObject, XMLParserDelegate {
    struct Element { var name: String; var attributes: [String: String] }
    var elements: [Element] = []

    static func parse(_ data: Data, path: String, part: String) throws(XLSXError) -> XMLElements {
        let d = XMLElements()
        let p = XMLParser(data: data)
        p.delegate = d
        guard p.parse() else {
            throw XLSXError(path: path, message: "\(part) is not valid XML: \(p.parserError.map { "\($0)" } ?? "unknown error")")
        }
        return d
    }

    func parser(_ parser: XMLParser, didStartElement name: String, namespaceURI: String?, qualifiedName: String?,
                attributes: [String: String] = [:]) {
        elements.append(Element(name: name, attributes: attributes))
    }
}

/// `xl/sharedStrings.xml`: `<si>` items, each plain `<t>` or rich-text runs `<r><t>…</t></r>`.
private final class SharedStringsParser: NSObject, XMLParserDelegate {
    var strings: [String] = []
    var current = ""
    var inText = false
    var inPhonetic = false

    static func parse(_ data: Data, path: String) throws(XLSXError) -> [String] {
        let d = SharedStringsParser()
        let p = XMLParser(data: data)
        p.delegate = d
        guard p.parse() else {
            throw XLSXError(path: path, message: "xl/sharedStrings.xml is not valid XML: \(p.parserError.map { "\($0)" } ?? "unknown error")")
        }
        return d.strings
    }

    func parser(_ parser: XMLParser, didStartElement name: String, namespaceURI: String?, qualifiedName: String?,
                attributes: [String: String] = [:]) {
        switch name {
        case "si": current = ""
        case "t": inText = !inPhonetic
        case "rPh": inPhonetic = true  // phonetic guides are annotations, not the cell's text
        default: break
        }
    }

    func parser(_ parser: XMLParser, didEndElement name: String, namespaceURI: String?, qualifiedName: String?) {
        switch name {
        case "si": strings.append(current)
        case "t": inText = false
        case "rPh": inPhonetic = false
        default: break
        }
    }

    func parser(_ parser: XMLParser, foundCharacters string: String) {
        if inText { current += string }
    }
}

/// A worksheet's `<sheetData>`: rows of cells, each with its reference (`C7`), type and value.
private final class SheetParser: NSObject, XMLParserDelegate {
    let sharedStrings: [String]
    var rows: [XLSXSheet.Row] = []
    var rowNumber = 0
    var cells: [String?] = []
    var cellColumn = 0
    var cellType = "n"
    var text = ""
    var collecting = false
    var inInline = false
    var badIndex: String?

    init(sharedStrings: [String]) { self.sharedStrings = sharedStrings }

    static func parse(_ data: Data, name: String, sharedStrings: [String], path: String) throws(XLSXError) -> XLSXSheet {
        let d = SheetParser(sharedStrings: sharedStrings)
        let p = XMLParser(data: data)
        p.delegate = d
        guard p.parse() else {
            throw XLSXError(path: path, message: "sheet '\(name)' is not valid XML: \(p.parserError.map { "\($0)" } ?? "unknown error")")
        }
        if let bad = d.badIndex { throw XLSXError(path: path, message: "sheet '\(name)': \(bad)") }
        return XLSXSheet(name: name, rows: d.rows)
    }

    /// `C7` → 2 (column index); `AA3` → 26.
    static func columnIndex(_ ref: String) -> Int? {
        var n = 0, seen = false
        for u in ref.unicodeScalars {
            guard let a = UInt8(exactly: u.value), (65...90).contains(a) || (97...122).contains(a) else { break }
            n = n * 26 + Int((a & 0xDF) - 64)
            seen = true
        }
        return seen ? n - 1 : nil
    }

    func parser(_ parser: XMLParser, didStartElement name: String, namespaceURI: String?, qualifiedName: String?,
                attributes: [String: String] = [:]) {
        switch name {
        case "row":
            rowNumber = attributes["r"].flatMap(Int.init) ?? rowNumber + 1
            cells = []
        case "c":
            cellColumn = attributes["r"].flatMap(Self.columnIndex) ?? cells.count
            cellType = attributes["t"] ?? "n"
            text = ""
        case "v":
            collecting = true
            text = ""
        case "is":
            inInline = true
            text = ""
        case "t":
            if inInline { collecting = true }
        default: break
        }
    }

    func parser(_ parser: XMLParser, didEndElement name: String, namespaceURI: String?, qualifiedName: String?) {
        switch name {
        case "v", "t": collecting = false
        case "is": inInline = false
        case "c":
            var value: String? = text
            switch cellType {
            case "s":
                if let i = Int(text), i >= 0, i < sharedStrings.count {
                    value = sharedStrings[i]
                } else {
                    badIndex = "row \(rowNumber): shared string \(text) does not exist (\(sharedStrings.count) strings)"
                    value = nil
                }
            case "b": value = text == "1" ? "TRUE" : "FALSE"
            default: break
            }
            if value?.isEmpty == true && cellType != "s" && cellType != "inlineStr" && cellType != "str" { value = nil }
            if cells.count <= cellColumn { cells += Array(repeating: nil, count: cellColumn - cells.count + 1) }
            cells[cellColumn] = value
        case "row":
            while let last = cells.last, last == nil { cells.removeLast() }
            if !cells.isEmpty { rows.append(XLSXSheet.Row(number: rowNumber, cells: cells)) }
        default: break
        }
    }

    func parser(_ parser: XMLParser, foundCharacters string: String) {
        if collecting { text += string }
    }
}
