@testable import Export
import XCTest

/// The curation line index (one FNV-1a per line), hashed four lines at a time by the shard writer.
final class LineIndexTests: XCTestCase {
    func test_line_hashes_match_hashing_each_line_whatever_the_chunks() {
        // Lines of many lengths (empty ones, one byte, a few blocks, long ones), cut into chunks anywhere.
        var state: UInt64 = 42
        func next(_ bound: Int) -> Int {
            state = state &* 6364136223846793005 &+ 1442695040888963407
            return Int(state >> 33) % bound
        }
        var text: [UInt8] = []
        var lines: [[UInt8]] = []
        for i in 0..<3000 {
            let length = i % 17 == 0 ? 0 : i % 29 == 0 ? 5000 + next(3000) : next(700)
            let line = (0..<length).map { _ in UInt8(32 + next(90)) }
            lines.append(line)
            text += line + [0x0A]
        }
        text += Array("an unfinished line".utf8)
        let expected = lines.map { l in l.withUnsafeBufferPointer { FNV1a.hash($0) } }
        let tail = Array("an unfinished line".utf8).withUnsafeBufferPointer { FNV1a.hash($0) }

        for chunkSize in [1, 2, 63, 64, 65, 1000, 4096, 65_536, text.count] {
            var out: [UInt64] = []
            var carry = FNV1a.basis
            var at = 0
            while at < text.count {
                let end = min(at + chunkSize, text.count)
                text[at..<end].withUnsafeBufferPointer { FNV1a.hashLines($0, carry: &carry, into: &out) }
                at = end
            }
            XCTAssertEqual(out, expected, "chunks of \(chunkSize)")
            XCTAssertEqual(carry, tail, "chunks of \(chunkSize)")
        }
        var none: [UInt64] = [], carry = FNV1a.basis
        [UInt8]().withUnsafeBufferPointer { FNV1a.hashLines($0, carry: &carry, into: &none) }
        XCTAssertEqual(none, [])
        XCTAssertEqual(carry, FNV1a.basis)
    }
}
