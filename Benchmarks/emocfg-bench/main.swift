// Benchmarks for emocfg, run on demand with `make bench` (never in CI).
//
//   emocfg-bench probe  [--files N] [--jobs N]   in-process libavformat vs one ffprobe process per file
//   emocfg-bench upsert [--clips N]              clip records upserted into a fresh store, clips/s
//   emocfg-bench sample [--frames N] [--runs N] [--clips N] [--turns N]
//                                                N frames of a 10 s 720p H.264 clip: in-process vs one ffmpeg process;
//                                                then 16 frames of each of N short clips (default 200, 0 skips) on all
//                                                cores as annotate samples them vs ffmpeg select, two processes at a time
//   emocfg-bench export [--clips N] [--samples N] [--runs N] [--keep DIR]  emocfg export vs scripts/export_baseline.py, same bytes
//   emocfg-bench render [--windows N] [--folders N] [--frames N] [--jobs N]  clips rendered to H.264 MP4 in-process vs one ffmpeg per clip
//   emocfg-bench adaptive [--capacity N] [--seconds S] [--outage S]  adaptive concurrency against a hidden capacity; the circuit breaker in an outage
//   emocfg-bench faces [--count N] [--clips DIR] [--jobs N]  face search, 3 frames a clip, 360p and 720p: in-process dlib vs a PyAV + dlib script
//   emocfg-bench sha256 [--mb N] [--count N] [--runs N]  SHA-256 MB/s, 64 KB pieces and 200-byte strings: swift-crypto vs the old Swift code
//   emocfg-bench trees [--trees N] [--seconds S]  affective-tree edit distances/s on one core (the GRPO reward)
//
// Both sides of a comparison run in the same process, one after the other, on the same files, so
// the ratio holds on a shared, noisy machine where absolute times do not.
import EmoCFG
import Foundation

func arg(_ name: String, _ fallback: Int) -> Int {
    let a = CommandLine.arguments
    if let i = a.firstIndex(of: name), i + 1 < a.count, let v = Int(a[i + 1]) { return v }
    return fallback
}

func seconds(_ body: () throws -> Void) rethrows -> Double {
    let t = DispatchTime.now().uptimeNanoseconds
    try body()
    return Double(DispatchTime.now().uptimeNanoseconds - t) / 1e9
}

func which(_ tool: String) -> String? {
    for dir in (ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin").split(separator: ":") {
        let p = "\(dir)/\(tool)"
        if FileManager.default.isExecutableFile(atPath: p) { return p }
    }
    return nil
}

@discardableResult
func run(_ tool: String, _ args: [String]) -> Int32 {
    let p = Process()
    p.executableURL = URL(fileURLWithPath: tool)
    p.arguments = args
    p.standardOutput = FileHandle.nullDevice
    p.standardError = FileHandle.nullDevice
    do { try p.run() } catch { return -1 }
    p.waitUntilExit()
    return p.terminationStatus
}

let fixtures = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
    .deletingLastPathComponent().appendingPathComponent("Tests/Fixtures/_media")

/// Makes `count` video files: copies of a few realistic clips (a 3 s 640x360 H.264+AAC mp4 like a
/// MELD/RAVDESS clip and a 2 s AVI like AFEW/CAER, made with ffmpeg), or of the fixtures if ffmpeg
/// is absent.
func makeVideos(count: Int, in dir: URL) throws -> [String] {
    try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
    var bases: [URL] = []
    if let ffmpeg = which("ffmpeg") {
        let mp4 = dir.appendingPathComponent("base.mp4"), avi = dir.appendingPathComponent("base.avi")
        run(ffmpeg, ["-v", "error", "-y", "-f", "lavfi", "-i", "testsrc2=size=640x360:rate=30:duration=3",
                     "-f", "lavfi", "-i", "sine=frequency=440:duration=3", "-c:v", "libx264", "-preset", "veryfast",
                     "-pix_fmt", "yuv420p", "-c:a", "aac", "-shortest", mp4.path])
        run(ffmpeg, ["-v", "error", "-y", "-f", "lavfi", "-i", "testsrc2=size=720x576:rate=25:duration=2",
                     "-c:v", "mpeg4", "-q:v", "5", avi.path])
        bases = [mp4, avi].filter { FileManager.default.fileExists(atPath: $0.path) }
    }
    if bases.isEmpty {
        bases = ["av.mp4", "clip.avi", "square_av.mp4"].map { fixtures.appendingPathComponent($0) }
    }
    var paths: [String] = []
    for i in 0..<count {
        let base = bases[i % bases.count]
        let dst = dir.appendingPathComponent(String(format: "clip_%05d.%@", i, base.pathExtension))
        try? FileManager.default.removeItem(at: dst)
        try FileManager.default.copyItem(at: base, to: dst)
        paths.append(dst.path)
    }
    return paths
}

