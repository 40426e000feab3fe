import EmoCFG
import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// The folder each source's videos sit in under the export's `videos/`: the published Emo-CFG names
/// by default (`videos/Dfew`, `videos/Mer2023`, `videos/SIMS`, `videos/CAS(ME)2`, …), so lines resolve
/// against an upstream `videos/` tree; `export_name:` in `sources.yaml` overrides it per source; a
/// source the published tree does not know keeps its own name.
public enum VideoFolders {
    /// Published folder names, by the source names the shipped `sources.yaml` uses.
    public static let published: [String: String] = [
        "AFEW": "AFEW", "AffWild2": "AffWild2", "CAER": "CAER", "CASME": "CASME", "CAS(ME)^2": "CAS(ME)2",
        "CASME2": "CASME2", "CelebV-HQ": "CelebV-HQ", "CelebV-Text": "CelebV-Text", "DFEW": "Dfew", "FERV39K": "FERV39K",
        "MAFW": "MAFW", "MEAD": "MEAD", "MELD": "MELD", "MER2023": "Mer2023", "MOSEI": "MOSEI", "MOSI": "MOSI",
        "PERR": "PERR", "RAVDESS": "RAVDESS", "CH-SIMS": "SIMS",
    ]

    public static func folder(source: String, exportName: String?) -> String {
        exportName ?? published[source] ?? source
    }

    /// Every source's folder; fails when two sources would share one.
    public static func resolve(_ sources: [SourceRow]) throws -> [String: String] {
        var folders: [String: String] = [:], owner: [String: String] = [:]
        for s in sources.sorted(by: { $0.name < $1.name }) {
            let f = folder(source: s.name, exportName: s.exportName)
            if let other = owner[f] {
                throw ExportError("sources '\(other)' and '\(s.name)' would both export their videos to videos/\(f); "
                                  + "give one of them another `export_name:` in sources.yaml and ingest again")
            }
            owner[f] = s.name
            folders[s.name] = f
        }
        return folders
    }
}

/// What the export did about clips that are not whole video files.
public struct MediaSummary: Sendable, Equatable {
    /// The encoder the renders use on this machine (`libx264` or `mpeg4`).
    public var encoder: String
    public var settings: RenderSettings
    /// Clips with accepted samples that needed a rendered file.
    public var needed = 0
    /// Rendered by this export, and found already rendered (same key) in the media cache.
    public var rendered = 0
    public var cached = 0
    /// Clips whose render failed, with libav's reason: left out of the export.
    public var failed: [ClipFailure] = []
    public var seconds = 0.0
}

public struct ClipFailure: Sendable, Equatable {
    public var clip: String
    public var reason: String
}

/// Progress of the renders, for the command line's display.
public struct RenderProgress: Sendable {
    public var done: Int
    public var total: Int
    public var failed: Int
}

/// Renders the clips that are not whole video files (frame folders, parts of a recording's frame
/// folder, time windows of longer videos) to video files, once: each file lives in the export's
/// content-addressed media cache `DIR/media/<2>/<key>.mp4`, its key the SHA-256 of the source file's
/// identity as ingest recorded it (source, path, size, mtime, frame count), the range, the frame rate
/// and the encoder settings. A rerun renders nothing new; a changed setting or a re-ingested, changed
/// file renders again. The tree's `videos/<Folder>/…` entries are relative links into the cache, so
/// the tree can be moved. Renders run in parallel, one render per core: the windows of one video in
/// chunks, each chunk in one pass over the video (`workList`, `ClipRenderer.renderWindows`), every
/// other clip alone; a clip that fails is recorded with libav's reason in `rendered_media` and left
/// out, never fatal.
public struct ClipMedia {
    /// Bumped when the rendering itself changes in a way that changes its output.
    public static let renderVersion = "render-1"
    public static let cacheFolder = "media"

    public var out: URL
    public var settings: RenderSettings
    public var jobs: Int

    public init(out: URL, settings: RenderSettings, jobs: Int) {
        self.out = out
        self.settings = settings
        self.jobs = jobs
    }

    /// A rendered clip: its entry under `videos/<Folder>/` and its file in the cache (relative to `out`).
    public struct Entry: Sendable, Hashable {
        public var name: String
        public var cacheFile: String
    }

