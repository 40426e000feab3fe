import EmoCFG
import Foundation
import XCTest

/// Small trees whose distances are worked out by hand, and a generator of larger ones.
enum TreeFixtures {
    static func attribute(_ id: String, _ aspect: String, _ item: String) -> JSONValue {
        ["id": .string(id), "aspect": .string(aspect), "item": .string(item)]
    }
    static func expression(_ id: String, _ aspect: String, _ item: String, _ by: [String]) -> JSONValue {
        ["id": .string(id), "aspect": .string(aspect), "item": .string(item), "supported_by": .array(by.map { .string($0) })]
    }
    static func emotion(_ id: String, _ item: String, _ by: [String]) -> JSONValue {
        ["id": .string(id), "item": .string(item), "supported_by": .array(by.map { .string($0) })]
    }
    static func tree(_ a: [JSONValue], _ x: [JSONValue], _ m: [JSONValue]) -> JSONValue {
        ["attributes": .array(a), "expressions": .array(x), "emotions": .array(m)]
    }

    /// root → anger → {frown → {brows, lips}, stare → {eyes}}: 7 nodes.
    static let anger = tree(
        [attribute("a1", "Eyebrows", "drawn together"), attribute("a2", "Mouth", "lips pressed"), attribute("a3", "Eyes", "narrowed")],
        [expression("x1", "Facial_actions", "frown", ["a1", "a2"]), expression("x2", "Gaze", "fixed stare", ["a3"])],
        [emotion("m1", "anger", ["x1", "x2"])])

    /// Two emotions: root → {sadness → {droop → {corners}, tears → {eyes}}, fear → {widen → {lids}}}.
    static func twoEmotions(tearsUnder emotion: String) -> JSONValue {
        tree([attribute("a1", "Mouth", "corners down"), attribute("a2", "Eyes", "wet"), attribute("a3", "Eyelids", "raised")],
             [expression("x1", "Mouth", "droop", ["a1"]), expression("x2", "Eyes", "tears", ["a2"]), expression("x3", "Eyes", "widen", ["a3"])],
             emotion == "sadness"
                ? [TreeFixtures.emotion("m1", "sadness", ["x1", "x2"]), TreeFixtures.emotion("m2", "fear", ["x3"])]
                : [TreeFixtures.emotion("m1", "sadness", ["x1"]), TreeFixtures.emotion("m2", "fear", ["x2", "x3"])])
    }

    /// A deterministic tree of the stage's sizes (3–12 attributes, 1–8 expressions, 1–4 emotions)
    /// from a small vocabulary, so random pairs share some labels.
    static func random(_ seed: UInt64) -> JSONValue {
        var state = seed &+ 0x9E37_79B9_7F4A_7C15
        func next(_ n: Int) -> Int {
            state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            return Int((state >> 33) % UInt64(n))
        }
        let aspects = ["Eyebrows", "Eyes", "Mouth", "Head_actions", "Nose", "Chin", "Skin", "Hair"]
        let items = ["raised", "lowered", "tight", "open", "tilted", "wrinkled", "still", "trembling"]
        let emotions = ["anger", "sadness", "fear", "joy", "surprise", "disgust"]
        let na = 3 + next(10), nx = 1 + next(8), nm = 1 + next(min(4, nx))
        let a = (0..<na).map { attribute("a\($0 + 1)", aspects[next(aspects.count)], items[next(items.count)]) }
        var x: [JSONValue] = []
        for i in 0..<nx {
            var by = Set<Int>()
            for _ in 0...next(3) { by.insert(next(na)) }
            x.append(expression("x\(i + 1)", aspects[next(aspects.count)], items[next(items.count)], by.sorted().map { "a\($0 + 1)" }))
        }
        // Every expression goes to some emotion: expression i to emotion i mod nm, plus a few extras.
        var m: [[Int]] = Array(repeating: [], count: nm)
        for i in 0..<nx { m[i % nm].append(i) }
        for j in 0..<nm where next(2) == 0 { let extra = next(nx); if !m[j].contains(extra) { m[j].append(extra) } }
        return tree(a, x, (0..<nm).map { emotion("m\($0 + 1)", emotions[next(emotions.count)], m[$0].map { "x\($0 + 1)" }) })
    }

    /// The same tree with every list and every `supported_by` reversed and the ids renamed.
    static func reordered(_ t: JSONValue) -> JSONValue {
        func rename(_ id: String) -> String { "n-" + id }
        func node(_ v: JSONValue) -> JSONValue {
            var o = v.objectValue!
            o["id"] = .string(rename(o["id"]!.stringValue!))
            if let by = o["supported_by"]?.arrayValue { o["supported_by"] = .array(by.reversed().map { .string(rename($0.stringValue!)) }) }
            return .object(o)
        }
        return tree(t["attributes"]!.arrayValue!.reversed().map(node), t["expressions"]!.arrayValue!.reversed().map(node),
                    t["emotions"]!.arrayValue!.reversed().map(node))
    }
}

