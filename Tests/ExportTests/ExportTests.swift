import Annotate
import EmoCFG
import Export
import Foundation
import Ingest
import TestSupport
import XCTest

final class ExportTests: XCTestCase {
    let repo = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    var store: Store!
    var out: URL!

    override func setUpWithError() throws {
        store = try Store(path: try temporaryStorePath())
        out = FileManager.default.temporaryDirectory.appendingPathComponent("emocfg-export-\(UUID().uuidString)")
    }

    override func tearDown() { try? FileManager.default.removeItem(at: out) }

    /// Ingests the named replicas (from samples/sources.yaml) and makes their instruct samples.
    func prepare(_ sources: [String]) throws {
        let config = try SourcesConfig.load(repo.appendingPathComponent("samples/sources.yaml"), adapters: AdapterRegistry.names)
        let s = store!
        _ = try blocking { try await IngestRunner(store: s, config: config, jobs: 2).run(sources: sources) }
        try InstructRunner(promptsDirectory: repo.appendingPathComponent("prompts")).run(store: store)
    }

    func lines(_ shard: TreeWriter.Shard) throws -> [JSONValue] {
        try String(contentsOf: out.appendingPathComponent(shard.path), encoding: .utf8)
            .split(separator: "\n").map { try JSONValue.parse(String($0)) }
    }

    func test_every_line_validates_against_the_swift_sample_schema_with_one_video_tag_per_video() throws {
        try prepare(["RAVDESS", "MAFW", "CelebV-HQ", "AffWild2", "MELD"])
        let sides = try SplitAssigner().assign(store: store)
        let shards = try TreeWriter(out: out).writeFull(store: store, sides: sides)
        XCTAssertFalse(shards.isEmpty)
        let schema = try JSONValue.parse(Data(contentsOf: repo.appendingPathComponent("schemas/swift-sample.schema.json")))
        var total = 0
        for shard in shards {
            let ls = try lines(shard)
            XCTAssertEqual(ls.count, shard.lines)
            for l in ls {
                total += 1
                XCTAssertEqual(JSONSchemaValidator.violations(of: l, against: schema), [], l.canonical)
                let user = l["messages"]?.arrayValue?.first?["content"]?.stringValue ?? ""
                XCTAssertEqual(user.components(separatedBy: "<video>").count - 1, l["videos"]?.arrayValue?.count, user)
                XCTAssertTrue(l["videos"]?.arrayValue?.first?.stringValue?.hasPrefix("videos/\(shard.source)/") == true)
            }
        }
        XCTAssertEqual(total, try store.samples().filter { $0.status == .accepted }.count, "every accepted sample of an ok clip is written")
        XCTAssertEqual(try FileManager.default.destinationOfSymbolicLink(atPath: out.appendingPathComponent("videos/RAVDESS").path),
                       repo.appendingPathComponent("Tests/Fixtures/RAVDESS").path)
    }

    func test_only_accepted_samples_are_written_and_a_rewrite_replaces_its_parent() throws {
        try prepare(["RAVDESS"])
        let clip = try XCTUnwrap(try store.clips().first { $0.status == .ok })
        let parent = NewSample(uid: "caption/\(clip.uid)/emotion", clipUID: clip.uid, stage: "caption", task: .emotion, form: .caption,
                               content: ["question": "Q?", "answer": "parent answer"], promptID: "p", promptHash: "h")
        var child = parent
        child.uid += "#r1"
        child.parentUID = parent.uid
        child.round = 1
        child.content = ["question": "Q?", "answer": "rewritten answer"]
        try store.upsertSamples([parent])
        try store.decide(sample: parent.uid, status: .rejected, reasons: "rewritten: …", rewrite: child)
        try store.decide(sample: child.uid, status: .accepted, reasons: nil)
        let pending = NewSample(uid: "caption/\(clip.uid)/attribute", clipUID: clip.uid, stage: "caption", task: .attribute, form: .caption,
                                content: ["question": "Q?", "answer": "still pending"], promptID: "p", promptHash: "h")
        try store.upsertSamples([pending])
        let shards = try TreeWriter(out: out).writeFull(store: store, sides: try SplitAssigner().assign(store: store))
        let captions = try shards.filter { $0.directory == "caption" }.flatMap(lines).map { $0.canonical }
        XCTAssertEqual(captions.filter { $0.contains("rewritten answer") }.count, 1)
        XCTAssertFalse(captions.contains { $0.contains("parent answer") || $0.contains("still pending") })
    }

    func test_no_identity_group_is_on_both_sides_and_adding_a_source_moves_nothing() throws {
        try prepare(["RAVDESS", "MEAD", "CelebV-HQ"])
        let assigner = SplitAssigner(testFraction: 0.5, seed: "test")
        let first = try assigner.assign(store: store)
        let clips = try store.clips().filter { $0.status == .ok }
        var sidesByGroup: [String: Set<String>] = [:]
        for c in clips where c.record.split == nil {
            sidesByGroup["\(c.source)|\(c.record.identity ?? c.record.key)", default: []].insert(first[c.uid]!)
        }
        XCTAssertTrue(sidesByGroup.values.allSatisfy { $0.count == 1 }, "\(sidesByGroup.filter { $0.value.count > 1 })")
        XCTAssertTrue(Set(first.values) == ["train", "test"], "with half the groups on test, both sides are used")

        try prepare(["MELD", "DFEW"])
        let second = try SplitAssigner(testFraction: 0.9, seed: "other").assign(store: store)
        for (uid, side) in first { XCTAssertEqual(second[uid], side, "\(uid) moved") }
        XCTAssertGreaterThan(second.count, first.count)
        let meldTest = try store.clips(source: "MELD").filter { $0.record.split == "test" && $0.status == .ok }
        XCTAssertFalse(meldTest.isEmpty)
        XCTAssertTrue(meldTest.allSatisfy { second[$0.uid] == "test" }, "a native test split is respected")
    }
}