    public static func settingsJSON(_ s: RenderSettings) -> JSONValue {
        ["encoder": .string(s.encoder), "crf": .number(Double(s.crf)), "preset": .string(s.preset),
         "max_side": s.maxSide.map { .number(Double($0)) } ?? .null, "audio": .bool(s.audio)]
    }

    /// The entry name of a rendered clip under its source's folder: `<folder>.mp4` for a whole frame
    /// folder, `<folder>_<first>-<last>.mp4` for a part of one, `<video>_<start>-<end>.mp4` for a window.
    public static func entryName(_ c: ClipToRender) -> String {
        entryName(kind: c.kind, path: c.path, window: c.window, frameRange: c.frameRange)
    }

    /// The `videos` entry of a clip, relative to the export folder.
    public static func entry(folder: String, clip r: ClipRecord) -> String {
        r.kind == .video ? "videos/\(folder)/\(r.path)" : "videos/\(folder)/\(entryName(kind: r.kind, path: r.path, window: r.window, frameRange: r.frameRange))"
    }

    static func entryName(kind: ClipKind, path: String, window: TimeWindow?, frameRange: FrameRange?) -> String {
        switch kind {
        case .window:
            let base = (path as NSString).deletingPathExtension
            let w = window ?? TimeWindow(start: 0, end: 0)
            return base + String(format: "_%.3f-%.3f.mp4", w.start, w.end)
        case .frames, .video:
            if let r = frameRange { return "\(path)_\(r.first)-\(r.last).mp4" }
            return path + ".mp4"
        }
    }

    /// What a clip's rendered file depends on, as canonical JSON; its SHA-256 is the cache key.
    public func identity(_ c: ClipToRender, encoder: String) -> JSONValue {
        var o: [String: JSONValue] = [
            "render": .string(Self.renderVersion), "source": .string(c.source), "path": .string(c.path), "kind": .string(c.kind.rawValue),
            "size": c.fileSize.map { .number(Double($0)) } ?? .null, "mtime": c.fileMtime.map { .number($0) } ?? .null,
            "encoder": .string(encoder), "settings": Self.settingsJSON(settings),
        ]
        if let w = c.window { o["window"] = [.number(w.start), .number(w.end)] }
        if let r = c.frameRange { o["frames"] = [.number(Double(r.first)), .number(Double(r.last))] }
        if c.kind == .frames {
            o["fps"] = c.fps.map { .number($0) } ?? .null
            o["frame_count"] = c.frameCount.map { .number(Double($0)) } ?? .null
        }
        return .object(o)
    }

