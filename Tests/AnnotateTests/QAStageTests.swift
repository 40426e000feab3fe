import Annotate
import EmoCFG
import Foundation
import Ingest
import TestSupport
import XCTest

/// Which captions the QA stage writes its pairs from: the newest version of each of a clip's three
/// captions that the committee has not rejected (a rewrite replaces its parent).
final class QAStageTests: XCTestCase {
    let repo = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    func test_qa_takes_the_newest_caption_the_committee_has_not_rejected_and_skips_a_clip_without_three() throws {
        let store = try Store(path: try temporaryStorePath())
        let config = try SourcesConfig.load(repo.appendingPathComponent("samples/sources.yaml"), adapters: AdapterRegistry.names)
        _ = try blocking { try await IngestRunner(store: store, config: config, jobs: 2).run(sources: ["RAVDESS"]) }
        let clips = try store.clips().filter { $0.status == .ok }.sorted { $0.uid < $1.uid }
        XCTAssertGreaterThanOrEqual(clips.count, 4)
        func caption(_ clip: StoredClip, _ task: SampleTask, round: Int = 0, status: SampleStatus = .accepted) -> NewSample {
            let base = "caption/\(clip.uid)/\(task.rawValue)"
            return NewSample(uid: round == 0 ? base : "\(base)#r\(round)", clipUID: clip.uid, stage: "caption", task: task, form: .caption,
                             content: ["question": "Describe.", "answer": .string("\(task.rawValue) caption, round \(round)")],
                             promptID: "caption/\(task.rawValue)", promptHash: "h", model: "m",
                             parentUID: round == 0 ? nil : (round == 1 ? base : "\(base)#r\(round - 1)"), round: round, status: status)
        }
        let three: [SampleTask] = [.attribute, .expression, .emotion]
        var samples: [NewSample] = []
        // 0: three accepted captions. 1: its emotion caption rejected and rewritten twice (the second pending).
        // 2: its expression caption rejected, no rewrite yet. 3: two captions only.
        samples += three.map { caption(clips[0], $0) }
        samples += [caption(clips[1], .attribute), caption(clips[1], .expression), caption(clips[1], .emotion, status: .rejected),
                    caption(clips[1], .emotion, round: 1, status: .rejected), caption(clips[1], .emotion, round: 2, status: .pending)]
        samples += [caption(clips[2], .attribute), caption(clips[2], .expression, status: .rejected), caption(clips[2], .emotion)]
        samples += [caption(clips[3], .attribute), caption(clips[3], .emotion)]
        try store.upsertSamples(samples)

        let library = PromptLibrary(prompts: repo.appendingPathComponent("prompts"), schemas: repo.appendingPathComponent("schemas"))
        let items = Dictionary(uniqueKeysWithValues: try QAStage(library: library).pendingItems(store: store, sources: nil).map { ($0.id, $0) })
        XCTAssertEqual(Set(items.keys), [clips[0].uid, clips[1].uid])
        XCTAssertEqual(items[clips[0].uid]?.inputs.map(\.uid), three.map { "caption/\(clips[0].uid)/\($0.rawValue)" })
        XCTAssertEqual(items[clips[1].uid]?.inputs.map(\.uid),
                       ["caption/\(clips[1].uid)/attribute", "caption/\(clips[1].uid)/expression", "caption/\(clips[1].uid)/emotion#r2"])
        // The request carries the rewrite's text in the emotion caption's place.
        let request = try QAStage(library: library).request(for: try XCTUnwrap(items[clips[1].uid]), step: 0, previous: [], frames: [])
        XCTAssertTrue(request.messages.description.contains("emotion caption, round 2"), request.messages.description)
    }
}
