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
// same size and quantiser, two processes at a time. The sides take turns over slices of the clips.
// Reported as clips per second and CPU seconds; the machine is shared, so the ratio is the figure.
import EmoCFG
import Foundation

/// One of the clips the many-clips benchmark copies.
private struct SampleBase {
    var name: String
    var size: String
    var fps: Int
    var seconds: Int
}

func sampleManyBenchmark(clips n: Int, turns: Int, ffmpeg: String) throws {
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

    /// `slice` of the clips through forEachBounded, as annotate's caption stage; how many clips
    /// did not give the expected frames, byte for byte.
    func emocfgPass(_ slice: Range<Int>, threads: Int?) throws -> (seconds: Double, cpu: Double, wrong: Int) {
        let cpu = cpuSeconds(selfCPU)
        nonisolated(unsafe) var wrong = 0
        let dirPath = dir.path
        let all = clips, want = clips.indices.map { expected[baseOf[$0]] }
        let t = try seconds {
            try runBlocking {
                _ = await forEachBounded(Array(slice), width: width, { i -> Bool in
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
    try FileManager.default.createDirectory(at: out, withIntermediateDirectories: true)
    let q = "\(settings.jpegQuality)"
    let args: [[String]] = clips.indices.map { i in
        let e = expected[baseOf[i]]
        return [ffmpeg] + ffmpegSelectArguments(clip: dir.path + "/" + clips[i].record.path, frames: e.map(\.index), width: e[0].width,
                                                height: e[0].height, q: q, output: out.appendingPathComponent(String(format: "c%05d-%%02d.jpg", i)).path)
    }
    func ffmpegPass(_ slice: Range<Int>) -> (seconds: Double, cpu: Double, failed: Int) {
        let lock = NSLock()
        nonisolated(unsafe) var next = slice.lowerBound
        nonisolated(unsafe) var cpu = 0.0
        nonisolated(unsafe) var failed = 0
        let t = seconds {
            DispatchQueue.concurrentPerform(iterations: ffmpegJobs) { _ in
                while true {
                    let i: Int = lock.withLock {
                        defer { next += 1 }
                        return next
                    }
                    guard i < slice.upperBound else { return }
                    let r = RenderChild.spawn(args[i])
                    lock.withLock {
                        cpu += r.cpuSeconds
                        if r.exitCode != 0 { failed += 1 }
                    }
                }
            }
        }
        return (t, cpu, failed)
    }

    // The clips are taken in turns of n / turns clips; in each turn every side samples those
    // clips, the first side of the last turn going last, so that a change in the machine's load
    // (other builds and tests come and go) falls on every side alike. Times and CPU are summed.
    let emocfgThreads: [Int?] = [nil, 1, cores]
    let sides = emocfgThreads.count + 1
    var time = [Double](repeating: 0, count: sides), cpu = time, wrong = [Int](repeating: 0, count: sides)
    for turn in 0..<turns {
        let slice = (n * turn / turns)..<(n * (turn + 1) / turns)
        for k in 0..<sides {
            let side = (k + turn) % sides
            if side < emocfgThreads.count {
                let r = try emocfgPass(slice, threads: emocfgThreads[side])
                time[side] += r.seconds
                cpu[side] += r.cpu
                wrong[side] += r.wrong
            } else {
                let r = ffmpegPass(slice)
                time[side] += r.seconds
                cpu[side] += r.cpu
                wrong[side] += r.failed
            }
        }
    }
    let ffFrames = (try? FileManager.default.contentsOfDirectory(atPath: out.path).count) ?? 0
    let wantFrames = clips.indices.map { expected[baseOf[$0]].count }.reduce(0, +)

    let sizes = bases.indices.map { "\(bases[$0].name) \(expected[$0][0].width)x\(expected[$0][0].height)" }.joined(separator: ", ")
    print("sample --clips \(n): short H.264 clips (\(sizes) JPEGs), \(settings.count) frames each at -q:v \(q), \(cores) cores, \(turns) turns of \(n / turns) clips")
    print("  emocfg: FrameSampler.sample(clip:) under forEachBounded width \(width), as annotate's caption stage; ffmpeg: select filter, \(ffmpegJobs) processes at a time")
    let ff = sides - 1
    let labels = ["emocfg, threads by workload rule  ", "emocfg, 1 thread per decoder      ", String(format: "emocfg, %d threads per decoder     ", cores)]
    for side in 0..<emocfgThreads.count {
        print(String(format: "    %@ %7.2f s  %6.1f clips/s  CPU %6.2f s  (%@)  ratio %.2fx, CPU %.2fx",
                     labels[side], time[side], Double(n) / time[side], cpu[side],
                     wrong[side] == 0 ? "same frames" : "\(wrong[side]) clips with other frames", time[ff] / time[side], cpu[ff] / cpu[side]))
    }
    print(String(format: "    ffmpeg select, %d at a time       %7.2f s  %6.1f clips/s  CPU %6.2f s  (%d of %d frames%@)",
                 ffmpegJobs, time[ff], Double(n) / time[ff], cpu[ff], ffFrames, wantFrames, wrong[ff] > 0 ? ", \(wrong[ff]) processes failed" : ""))
}