func probeInProcess(_ paths: [String], jobs: Int) -> Int {
    nonisolated(unsafe) var ok = [Bool](repeating: false, count: paths.count)
    let chunk = (paths.count + jobs - 1) / jobs
    DispatchQueue.concurrentPerform(iterations: jobs) { j in
        for i in (j * chunk)..<min(paths.count, (j + 1) * chunk) {
            ok[i] = (try? MediaProbe.probe(path: paths[i])) != nil
        }
    }
    return ok.filter { $0 }.count
}

func probeWithFFprobe(_ ffprobe: String, _ paths: [String], jobs: Int) -> Int {
    nonisolated(unsafe) var ok = [Bool](repeating: false, count: paths.count)
    let chunk = (paths.count + jobs - 1) / jobs
    DispatchQueue.concurrentPerform(iterations: jobs) { j in
        for i in (j * chunk)..<min(paths.count, (j + 1) * chunk) {
            ok[i] = run(ffprobe, ["-v", "error", "-show_format", "-show_streams", "-of", "json", paths[i]]) == 0
        }
    }
    return ok.filter { $0 }.count
}

func probeBenchmark() throws {
    let n = arg("--files", 600), jobs = arg("--jobs", ProcessInfo.processInfo.activeProcessorCount)
    guard let ffprobe = which("ffprobe") else {
        print("ffprobe is not installed (apt-get install ffmpeg); it is the baseline of this benchmark")
        exit(1)
    }
    let dir = FileManager.default.temporaryDirectory.appendingPathComponent("emocfg-bench-probe")
    let paths = try makeVideos(count: n, in: dir)
    defer { try? FileManager.default.removeItem(at: dir) }
    _ = probeInProcess(Array(paths.prefix(8)), jobs: 1)  // warm the page cache and libav's tables

    var okE1 = 0, okEN = 0, okF1 = 0, okFN = 0
    let e1 = seconds { okE1 = probeInProcess(paths, jobs: 1) }
    let eN = seconds { okEN = probeInProcess(paths, jobs: jobs) }
    let f1 = seconds { okF1 = probeWithFFprobe(ffprobe, paths, jobs: 1) }
    let fN = seconds { okFN = probeWithFFprobe(ffprobe, paths, jobs: jobs) }
    print("probe: \(n) files, \(jobs) jobs")
    print(String(format: "  emocfg in-process, 1 thread     %7.3f s  %8.0f files/s  (%d ok)", e1, Double(n) / e1, okE1))
    print(String(format: "  emocfg in-process, %d threads    %7.3f s  %8.0f files/s  (%d ok)", jobs, eN, Double(n) / eN, okEN))
    print(String(format: "  ffprobe, one process per file   %7.3f s  %8.0f files/s  (%d ok)", f1, Double(n) / f1, okF1))
    print(String(format: "  ffprobe, %d processes at a time  %7.3f s  %8.0f files/s  (%d ok)", jobs, fN, Double(n) / fN, okFN))
    print(String(format: "  ratio emocfg (%d threads) vs ffprobe per file, sequential: %.0fx", jobs, f1 / eN))
    print(String(format: "  ratio emocfg (%d threads) vs ffprobe per file, %d at a time: %.0fx", jobs, jobs, fN / eN))
    print(String(format: "  ratio emocfg (1 thread)  vs ffprobe per file, sequential: %.0fx", f1 / e1))
}