final class AffectiveTreeTests: XCTestCase {
    let ted = TreeEditDistance()

    func tree(_ json: JSONValue) throws -> AffectiveTree { try AffectiveTree(json: json) }
    func d(_ a: JSONValue, _ b: JSONValue) throws -> Double { ted.distance(try tree(a), try tree(b)) }

    func projectFile(_ path: String) -> URL {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent(path)
    }

    // MARK: - Schema and structure

    func test_a_valid_tree_passes_the_schema_and_the_structure_checks() throws {
        let schema = try PromptLibrary(prompts: projectFile("prompts"), schemas: projectFile("schemas")).schema("affective-tree")
        XCTAssertEqual(JSONSchemaValidator.violations(of: TreeFixtures.anger, against: schema), [])
        XCTAssertEqual(AffectiveTree.problems(in: TreeFixtures.anger), [])
        XCTAssertNil(AnswerCheck.affectiveTree.problem(TreeFixtures.anger))
        XCTAssertEqual(try tree(TreeFixtures.anger).labelled.count, 7)
    }

    func test_broken_trees_are_refused_with_the_reason() throws {
        var dup = TreeFixtures.anger.objectValue!
        dup["expressions"] = [TreeFixtures.expression("x1", "Facial_actions", "frown", ["a1"]), TreeFixtures.expression("a1", "Gaze", "stare", ["a3"])]
        XCTAssertTrue(AffectiveTree.problems(in: .object(dup)).contains { $0.contains("'a1' is used twice") }, "\(AffectiveTree.problems(in: .object(dup)))")

        var skip = TreeFixtures.anger.objectValue!
        skip["emotions"] = [TreeFixtures.emotion("m1", "anger", ["x1", "a1"])]  // an emotion citing an attribute: two levels down
        XCTAssertTrue(AffectiveTree.problems(in: .object(skip)).contains { $0.contains("supported by 'a1', which is not an expression") })

        var orphan = TreeFixtures.anger.objectValue!
        orphan["emotions"] = [TreeFixtures.emotion("m1", "anger", ["x1"])]
        XCTAssertEqual(AffectiveTree.problems(in: .object(orphan)), ["expression 'x2' supports no emotion (an orphan above the attribute level)"])

        var dangling = TreeFixtures.anger.objectValue!
        dangling["expressions"] = [TreeFixtures.expression("x1", "Facial_actions", "frown", ["a1", "a9"]), TreeFixtures.expression("x2", "Gaze", "stare", ["a3"])]
        XCTAssertTrue(AffectiveTree.problems(in: .object(dangling)).contains { $0.contains("'a9', which is not an attribute") })

        var empty = TreeFixtures.anger.objectValue!
        empty["emotions"] = []
        XCTAssertTrue(AffectiveTree.problems(in: .object(empty)).contains("emotions must be a non-empty list"))
        XCTAssertEqual(AffectiveTree.problems(in: "a string"), ["the tree is not a JSON object"])
        XCTAssertNotNil(AnswerCheck.affectiveTree.problem(.object(orphan)))
        XCTAssertEqual(AnswerCheck(rawValue: "affective_tree"), .affectiveTree)

        // The schema itself refuses what it can see: an id outside the enum, a missing field.
        let schema = try PromptLibrary(prompts: projectFile("prompts"), schemas: projectFile("schemas")).schema("affective-tree")
        var badID = TreeFixtures.anger.objectValue!
        badID["attributes"] = [TreeFixtures.attribute("brows", "Eyebrows", "raised")]
        XCTAssertFalse(JSONSchemaValidator.violations(of: .object(badID), against: schema).isEmpty)
        var missing = TreeFixtures.anger.objectValue!
        missing["emotions"] = [["id": "m1", "item": "anger"]]
        XCTAssertFalse(JSONSchemaValidator.violations(of: .object(missing), against: schema).isEmpty)
    }

    func test_a_description_carries_its_tree_in_the_last_tree_block() throws {
        let t = try tree(TreeFixtures.anger)
        let text = "The format is <tree>{...}</tree>. The person frowns.\n" + t.block
        XCTAssertEqual(try AffectiveTree.parse(description: text), t)
        XCTAssertThrowsError(try AffectiveTree.parse(description: "no tree here"))
        XCTAssertThrowsError(try AffectiveTree.parse(description: "<tree>{not json</tree>"))
    }

    // MARK: - Distances worked out by hand

