// `emocfg-bench export [--clips N] [--samples N] [--runs N] [--keep DIR]`: `emocfg export` against a
// straightforward Python script (scripts/export_baseline.py) that writes the same files from the same
// store, on a synthetic store of N clips of the 19 sources and their samples (default 200,000 clips
// and 2,100,000 samples, two runs each). `--keep DIR` works in DIR and leaves it there; a store DIR
// already holds, of the same size, is used again.
//
// Both are child processes, timed one after the other in alternation (emocfg, python, emocfg, python),
// each writing a fresh folder after a sync. Then every file the script wrote is compared with
// emocfg's, byte for byte; any difference fails the run. An emocfg run is also split at its last
// curation receipt: the export proper, then the dataset card (README.md) the CLI writes after it,
// which the script has no counterpart of. Peak memory is each child's own ru_maxrss as wait4(2)
// returns it, and /proc's VmHWM sampled every 10 ms gives the peak by the end of the export proper.
// The kernel starts a child's peak at the high-water mark of the address space it leaves at exec
// (the parent's whole one after posix_spawn or vfork), so children are started by fork and exec,
// the store is built by a child (`--build-store`) so that this process stays small, and the figure
// of a child that does nothing (/bin/true) is printed: no measured figure can be below it.
import EmoCFG
import Foundation
#if canImport(Glibc)
import Glibc
#endif

