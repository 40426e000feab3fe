// emocfg-bench faces [--count N] [--clips DIR] [--jobs N]
//
// Face search at ingest: N clips of 360p and N of 720p (3 s H.264 with the public-domain astronaut
// photo composited at varied sizes and places, about 10% without a face; made once by
// scripts/make-face-bench-clips.py and cached in DIR), 3 frames each. emocfg's FaceSearch with
// dlib's HOG detector in-process on all cores, against scripts/face_baseline.py: the script a
// researcher would write (PyAV decode, dlib's Python binding with upsample 1, one process). Each
// side runs as its own child process, one after the other on the same files, so wall time, CPU time
// and peak RSS are its own; the ratio is the figure (the machine is shared and noisy).
import EmoCFG
import Foundation

func faceBenchmark() throws {
    let count = arg("--count", 300)
    let jobs = arg("--jobs", ProcessInfo.processInfo.activeProcessorCount)
    let a = CommandLine.arguments
    let root = fixtures.deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    let dir = a.firstIndex(of: "--clips").flatMap { $0 + 1 < a.count ? a[$0 + 1] : nil }
        ?? root.appendingPathComponent(".build/bench-faces").path
    guard let python = which("python3") else {
        print("faces: skipped, python3 is not installed (the clips and the baseline are Python scripts)")
        return
    }
    let made = RenderChild.spawn([python, root.appendingPathComponent("scripts/make-face-bench-clips.py").path, "--out", dir, "--count", "\(count)"])
    guard made.exitCode == 0 else {
        print("faces: skipped, scripts/make-face-bench-clips.py failed (exit \(made.exitCode))")
        return
    }
    let me = URL(fileURLWithPath: CommandLine.arguments[0]).standardizedFileURL.path
    let tmp = FileManager.default.temporaryDirectory.appendingPathComponent("emocfg-bench-faces-\(getpid())")
    try FileManager.default.createDirectory(at: tmp, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(at: tmp) }
    print("faces: \(count) clips per resolution, 3 frames each, \(jobs) cores; emocfg (dlib HOG in-process, \(jobs) at a time) vs scripts/face_baseline.py (PyAV + dlib Python binding, one process)")
    for resolution in ["360p", "720p"] {
        let clips = dir + "/" + resolution
        let ours = tmp.appendingPathComponent("\(resolution)-emocfg.json").path
        let theirs = tmp.appendingPathComponent("\(resolution)-baseline.json").path
        let e = RenderChild.spawn([me, "faces-child", "--dir", clips, "--jobs", "\(jobs)", "--out", ours])
        let b = RenderChild.spawn([python, root.appendingPathComponent("scripts/face_baseline.py").path, clips, "--out", theirs])
        guard e.exitCode == 0 else {
            print("  \(resolution): emocfg side failed (exit \(e.exitCode))")
            continue
        }
        let found = (try? JSONDecoder().decode([String: [Double]?].self, from: Data(contentsOf: URL(fileURLWithPath: ours)))) ?? [:]
        let n = found.count
        let withFace = found.values.filter { $0 != nil }.count
        print(String(format: "  %@  emocfg    %7.2f s  %6.1f clips/s  CPU %7.2f s  peak RSS %6.1f MB  %d/%d clips with a face",
                     resolution, e.seconds, Double(n) / e.seconds, e.cpuSeconds, e.peakMB, withFace, n))
        guard b.exitCode == 0 else {
            print("  \(resolution): baseline skipped or failed (exit \(b.exitCode); 3 means dlib-bin or av could not be installed)")
            continue
        }
        var baselineFaces = 0
        if let data = try? Data(contentsOf: URL(fileURLWithPath: theirs)),
           let json = try? JSONSerialization.jsonObject(with: data) as? [String: Any],
           let results = json["results"] as? [String: [[[Double]]]] {
            baselineFaces = results.values.filter { frames in frames.contains { !$0.isEmpty } }.count
        }
        print(String(format: "  %@  baseline  %7.2f s  %6.1f clips/s  CPU %7.2f s  peak RSS %6.1f MB  %d/%d clips with a face",
                     resolution, b.seconds, Double(n) / b.seconds, b.cpuSeconds, b.peakMB, baselineFaces, n))
        print(String(format: "  %@  ratio: %.2fx wall, %.2fx CPU", resolution, b.seconds / e.seconds, b.cpuSeconds / e.cpuSeconds))
    }
}

/// The emocfg side, in a child process: searches every .mp4 of `--dir`, `--jobs` at a time, and
/// writes each clip's main face box ([x, y, w, h], normalised, or null) to `--out`.
func faceChild() throws {
    let a = CommandLine.arguments
    guard let d = a.firstIndex(of: "--dir"), d + 1 < a.count, let o = a.firstIndex(of: "--out"), o + 1 < a.count else { exit(2) }
    let dir = a[d + 1]
    let jobs = arg("--jobs", ProcessInfo.processInfo.activeProcessorCount)
    let files = try FileManager.default.contentsOfDirectory(atPath: dir).filter { $0.hasSuffix(".mp4") }.sorted()
    let pool = FaceDetectorPool.dlib()
    let options = FaceSearchOptions()
    let lock = NSLock()
    nonisolated(unsafe) var boxes: [String: [Double]?] = [:]
    nonisolated(unsafe) var next = 0
    DispatchQueue.concurrentPerform(iterations: max(1, min(jobs, files.count))) { _ in
        while true {
            lock.lock()
            let i = next
            next += 1
            lock.unlock()
            guard i < files.count else { return }
            let record = ClipRecord(key: files[i], path: files[i], kind: .video)
            let clip = StoredClip(uid: files[i], source: "bench", record: record, probe: nil, face: nil, view: nil,
                                  fileSize: nil, fileMtime: nil, recordHash: "", status: .ok, error: nil)
            let found = try? pool.with { try FaceSearch.search(clip: clip, root: dir, options: options, detector: $0) }
            if found == nil { FileHandle.standardError.write(Data("cannot search \(files[i])\n".utf8)) }
            lock.lock()
            boxes[files[i]] = found?.box.map { [$0.x, $0.y, $0.w, $0.h] }
            lock.unlock()
        }
    }
    try JSONEncoder().encode(boxes).write(to: URL(fileURLWithPath: a[o + 1]))
}