    func test_identical_trees_are_at_distance_zero_with_reward_one() throws {
        XCTAssertEqual(try d(TreeFixtures.anger, TreeFixtures.anger), 0)
        XCTAssertEqual(ted.reward(distance: 0), 1)
    }

    func test_one_relabelled_node_costs_one_relabel() throws {
        var other = TreeFixtures.anger.objectValue!
        other["emotions"] = [TreeFixtures.emotion("m1", "fear", ["x1", "x2"])]
        XCTAssertEqual(try d(TreeFixtures.anger, .object(other)), 1)
        XCTAssertEqual(TreeEditDistance(costs: TreeEditCosts(relabel: 2.5)).distance(try tree(TreeFixtures.anger), try tree(.object(other))), 2)
        // Relabel 2.5 is dearer than delete + insert (2): the cheaper edit is taken.
        XCTAssertEqual(TreeEditDistance(costs: TreeEditCosts(relabel: 0.5)).distance(try tree(TreeFixtures.anger), try tree(.object(other))), 0.5)
        // Normalisation: case, underscores, hyphens and white space do not count.
        var spelled = TreeFixtures.anger.objectValue!
        spelled["emotions"] = [TreeFixtures.emotion("m1", "  ANGER ", ["x1", "x2"])]
        spelled["expressions"] = [TreeFixtures.expression("x1", "facial actions", "Frown", ["a1", "a2"]), TreeFixtures.expression("x2", "gaze", "fixed-stare", ["a3"])]
        XCTAssertEqual(try d(TreeFixtures.anger, .object(spelled)), 0)
    }

    func test_one_added_leaf_costs_one_insert() throws {
        var more = TreeFixtures.anger.objectValue!
        more["attributes"] = .array(TreeFixtures.anger["attributes"]!.arrayValue! + [TreeFixtures.attribute("a4", "Head", "tilted")])
        more["expressions"] = [TreeFixtures.expression("x1", "Facial_actions", "frown", ["a1", "a2"]), TreeFixtures.expression("x2", "Gaze", "fixed stare", ["a3", "a4"])]
        XCTAssertEqual(try d(TreeFixtures.anger, .object(more)), 1)
        XCTAssertEqual(try d(.object(more), TreeFixtures.anger), 1)
        XCTAssertEqual(TreeEditDistance(costs: TreeEditCosts(insert: 3, delete: 2)).distance(try tree(TreeFixtures.anger), try tree(.object(more))), 3)
        XCTAssertEqual(ted.reward(try tree(TreeFixtures.anger).labelled, try tree(.object(more)).labelled), exp(-0.1), accuracy: 1e-12)
    }

    func test_a_moved_subtree_costs_its_deletion_and_insertion() throws {
        // "tears → wet eyes" (two nodes) moves from sadness to fear: two deletes and two inserts.
        XCTAssertEqual(try d(TreeFixtures.twoEmotions(tearsUnder: "sadness"), TreeFixtures.twoEmotions(tearsUnder: "fear")), 4)
    }

    func test_sibling_order_and_ids_do_not_change_the_distance() throws {
        XCTAssertEqual(try d(TreeFixtures.anger, TreeFixtures.reordered(TreeFixtures.anger)), 0)
        for seed in UInt64(0)..<40 {
            let a = TreeFixtures.random(seed), b = TreeFixtures.random(seed + 1000)
            XCTAssertEqual(AffectiveTree.problems(in: a), [], "seed \(seed)")
            XCTAssertEqual(try d(a, TreeFixtures.reordered(a)), 0, "seed \(seed)")
            XCTAssertEqual(try d(a, b), try d(TreeFixtures.reordered(a), TreeFixtures.reordered(b)), "seed \(seed)")
            XCTAssertEqual(try d(a, b), try d(b, a), "seed \(seed): unit costs are symmetric")
            XCTAssertGreaterThan(try d(a, b), 0, "seed \(seed)")
        }
    }

    // MARK: - The Python plugin

    /// Runs python3 on a script with the plugin importable; skips when there is no python3.
    func python(_ script: String) throws -> String {
        let which = Process()
        which.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        which.arguments = ["python3", "-c", "pass"]
        which.standardOutput = FileHandle.nullDevice
        which.standardError = FileHandle.nullDevice
        do { try which.run(); which.waitUntilExit() } catch { throw XCTSkip("python3 is not installed: the plugin parity test needs it") }
        guard which.terminationStatus == 0 else { throw XCTSkip("python3 is not installed: the plugin parity test needs it") }
        let dir = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let file = dir.appendingPathComponent("run.py")
        try Data(("import sys; sys.path.insert(0, \(JSONValue.string(projectFile("plugins").path).canonical))\n" + script).utf8).write(to: file)
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        p.arguments = ["python3", file.path]
        p.currentDirectoryURL = dir
        let out = dir.appendingPathComponent("out"), err = dir.appendingPathComponent("err")
        FileManager.default.createFile(atPath: out.path, contents: nil)
        FileManager.default.createFile(atPath: err.path, contents: nil)
        p.standardOutput = try FileHandle(forWritingTo: out)
        p.standardError = try FileHandle(forWritingTo: err)
        try p.run()
        p.waitUntilExit()
        let text = try String(contentsOf: out, encoding: .utf8)
        XCTAssertEqual(p.terminationStatus, 0, (try? String(contentsOf: err, encoding: .utf8)) ?? "")
        return text
    }