func exportBenchmark() throws {
    let a = CommandLine.arguments
    func string(_ name: String) -> String? {
        guard let i = a.firstIndex(of: name), i + 1 < a.count else { return nil }
        return a[i + 1]
    }
    let clips = arg("--clips", 200_000), samples = arg("--samples", 2_100_000), runs = max(1, arg("--runs", 2))
    if let path = string("--build-store") {
        try ExportStoreBuilder(clips: clips, samples: samples).build(at: path)
        return
    }

    let fm = FileManager.default
    let keep = string("--keep")
    let dir = URL(fileURLWithPath: keep ?? fm.temporaryDirectory.appendingPathComponent("emocfg-bench-export-\(getpid())").path)
    try fm.createDirectory(at: dir, withIntermediateDirectories: true)
    defer { if keep == nil { try? fm.removeItem(at: dir) } }
    let storePath = dir.appendingPathComponent("store.sqlite").path
    let infoPath = dir.appendingPathComponent("store.json").path

    let binDir = (Bundle.main.executableURL ?? URL(fileURLWithPath: CommandLine.arguments[0])).resolvingSymlinksInPath().deletingLastPathComponent()
    let emocfg = binDir.appendingPathComponent("emocfg").path
    guard fm.isExecutableFile(atPath: emocfg) else {
        show("no emocfg binary next to emocfg-bench (\(emocfg)); build both: swift build -c release")
        exit(1)
    }
    guard let python = which("python3") else {
        show("python3 is not installed; it runs the baseline of this benchmark")
        exit(1)
    }
    let script = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("scripts/export_baseline.py").path
    guard fm.fileExists(atPath: script) else {
        show("the baseline script is missing: \(script)")
        exit(1)
    }

    show("export: \(clips) clips, \(samples) samples; emocfg export vs python3 scripts/export_baseline.py")
    show("  work folder: \(dir.path)" + (keep == nil ? " (removed at the end)" : " (kept)"))

    // 1. The store, built by a child so that this process stays small (see the header).
    var info = StoreInfo.read(infoPath)
    if let i = info, i.clips == clips, i.samples == samples, fm.fileExists(atPath: storePath) {
        show(String(format: "  store: reusing %@ (built earlier in %.1f s)", storePath, i.seconds))
    } else {
        for suffix in ["", "-wal", "-shm"] { try? fm.removeItem(atPath: storePath + suffix) }
        try? fm.removeItem(atPath: infoPath)
        show("  building the store …")
        let build = ChildRun.spawn([binDir.appendingPathComponent("emocfg-bench").path, "export", "--build-store", storePath,
                                    "--clips", "\(clips)", "--samples", "\(samples)"], log: nil)
        guard build.exitCode == 0, let built = StoreInfo.read(infoPath) else {
            show("building the store failed (exit \(build.exitCode))")
            exit(1)
        }
        info = built
        show(String(format: "  store built in %.1f s (%.1f s wall with process start), %.0f MB on disk",
                     built.seconds, build.seconds, Double(fileSize(storePath)) / 1e6))
    }
    let stored = info!

    // 2. A first export decides and records every clip's side; the Python script reads them.
    let logs = dir.appendingPathComponent("logs")
    try fm.createDirectory(at: logs, withIntermediateDirectories: true)
    let warm = dir.appendingPathComponent("warmup")
    try? fm.removeItem(at: warm)
    let w = ChildRun.spawn([emocfg, "export", "--out", warm.path, "--db", storePath, "--pipeline", "/nonexistent"],
                           log: logs.appendingPathComponent("warmup").path)
    guard w.exitCode == 0 else { ChildRun.fail("the warm-up emocfg export", w, logs.appendingPathComponent("warmup").path) }
    show(String(format: "  warm-up emocfg export (decides and records the sides): %.2f s", w.seconds))
    try? fm.removeItem(at: warm)

    // 3. Timed runs, alternating.
    let outA = dir.appendingPathComponent("A"), outB = dir.appendingPathComponent("B")
    var e: [ChildRun] = [], p: [ChildRun] = [], ep: [EmocfgPhases] = []
    let floorBefore = ChildRun.floor()
    for r in 1...runs {
        for side in ["emocfg", "python"] {
            let out = side == "emocfg" ? outA : outB
            try? fm.removeItem(at: out)
            sync()  // the previous run's dirty pages are on disk before the next one starts
            let log = logs.appendingPathComponent("\(side)-\(r)").path
            let argv = side == "emocfg"
                ? [emocfg, "export", "--out", out.path, "--db", storePath, "--pipeline", "/nonexistent"]
                : [python, script, "--db", storePath, "--out", out.path]
            let run = ChildRun.spawn(argv, log: log)
            guard run.exitCode == 0 else { ChildRun.fail("\(side) run \(r)", run, log) }
            show(String(format: "  run %d %@ %7.2f s wall  %7.2f s user  %6.2f s sys  peak RSS %6.0f MB",
                         r, side.padding(toLength: 7, withPad: " ", startingAt: 0), run.seconds, run.user, run.system, run.peakMB))
            if side == "emocfg" {
                let phases = EmocfgPhases(run, out: out)
                show(String(format: "                export proper %.2f s (peak RSS by then %.0f MB)%@", phases.export, phases.exportPeakMB,
                             phases.card.map { String(format: ", then the dataset card (README.md) %.2f s", $0) } ?? ""))
                e.append(run)
                ep.append(phases)
            } else {
                p.append(run)
            }
        }
    }
    sync()
    let floorMB = max(floorBefore, ChildRun.floor())

    // 4. Every file Python wrote must be byte for byte the one emocfg wrote.
    let cmp = try TreeComparison.compare(python: outB, emocfg: outA)

    let em = median(e.map(\.seconds)), pm = median(p.map(\.seconds))
    let emin = e.map(\.seconds).min()!, pmin = p.map(\.seconds).min()!
    let eRSS = e.map(\.peakMB).max()!, pRSS = p.map(\.peakMB).max()!
    show("")
    show("  samples              \(stored.samples) (\(stored.accepted) accepted)")
    show("  clips                \(stored.clips)")
    show("  shards               \(cmp.shards) (\(cmp.fullShards) full, \(cmp.shards - cmp.fullShards) sampled), \(cmp.evaluationFiles) evaluation files, QA ground truth, \(cmp.versions) source.txt")
    show("  lines written        \(cmp.lines) (full \(cmp.fullLines), sampled \(cmp.sampledLines), evaluation \(cmp.evaluationLines), QA truth items \(cmp.truthItems))")
    show(String(format: "  bytes written        %@ (%.1f MB) in the compared files; emocfg %.1f MB in all, with receipts and line indexes",
                 "\(cmp.bytes)", Double(cmp.bytes) / 1e6, Double(cmp.emocfgBytes) / 1e6))
    show(String(format: "  emocfg seconds       %@  (median %.2f, min %.2f)", e.map { String(format: "%.2f", $0.seconds) }.joined(separator: ", "), em, emin))
    show(String(format: "  python seconds       %@  (median %.2f, min %.2f)", p.map { String(format: "%.2f", $0.seconds) }.joined(separator: ", "), pm, pmin))
    show(String(format: "  speed ratio          %.2fx (medians), %.2fx (minimums)   target >= 5x (issue 17; was 3x): %@", pm / em, pmin / emin,
                 pm / em >= 5 ? "met" : "MISSED"))
    show(String(format: "  emocfg peak RSS MB   %@  (max %.0f)   target < 500 MB: %@", e.map { String(format: "%.0f", $0.peakMB) }.joined(separator: ", "),
                 eRSS, eRSS < 500 ? "met" : "MISSED"))
    show(String(format: "  python peak RSS MB   %@  (max %.0f)", p.map { String(format: "%.0f", $0.peakMB) }.joined(separator: ", "), pRSS))
    // CPU time: emocfg hashes and writes on a second thread while it renders, so its wall time can be below its CPU time.
    let ec = median(e.map { $0.user + $0.system }), pc = median(p.map { $0.user + $0.system })
    show(String(format: "  CPU seconds (user+sys, medians): emocfg %.2f, python %.2f, ratio %.2fx   target >= 4x: %@", ec, pc, pc / ec,
                 pc / ec >= 4 ? "met" : "MISSED"))
    if ep.contains(where: { $0.card != nil }) {
        // `emocfg export` also writes a dataset card (README.md) after the tree; the script has no counterpart.
        let xm = median(ep.map(\.export)), xmin = ep.map(\.export).min()!
        show(String(format: "  emocfg without the dataset card: export proper %@ s (median %.2f, min %.2f), ratio %.2fx (medians), %.2fx (minimums);",
                     ep.map { String(format: "%.2f", $0.export) }.joined(separator: ", "), xm, xmin, pm / xm, pmin / xmin))
        show(String(format: "                       peak RSS by its end %@ MB; the card took %@ s",
                     ep.map { String(format: "%.0f", $0.exportPeakMB) }.joined(separator: ", "),
                     ep.map { String(format: "%.2f", $0.card ?? 0) }.joined(separator: ", ")))
    }
    show(String(format: "  (peak RSS: each child's own ru_maxrss from wait4 after fork+exec; a child doing nothing reports %.1f MB)", floorMB))
    if cmp.differences.isEmpty {
        show("  outputs              identical: \(cmp.files) files Python wrote match emocfg's byte for byte")
    } else {
        show("  outputs              \(cmp.differences.count) DIFFERENCE(S):")
        for d in cmp.differences.prefix(50) { show("    \(d)") }
        if cmp.differences.count > 50 { show("    … and \(cmp.differences.count - 50) more") }
        exit(1)
    }
}

/// Prints and flushes, so progress shows as it happens when the output is a file.
private func show(_ line: String) {
    print(line)
    fflush(nil)
}

private func median(_ xs: [Double]) -> Double {
    let s = xs.sorted()
    return s.count % 2 == 1 ? s[s.count / 2] : (s[s.count / 2 - 1] + s[s.count / 2]) / 2
}

private func fileSize(_ path: String) -> Int64 {
    ((try? FileManager.default.attributesOfItem(atPath: path))?[.size] as? NSNumber)?.int64Value ?? 0
}

/// What the store-building child reports.
private struct StoreInfo: Codable {
    var clips: Int
    var samples: Int
    var accepted: Int
    var seconds: Double

    static func read(_ path: String) -> StoreInfo? {
        FileManager.default.contents(atPath: path).flatMap { try? JSONDecoder().decode(StoreInfo.self, from: $0) }
    }
}

// MARK: - Child processes

