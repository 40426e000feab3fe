import AsyncHTTPClient
import Foundation
import NIOCore
import XCTest

/// The stand-in counts distinct requests (by digest of path and body) and repeats, telling a repeat
/// of an answer already delivered from one whose answer never reached its client (the soak script's
/// duplicates).
final class StandinDistinctRequestsTests: XCTestCase {
    var process: StandinProcess?
    var client: HTTPClient!

    override func setUp() async throws {
        client = HTTPClient(eventLoopGroupProvider: .singleton)
    }

    override func tearDown() async throws {
        process?.stop()
        try await client.shutdown()
    }

    func test_stats_count_distinct_requests_and_repeats_after_delivery() async throws {
        process = try StandinProcess(arguments: [], testBundle: Bundle(for: Self.self))
        let api = StandinAPI(baseURL: process!.baseURL, client: client)
        let a = StandinServerTests.openAIBody("clip a", model: "m")
        let b = StandinServerTests.openAIBody("clip b", model: "m")
        for body in [a, b, a, a] {
            let status = try await api.openAI(body).status
            XCTAssertEqual(status, 200)
        }
        let s = try await api.stats()
        XCTAssertEqual(s["requests"]?.number, 4)
        XCTAssertEqual(s["distinct_requests"]?.number, 2)
        XCTAssertEqual(s["repeated_requests"]?.number, 2)
        XCTAssertEqual(s["repeated_after_delivery"]?.number, 2, "a's answer had been delivered before each repeat")
        let digests = try await api.send("/_standin/digests", method: "GET").json
        guard case .object(let byDigest) = digests else { return XCTFail("\(digests)") }
        XCTAssertEqual(byDigest.count, 2, "\(digests)")
        XCTAssertEqual(byDigest.values.compactMap { $0["arrived"]?.number }.sorted(), [1, 3])
        XCTAssertEqual(byDigest.values.compactMap { $0["delivered"]?.number }.sorted(), [1, 3])

        // A client that leaves before its answer: the repeat is not counted as after delivery.
        process?.stop()
        process = try StandinProcess(arguments: ["--latency-ms", "400"], testBundle: Bundle(for: Self.self))
        let slow = StandinAPI(baseURL: process!.baseURL, client: client)
        var request = HTTPClientRequest(url: process!.baseURL + "/v1/chat/completions")
        request.method = .POST
        request.headers.add(name: "Authorization", value: "Bearer sk-test")
        request.body = .bytes(ByteBuffer(bytes: try JSONSerialization.data(withJSONObject: a, options: .sortedKeys)))
        _ = try? await client.execute(request, timeout: .milliseconds(100))
        try await Task.sleep(for: .milliseconds(600))
        let status = try await slow.openAI(a).status
        XCTAssertEqual(status, 200)
        let t = try await slow.stats()
        XCTAssertEqual(t["requests"]?.number, 2)
        XCTAssertEqual(t["distinct_requests"]?.number, 1)
        XCTAssertEqual(t["repeated_requests"]?.number, 1)
        XCTAssertEqual(t["repeated_after_delivery"]?.number, 0, "the first answer found its client gone")
    }
}