    /// Renders what is missing from the cache and returns every clip's entry (failed clips have none).
    public func prepare(store: Store, clips: [ClipToRender], roots: [String: String],
                        progress: (@Sendable (RenderProgress) -> Void)? = nil) throws -> (entries: [String: Entry], summary: MediaSummary) {
        let started = Date()
        let encoder = ClipRenderer.resolvedEncoder(settings)
        var summary = MediaSummary(encoder: encoder, settings: settings, needed: clips.count)
        let keyed = clips.map { c -> (ClipToRender, String, String) in
            let id = identity(c, encoder: encoder).canonical
            return (c, SHA256Digest.hex(id), id)
        }
        let known = try store.renderedMedia(keys: keyed.map(\.1))
        let fm = FileManager.default
        var entries: [String: Entry] = [:]
        var pending: [(clip: ClipToRender, key: String, identity: String)] = []
        // Clips with the same key (two people of one Aff-Wild2 window) share one file, rendered once:
        // two renders into one path at once would interleave their writes.
        var sharing: [String: [ClipToRender]] = [:]
        for (c, key, id) in keyed {
            if sharing[key] != nil { sharing[key]!.append(c); continue }
            sharing[key] = []
            let file = Self.cacheFile(key)
            let url = out.appendingPathComponent(file)
            if let row = known[key], row.status == "ok", let size = (try? fm.attributesOfItem(atPath: url.path))?[.size] as? Int64,
               row.bytes == nil || row.bytes == size {
                entries[c.uid] = Entry(name: Self.entryName(c), cacheFile: file)
                summary.cached += 1
                sharing[key] = nil
            } else {
                pending.append((c, key, id))
            }
        }

        let todo = pending
        let results = Locked<[Int: Result<RenderedMedia, RenderError>]>([:])
        let next = Locked(0)
        let counts = Locked((done: 0, failed: 0))
        let total = todo.count
        let work = Self.workList(todo.map(\.clip), jobs: jobs)
        let workers = max(1, min(jobs, work.count))
        let outPath = out.path
        let settings = self.settings
        if total > 0 {
            progress?(RenderProgress(done: 0, total: total, failed: 0))
            DispatchQueue.concurrentPerform(iterations: workers) { _ in
                while true {
                    let w = next.withLock { n -> Int in defer { n += 1 }; return n }
                    guard w < work.count else { return }
                    let items = work[w]
                    let rendered: [Result<RenderedMedia, RenderError>]
                    if items.count == 1 {
                        let item = todo[items[0]]
                        rendered = [Self.render(item.clip, root: roots[item.clip.source], settings: settings,
                                                to: outPath + "/" + Self.cacheFile(item.key))]
                    } else {
                        rendered = Self.renderWindows(items.map { (todo[$0].clip, outPath + "/" + Self.cacheFile(todo[$0].key)) },
                                                      root: roots[todo[items[0]].clip.source], settings: settings)
                    }
                    for (i, result) in zip(items, rendered) {
                        results.withLock { $0[i] = result }
                        let now = counts.withLock { c -> (done: Int, failed: Int) in
                            c.done += 1
                            if case .failure = result { c.failed += 1 }
                            return c
                        }
                        progress?(RenderProgress(done: now.done, total: total, failed: now.failed))
                    }
                }
            }
        }

        var rows: [RenderedMediaRow] = []
        var failedByKey: [String: String] = [:]
        let done = results.withLock { $0 }
        for (i, item) in todo.enumerated() {
            switch done[i] {
            case .success(let m):
                rows.append(RenderedMediaRow(key: item.key, clipUID: item.clip.uid, status: "ok", file: Self.cacheFile(item.key),
                                             encoder: m.encoder, settings: item.identity, frames: m.frames, duration: m.duration,
                                             width: m.width, height: m.height, hasAudio: m.hasAudio, bytes: m.bytes))
                entries[item.clip.uid] = Entry(name: Self.entryName(item.clip), cacheFile: Self.cacheFile(item.key))
                summary.rendered += 1
            case .failure(let e):
                rows.append(RenderedMediaRow(key: item.key, clipUID: item.clip.uid, status: "failed", file: nil, encoder: encoder,
                                             settings: item.identity, error: e.message))
                summary.failed.append(ClipFailure(clip: item.clip.uid, reason: e.message))
                failedByKey[item.key] = e.message
            case nil:
                summary.failed.append(ClipFailure(clip: item.clip.uid, reason: "not rendered"))
                failedByKey[item.key] = "not rendered"
            }
        }
        // The clips that shared a key follow the one rendered (or found) for it.
        for (key, others) in sharing where !others.isEmpty {
            for c in others {
                if let reason = failedByKey[key] {
                    summary.failed.append(ClipFailure(clip: c.uid, reason: reason))
                } else {
                    entries[c.uid] = Entry(name: Self.entryName(c), cacheFile: Self.cacheFile(key))
                    summary.cached += 1
                }
            }
        }
        try store.recordRenderedMedia(rows)
        summary.seconds = Date().timeIntervalSince(started)
        return (entries, summary)
    }

    static func cacheFile(_ key: String) -> String {
        "\(cacheFolder)/\(key.prefix(2))/\(key).mp4"
    }

    /// Windows of one video rendered in one `renderWindows` pass are cut into chunks of about this many.
    static let windowsPerChunk = 8