/// One child process: wall time, CPU time and peak RSS (its own `ru_maxrss`, from `wait4`).
private struct ChildRun {
    var exitCode: Int32
    var seconds: Double
    var user: Double
    var system: Double
    var peakMB: Double
    /// When it started (wall clock, to compare with file times) and its VmHWM over time (seconds since start, MB).
    var started = Date()
    var highWater: [(seconds: Double, mb: Double)] = []

    /// The high-water mark by `date` (from /proc, sampled every 10 ms).
    func peakMB(by date: Date) -> Double {
        let t = date.timeIntervalSince(started)
        return highWater.last { $0.seconds <= t }?.mb ?? 0
    }

    /// Runs `argv` (an absolute path first), its output to `log` (both streams) or inherited.
    ///
    /// By fork and exec, not posix_spawn: the kernel starts a child's peak RSS at the high-water mark
    /// of the address space it leaves at exec. posix_spawn's child leaves the parent's own (all of
    /// this process's pages); a forked child leaves its copy, which holds only this process's
    /// private anonymous pages (mapped files are not copied), a few MB. `floor()` measures that.
    static func spawn(_ argv: [String], log: String?) -> ChildRun {
        let cargs: [UnsafeMutablePointer<CChar>?] = argv.map { strdup($0) } + [nil]
        defer { cargs.forEach { free($0) } }
        let fd: Int32 = log.map { open($0, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644) } ?? -1
        defer { if fd >= 0 { close(fd) } }
        let start = DispatchTime.now().uptimeNanoseconds
        let started = Date()
        let pid = fork()
        if pid == 0 {
            // Only async-signal-safe calls between fork and exec.
            if fd >= 0 { dup2(fd, 1); dup2(fd, 2) }
            execve(cargs[0]!, cargs, environ)
            _exit(127)
        }
        guard pid > 0 else {
            show("cannot start \(argv[0]): \(String(cString: strerror(errno)))")
            return ChildRun(exitCode: -1, seconds: 0, user: 0, system: 0, peakMB: 0)
        }
        let sampler = HighWaterSampler(pid: pid, start: start)
        var status: Int32 = 0
        var usage = rusage()
        while wait4(pid, &status, 0, &usage) < 0 && errno == EINTR {}
        let seconds = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
        let exited = status & 0x7f == 0
        func t(_ v: timeval) -> Double { Double(v.tv_sec) + Double(v.tv_usec) / 1e6 }
        return ChildRun(exitCode: exited ? (status >> 8) & 0xff : 128 + (status & 0x7f), seconds: seconds,
                        user: t(usage.ru_utime), system: t(usage.ru_stime), peakMB: Double(usage.ru_maxrss) / 1024,  // KB on Linux
                        started: started, highWater: sampler.stop())
    }

    /// The peak RSS a child that does nothing reports (`/bin/true`): no child's figure can be lower.
    static func floor() -> Double { spawn(["/bin/true"], log: nil).peakMB }

    static func fail(_ what: String, _ run: ChildRun, _ log: String) -> Never {
        show("\(what) failed (exit \(run.exitCode)); the end of its output (\(log)):")
        let text = (try? String(contentsOfFile: log, encoding: .utf8)) ?? ""
        show(text.split(separator: "\n", omittingEmptySubsequences: false).suffix(30).joined(separator: "\n"))
        exit(1)
    }
}

/// Reads a child's VmHWM from /proc every 10 ms on a thread of its own, so that the peak of a
/// phase can be told (the wait4 figure is the whole run's).
private final class HighWaterSampler: @unchecked Sendable {
    private let lock = NSLock()
    private var samples: [(seconds: Double, mb: Double)] = []
    private var stopped = false
    private let done = DispatchSemaphore(value: 0)

    init(pid: pid_t, start: UInt64) {
        let path = "/proc/\(pid)/status"
        Thread.detachNewThread { [self] in
            var buffer = [UInt8](repeating: 0, count: 4096)
            while true {
                lock.lock()
                let stop = stopped
                lock.unlock()
                if stop { break }
                let fd = open(path, O_RDONLY)
                if fd >= 0 {
                    let n = read(fd, &buffer, buffer.count)
                    close(fd)
                    if n > 0, let text = String(bytes: buffer[0..<n], encoding: .utf8),
                       let line = text.split(separator: "\n").first(where: { $0.hasPrefix("VmHWM:") }),
                       let kb = Double(line.split(separator: " ", omittingEmptySubsequences: true).dropFirst().first ?? "") {
                        let t = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
                        lock.lock()
                        samples.append((t, kb / 1024))
                        lock.unlock()
                    }
                }
                usleep(10_000)
            }
            done.signal()
        }
    }

    func stop() -> [(seconds: Double, mb: Double)] {
        lock.lock()
        stopped = true
        lock.unlock()
        done.wait()
        lock.lock()
        defer { lock.unlock() }
        return samples
    }
}

/// How an `emocfg export` run divides: the export proper ends with the last curation receipt it
/// writes; the dataset card (README.md, written by the CLI afterwards) takes the rest.
private struct EmocfgPhases {
    var export: Double
    var card: Double?
    var exportPeakMB: Double

    init(_ run: ChildRun, out: URL) {
        let fm = FileManager.default
        func mtime(_ url: URL) -> Date? { (try? fm.attributesOfItem(atPath: url.path))?[.modificationDate] as? Date }
        let curation = out.appendingPathComponent("jsons/curation")
        let receipts = ((try? fm.contentsOfDirectory(atPath: curation.path)) ?? []).compactMap {
            mtime(curation.appendingPathComponent("\($0)/receipt.json"))
        }
        let end = receipts.max() ?? run.started.addingTimeInterval(run.seconds)
        export = end.timeIntervalSince(run.started)
        card = mtime(out.appendingPathComponent("README.md")).map { $0.timeIntervalSince(end) }
        exportPeakMB = run.peakMB(by: end)
    }
}

// MARK: - Comparing the two trees

private struct TreeComparison {
    var files = 0
    var shards = 0
    var fullShards = 0
    var evaluationFiles = 0
    var versions = 0
    var lines = 0
    var fullLines = 0
    var sampledLines = 0
    var evaluationLines = 0
    var truthItems = 0
    var bytes: Int64 = 0
    var emocfgBytes: Int64 = 0
    var differences: [String] = []