func upsertBenchmark() throws {
    let n = arg("--clips", 100_000), batch = arg("--batch", 1000)
    let dir = FileManager.default.temporaryDirectory.appendingPathComponent("emocfg-bench-upsert-\(getpid())")
    defer { try? FileManager.default.removeItem(at: dir) }
    let store = try Store(path: dir.appendingPathComponent("bench.sqlite").path)
    try store.upsertSource(SourceRow(name: "Synthetic", root: "/synthetic", adapter: "manifest", adapterVersion: 1, licence: nil))
    let emotions = ["neutral", "happiness", "sadness", "anger", "surprise", "fear", "disgust"]
    let clips: [StoredClip] = (0..<n).map { i in
        let key = String(format: "%07d", i)
        let record = ClipRecord(
            key: key, path: "clips/\(key).mp4", nativeSplit: i % 5 == 0 ? "test" : "train", split: i % 5 == 0 ? "test" : "train",
            identity: "actor:\(i % 977)", nativeLabels: ["label": "\(i % 7 + 1)"],
            labels: NormalizedLabels(emotion: emotions[i % 7]), texts: ["utterance": "Synthetic line number \(i), with a comma."],
            labelOrigin: SourceLocation(file: "labels.csv", line: i + 2))
        return StoredClip(
            uid: "Synthetic/\(key)", source: "Synthetic", record: record,
            probe: ProbeResult(duration: 3.2, width: 1280, height: 720, fps: 29.97, frameCount: 96, frameCountExact: true,
                               codec: "h264", hasAudio: true, container: "mov,mp4,m4a,3gp,3g2,mj2"),
            face: FaceBox(x: 0.3, y: 0.2, w: 0.35, h: 0.5, origin: .sidecar), view: .head,
            fileSize: 400_000 + Int64(i), fileMtime: 1_700_000_000 + Double(i), recordHash: StableHash.hex(key),
            status: .ok, error: nil)
    }
    let t = try seconds {
        var i = 0
        while i < clips.count {
            try store.upsertClips(Array(clips[i..<min(i + batch, clips.count)]))
            i += batch
        }
    }
    let stored = try store.sourceCounts()["Synthetic"]?.clips ?? 0
    print("upsert: \(n) clips in batches of \(batch) into a new WAL store")
    print(String(format: "  %.3f s, %.0f clips/s (%d rows stored)", t, Double(n) / t, stored))
    let t2 = try seconds {
        var i = 0
        while i < clips.count {
            try store.upsertClips(Array(clips[i..<min(i + batch, clips.count)]))
            i += batch
        }
    }
    print(String(format: "  again over existing rows: %.3f s, %.0f clips/s", t2, Double(n) / t2))
}

/// CPU seconds (user + system) of this process, and of its children waited for.
func cpuSeconds(_ who: Int32) -> Double {
    var u = rusage()
    getrusage(who, &u)
    return Double(u.ru_utime.tv_sec + u.ru_stime.tv_sec) + Double(u.ru_utime.tv_usec + u.ru_stime.tv_usec) / 1e6
}

let selfCPU = RUSAGE_SELF.rawValue, childrenCPU = RUSAGE_CHILDREN.rawValue