    /// The renders to do, as lists of indices into `clips`, largest first: the window clips of one
    /// video (same source and path), sorted by start, in contiguous chunks, one `renderWindows` pass
    /// each (a video's windows in max(1, min(jobs, ⌈count / 8⌉)) chunks of balanced sizes, so that
    /// every core has work and each pass still shares its decoding among several windows); every
    /// other clip (frame folders, a window alone on its video) on its own.
    public static func workList(_ clips: [ClipToRender], jobs: Int) -> [[Int]] {
        var groups: [String: [Int]] = [:]
        var order: [String] = []
        var work: [[Int]] = []
        for (i, c) in clips.enumerated() {
            guard c.kind == .window, c.window != nil else { work.append([i]); continue }
            let key = c.source + "\u{0}" + c.path
            if groups[key] == nil { order.append(key) }
            groups[key, default: []].append(i)
        }
        for key in order {
            let group = groups[key]!.sorted { (clips[$0].window!.start, clips[$0].window!.end, $0) < (clips[$1].window!.start, clips[$1].window!.end, $1) }
            let chunks = max(1, min(max(1, jobs), (group.count + windowsPerChunk - 1) / windowsPerChunk))
            var from = 0
            for k in 0..<chunks {
                let to = group.count * (k + 1) / chunks
                if to > from { work.append(Array(group[from..<to])) }
                from = to
            }
        }
        // The largest first, so that the last ones to finish are small.
        return work.enumerated().sorted { ($1.element.count, $0.offset) < ($0.element.count, $1.offset) }.map(\.element)
    }