    /// Compares every file under `python` with the same path under `emocfg`, and checks that every
    /// file emocfg wrote that the script is meant to write (under jsons/ and anno/, not receipts,
    /// line indexes or `concat_receipt.py`; not the video links or the dataset card) is there.
    static func compare(python: URL, emocfg: URL) throws -> TreeComparison {
        var c = TreeComparison()
        let mine = files(under: python)
        let theirs = files(under: emocfg)
        for (rel, _) in theirs { c.emocfgBytes += fileSize(emocfg.appendingPathComponent(rel).path) }
        let expected = theirs.map(\.0).filter { rel in
            (rel.hasPrefix("jsons/") || rel.hasPrefix("anno/")) && !rel.hasPrefix("jsons/curation/lines/") && !rel.hasSuffix("/receipt.json")
                && rel != "jsons/curation/concat_receipt.py"
        }
        let mineSet = Set(mine.map(\.0))
        for rel in expected.sorted() where !mineSet.contains(rel) { c.differences.append("\(rel): written by emocfg, not by the script") }
        let theirSet = Set(theirs.map(\.0))
        for (rel, _) in mine.sorted(by: { $0.0 < $1.0 }) {
            c.files += 1
            guard theirSet.contains(rel) else {
                c.differences.append("\(rel): written by the script, not by emocfg")
                continue
            }
            let (same, size, newlines, detail) = try compareFile(python.appendingPathComponent(rel), emocfg.appendingPathComponent(rel))
            if !same { c.differences.append("\(rel): \(detail)") }
            c.bytes += size
            if rel.hasSuffix("/source.txt") { c.versions += 1; continue }
            if rel.hasPrefix("anno/") {
                let items = size <= 5 ? 0 : newlines - 2  // "[\n" items joined by ",\n" "\n]\n"; empty: "[\n\n]\n"
                c.truthItems += items
                c.lines += items
                continue
            }
            c.lines += newlines
            if rel.contains("/full/") { c.shards += 1; c.fullShards += 1; c.fullLines += newlines }
            else if rel.contains("/sampled/") { c.shards += 1; c.sampledLines += newlines }
            else { c.evaluationFiles += 1; c.evaluationLines += newlines }
        }
        return c
    }

    /// Regular files under `root`, by relative path (symbolic links are not followed).
    static func files(under root: URL) -> [(String, URL)] {
        var out: [(String, URL)] = []
        let base = root.path.hasSuffix("/") ? root.path : root.path + "/"
        guard let e = FileManager.default.enumerator(at: root, includingPropertiesForKeys: [.isRegularFileKey, .isSymbolicLinkKey]) else { return [] }
        for case let url as URL in e {
            let v = try? url.resourceValues(forKeys: [.isRegularFileKey, .isSymbolicLinkKey])
            if v?.isSymbolicLink == true { e.skipDescendants(); continue }
            guard v?.isRegularFile == true else { continue }
            let path = url.path
            guard path.hasPrefix(base) else { continue }
            out.append((String(path.dropFirst(base.count)), url))
        }
        return out
    }

    /// Whether two files hold the same bytes; the size and newline count of `a`; where they differ.
    static func compareFile(_ a: URL, _ b: URL) throws -> (Bool, Int64, Int, String) {
        let fa = try FileHandle(forReadingFrom: a), fb = try FileHandle(forReadingFrom: b)
        defer { try? fa.close(); try? fb.close() }
        var offset: Int64 = 0, newlines = 0, line = 1
        while true {
            let da = try fa.read(upToCount: 1 << 20) ?? Data(), db = try fb.read(upToCount: 1 << 20) ?? Data()
            if da.isEmpty && db.isEmpty { return (true, offset, newlines, "") }
            let n = min(da.count, db.count)
            var firstDiff: Int?
            da.withUnsafeBytes { (pa: UnsafeRawBufferPointer) in
                db.withUnsafeBytes { (pb: UnsafeRawBufferPointer) in
                    for i in 0..<n {
                        if pa[i] != pb[i] { firstDiff = i; break }
                        if pa[i] == 0x0A { newlines += 1; line += 1 }
                    }
                }
            }
            if let i = firstDiff {
                return (false, offset + Int64(i), newlines, "differs at byte \(offset + Int64(i)) (line \(line))")
            }
            if da.count != db.count {
                return (false, offset + Int64(n), newlines,
                        "differs in length: the script's file \(da.count < db.count ? "ends" : "goes on") at byte \(offset + Int64(n)) (line \(line))")
            }
            offset += Int64(n)
        }
    }
}

// MARK: - The synthetic store

/// Builds a store shaped like a real one: the 19 sources with their own label sets, splits and
/// identity groups, and per clip its instruct samples (multiple choice, open, short, caption
/// families), three captions (~300 characters), QA pairs over the 15 attributes and expression and
/// emotion, and rationales; about 95% accepted. Text is pseudo-random from a seed per clip.
private struct ExportStoreBuilder {
    var clips: Int
    var samples: Int

    struct Family {
        var name: String
        var form: SampleForm
        var task: SampleTask
    }

    struct Source {
        var name: String
        var weight: Int
        var folder: String
        var ext: String
        var classes: [String]
        var sentiment = false
        /// nil: no split of its own; "test": train/test; "val": train/val only (validation held out).
        var split: String?
        /// Clips per identity group (0: none).
        var groupSize = 0
        var groupPrefix = ""
        var families: [Family]
        var hasText = false
    }

