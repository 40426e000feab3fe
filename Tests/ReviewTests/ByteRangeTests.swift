@testable import Review
import XCTest

/// The `Range` header a video element sends to seek.
final class ByteRangeTests: XCTestCase {
    func test_ranges_a_player_sends_are_read_and_cut_to_the_file() {
        XCTAssertEqual(ByteRange.parse(nil, size: 1000), .whole)
        XCTAssertEqual(ByteRange.parse("bytes=0-", size: 1000), .partial(0...999))
        XCTAssertEqual(ByteRange.parse("bytes=100-199", size: 1000), .partial(100...199))
        XCTAssertEqual(ByteRange.parse("bytes=900-5000", size: 1000), .partial(900...999))
        XCTAssertEqual(ByteRange.parse("bytes=-100", size: 1000), .partial(900...999))
        XCTAssertEqual(ByteRange.parse("bytes=-5000", size: 1000), .partial(0...999))
    }

    func test_ranges_outside_the_file_are_unsatisfiable_and_others_get_the_whole_file() {
        XCTAssertEqual(ByteRange.parse("bytes=1000-", size: 1000), .unsatisfiable)
        XCTAssertEqual(ByteRange.parse("bytes=500-100", size: 1000), .unsatisfiable)
        XCTAssertEqual(ByteRange.parse("bytes=-0", size: 1000), .unsatisfiable)
        XCTAssertEqual(ByteRange.parse("bytes=0-1,5-9", size: 1000), .whole)
        XCTAssertEqual(ByteRange.parse("items=0-1", size: 1000), .whole)
    }
}