/// Sampling N frames from a 10-second 720p H.264 clip: emocfg in-process (seek to the keyframe,
/// decode what is needed, scale, JPEG) against one ffmpeg process extracting the same frames at
/// the same size and JPEG quantiser, in two ways: one pass with a `select` filter, and one input
/// per frame with `-ss` (input seeking). Clips with a long (x264's default 250) and a short (1 s)
/// keyframe interval, since seeking can only skip whole groups of pictures. emocfg runs with the
/// decoder threads its workload rule gives one clip alone (every core) and with one thread. Then
/// the many-clips workload (`--clips N`, 0 to skip): see `sampleManyBenchmark`.
func sampleBenchmark() throws {
    let count = arg("--frames", 16), runs = arg("--runs", 5), clips = arg("--clips", 200)
    guard let ffmpeg = which("ffmpeg") else {
        print("ffmpeg is not installed (apt-get install ffmpeg); it makes the clip and is the baseline of this benchmark")
        exit(1)
    }
    let dir = FileManager.default.temporaryDirectory.appendingPathComponent("emocfg-bench-sample-\(getpid())")
    try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(at: dir) }
    let cores = ProcessInfo.processInfo.activeProcessorCount
    let alone = FrameSampler.decoderThreads(videosInFlight: 1)
    print("sample: \(count) frames from a 10 s 1280x720 30 fps H.264 clip, median of \(runs) runs each (taking turns), \(cores) cores; CPU is user + system per run")
    for (label, gop) in [("keyframe every 250 frames (x264 default)", 250), ("keyframe every 30 frames (1 s)", 30)] {
        let clip = dir.appendingPathComponent("clip-g\(gop).mp4").path
        let made = run(ffmpeg, ["-v", "error", "-y", "-f", "lavfi", "-i", "testsrc2=size=1280x720:rate=30:duration=10",
                                "-c:v", "libx264", "-preset", "veryfast", "-pix_fmt", "yuv420p", "-g", "\(gop)", clip])
        guard made == 0 else {
            print("ffmpeg could not make the clip (exit \(made)); is libx264 available?")
            exit(1)
        }
        // nil: the threads the workload rule picks (every core for one clip alone).
        let options = FrameSamplingOptions(count: count)
        var oneThread = options
        oneThread.decoderThreads = 1
        // Warm the page cache and libav's tables; these frames set what ffmpeg must produce.
        let frames = try FrameSampler.sample(video: clip, options: options)
        let w = frames[0].width, h = frames[0].height
        let q = "\(options.jpegQScale)"

        // One pass: decode everything, keep the chosen frame numbers.
        let selectDir = dir.appendingPathComponent("select-g\(gop)")
        try FileManager.default.createDirectory(at: selectDir, withIntermediateDirectories: true)
        let selectArgs = ffmpegSelectArguments(clip: clip, frames: frames.map(\.index), width: w, height: h, q: q,
                                               output: selectDir.appendingPathComponent("%02d.jpg").path)
        // One input per frame, each seeking to its frame's time (a hair early, as -ss keeps the
        // first frame at or after it).
        let seekDir = dir.appendingPathComponent("seek-g\(gop)")
        try FileManager.default.createDirectory(at: seekDir, withIntermediateDirectories: true)
        var seekArgs = ["-v", "error", "-y"]
        for f in frames { seekArgs += ["-ss", String(format: "%.4f", max(0, (f.time ?? 0) - 0.001)), "-i", clip] }
        for (i, _) in frames.enumerated() {
            seekArgs += ["-map", "\(i):v", "-frames:v", "1", "-vf", "scale=\(w):\(h):flags=bicubic", "-q:v", q, "-pix_fmt", "yuvj420p",
                         seekDir.appendingPathComponent(String(format: "%02d.jpg", i)).path]
        }

        // The four sides take turns, run after run, so that a change in the machine's load
        // falls on all of them; each side's median and mean CPU.
        var times = [[Double]](repeating: [], count: 4), cpu = [Double](repeating: 0, count: 4)
        var sameFrames = true
        for _ in 0..<max(1, runs) {
            for side in 0..<4 {
                let who = side < 2 ? selfCPU : childrenCPU
                let c = cpuSeconds(who)
                let t = try seconds {
                    switch side {
                    case 0: sameFrames = try FrameSampler.sample(video: clip, options: options) == frames && sameFrames
                    case 1: sameFrames = try FrameSampler.sample(video: clip, options: oneThread) == frames && sameFrames
                    case 2: run(ffmpeg, selectArgs)
                    default: run(ffmpeg, seekArgs)
                    }
                }
                times[side].append(t)
                cpu[side] += (cpuSeconds(who) - c) / Double(max(1, runs))
            }
        }
        guard sameFrames else {
            print("emocfg gave different frames from run to run or with one decoder thread than with \(alone)")
            exit(1)
        }
        let median = times.map { $0.sorted()[$0.count / 2] }
        let emocfg = median[0], emocfgOne = median[1], ffSelect = median[2], ffSeek = median[3]
        let emocfgCPU = cpu[0], emocfgOneCPU = cpu[1], ffSelectCPU = cpu[2], ffSeekCPU = cpu[3]
        let selectCount = (try? FileManager.default.contentsOfDirectory(atPath: selectDir.path).count) ?? 0
        let seekCount = (try? FileManager.default.contentsOfDirectory(atPath: seekDir.path).count) ?? 0

        print("  \(label), \(w)x\(h) JPEGs at -q:v \(q)")
        // The rule gives one clip alone every core: several one-thread decoders from their own keyframes where the
        // keyframes allow a good split (`FrameSampler.shares`), else one decoder with frame threads.
        print(String(format: "    emocfg in-process, %d cores (the rule)  %7.3f s  CPU %6.3f s  (%d frames)", alone, emocfg, emocfgCPU, frames.count))
        print(String(format: "    emocfg in-process, 1 decoder thread    %7.3f s  CPU %6.3f s  (the same frames)", emocfgOne, emocfgOneCPU))
        print(String(format: "    ffmpeg, one process, select filter     %7.3f s  CPU %6.3f s  (%d frames)  ratio %.1fx (1 thread: %.1fx), CPU %.1fx",
                     ffSelect, ffSelectCPU, selectCount, ffSelect / emocfg, ffSelect / emocfgOne, ffSelectCPU / emocfgCPU))
        print(String(format: "    ffmpeg, one process, %2d -ss inputs     %7.3f s  CPU %6.3f s  (%d frames)  ratio %.1fx (1 thread: %.1fx), CPU %.1fx",
                     frames.count, ffSeek, ffSeekCPU, seekCount, ffSeek / emocfg, ffSeek / emocfgOne, ffSeekCPU / emocfgCPU))
    }
    if clips > 0 { try sampleManyBenchmark(clips: clips, turns: min(clips, max(1, arg("--turns", 8))), ffmpeg: ffmpeg) }
}