    static let basic = ["neutral", "happiness", "sadness", "anger", "surprise", "fear", "disgust"]
    static let mafw = ["anger", "disgust", "fear", "happiness", "neutral", "sadness", "surprise", "contempt", "anxiety", "helplessness", "disappointment"]
    static let micro = ["happiness", "disgust", "repression", "surprise", "fear", "sadness", "other"]
    static let sentiment = ["positive", "neutral", "negative"]
    static let fineSentiment7 = ["strongly negative", "negative", "weakly negative", "neutral", "weakly positive", "positive", "strongly positive"]
    static let fineSentiment5 = ["negative", "weakly negative", "neutral", "weakly positive", "positive"]
    static let headPoses = ["front", "left_30", "left_60", "right_30", "right_60", "down", "top"]
    static let appearance = ["blond_hair", "brown_hair", "black_hair", "gray_hair", "eyeglasses", "mustache", "goatee", "receding_hairline",
                             "wavy_hair", "straight_hair", "bangs", "wearing_hat", "heavy_makeup", "pale_skin", "double_chin"]
    static let actions = ["talk", "smile", "laugh", "blink", "head_wagging", "nod", "shake_head", "sigh", "look_around", "frown", "squint", "sneer"]
    static let actionUnits = ["AU1", "AU2", "AU4", "AU6", "AU7", "AU10", "AU12", "AU15", "AU23", "AU24", "AU25", "AU26"]
    static let qaAspects = ["Gender", "Body_actions", "Skin", "Facial_features", "Nose", "Eyes", "Age", "Hair", "Facial_actions",
                            "Accessories", "Eyebrows", "Head_actions", "Chin", "Mouth", "Face_shape", "Expression", "Emotion"]

    static func f(_ name: String, _ form: SampleForm, _ task: SampleTask) -> Family { Family(name: name, form: form, task: task) }
    static let emotion3 = [f("emotion", .mcq, .emotion), f("emotion", .open, .emotion), f("emotion", .short, .emotion)]
    static let micro3 = [f("micro_expression", .mcq, .expression), f("micro_expression", .open, .expression), f("micro_expression", .short, .expression)]

    static let sources: [Source] = [
        Source(name: "DFEW", weight: 16_000, folder: "Clip/clip_224x224", ext: "avi", classes: basic, split: "test", families: emotion3),
        Source(name: "MAFW", weight: 10_000, folder: "data/clips", ext: "mp4", classes: mafw, split: "test",
               families: emotion3 + [f("compound_emotion", .mcq, .emotion), f("compound_emotion", .open, .emotion)], hasText: true),
        Source(name: "MELD", weight: 13_700, folder: "MELD.Raw/train_splits", ext: "mp4", classes: basic, split: "test", groupSize: 9, groupPrefix: "dia",
               families: emotion3 + [f("sentiment", .open, .emotion)], hasText: true),
        Source(name: "RAVDESS", weight: 2_880, folder: "Video_Speech", ext: "mp4", classes: basic + ["calm"], groupSize: 120, groupPrefix: "Actor_",
               families: [f("emotion", .mcq, .emotion), f("emotion", .open, .emotion), f("fine_emotion", .mcq, .emotion),
                          f("fine_emotion", .open, .emotion), f("gender", .open, .attribute)]),
        Source(name: "MEAD", weight: 12_000, folder: "video", ext: "mp4", classes: basic + ["contempt"], groupSize: 250, groupPrefix: "M0",
               families: [f("fine_emotion", .mcq, .emotion), f("fine_emotion", .open, .emotion), f("identity", .open, .attribute),
                          f("head_pose", .mcq, .attribute), f("head_pose", .open, .attribute), f("emotion", .open, .emotion)]),
        Source(name: "CelebV-HQ", weight: 35_000, folder: "35666", ext: "mp4", classes: basic, groupSize: 4, groupPrefix: "yt-",
               families: [f("appearance", .open, .attribute), f("action", .open, .attribute), f("emotion", .open, .emotion)]),
        Source(name: "CelebV-Text", weight: 30_000, folder: "videos/celebvtext_6", ext: "mp4", classes: basic, groupSize: 4, groupPrefix: "yt-",
               families: [f("emotion_caption", .caption, .caption), f("appearance_caption", .caption, .caption),
                          f("action_caption", .caption, .caption), f("emotion", .open, .emotion)]),
        Source(name: "AffWild2", weight: 5_000, folder: "cropped_aligned", ext: "mp4", classes: basic, split: "val", groupSize: 40, groupPrefix: "vid",
               families: [f("action_units", .open, .expression), f("emotion", .mcq, .emotion), f("emotion", .open, .emotion)]),
        Source(name: "CAS(ME)^2", weight: 350, folder: "rawvideo", ext: "avi", classes: micro, groupSize: 15, groupPrefix: "s",
               families: micro3 + [f("expression_type", .mcq, .expression)]),
        Source(name: "MOSI", weight: 2_200, folder: "Video/Segmented", ext: "mp4", classes: sentiment, sentiment: true, split: "test",
               groupSize: 25, groupPrefix: "vid-",
               families: [f("sentiment", .mcq, .emotion), f("sentiment", .open, .emotion), f("sentiment", .short, .emotion),
                          f("fine_sentiment", .mcq, .emotion), f("fine_sentiment", .open, .emotion)], hasText: true),
        Source(name: "MOSEI", weight: 23_000, folder: "Videos/Segmented/Combined", ext: "mp4", classes: sentiment, sentiment: true, split: "test",
               groupSize: 10, groupPrefix: "vid-",
               families: [f("sentiment", .mcq, .emotion), f("sentiment", .open, .emotion), f("sentiment", .short, .emotion),
                          f("fine_sentiment", .open, .emotion)], hasText: true),
        Source(name: "CH-SIMS", weight: 2_300, folder: "Raw", ext: "mp4", classes: sentiment, sentiment: true, split: "test",
               groupSize: 10, groupPrefix: "video_",
               families: [f("sentiment", .mcq, .emotion), f("sentiment", .open, .emotion), f("fine_sentiment", .mcq, .emotion),
                          f("fine_sentiment", .open, .emotion)], hasText: true),
        Source(name: "MER2023", weight: 5_000, folder: "video", ext: "avi", classes: ["neutral", "anger", "happiness", "sadness", "worry", "surprise"],
               split: "test", families: emotion3, hasText: true),
        Source(name: "PERR", weight: 3_000, folder: "clips", ext: "mp4", classes: basic, groupSize: 12, groupPrefix: "conv",
               families: emotion3, hasText: true),
        Source(name: "CAER", weight: 13_000, folder: "CAER/train", ext: "avi", classes: basic, split: "test", groupSize: 30, groupPrefix: "ep",
               families: emotion3),
        Source(name: "AFEW", weight: 1_800, folder: "Train_AFEW", ext: "avi", classes: basic, split: "val", families: emotion3),
        Source(name: "FERV39K", weight: 26_000, folder: "2_ClipsforFaceCrop", ext: "mp4", classes: basic, split: "test", families: emotion3),
        Source(name: "CASME", weight: 190, folder: "CASME_A", ext: "avi", classes: micro, groupSize: 10, groupPrefix: "sub", families: micro3),
        Source(name: "CASME2", weight: 250, folder: "CASME2-RAW", ext: "avi", classes: micro, groupSize: 10, groupPrefix: "sub", families: micro3),
    ]

