import EmoCFG
import XCTest

final class CSVReaderTests: XCTestCase {
    func test_crlf_quoted_commas_and_doubled_quotes_parse_like_meld() throws {
        let text = "Sr No.,Utterance,Speaker\r\n1,\"Oh, really?\",Ross\r\n2,\"She said \"\"no\"\", then left.\",Rachel\r\n"
        let rows = try CSVReader().parse(Data(text.utf8))
        XCTAssertEqual(rows.count, 3)
        XCTAssertEqual(rows[1].fields, ["1", "Oh, really?", "Ross"])
        XCTAssertEqual(rows[2].fields[1], "She said \"no\", then left.")
        XCTAssertEqual(rows.map(\.line), [1, 2, 3])
    }

    func test_line_numbers_count_breaks_inside_quoted_fields() throws {
        let text = "a,b\n\"one\nline two\",x\ny,z\n"
        let rows = try CSVReader().parse(Data(text.utf8))
        XCTAssertEqual(rows.map(\.line), [1, 2, 4])
        XCTAssertEqual(rows[1].fields[0], "one\nline two")
    }

    func test_bom_is_dropped_and_blank_lines_skipped() throws {
        let rows = try CSVReader().parse(Data([0xEF, 0xBB, 0xBF] + Array("name,x\n\nq,1".utf8)))
        XCTAssertEqual(rows.map(\.fields), [["name", "x"], ["q", "1"]])
        XCTAssertEqual(rows[1].line, 3)
    }

    func test_unterminated_quote_names_the_line_it_opened_on() {
        XCTAssertThrowsError(try CSVReader().parse(Data("a\nb\n\"open,\n".utf8))) { error in
            XCTAssertEqual(error as? CSVReader.Failure, .unterminatedQuote(line: 3))
        }
    }

    func test_invalid_utf8_names_the_line() {
        XCTAssertThrowsError(try CSVReader().parse(Data(Array("a\n".utf8) + [0xC4, 0xE3, 0x0A]))) { error in
            XCTAssertEqual(error as? CSVReader.Failure, .notUTF8(line: 2))
        }
    }

    func test_table_reads_columns_by_header_name_whatever_their_order() throws {
        let t = try CSVTable(data: Data("clip_id,mode,video_id\n0001,train,video_0001\n".utf8))
        XCTAssertEqual(t.value(t.rows[0], "video_id"), "video_0001")
        XCTAssertEqual(t.value(t.rows[0], "clip_id"), "0001")
        XCTAssertEqual(t.missingColumns(["label", "mode"]), ["label"])
    }

    func test_natural_order_puts_img2_before_img10() {
        XCTAssertEqual(NaturalOrder.sorted(["img10.jpg", "img2.jpg", "img1.jpg", "16.jpg", "2.jpg"]),
                       ["2.jpg", "16.jpg", "img1.jpg", "img2.jpg", "img10.jpg"])
        XCTAssertTrue(NaturalOrder.less("00001_00002.jpg", "00001_00010.jpg"))
    }
}
