import Critic
import EmoCFG
import Foundation
import XCTest

/// The report's tree figures: median distance of rewrites to their parents and across models.
final class TreeDistancesTests: XCTestCase {
    func block(_ emotion: String, extra: Bool = false) throws -> String {
        var attributes: [JSONValue] = [["id": "a1", "aspect": "Eyebrows", "item": "drawn together"]]
        var by: [JSONValue] = ["a1"]
        if extra {
            attributes.append(["id": "a2", "aspect": "Mouth", "item": "pressed"])
            by.append("a2")
        }
        return try AffectiveTree(json: ["attributes": .array(attributes),
                                        "expressions": [["id": "x1", "aspect": "Brows", "item": "frown", "supported_by": .array(by)]],
                                        "emotions": [["id": "m1", "item": .string(emotion), "supported_by": ["x1"]]]]).block
    }

    func sample(_ uid: String, clip: String, _ answer: String, model: String, parent: String? = nil, round: Int = 0) -> NewSample {
        NewSample(uid: uid, clipUID: clip, stage: "tree", task: .tree, form: .open, content: ["question": "Q", "answer": .string(answer)],
                  promptID: "p", promptHash: "h", model: model, parentUID: parent, round: round)
    }

    func test_rewrite_and_cross_model_medians_and_unparsable_answers() throws {
        let samples = [
            sample("tree/c1", clip: "c1", try block("anger"), model: "gen"),
            sample("tree/c1#r1", clip: "c1", try block("fear"), model: "rw", parent: "tree/c1", round: 1),            // 1 relabel
            sample("tree/c2", clip: "c2", try block("anger"), model: "gen"),
            sample("tree/c2#r1", clip: "c2", try block("fear", extra: true), model: "rw", parent: "tree/c2", round: 1), // relabel + leaf
            sample("tree/c2#r2", clip: "c2", "a rewrite that lost its block", model: "rw", parent: "tree/c2#r1", round: 2),
            sample("tree/c3", clip: "c3", try block("joy"), model: "gen"),
        ]
        let r = TreeDistances.make(samples: samples)
        XCTAssertEqual(r.count, 1)
        XCTAssertEqual(r[0].task, "tree")
        XCTAssertEqual(r[0].rewritePairs, 2)
        XCTAssertEqual(r[0].rewriteMedian, 1.5)
        XCTAssertEqual(r[0].modelPairs, 2, "c1 gen vs rw, c2 gen vs rw#r1")
        XCTAssertEqual(r[0].modelMedian, 1.5)
        XCTAssertEqual(r[0].unparsable, 1)
        XCTAssertEqual(TreeDistances.make(samples: [sample("tree/c9", clip: "c9", try block("joy"), model: "gen")]).first?.rewriteMedian, nil)
    }
}
