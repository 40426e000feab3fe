// emocfg-bench sample --clips N: the caption stage's frame sampling over many short clips.
//
// N clips (copies, as hard links, of four H.264 + AAC mp4s made once with ffmpeg and cached in
// .build/bench-sample: 1280x720 30 fps and 640x360 25 fps, 3 s and 5 s each, x264's default
// keyframe interval), 16 frames each at the pipeline's default frame settings. emocfg calls
// `FrameSampler.sample(clip:root:settings:)` under `forEachBounded` with the width `annotate` gives
// the caption stage (2 × a model's default maxConcurrency of 4), so the Swift runtime's thread pool
// (one thread per core) samples as many clips at once as annotate would; once with the decoder
// threads the workload rule picks (`FrameSampler.decoderThreads(videosInFlight:)`), then with every
// decoder fixed at one thread and at one thread per core, to show what the rule picks between.
// The baseline is one ffmpeg process per clip with a `select` filter for the same frames at the
// same size and quantiser, two processes at a time. Reported as clips per second; the machine is
// shared, so the ratio is the figure.
import EmoCFG
import Foundation

/// One of the clips the many-clips benchmark copies.
private struct SampleBase {
    var name: String
    var size: String
    var fps: Int
    var seconds: Int
}

func sampleManyBenchmark(clips n: Int, rounds: Int, ffmpeg: String) throws {
    let cores = ProcessInfo.processInfo.activeProcessorCount
    let ffmpegJobs = 2
    let width = 4 * 2  // annotate: a model's maxConcurrency (default 4) × 2
    let root = fixtures.deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    let cache = root.appendingPathComponent(".build/bench-sample")
    try FileManager.default.createDirectory(at: cache, withIntermediateDirectories: true)
    let bases = [
        SampleBase(name: "720p-3s", size: "1280x720", fps: 30, seconds: 3), SampleBase(name: "720p-5s", size: "1280x720", fps: 30, seconds: 5),
        SampleBase(name: "360p-3s", size: "640x360", fps: 25, seconds: 3), SampleBase(name: "360p-5s", size: "640x360", fps: 25, seconds: 5),
    ]
    for b in bases {
        let path = cache.appendingPathComponent(b.name + ".mp4")
        if FileManager.default.fileExists(atPath: path.path) { continue }
        let partial = cache.appendingPathComponent(b.name + ".partial.mp4")
        let made = run(ffmpeg, ["-v", "error", "-y", "-f", "lavfi", "-i", "testsrc2=size=\(b.size):rate=\(b.fps):duration=\(b.seconds)",
                                "-f", "lavfi", "-i", "sine=frequency=440:duration=\(b.seconds)", "-c:v", "libx264", "-preset", "veryfast",
                                "-pix_fmt", "yuv420p", "-c:a", "aac", "-shortest", partial.path])
        guard made == 0 else {
            print("sample --clips: ffmpeg could not make \(b.name) (exit \(made)); is libx264 available?")
            exit(1)
        }
        try FileManager.default.moveItem(at: partial, to: path)
    }

    let dir = FileManager.default.temporaryDirectory.appendingPathComponent("emocfg-bench-sample-many-\(getpid())")
    try FileManager.default.createDirectory(at: dir.appendingPathComponent("clips"), withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(at: dir) }
    var clips: [StoredClip] = []
    var baseOf: [Int] = []
    for i in 0..<n {
        let b = i % bases.count
        let rel = String(format: "clips/clip_%05d.mp4", i)
        let src = cache.appendingPathComponent(bases[b].name + ".mp4"), dst = dir.appendingPathComponent(rel)
        do { try FileManager.default.linkItem(at: src, to: dst) } catch { try FileManager.default.copyItem(at: src, to: dst) }
        let record = ClipRecord(key: String(format: "%05d", i), path: rel)
        clips.append(StoredClip(uid: "Bench/\(i)", source: "Bench", record: record, probe: nil, face: nil, view: nil,
                                fileSize: nil, fileMtime: nil, recordHash: "", status: .ok, error: nil))
        baseOf.append(b)
    }
    let settings = FrameSettings()

    // Each base once: warms the page cache (the copies are links to it) and gives the frame
    // numbers and size the ffmpeg side must produce.
    var expected: [[SampledFrame]] = []
    for b in 0..<bases.count { expected.append(try FrameSampler.sample(clip: clips[b], root: dir.path, settings: settings)) }

    /// All clips through forEachBounded, as annotate's caption stage; how many clips did not give
    /// the expected frames, byte for byte.
    func emocfgPass(threads: Int?) throws -> (seconds: Double, cpu: Double, wrong: Int) {
        let cpu = cpuSeconds(selfCPU)
        nonisolated(unsafe) var wrong = 0
        let dirPath = dir.path
        let all = clips, want = clips.indices.map { expected[baseOf[$0]] }
        let t = try seconds {
            try runBlocking {
                _ = await forEachBounded(Array(all.indices), width: width, { i -> Bool in
                    let clip = all[i]
                    let frames: [SampledFrame]?
                    if let threads {
                        var options = FrameSamplingOptions(count: settings.count, pixelBudget: settings.pixelBudget, jpegQScale: settings.jpegQuality)
                        options.decoderThreads = threads
                        frames = try? FrameSampler.sample(video: dirPath + "/" + clip.record.path, options: options)
                    } else {
                        frames = try? FrameSampler.sample(clip: clip, root: dirPath, settings: settings)
                    }
                    return frames == want[i]
                }) { ok in
                    if !ok { wrong += 1 }
                    return true
                }
            }
        }
        return (t, cpuSeconds(selfCPU) - cpu, wrong)
    }

    // ffmpeg: one process per clip, two at a time.
    let out = dir.appendingPathComponent("ffmpeg")
    let q = "\(settings.jpegQuality)"
    let args: [[String]] = clips.indices.map { i in
        let e = expected[baseOf[i]]
        return [ffmpeg] + ffmpegSelectArguments(clip: dir.path + "/" + clips[i].record.path, frames: e.map(\.index), width: e[0].width,
                                                height: e[0].height, q: q, output: out.appendingPathComponent(String(format: "c%05d-%%02d.jpg", i)).path)
    }
    func ffmpegPass() throws -> (seconds: Double, cpu: Double, frames: Int, failed: Int) {
        try? FileManager.default.removeItem(at: out)
        try FileManager.default.createDirectory(at: out, withIntermediateDirectories: true)
        let lock = NSLock()
        nonisolated(unsafe) var next = 0
        nonisolated(unsafe) var cpu = 0.0
        nonisolated(unsafe) var failed = 0
        let t = seconds {
            DispatchQueue.concurrentPerform(iterations: ffmpegJobs) { _ in
                while true {
                    lock.lock()
                    let i = next
                    next += 1
                    lock.unlock()
                    guard i < args.count else { return }
                    let r = RenderChild.spawn(args[i])
                    lock.lock()
                    cpu += r.cpuSeconds
                    if r.exitCode != 0 { failed += 1 }
                    lock.unlock()
                }
            }
        }
        return (t, cpu, (try? FileManager.default.contentsOfDirectory(atPath: out.path).count) ?? 0, failed)
    }

    // The sides take turns, round after round, in reverse order every other round, so that a
    // change in the machine's load falls on all of them; times and CPU are summed over rounds.
    let emocfgThreads: [Int?] = [nil, 1, cores]
    var emocfgTotals = [(seconds: Double, cpu: Double, wrong: Int)](repeating: (0, 0, 0), count: emocfgThreads.count)
    var ff = 0.0, ffCPU = 0.0, ffFrames = 0, ffFailed = 0
    for round in 0..<rounds {
        let order = Array(0...emocfgThreads.count)
        for side in round % 2 == 0 ? order : order.reversed() {
            if side < emocfgThreads.count {
                let r = try emocfgPass(threads: emocfgThreads[side])
                emocfgTotals[side].seconds += r.seconds
                emocfgTotals[side].cpu += r.cpu
                emocfgTotals[side].wrong += r.wrong
            } else {
                let r = try ffmpegPass()
                ff += r.seconds
                ffCPU += r.cpu
                ffFrames += r.frames
                ffFailed += r.failed
            }
        }
    }
    let done = n * rounds
    let want = clips.indices.map { expected[baseOf[$0]].count }
    let wantFrames = want.reduce(0, +) * rounds
    func check(_ wrong: Int) -> String { wrong == 0 ? "same frames" : "\(wrong) clips with other frames" }
    let sizes = bases.indices.map { "\(bases[$0].name) \(expected[$0][0].width)x\(expected[$0][0].height)" }.joined(separator: ", ")
    print("sample --clips \(n): \(n) short H.264 clips (\(sizes) JPEGs), \(settings.count) frames each at -q:v \(q), \(cores) cores, \(rounds) rounds taking turns (times summed)")
    print("  emocfg: FrameSampler.sample(clip:) under forEachBounded width \(width), as annotate's caption stage; ffmpeg: select filter, \(ffmpegJobs) processes at a time")
    func row(_ label: String, _ r: (seconds: Double, cpu: Double, wrong: Int)) {
        print(String(format: "    %@ %7.2f s  %6.1f clips/s  CPU %6.2f s  (%@)  ratio %.2fx, CPU %.2fx",
                     label, r.seconds, Double(done) / r.seconds, r.cpu, check(r.wrong), ff / r.seconds, ffCPU / r.cpu))
    }
    row("emocfg, threads by workload rule  ", emocfgTotals[0])
    row("emocfg, 1 thread per decoder      ", emocfgTotals[1])
    row(String(format: "emocfg, %d threads per decoder     ", cores), emocfgTotals[2])
    print(String(format: "    ffmpeg select, %d at a time       %7.2f s  %6.1f clips/s  CPU %6.2f s  (%d of %d frames%@)",
                 ffmpegJobs, ff, Double(done) / ff, ffCPU, ffFrames, wantFrames, ffFailed > 0 ? ", \(ffFailed) processes failed" : ""))
}
