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
        let files = ((try? FileManager.default.contentsOfDirectory(atPath: clips)) ?? []).filter { $0.hasSuffix(".mp4") }
        let n = files.count
        let truth = groundTruth(dir: dir, resolution: resolution)
        let (w, h) = resolution == "360p" ? (640.0, 360.0) : (1280.0, 720.0)
        let found = (try? JSONDecoder().decode([String: [Double]].self, from: Data(contentsOf: URL(fileURLWithPath: ours)))) ?? [:]
        let ourBoxes = found.mapValues { [$0[0] * w, $0[1] * h, $0[2] * w, $0[3] * h] }
        print(String(format: "  %@  emocfg    %7.2f s  %6.1f clips/s  CPU %7.2f s  peak RSS %6.1f MB  %@",
                     resolution, e.seconds, Double(n) / e.seconds, e.cpuSeconds, e.peakMB,
                     accuracy(files: files, truth: truth, boxes: { ourBoxes[$0].map { [$0] } ?? [] })))
        guard b.exitCode == 0 else {
            print("  \(resolution): baseline skipped or failed (exit \(b.exitCode); 3 means dlib-bin or av could not be installed)")
            continue
        }
        var theirBoxes: [String: [[Double]]] = [:]
        if let data = try? Data(contentsOf: URL(fileURLWithPath: theirs)),
           let json = try? JSONSerialization.jsonObject(with: data) as? [String: Any],
           let results = json["results"] as? [String: [[[Double]]]] {
            // Every box of every frame, as x, y, w, h (dlib's right and bottom are inclusive).
            theirBoxes = results.mapValues { $0.flatMap { $0.map { [$0[0], $0[1], $0[2] - $0[0] + 1, $0[3] - $0[1] + 1] } } }
        }
        print(String(format: "  %@  baseline  %7.2f s  %6.1f clips/s  CPU %7.2f s  peak RSS %6.1f MB  %@",
                     resolution, b.seconds, Double(n) / b.seconds, b.cpuSeconds, b.peakMB,
                     accuracy(files: files, truth: truth, boxes: { theirBoxes[$0] ?? [] })))
        print(String(format: "  %@  ratio: %.2fx wall, %.2fx CPU", resolution, b.seconds / e.seconds, b.cpuSeconds / e.cpuSeconds))
    }
}

/// The ground-truth face box (x, y, w, h in pixels) of each clip of a resolution, nil for a clip
/// without a face, from `clips.json` (written by scripts/make-face-bench-clips.py).
private func groundTruth(dir: String, resolution: String) -> [String: [Double]?] {
    guard let data = try? Data(contentsOf: URL(fileURLWithPath: dir + "/clips.json")),
          let json = try? JSONSerialization.jsonObject(with: data) as? [String: Any],
          let clips = json["clips"] as? [String: Any] else { return [:] }
    var out: [String: [Double]?] = [:]
    for (path, value) in clips where path.hasPrefix(resolution + "/") {
        let b = value as? [String: Double]
        // updateValue, so that a clip without a face stays in the map as nil.
        out.updateValue(b.map { [$0["x"] ?? 0, $0["y"] ?? 0, $0["w"] ?? 0, $0["h"] ?? 0] }, forKey: String(path.dropFirst(resolution.count + 1)))
    }
    return out
}

/// "found k/n faces (IoU ≥ 0.5), f false alarms in m clips without a face": a face is found when one of
/// the side's boxes for the clip overlaps the truth by IoU ≥ 0.5; a false alarm is any box in a
/// clip without a face.
private func accuracy(files: [String], truth: [String: [Double]?], boxes: (String) -> [[Double]]) -> String {
    func iou(_ a: [Double], _ b: [Double]) -> Double {
        let iw = max(0, min(a[0] + a[2], b[0] + b[2]) - max(a[0], b[0])), ih = max(0, min(a[1] + a[3], b[1] + b[3]) - max(a[1], b[1]))
        let inter = iw * ih
        return inter / (a[2] * a[3] + b[2] * b[3] - inter)
    }
    var faces = 0, found = 0, empty = 0, alarms = 0
    for f in files {
        guard let t = truth[f] else { continue }
        if let t {
            faces += 1
            if boxes(f).contains(where: { iou($0, t) >= 0.5 }) { found += 1 }
        } else {
            empty += 1
            if !boxes(f).isEmpty { alarms += 1 }
        }
    }
    return "found \(found)/\(faces) faces (IoU ≥ 0.5), false alarms in \(alarms)/\(empty) clips without a face"
}

/// The emocfg side, in a child process: searches every .mp4 of `--dir`, `--jobs` at a time, and
/// writes each clip's main face box ([x, y, w, h], normalised; clips without a face are left out) to `--out`.
func faceChild() throws {
    let a = CommandLine.arguments
    guard let d = a.firstIndex(of: "--dir"), d + 1 < a.count, let o = a.firstIndex(of: "--out"), o + 1 < a.count else { exit(2) }
    let dir = a[d + 1]
    let jobs = arg("--jobs", ProcessInfo.processInfo.activeProcessorCount)
    let files = try FileManager.default.contentsOfDirectory(atPath: dir).filter { $0.hasSuffix(".mp4") }.sorted()
    let pool = FaceDetectorPool.dlib()
    let options = FaceSearchOptions()
    let lock = NSLock()
    nonisolated(unsafe) var boxes: [String: [Double]] = [:]
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
            if let b = found?.box { boxes[files[i]] = [b.x, b.y, b.w, b.h] }
            lock.unlock()
        }
    }
    try JSONEncoder().encode(boxes).write(to: URL(fileURLWithPath: a[o + 1]))
}