    /// Writes the store the way the pipeline fills one: the clips in uid order, then each stage's
    /// samples for every clip in turn (instruct, caption, qa, rationale), in batches.
    func build(at path: String) throws {
        let started = DispatchTime.now().uptimeNanoseconds
        func elapsed() -> Double { Double(DispatchTime.now().uptimeNanoseconds - started) / 1e9 }
        let store = try Store(path: path)
        for s in Self.sources {
            try store.upsertSource(SourceRow(name: s.name, root: "/datasets/\(s.name)", adapter: "bench", adapterVersion: 1, licence: nil))
        }
        // Clips per source in proportion to the weights, the rounding left to the largest; uid order.
        let total = Self.sources.reduce(0) { $0 + $1.weight }
        var counts = Self.sources.map { max(1, clips * $0.weight / total) }
        counts[counts.indices.max { counts[$0] < counts[$1] }!] += clips - counts.reduce(0, +)
        let order = Self.sources.indices.sorted { Self.sources[$0].name < Self.sources[$1].name }
        var all: [(source: Int, clip: StoredClip, label: String)] = []
        var batch: [StoredClip] = []
        for si in order {
            for k in 0..<counts[si] {
                let (clip, label) = makeClip(Self.sources[si], key: k, global: all.count)
                all.append((si, clip, label))
                batch.append(clip)
                if batch.count == 2000 { try store.upsertClips(batch); batch.removeAll(keepingCapacity: true) }
            }
        }
        try store.upsertClips(batch)
        show(String(format: "    %d clips, %.0f s", all.count, elapsed()))

        var made = 0, accepted = 0
        var pending: [NewSample] = []
        for stage in ["instruct", "caption", "qa", "rationale"] {
            for (global, c) in all.enumerated() {
                let n = samples * (global + 1) / clips - samples * global / clips
                makeSamples(Self.sources[c.source], clip: c.clip, label: c.label, count: n, global: global, stage: stage, into: &pending)
                if pending.count >= 5000 {
                    made += pending.count
                    accepted += pending.filter { $0.status == .accepted }.count
                    try store.upsertSamples(pending)
                    pending.removeAll(keepingCapacity: true)
                }
            }
            made += pending.count
            accepted += pending.filter { $0.status == .accepted }.count
            try store.upsertSamples(pending)
            pending.removeAll(keepingCapacity: true)
            show(String(format: "    %@ samples written: %d in all, %.0f s", stage, made, elapsed()))
        }
        let info = StoreInfo(clips: all.count, samples: made, accepted: accepted, seconds: elapsed())
        try JSONEncoder().encode(info).write(to: URL(fileURLWithPath: path).deletingLastPathComponent().appendingPathComponent("store.json"))
    }

    func makeClip(_ s: Source, key k: Int, global: Int) -> (StoredClip, String) {
        var r = BenchRandom(seed: UInt64(global) &* 0x2545F4914F6CDD1D &+ 17)
        let key = String(format: "%06d", k)
        let label = r.pick(s.classes)
        var split: String?, nativeSplit: String?
        let group = s.groupSize > 0 ? "\(s.groupPrefix)\(String(format: "%04d", k / s.groupSize))" : nil
        if let style = s.split {
            // Whole groups go to one side, about 15% held out.
            var g = BenchRandom(seed: UInt64(truncatingIfNeeded: (group ?? key).hashValueStable) ^ 0x5eed)
            let held = g.below(100) < 15
            split = held ? style : "train"
            nativeSplit = held ? (style == "val" ? "Validation_Set" : "test") : "train"
        }
        var labels = s.sentiment ? NormalizedLabels(sentiment: label) : NormalizedLabels(emotion: label)
        if s.sentiment { labels.sentimentScore = Double(r.below(61) - 30) / 10 }
        if s.name == "MAFW" { labels.emotions = [label] }
        let record = ClipRecord(
            key: key, path: "\(s.folder)/\(key).\(s.ext)", nativeSplit: nativeSplit, split: split, identity: group,
            nativeLabels: ["label": label], labels: labels,
            texts: s.hasText ? ["utterance": BenchText.sentence(&r, words: 8 + r.below(10), chinese: s.name == "CH-SIMS")] : [:],
            labelOrigin: SourceLocation(file: "labels.csv", line: k + 2))
        let clip = StoredClip(
            uid: "\(s.name)/\(key)", source: s.name, record: record,
            probe: ProbeResult(duration: 2 + Double(r.below(80)) / 10, width: 1280, height: 720, fps: 25, frameCount: 50 + r.below(200),
                               frameCountExact: true, codec: "h264", hasAudio: true, container: "mov,mp4,m4a,3gp,3g2,mj2"),
            face: FaceBox(x: 0.3, y: 0.2, w: 0.35, h: 0.5, origin: .dataset), view: .head,
            fileSize: 200_000 + Int64(r.below(800_000)), fileMtime: 1_700_000_000 + Double(global), recordHash: StableHash.hex(key + s.name),
            status: .ok, error: nil)
        return (clip, label)
    }

