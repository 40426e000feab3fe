// `emocfg-bench render [--windows N] [--folders N] [--frames N] [--jobs N]`: rendering clips that are not
// whole video files to H.264 MP4s, emocfg in-process as the export renders (ClipMedia.workList: the
// windows of one video in contiguous chunks, one ClipRenderer.renderWindows pass each, every frame
// folder alone, one render per core) against one `ffmpeg` process per clip doing the same cut and encode (libx264
// veryfast crf 20, one encoder thread, AAC), run one at a time and two at a time.
//
// The media, made with the ffmpeg tool: a 60 s 1280x720 30 fps H.264 + AAC source (testsrc2 and a
// sine, keyframe every 250 frames) cut into N windows of 3 s at start times spread over it, and N
// folders of 60 224x224 JPEG frames played at 25 fps. The emocfg side runs in a child process (this
// executable, `render-child`) so that its peak memory is its own; every side's peak RSS is the
// children's ru_maxrss from wait4(2), children started by fork and exec (see ExportBenchmark.swift
// for why not posix_spawn). A few outputs of each side are probed and their frame counts compared.
import EmoCFG
import Export
import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// One clip to render, as the child reads it.
private struct RenderJob: Codable, Sendable {
    var output: String
    var file: String?
    var start: Double?
    var end: Double?
    var frames: [String]?
    var fps: Double?

    var input: RenderInput {
        if let frames, let fps { return .frames(paths: frames, fps: fps) }
        return .window(file: file ?? "", start: start ?? 0, end: end ?? 0)
    }
}