    func test_swift_and_the_python_plugin_give_the_same_distances() throws {
        var pairs: [(JSONValue, JSONValue)] = [
            (TreeFixtures.anger, TreeFixtures.anger), (TreeFixtures.anger, TreeFixtures.reordered(TreeFixtures.anger)),
            (TreeFixtures.twoEmotions(tearsUnder: "sadness"), TreeFixtures.twoEmotions(tearsUnder: "fear")),
            (TreeFixtures.anger, TreeFixtures.twoEmotions(tearsUnder: "fear")),
        ]
        for seed in UInt64(0)..<120 { pairs.append((TreeFixtures.random(seed), TreeFixtures.random(seed &* 7 + 3))) }
        let swift = try pairs.map { try d($0.0, $0.1) }
        let input = JSONValue.array(pairs.map { [$0.0, $0.1] }).canonical
        let script = """
            import json, affective_tree_reward as p
            pairs = json.loads(\(JSONValue.string(input).canonical))
            print(json.dumps([p.tree_distance(a, b) for a, b in pairs]))
            """
        let python = try JSONValue.parse(try python(script)).arrayValue?.compactMap(\.numberValue) ?? []
        XCTAssertEqual(python.count, swift.count)
        XCTAssertEqual(python, swift)
        XCTAssertEqual(swift[2], 4)
        XCTAssertTrue(Set(swift).count > 10, "the random pairs cover many distances: \(Set(swift).sorted())")
    }

    func test_the_plugin_rewards_a_perfect_tree_with_one_and_a_shuffled_tree_with_less() throws {
        let reference = TreeFixtures.random(7)
        // Shuffled: the items moved one place along each list, so cues are attached to the wrong aspects and emotions.
        func shift(_ list: [JSONValue]) -> [JSONValue] {
            list.enumerated().map { i, v in
                var o = v.objectValue!
                o["item"] = list[(i + 1) % list.count]["item"]!
                return .object(o)
            }
        }
        let shuffled = TreeFixtures.tree(shift(reference["attributes"]!.arrayValue!), shift(reference["expressions"]!.arrayValue!),
                                         shift(reference["emotions"]!.arrayValue!))
        let perfect = "The person frowns and stares.\n" + (try tree(reference)).block
        let reordered = "Same tree, other order.\n" + (try tree(TreeFixtures.reordered(reference))).block
        let wrong = "Shuffled.\n" + (try tree(shuffled)).block
        let script = """
            import json, affective_tree_reward as p
            ref = \(JSONValue.string(reference.canonical).canonical)
            r = p.AffectiveTreeReward()
            out = r([\(JSONValue.string(perfect).canonical), \(JSONValue.string(reordered).canonical), \(JSONValue.string(wrong).canonical), "no tree", "(B)"],
                    task=["affective_tree"] * 4 + ["mcq_accuracy"], tree=[ref] * 4 + [None])
            acc = p.MCQAccuracyReward()(["The answer is (B).", "(A)", "x"], task=["mcq_accuracy", "mcq_accuracy", "affective_tree"], solution=["B", "B", None])
            f1 = p.mcq_f1("(A) and (B)", "AC")
            print(json.dumps({"tree": out, "acc": acc, "f1": f1}))
            """
        let result = try JSONValue.parse(try python(script))
        let rewards = result["tree"]!.arrayValue!
        XCTAssertEqual(rewards[0].numberValue, 1.0)
        XCTAssertEqual(rewards[1].numberValue, 1.0)
        let shuffledReward = try XCTUnwrap(rewards[2].numberValue)
        XCTAssertLessThan(shuffledReward, 1.0)
        XCTAssertEqual(shuffledReward, ted.reward(distance: try d(reference, shuffled)), accuracy: 1e-12)
        XCTAssertEqual(rewards[3].numberValue, 0.0)
        XCTAssertEqual(rewards[4], .null, "another task's row gets None")
        XCTAssertEqual(result["acc"], [1.0, 0.0, nil])
        XCTAssertEqual(result["f1"]!.numberValue!, 0.5, accuracy: 1e-12)
    }
}