    /// Creates the cache folder `output` goes in; the error when it cannot.
    static func makeFolder(for output: String) -> RenderError? {
        do {
            try FileManager.default.createDirectory(atPath: (output as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
            return nil
        } catch {
            return RenderError(path: output, message: "cannot create the media cache folder: \(error.localizedDescription)")
        }
    }

    /// Window clips of one video, each to its file, in one pass over the video.
    static func renderWindows(_ clips: [(clip: ClipToRender, output: String)], root: String?, settings: RenderSettings) -> [Result<RenderedMedia, RenderError>] {
        guard let first = clips.first?.clip else { return [] }
        guard let root else {
            return clips.map { _ in .failure(RenderError(path: first.path, message: "the source \(first.source) has no root recorded in the store")) }
        }
        let path = root + "/" + first.path
        var results = [Result<RenderedMedia, RenderError>?](repeating: nil, count: clips.count)
        var jobs: [WindowJob] = [], at: [Int] = []
        for (i, c) in clips.enumerated() {
            if let e = makeFolder(for: c.output) {
                results[i] = .failure(e)
                continue
            }
            jobs.append(WindowJob(start: c.clip.window!.start, end: c.clip.window!.end, output: c.output))
            at.append(i)
        }
        for (i, r) in zip(at, ClipRenderer.renderWindows(file: path, jobs: jobs, settings: settings)) { results[i] = r }
        return results.map { $0 ?? .failure(RenderError(path: path, message: "not rendered")) }
    }

    /// One clip to one file: the frame folder's readable frames (in range), or the window of the video.
    static func render(_ c: ClipToRender, root: String?, settings: RenderSettings, to output: String) -> Result<RenderedMedia, RenderError> {
        guard let root else { return .failure(RenderError(path: c.path, message: "the source \(c.source) has no root recorded in the store")) }
        let path = root + "/" + c.path
        if let e = makeFolder(for: output) { return .failure(e) }
        let input: RenderInput
        switch c.kind {
        case .window:
            guard let w = c.window else { return .failure(RenderError(path: path, message: "a window clip without its window")) }
            input = .window(file: path, start: w.start, end: w.end)
        case .frames, .video:
            guard let fps = c.fps, fps > 0 else {
                return .failure(RenderError(path: path, message: "the frame folder has no frame rate; set the source's `fps` option in sources.yaml"))
            }
            do {
                let frames = try FrameFolder.readableFrames(in: path, range: c.frameRange)
                guard !frames.isEmpty else { return .failure(RenderError(path: path, message: "no readable frame to render")) }
                input = .frames(paths: frames.map { path + "/" + $0 }, fps: fps)
            } catch {
                return .failure(RenderError(path: path, message: error.message))
            }
        }
        do {
            return .success(try ClipRenderer.render(input, settings: settings, to: output))
        } catch {
            return .failure(error)
        }
    }

    // MARK: - The videos/ folder

    /// Lays out `DIR/videos/<Folder>` for every source whose clips the files name: a link to the
    /// source root when every exported clip of it is a whole video file (and videos are not copied),
    /// else a folder of links: relative ones into the media cache for rendered clips, absolute ones
    /// to the dataset's files for whole videos (or copies, and hard links into the cache, with
    /// `copyVideos`). Returns what could not be done, one line per clip or source.
    public static func layOut(out: URL, folders: [String: String], roots: [String: String], sources used: Set<String>,
                              whole: [String: Set<String>], rendered: [String: [Entry]], copyVideos: Bool) throws -> [String] {
        let fm = FileManager.default
        let videos = out.appendingPathComponent("videos")
        try fm.createDirectory(at: videos, withIntermediateDirectories: true)
        var problems: [String] = []
        for source in used.sorted() {
            guard let folderName = folders[source] else { continue }
            let folder = videos.appendingPathComponent(folderName)
            guard let root = roots[source] else { problems.append("\(source): no root recorded in the store"); continue }
            let isLink = (try? fm.destinationOfSymbolicLink(atPath: folder.path)) != nil
            let entries = rendered[source] ?? []
            if entries.isEmpty && !copyVideos {
                if (try? fm.destinationOfSymbolicLink(atPath: folder.path)) == root { continue }
                // A folder an earlier export made (rendered clips, copies) gives way to the link.
                try? fm.removeItem(at: folder)
                do { try fm.createSymbolicLink(atPath: folder.path, withDestinationPath: root) } catch {
                    problems.append("\(folder.path): cannot link to \(root): \(error.localizedDescription)")
                }
                continue
            }
            // A link from an earlier export would make the entries land in the dataset itself.
            if isLink { try fm.removeItem(at: folder) }
            try fm.createDirectory(at: folder, withIntermediateDirectories: true)
            for path in (whole[source] ?? []).sorted() {
                let from = root + "/" + path
                let to = folder.appendingPathComponent(path)
                do {
                    try fm.createDirectory(at: to.deletingLastPathComponent(), withIntermediateDirectories: true)
                    if copyVideos {
                        if fm.fileExists(atPath: to.path) { continue }
                        try fm.copyItem(atPath: from, toPath: to.path)
                    } else {
                        if (try? fm.destinationOfSymbolicLink(atPath: to.path)) == from { continue }
                        try? fm.removeItem(at: to)
                        try fm.createSymbolicLink(atPath: to.path, withDestinationPath: from)
                    }
                } catch {
                    problems.append("\(from): cannot \(copyVideos ? "copy" : "link") to \(to.path): \(error.localizedDescription)")
                }
            }
            for e in entries {
                let to = folder.appendingPathComponent(e.name)
                // From the entry's folder up to DIR, then down into the cache.
                let depth = 2 + e.name.split(separator: "/").count - 1
                let relative = String(repeating: "../", count: depth) + e.cacheFile
                do {
                    try fm.createDirectory(at: to.deletingLastPathComponent(), withIntermediateDirectories: true)
                    if copyVideos {
                        try? fm.removeItem(at: to)
                        if link(out.appendingPathComponent(e.cacheFile).path, to.path) != 0 {
                            try fm.copyItem(at: out.appendingPathComponent(e.cacheFile), to: to)
                        }
                    } else {
                        if (try? fm.destinationOfSymbolicLink(atPath: to.path)) == relative { continue }
                        try? fm.removeItem(at: to)
                        try fm.createSymbolicLink(atPath: to.path, withDestinationPath: relative)
                    }
                } catch {
                    problems.append("\(e.cacheFile): cannot place it at \(to.path): \(error.localizedDescription)")
                }
            }
        }
        // Links of sources no file names any more (a renamed folder, a source gone).
        let current = Set(used.compactMap { folders[$0] })
        for name in (try? fm.contentsOfDirectory(atPath: videos.path)) ?? [] where !current.contains(name) {
            let p = videos.appendingPathComponent(name).path
            if (try? fm.destinationOfSymbolicLink(atPath: p)) != nil { try? fm.removeItem(atPath: p) }
        }
        return problems
    }
}

/// A value shared between the render workers.
final class Locked<Value>: @unchecked Sendable {
    private var value: Value
    private let lock = NSLock()
    init(_ value: Value) { self.value = value }
    func withLock<T>(_ body: (inout Value) -> T) -> T {
        lock.lock()
        defer { lock.unlock() }
        return body(&value)
    }
}