func renderBenchmark() throws {
    let windows = arg("--windows", 200), folders = arg("--folders", 200), frameCount = arg("--frames", 60)
    let jobs = arg("--jobs", ProcessInfo.processInfo.activeProcessorCount)
    guard let ffmpeg = which("ffmpeg") else {
        say("ffmpeg is not installed (apt-get install ffmpeg); it makes the media and is the baseline of this benchmark")
        exit(1)
    }
    let fm = FileManager.default
    let dir = fm.temporaryDirectory.appendingPathComponent("emocfg-bench-render-\(getpid())")
    try fm.createDirectory(at: dir, withIntermediateDirectories: true)
    defer { try? fm.removeItem(at: dir) }

    // The media.
    let source = dir.appendingPathComponent("source.mp4").path
    let made = run(ffmpeg, ["-v", "error", "-y", "-f", "lavfi", "-i", "testsrc2=size=1280x720:rate=30:duration=60",
                            "-f", "lavfi", "-i", "sine=frequency=440:duration=60:sample_rate=48000",
                            "-c:v", "libx264", "-preset", "veryfast", "-g", "250", "-pix_fmt", "yuv420p",
                            "-c:a", "aac", "-shortest", source])
    guard made == 0 else {
        say("ffmpeg could not make the source (exit \(made)); is libx264 available?")
        exit(1)
    }
    let all = dir.appendingPathComponent("all-frames")
    try fm.createDirectory(at: all, withIntermediateDirectories: true)
    let fps = 25.0
    run(ffmpeg, ["-v", "error", "-y", "-f", "lavfi", "-i", "testsrc2=size=224x224:rate=25",
                 "-frames:v", "\(folders * frameCount)", "-q:v", "3", all.appendingPathComponent("%06d.jpg").path])
    var folderFrames: [[String]] = []
    for f in 0..<folders {
        let folder = dir.appendingPathComponent(String(format: "folder_%03d", f))
        try fm.createDirectory(at: folder, withIntermediateDirectories: true)
        var paths: [String] = []
        for i in 0..<frameCount {
            let name = String(format: "img_%05d.jpg", i + 1)
            let to = folder.appendingPathComponent(name).path
            try fm.moveItem(atPath: all.appendingPathComponent(String(format: "%06d.jpg", f * frameCount + i + 1)).path, toPath: to)
            paths.append(to)
        }
        folderFrames.append(paths)
    }
    let length = 3.0
    let starts = (0..<windows).map { (Double($0) * (60 - length - 0.5) / Double(max(1, windows)) * 1000).rounded() / 1000 }
    say("render: \(windows) windows of \(Int(length)) s of a 60 s 1280x720 30 fps H.264+AAC file (keyframe every 250 frames),")
    say("        \(folders) folders of \(frameCount) 224x224 JPEGs at \(Int(fps)) fps; libx264 veryfast crf 20, 1 encoder thread, AAC")
    say("        emocfg: the export's schedule in one process (a video's windows in chunks of one decoding pass each, \(jobs) at a time); ffmpeg: one process per clip")

    func outputs(_ side: String) throws -> URL {
        let u = dir.appendingPathComponent("out-\(side)")
        try? fm.removeItem(at: u)
        try fm.createDirectory(at: u, withIntermediateDirectories: true)
        return u
    }
    let windowJobs = { (o: URL) in starts.enumerated().map { i, s in
        RenderJob(output: o.appendingPathComponent(String(format: "w%03d.mp4", i)).path, file: source, start: s, end: s + length) } }
    let folderJobs = { (o: URL) in folderFrames.enumerated().map { i, paths in
        RenderJob(output: o.appendingPathComponent(String(format: "f%03d.mp4", i)).path, frames: paths, fps: fps) } }
    func ffmpegArgs(_ job: RenderJob) -> [String] {
        if let frames = job.frames, let first = frames.first {
            let folder = (first as NSString).deletingLastPathComponent
            return [ffmpeg, "-v", "error", "-y", "-framerate", "\(Int(fps))", "-i", folder + "/img_%05d.jpg",
                    "-c:v", "libx264", "-preset", "veryfast", "-crf", "20", "-threads", "1", "-pix_fmt", "yuv420p",
                    "-movflags", "+faststart", job.output]
        }
        return [ffmpeg, "-v", "error", "-y", "-ss", String(format: "%.3f", job.start ?? 0), "-i", job.file ?? "", "-t", String(format: "%.3f", length),
                "-c:v", "libx264", "-preset", "veryfast", "-crf", "20", "-threads", "1", "-pix_fmt", "yuv420p",
                "-c:a", "aac", "-movflags", "+faststart", job.output]
    }

    let me = (try? fm.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? CommandLine.arguments[0]
    let floorMB = RenderChild.spawn(["/bin/true"]).peakMB
    for (label, make) in [("windows", windowJobs), ("folders", folderJobs)] {
        let count = label == "windows" ? windows : folders
        guard count > 0 else { continue }
        // emocfg: one child process rendering every clip, `jobs` at a time.
        let eDir = try outputs("emocfg-\(label)")
        let eJobs = make(eDir)
        let list = dir.appendingPathComponent("jobs-\(label).json").path
        try JSONEncoder().encode(eJobs).write(to: URL(fileURLWithPath: list))
        let e = RenderChild.spawn([me, "render-child", "--list", list, "--jobs", "\(jobs)"])
        guard e.exitCode == 0 else {
            say("emocfg render-child failed (exit \(e.exitCode))")
            exit(1)
        }
        let eResults = (try? JSONDecoder().decode([Int].self, from: Data(contentsOf: URL(fileURLWithPath: list + ".out")))) ?? []
        let eOK = eResults.filter { $0 > 0 }.count

        // ffmpeg: one process per clip, one at a time, then two at a time.
        let f1Dir = try outputs("ffmpeg1-\(label)")
        let f1Jobs = make(f1Dir)
        var f1Peak = 0.0, f1OK = 0
        let f1 = seconds {
            for j in f1Jobs {
                let r = RenderChild.spawn(ffmpegArgs(j))
                f1Peak = max(f1Peak, r.peakMB)
                if r.exitCode == 0 { f1OK += 1 }
            }
        }
        let f2Dir = try outputs("ffmpeg2-\(label)")
        let f2Argv = make(f2Dir).map(ffmpegArgs)
        nonisolated(unsafe) var peaks = [0.0, 0.0], oks = [0, 0]
        let f2 = seconds {
            DispatchQueue.concurrentPerform(iterations: 2) { lane in
                for j in stride(from: lane, to: f2Argv.count, by: 2) {
                    let r = RenderChild.spawn(f2Argv[j])
                    peaks[lane] = max(peaks[lane], r.peakMB)
                    if r.exitCode == 0 { oks[lane] += 1 }
                }
            }
        }
        let f2Peak = max(peaks[0], peaks[1]), f2OK = oks[0] + oks[1]

        say("  \(label) (\(count) clips)")
        say(String(format: "    emocfg in-process, %d at a time    %8.2f s  %6.1f clips/s  (%d ok)  peak RSS %6.1f MB (the whole process)",
                   jobs, e.seconds, Double(count) / e.seconds, eOK, e.peakMB))
        say(String(format: "    ffmpeg, one process at a time    %8.2f s  %6.1f clips/s  (%d ok)  peak RSS %6.1f MB (largest process)  ratio %.2fx",
                   f1, Double(count) / f1, f1OK, f1Peak, f1 / e.seconds))
        say(String(format: "    ffmpeg, two processes at a time  %8.2f s  %6.1f clips/s  (%d ok)  peak RSS %6.1f MB (largest process, x2 at once)  ratio %.2fx",
                   f2, Double(count) / f2, f2OK, f2Peak, f2 / e.seconds))

        // A few outputs of each side: the same frame count (and about the same length).
        var checked: [String] = []
        var same = true
        for i in stride(from: 0, to: count, by: max(1, count / 5)) {
            let a = try? MediaProbe.probe(path: eJobs[i].output), b = try? MediaProbe.probe(path: f1Jobs[i].output)
            let fa = a?.frameCount ?? -1, fb = b?.frameCount ?? -1
            if fa != fb || fa <= 0 { same = false }
            checked.append(String(format: "#%d %d/%d (%.2f/%.2f s%@)", i, fa, fb, a?.duration ?? 0, b?.duration ?? 0,
                                  (a?.hasAudio ?? false) == (b?.hasAudio ?? false) ? "" : ", audio differs"))
        }
        say("    frame counts emocfg/ffmpeg: \(checked.joined(separator: ", "))\(same ? "" : "  MISMATCH")")
        try? fm.removeItem(at: eDir)
        try? fm.removeItem(at: f1Dir)
        try? fm.removeItem(at: f2Dir)
    }
    say(String(format: "  (peak RSS: ru_maxrss of each child from wait4 after fork+exec; a child doing nothing reports %.1f MB)", floorMB))
}

/// The emocfg side, in a child process: renders every job of `--list`, `--jobs` at a time, and
/// writes each clip's frame count (-1 for a failure) to `<list>.out`.
func renderChild() throws {
    let a = CommandLine.arguments
    guard let i = a.firstIndex(of: "--list"), i + 1 < a.count else { exit(2) }
    let list = a[i + 1]
    let jobs = arg("--jobs", ProcessInfo.processInfo.activeProcessorCount)
    let todo = try JSONDecoder().decode([RenderJob].self, from: Data(contentsOf: URL(fileURLWithPath: list)))
    let settings = RenderSettings()
    // The export's own schedule (ClipMedia.prepare): the windows of one video in contiguous chunks,
    // one renderWindows pass each, every other clip alone; the largest first, `jobs` at a time.
    let clips = todo.map { j in
        j.frames != nil ? ClipToRender(uid: j.output, source: "bench", path: j.output, kind: .frames, fps: j.fps)
            : ClipToRender(uid: j.output, source: "bench", path: j.file ?? "", kind: .window, window: TimeWindow(start: j.start ?? 0, end: j.end ?? 0))
    }
    let work = ClipMedia.workList(clips, jobs: jobs)
    let box = ResultBox()
    box.value = [Int](repeating: -1, count: todo.count)
    let next = NSLock(), store = NSLock()
    nonisolated(unsafe) var taken = 0
    DispatchQueue.concurrentPerform(iterations: max(1, min(jobs, work.count))) { _ in
        while true {
            next.lock()
            let w = taken
            taken += 1
            next.unlock()
            guard w < work.count else { return }
            let items = work[w]
            let results: [Result<RenderedMedia, RenderError>]
            if items.count == 1 {
                results = [Result { () throws(RenderError) in try ClipRenderer.render(todo[items[0]].input, settings: settings, to: todo[items[0]].output) }]
            } else {
                results = ClipRenderer.renderWindows(
                    file: todo[items[0]].file ?? "",
                    jobs: items.map { WindowJob(start: todo[$0].start ?? 0, end: todo[$0].end ?? 0, output: todo[$0].output) }, settings: settings)
            }
            for (i, r) in zip(items, results) {
                if case .failure(let e) = r { FileHandle.standardError.write(Data("\(e)\n".utf8)) }
                store.lock()
                box.value[i] = (try? r.get())?.frames ?? -1
                store.unlock()
            }
        }
    }
    try JSONEncoder().encode(box.value).write(to: URL(fileURLWithPath: list + ".out"))
}

private final class ResultBox: @unchecked Sendable { var value: [Int] = [] }

private func say(_ line: String) {
    print(line)
    fflush(nil)
}

/// One child process: wall time, CPU time and peak RSS (its own `ru_maxrss`, from `wait4`).
struct RenderChild {
    var exitCode: Int32
    var seconds: Double
    var peakMB: Double
    /// User + system CPU seconds of the child.
    var cpuSeconds: Double = 0

    /// Runs `argv` (an absolute path first) by fork and exec, its output thrown away.
    static func spawn(_ argv: [String]) -> RenderChild {
        let cargs: [UnsafeMutablePointer<CChar>?] = argv.map { strdup($0) } + [nil]
        defer { cargs.forEach { free($0) } }
        let devnull = open("/dev/null", O_WRONLY | O_CLOEXEC)
        defer { if devnull >= 0 { close(devnull) } }
        let start = DispatchTime.now().uptimeNanoseconds
        let pid = fork()
        if pid == 0 {
            // Only async-signal-safe calls between fork and exec.
            if devnull >= 0 { dup2(devnull, 1) }
            execve(cargs[0]!, cargs, environ)
            _exit(127)
        }
        guard pid > 0 else { return RenderChild(exitCode: -1, seconds: 0, peakMB: 0) }
        var status: Int32 = 0
        var usage = rusage()
        while wait4(pid, &status, 0, &usage) < 0 && errno == EINTR {}
        let seconds = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
        let exited = status & 0x7f == 0
        let cpu = Double(usage.ru_utime.tv_sec + usage.ru_stime.tv_sec) + Double(usage.ru_utime.tv_usec + usage.ru_stime.tv_usec) / 1e6
        return RenderChild(exitCode: exited ? (status >> 8) & 0xff : 128 + (status & 0x7f), seconds: seconds,
                           peakMB: Double(usage.ru_maxrss) / 1024, cpuSeconds: cpu)  // KB on Linux
    }
}
