// Tree edit distances per second on one core, on affective trees of the sizes the `tree` stage
// writes (3–12 attributes, 1–8 expressions, 1–4 emotions, an attribute cited by up to four
// expressions): what a GRPO trainer's reward costs per completion, distance only and with the
// parse of the generated description's `<tree>` block.
import EmoCFG
import Foundation

/// CPU seconds of this thread: on a shared machine the wall clock also counts other processes' turns.
func threadCPUSeconds() -> Double {
    var t = timespec()
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t)
    return Double(t.tv_sec) + Double(t.tv_nsec) / 1e9
}

func treeBenchmark() throws {
    let count = arg("--trees", 200)
    let seconds = Double(arg("--seconds", 3))
    var state: UInt64 = 42
    func next(_ n: Int) -> Int {
        state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
        return Int((state >> 33) % UInt64(n))
    }
    let aspects = ["Eyebrows", "Eyes", "Mouth", "Head_actions", "Nose", "Chin", "Skin", "Hair", "Body_actions", "Gaze"]
    let items = ["raised", "lowered", "pressed together", "wide open", "tilted back", "wrinkled", "still", "trembling", "turned away"]
    let emotions = ["anger", "sadness", "fear", "happiness", "surprise", "disgust", "contempt"]
    var trees: [AffectiveTree] = []
    for _ in 0..<count {
        let na = 3 + next(10), nx = 1 + next(8), nm = 1 + next(min(4, nx))
        let a = (0..<na).map { AffectiveTree.Attribute(id: "a\($0 + 1)", aspect: aspects[next(aspects.count)], item: items[next(items.count)]) }
        let x = (0..<nx).map { i in
            AffectiveTree.Expression(id: "x\(i + 1)", aspect: aspects[next(aspects.count)], item: items[next(items.count)],
                                     supportedBy: Array(Set((0...next(3)).map { _ in "a\(next(na) + 1)" })).sorted())
        }
        let m = (0..<nm).map { j in
            AffectiveTree.Emotion(id: "m\(j + 1)", item: emotions[next(emotions.count)],
                                  supportedBy: stride(from: j, to: nx, by: nm).map { "x\($0 + 1)" })
        }
        let t = AffectiveTree(attributes: a, expressions: x, emotions: m)
        precondition(t.structuralProblems().isEmpty, "\(t.structuralProblems())")
        trees.append(t)
    }
    let labelled = trees.map(\.labelled)
    let blocks = trees.map { "The person frowns, eyes narrowed; the brows come down. " + $0.block }
    let sizes = labelled.map(\.count).sorted()
    print("trees: \(count) random affective trees, \(sizes.first!)–\(sizes.last!) nodes (median \(sizes[sizes.count / 2])) as compared")
    let ted = TreeEditDistance()
    var sink = 0.0

    // Distance only, on prepared trees: pairs (i, i+1), (i, i+7), … round the list.
    var n = 0
    let start = DispatchTime.now().uptimeNanoseconds, cpu = threadCPUSeconds()
    var elapsed = 0.0
    while elapsed < seconds {
        for i in 0..<count {
            sink += ted.distance(labelled[i], labelled[(i * 7 + 1) % count])
        }
        n += count
        elapsed = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
    }
    print(String(format: "  distance on prepared trees:           %9.0f distances/s wall, %9.0f per CPU second (one thread)",
                 Double(n) / elapsed, Double(n) / (threadCPUSeconds() - cpu)))

    // The reward as a trainer computes it: parse the completion's block, check it, lay it out, compare.
    n = 0
    elapsed = 0
    let start2 = DispatchTime.now().uptimeNanoseconds, cpu2 = threadCPUSeconds()
    while elapsed < seconds {
        for i in 0..<count {
            let t = try AffectiveTree.parse(description: blocks[i])
            sink += ted.reward(t.labelled, labelled[(i * 7 + 1) % count])
        }
        n += count
        elapsed = Double(DispatchTime.now().uptimeNanoseconds - start2) / 1e9
    }
    print(String(format: "  reward from a description's <tree>:   %9.0f rewards/s wall, %9.0f per CPU second (parse + checks + layout + distance)",
                 Double(n) / elapsed, Double(n) / (threadCPUSeconds() - cpu2)))
    if sink.isNaN { print(sink) }
}