    /// The clip's first `count` samples of this list, those of `stage`: its source's instruct
    /// samples, the three captions, a rationale of the emotion caption, QA pairs (a rationale after
    /// the first). Each sample's text comes from a generator seeded by its uid.
    func makeSamples(_ s: Source, clip: StoredClip, label: String, count: Int, global: Int, stage wanted: String,
                     into out: inout [NewSample]) {
        let chinese = s.name == "CH-SIMS"
        var position = 0
        /// Whether the next sample of the list is made now (the list's order counts every stage).
        func take(_ stage: String) -> Bool {
            defer { position += 1 }
            return position < count && stage == wanted
        }
        func rng(_ uid: String) -> BenchRandom { BenchRandom(seed: UInt64(bitPattern: Int64(uid.hashValueStable)) ^ 0xC0FFEE) }
        func add(_ uid: String, stage: String, _ task: SampleTask, _ form: SampleForm, _ content: [String: JSONValue],
                 model: String?, parent: String? = nil) {
            var h = BenchRandom(seed: UInt64(truncatingIfNeeded: uid.hashValueStable))
            let roll = h.below(100)
            let status: SampleStatus = roll < 95 ? .accepted : (roll < 98 ? .rejected : .pending)
            out.append(NewSample(uid: uid, clipUID: clip.uid, stage: stage, task: task, form: form, content: .object(content),
                                 promptID: "\(stage)/\(form.rawValue)", promptHash: "bench", model: model, parentUID: parent, status: status))
        }
        // Instruct, from the labels.
        for fam in s.families {
            guard take("instruct") else { continue }
            let uid = "instruct/\(clip.uid)/\(fam.name)/\(fam.form.rawValue)"
            var r = rng(uid)
            let (answer, choices, correct) = instructAnswer(fam.name, s: s, label: label, identity: clip.record.identity, r: &r)
            var content: [String: JSONValue] = ["kind": .string(fam.name), "label": .string(answer)]
            let context = s.hasText ? "The person says: \"\(BenchText.sentence(&r, words: 6 + r.below(10), chinese: chinese))\""
                                    : "Scene: \(BenchText.sentence(&r, words: 5 + r.below(8), chinese: false))"
            let topic = fam.name.replacingOccurrences(of: "_", with: " ")
            switch fam.form {
            case .mcq:
                var shown = choices
                if fam.name != "compound_emotion" { shown = r.shuffled(shown) }
                let lettered = shown.enumerated().map { "(\(Self.letters[$0.offset])) \($0.element)" }
                let letters = shown.enumerated().filter { correct.contains($0.element) }.map { Self.letters[$0.offset] }.joined()
                // Most templates show the options in the question; some leave them to the export.
                let q = r.below(4) == 0
                    ? "\(context)\nWhich \(topic) does the person in the video show? Answer with the letter."
                    : "\(context)\nWhich \(topic) does the person in the video show?\n\(lettered.joined(separator: "\n"))\nAnswer with the letter of the correct option."
                content["question"] = .string(q)
                content["options"] = .array(lettered.map { .string($0) })
                content["answer_letters"] = .string(letters)
                content["answer"] = .string(r.below(2) == 0 ? letters : "(\(letters)) \(answer)")
            case .open:
                content["question"] = .string("\(context)\nWhat \(topic) does the person in the video show? Answer with the name only.")
                content["answer"] = .string(answer)
            case .short:
                content["question"] = .string("\(context)\nDescribe the person's \(topic) in one short sentence.")
                content["answer"] = .string("The person appears to show \(answer).")
            case .caption:
                content["question"] = .string("Describe the \(topic.replacingOccurrences(of: " caption", with: "")) of the person in this video.")
                content["answer"] = .string(answer)
            }
            add(uid, stage: "instruct", fam.task, fam.form, content, model: nil)
        }
        // The caption chain.
        let questions = ["Describe the person's appearance and visible attributes in this video.",
                         "Describe how the person's facial expression changes in this video.",
                         "Describe the emotion the person shows in this video and the cues that reveal it."]
        let parts: [(String, SampleTask)] = [("attribute", .attribute), ("expression", .expression), ("emotion", .emotion)]
        for (i, part) in parts.enumerated() {
            guard take("caption") else { continue }
            let uid = "caption/\(clip.uid)/\(part.0)"
            var r = rng(uid)
            let text = BenchText.paragraph(&r, chars: 260 + r.below(90), chinese: false)
            add(uid, stage: "caption", part.1, .caption,
                ["question": .string(questions[i]), "answer": .string(text), "detail": ["caption": .string(text)]], model: "gpt-4o")
        }
        let emotionCaption = "caption/\(clip.uid)/emotion"
        if take("rationale") {
            var r = rng("rationale/\(emotionCaption)")
            let why = BenchText.paragraph(&r, chars: 180 + r.below(120), chinese: false)
            add("rationale/\(emotionCaption)", stage: "rationale", .rationale, .open,
                ["question": .string(questions[2] + " Explain which cues support your answer."), "answer": .string(why), "of": "caption",
                 "detail": ["rationale": .string(why)]], model: "gpt-4o-mini", parent: emotionCaption)
        }
        // QA pairs, from an aspect that turns with the clip.
        let start = global % Self.qaAspects.count
        for j in 0..<Self.qaAspects.count where position < count {
            let aspect = Self.qaAspects[(start + j) % Self.qaAspects.count]
            let uid = "qa/\(clip.uid)/\(aspect)"
            let q = "What can you tell about the person's \(aspect.lowercased().replacingOccurrences(of: "_", with: " ")) in the video?"
            if take("qa") {
                var r = rng(uid)
                let a = BenchText.paragraph(&r, chars: 50 + r.below(110), chinese: false)
                add(uid, stage: "qa", .qa, .open, ["question": .string(q), "answer": .string(a), "aspect": .string(aspect),
                                                    "source": .string("QA_\(aspect)")], model: "gpt-4o-mini", parent: emotionCaption)
            }
            if j == 0, take("rationale") {
                var r = rng("rationale/\(uid)")
                let w = BenchText.paragraph(&r, chars: 150 + r.below(100), chinese: false)
                add("rationale/\(uid)", stage: "rationale", .rationale, .open,
                    ["question": .string(q + " Explain which cues support your answer."), "answer": .string(w), "of": "qa",
                     "detail": ["rationale": .string(w)]], model: "gpt-4o-mini", parent: uid)
            }
        }
    }