/// ffmpeg's arguments for the frames numbered `frames` of `clip` (decoded-frame numbers, as
/// emocfg's indices of a constant-rate clip) as `width` x `height` JPEGs at quantiser `q`: one
/// pass that decodes everything and keeps the chosen frames with a `select` filter.
func ffmpegSelectArguments(clip: String, frames: [Int], width: Int, height: Int, q: String, output: String) -> [String] {
    let select = "select='" + frames.map { "eq(n\\,\($0))" }.joined(separator: "+") + "',scale=\(width):\(height):flags=bicubic"
    return ["-v", "error", "-y", "-i", clip, "-vf", select, "-vsync", "0", "-q:v", q, "-pix_fmt", "yuvj420p", output]
}

switch CommandLine.arguments.dropFirst().first {
case "probe": try probeBenchmark()
case "upsert": try upsertBenchmark()
case "sample": try sampleBenchmark()
case "llm": try llmThroughputBenchmark()
case "ratelimit": try rateLimitBenchmark()
case "export": try exportBenchmark()
case "render": try renderBenchmark()
case "render-child": try renderChild()
case "faces": try faceBenchmark()
case "adaptive": try adaptiveBenchmark()
case "faces-child": try faceChild()
case "sha256": try hashBenchmark()
case "batch": try batchBenchmark()
case "trees": try treeBenchmark()
case nil, "all":
    try probeBenchmark()
    try upsertBenchmark()
    try sampleBenchmark()
    try llmThroughputBenchmark()
    try rateLimitBenchmark()
default:
    print("usage: emocfg-bench [probe [--files N] [--jobs N] | upsert [--clips N] [--batch N] | sample [--frames N] [--runs N] [--clips N] [--turns N] | llm [--requests N] | ratelimit [--rpm N] [--seconds S] | export [--clips N] [--samples N] [--runs N] [--keep DIR] | render [--windows N] [--folders N] [--frames N] [--jobs N] | sha256 [--mb N] [--count N] [--runs N] | batch [--requests N] | trees [--trees N] [--seconds S] | all]")
    exit(2)
}
