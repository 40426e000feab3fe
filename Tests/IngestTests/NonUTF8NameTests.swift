import EmoCFG
import Foundation
import Ingest
import XCTest

/// Issue 12, item 10: a file or folder whose name is not valid UTF-8 (here byte 0xFF / 0xE9) is
/// reported as such, with its bytes escaped and what to do, instead of as a missing label row; the
/// rest of the source is ingested.
final class NonUTF8NameTests: XCTestCase {
    var root: URL!
    let fm = FileManager.default

    override func setUpWithError() throws {
        root = fm.temporaryDirectory.appendingPathComponent("emocfg-nonutf8-\(UUID().uuidString)")
        try fm.copyItem(at: fixturesRoot.appendingPathComponent("CAER"), to: root)
    }

    override func tearDownWithError() throws {
        try? fm.removeItem(at: root)
    }

    /// Creates `relative` (whose bytes need not be UTF-8) under the root: a copy of `content`, or a
    /// folder holding a copy of it named `0001.avi` when `folder` is set.
    func make(_ relative: [UInt8], folder: Bool = false, content: String) throws {
        let data = try Data(contentsOf: root.appendingPathComponent(content))
        var path = Array(root.path.utf8) + [UInt8(ascii: "/")] + relative
        if folder {
            XCTAssertEqual(mkdir(path.map { CChar(bitPattern: $0) } + [0], 0o755), 0)
            path += Array("/0001.avi".utf8)
        }
        let fd = open(path.map { CChar(bitPattern: $0) } + [0], O_CREAT | O_WRONLY, 0o644)
        XCTAssertGreaterThanOrEqual(fd, 0)
        _ = data.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
        close(fd)
    }

    func test_a_name_that_is_not_utf8_is_reported_by_name_and_the_rest_is_ingested() throws {
        try make(Array("CAER/train/Anger/0".utf8) + [0xFF] + Array("03.avi".utf8), content: "CAER/train/Anger/0001.avi")
        try make(Array("CAER/test/Sad".utf8) + [0xE9], folder: true, content: "CAER/test/Fear/0001.avi")

        let r = try ingestReplica("CAER", adapter: "caer", root: root)

        XCTAssertEqual(Set(r.clips.keys), CAERAdapterTests.keys, "the well-named clips are all ingested")
        XCTAssertTrue(r.clips.values.allSatisfy { $0.status == "ok" }, "\(r.clips.mapValues(\.status))")
        XCTAssertEqual(r.problems(.missingFile), [], "not a missing label row: \(r.problems(.missingFile))")

        let named = r.problems.filter { $0.message.contains("not valid UTF-8") }
        XCTAssertEqual(Set(named.compactMap { $0.location?.file }), ["CAER/test/Sad\\xE9", "CAER/train/Anger/0\\xFF03.avi"],
                       "\(r.problems)")
        XCTAssertEqual(named.count, 2, "each reported once: \(named)")
        for p in named {
            XCTAssertTrue(p.message.contains(p.location!.file), p.message)
            XCTAssertTrue(p.message.contains("rename"), p.message)
        }
    }

    func test_escaped_name_keeps_valid_utf8_and_escapes_each_bad_byte() {
        XCTAssertEqual(ScanContext.escapedName(Array("caf".utf8) + [0xE9, 0xFF] + Array("é.mp4".utf8)), "caf\\xE9\\xFFé.mp4")
    }
}