    static let letters = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZ").map(String.init)

    /// The label-derived answer of an instruct family, its multiple-choice classes and the right ones.
    func instructAnswer(_ family: String, s: Source, label: String, identity: String?, r: inout BenchRandom) -> (String, [String], Set<String>) {
        func subset(_ vocab: [String], max m: Int) -> [String] {
            let n = 1 + r.below(m)
            var picked = Set<String>()
            while picked.count < n { picked.insert(r.pick(vocab)) }
            return vocab.filter { picked.contains($0) }
        }
        switch family {
        case "fine_emotion":
            let intensity = r.below(2) == 0 ? "normal" : "strong"
            let name = label == "neutral" ? "neutral" : "\(label) (\(intensity) intensity)"
            let all = s.classes.flatMap { $0 == "neutral" ? ["neutral"] : ["\($0) (normal intensity)", "\($0) (strong intensity)"] }
            return (name, Array(r.shuffled(all.filter { $0 != name }).prefix(4)) + [name], [name])
        case "fine_sentiment":
            let vocab = s.name == "CH-SIMS" ? Self.fineSentiment5 : Self.fineSentiment7
            let v = r.pick(vocab)
            return (v, vocab, [v])
        case "compound_emotion":
            let set = subset(Self.mafw, max: 3)
            return (set.joined(separator: ","), Self.mafw, Set(set))
        case "identity":
            let id = identity ?? "unknown"
            return (id, [id], [id])
        case "sentiment" where !s.sentiment:
            let v = r.pick(Self.sentiment)
            return (v, Self.sentiment, [v])
        case "head_pose":
            let v = r.pick(Self.headPoses)
            return (v, Self.headPoses, [v])
        case "gender":
            let v = r.below(2) == 0 ? "male" : "female"
            return (v, ["male", "female"], [v])
        case "appearance":
            return (subset(Self.appearance, max: 4).joined(separator: ","), [], [])
        case "action":
            return (subset(Self.actions, max: 3).joined(separator: ","), [], [])
        case "action_units":
            return (subset(Self.actionUnits, max: 4).joined(separator: ","), [], [])
        case "expression_type":
            let v = r.below(3) == 0 ? "micro" : "macro"
            return (v, ["micro", "macro"], [v])
        case "emotion_caption", "appearance_caption", "action_caption":
            return (BenchText.paragraph(&r, chars: 200 + r.below(150), chinese: false), [], [])
        default:  // emotion, sentiment, micro_expression: the clip's own label among its source's classes
            return (label, s.classes, [label])
        }
    }
}

/// SplitMix64: the benchmark's deterministic randomness.
private struct BenchRandom {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
    mutating func below(_ n: Int) -> Int { Int(next() % UInt64(n)) }
    mutating func pick<T>(_ a: [T]) -> T { a[below(a.count)] }
    mutating func shuffled<T>(_ a: [T]) -> [T] {
        var a = a
        guard a.count > 1 else { return a }
        for i in stride(from: a.count - 1, to: 0, by: -1) { a.swapAt(i, below(i + 1)) }
        return a
    }
}

fileprivate extension String {
    /// FNV-1a of the UTF-8 bytes: stable across runs, unlike `hashValue`.
    var hashValueStable: Int {
        var h: UInt64 = 0xcbf2_9ce4_8422_2325
        for b in utf8 { h = (h ^ UInt64(b)) &* 0x100_0000_01b3 }
        return Int(truncatingIfNeeded: h)
    }
}

/// Pseudo-random English-like text, with now and then what model text holds: quotes, a line
/// break, non-ASCII letters, a tab or backslash, rarely an emoji or a control character.
private enum BenchText {
    static let words = """
        the person face eyes mouth brow brows cheeks lips smile frown gaze head tilts slightly looks toward camera away \
        left right down up while speaking listening calm tense relaxed raised lowered corners pulled tight open closed \
        blinks rapidly slowly glances nods shakes jaw clenched chin forward shoulders hunched posture upright leaning \
        voice trembles softly loudly pauses sighs laughs briefly expression shifts from neutral to surprised happy sad \
        angry fearful disgusted contemptuous anxious worried hopeful a an with and but then as if suggesting showing \
        young middle-aged older woman man wearing glasses hat earrings beard mustache short long dark light curly \
        straight hair skin tone warm pale lighting indoor outdoor background office street kitchen stage car \
        café naïve façade déjà-vu — rôle coöperate Zoë soirée
        """.split(whereSeparator: { $0 == " " || $0 == "\n" }).map(String.init)
    static let hanzi = ["他看起来很开心", "她有点难过", "我真的不知道", "这件事太突然了", "没关系", "你说得对", "好的", "为什么会这样"]

    static func sentence(_ r: inout BenchRandom, words n: Int, chinese: Bool) -> String {
        if chinese { return (0..<max(1, n / 4)).map { _ in r.pick(hanzi) }.joined(separator: "，") + "。" }
        var out = ""
        for i in 0..<n {
            var w = r.pick(words)
            if i == 0 { w = w.prefix(1).uppercased() + w.dropFirst() }
            if i > 0 { out += " " }
            out += w
        }
        return out
    }

    static func paragraph(_ r: inout BenchRandom, chars: Int, chinese: Bool) -> String {
        var out = ""
        while out.utf8.count < chars {
            if !out.isEmpty { out += r.below(250) == 0 ? "\n" : " " }
            out += sentence(&r, words: 6 + r.below(12), chinese: chinese)
            switch r.below(4000) {
            case 0..<80: out += ", as if to say \"\(r.pick(words)) \(r.pick(words))\"."
            case 80..<82: out += "\t(\(r.pick(words)))."
            case 82..<84: out += " \\ \(r.pick(words))."
            case 84: out += " 🙂."
            case 85 where r.below(8) == 0: out += "\u{1}."
            default: out += "."
            }
        }
        return out
    }
}
