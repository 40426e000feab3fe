import EmoCFG
import XCTest

final class XLSXWorkbookTests: XCTestCase {
    let dir = testMedia.deletingLastPathComponent().appendingPathComponent("_xlsx")

    func test_sheets_are_listed_by_name_in_workbook_order() throws {
        let wb = try XLSXWorkbook(url: dir.appendingPathComponent("shared_strings.xlsx"))
        XCTAssertEqual(wb.sheetNames, ["Sheet1", "naming rule1", "NoHeader"])
    }

    func test_shared_strings_numbers_blank_headers_and_empty_cells() throws {
        let wb = try XLSXWorkbook(url: dir.appendingPathComponent("shared_strings.xlsx"))
        let table = XLSXTable(sheet: try wb.sheet(named: "Sheet1"))
        XCTAssertEqual(table.header, ["Subject", "Filename", "", "OnsetFrame", "ApexFrame", "OffsetFrame", "", "Action Units", "Estimated Emotion"])
        XCTAssertEqual(table.rows.map(\.number), [2, 3, 5], "the blank row 4 is skipped, row numbers kept")
        let first = table.rows[0]
        XCTAssertEqual(table.value(first, "Subject"), "01", "a string cell keeps its leading zero")
        XCTAssertEqual(table.value(first, "OnsetFrame"), "46")
        XCTAssertNil(first[2], "the cell under a blank header is empty")
        let second = table.rows[1]
        XCTAssertEqual(table.value(second, "Subject"), "1", "a number cell")
        XCTAssertEqual(table.value(second, "OnsetFrame"), "0.5")
        XCTAssertEqual(table.value(second, "ApexFrame"), "/", "non-numeric apex kept as given")
        XCTAssertEqual(table.value(second, "Action Units"), "4+L10")
        XCTAssertNil(table.value(table.rows[2], "ApexFrame"))
        XCTAssertEqual(table.column(matching: ["estimated emotion"]), 8)
    }

    func test_a_sheet_without_a_header_row_is_read_by_column_index() throws {
        let wb = try XLSXWorkbook(url: dir.appendingPathComponent("shared_strings.xlsx"))
        let sheet = try wb.sheet(named: "NoHeader")
        XCTAssertEqual(sheet.rows.count, 3)
        XCTAssertEqual(sheet.rows[0].number, 1)
        XCTAssertEqual(sheet.rows[0].cells.count, 9)
        XCTAssertEqual(sheet.rows[0][1], "15_0101disgustingteeth")
        XCTAssertEqual(sheet.rows[1][4], "0")
        XCTAssertEqual(sheet.rows[2].cells.count, 10, "a lone cell in column J")
        XCTAssertEqual(sheet.rows[2][9], "far right")
        XCTAssertNil(sheet.rows[2][0])
        XCTAssertEqual(try wb.sheet(named: "naming rule1").rows.map { $0[1] }, ["s15", "s16"])
    }

    func test_inline_strings_booleans_and_unicode() throws {
        let wb = try XLSXWorkbook(url: dir.appendingPathComponent("inline_strings.xlsx"))
        let table = XLSXTable(sheet: try wb.firstSheet())
        XCTAssertEqual(table.header, ["clip", "anger", "single_label"])
        XCTAssertEqual(table.rows.map { table.value($0, "clip") }, ["00025", "00026", "中文 clip"])
        XCTAssertEqual(table.value(table.rows[1], "anger"), "0.25")
        XCTAssertEqual(table.value(table.rows[2], "anger"), "TRUE")
        XCTAssertNil(table.value(table.rows[2], "single_label"))
    }

    func test_a_missing_sheet_names_the_sheets_the_file_has() throws {
        let wb = try XLSXWorkbook(url: dir.appendingPathComponent("inline_strings.xlsx"))
        XCTAssertThrowsError(try wb.sheet(named: "Sheet2")) { error in
            XCTAssertEqual("\(error)".hasSuffix("inline_strings.xlsx: has no sheet 'Sheet2'; its sheets: Sheet1"), true, "\(error)")
        }
    }

    func test_a_corrupt_file_is_a_clear_error() {
        XCTAssertThrowsError(try XLSXWorkbook(url: dir.appendingPathComponent("corrupt.xlsx"))) { error in
            XCTAssertTrue("\(error)".contains("corrupt.xlsx: not an .xlsx file"), "\(error)")
        }
        XCTAssertThrowsError(try XLSXWorkbook(url: testMedia.appendingPathComponent("av.mp4"))) { error in
            XCTAssertTrue("\(error)".contains("not an .xlsx file"), "\(error)")
        }
    }
}
