import EmoCFG
import Foundation
import Logging

/// What one source's ingest did, as the closing summary table shows it.
public struct SourceSummary: Codable, Sendable, Equatable {
    public enum Outcome: String, Codable, Sendable {
        /// The source was scanned and stored.
        case done
        /// The root is not on this machine (or the entry is disabled): nothing to do, not an error.
        case skipped
        /// The adapter could read nothing at all; the reason is in `note`.
        case failed
    }
    public var name: String
    public var outcome: Outcome
    /// Clips the adapter listed.
    public var found = 0
    /// Clips whose media was probed on this run.
    public var probed = 0
    /// Clips with at least one normalised label.
    public var labelled = 0
    /// Problems recorded for the source (rows, labels, files, probing), new or still standing.
    public var errors = 0
    /// Clips skipped because nothing about them (record, file size, mtime) changed since the last run.
    public var skipped = 0
    /// Clips written (new or changed) on this run.
    public var written = 0
    /// What the face detector did (nil when it did not run for this source).
    public var faces: FacePassCounts?
    public var note: String?

    public init(name: String, outcome: Outcome, note: String? = nil) {
        self.name = name
        self.outcome = outcome
        self.note = note
    }
}

/// Progress of an ingest run, for the command line to draw.
public enum IngestEvent: Sendable {
    case sourceStarted(name: String, clips: Int, toProbe: Int)
    case probed(name: String, done: Int, total: Int)
    /// The face pass starts: `toSearch` pieces of media are not cached and will be searched.
    case facesStarted(name: String, toSearch: Int)
    case facesSearched(name: String, done: Int, total: Int)
    case sourceFinished(SourceSummary)
}

/// Runs the adapters of `sources.yaml` and stores their clips: checks files, probes media in
/// parallel, attaches face boxes (the dataset's, a sidecar's, else the face detector's), and
/// upserts in batches. Reruns redo only what changed.
public struct IngestRunner: Sendable {
    public var store: Store
    public var config: SourcesConfig
    /// How many videos to probe at once.
    public var jobs: Int
    /// Rows per write transaction.
    public var batchSize = 500
    /// Whether clips whose faces are not cached are searched on this run (`--no-faces` turns it
    /// off; cached searches are still applied, and `faces: off` in sources.yaml removes them).
    public var searchFacesThisRun = true
    /// The face detectors the face pass uses (dlib's HOG detector unless a test swaps it).
    public var detectors: FaceDetectorPool = .dlib()
    var logger = Logger(label: "emocfg.ingest")

    public init(store: Store, config: SourcesConfig, jobs: Int = ProcessInfo.processInfo.activeProcessorCount) {
        self.store = store
        self.config = config
        self.jobs = max(1, jobs)
    }

    /// Checks that every named source exists and every enabled source's adapter accepts its options,
    /// before any work starts, so a bad `sources.yaml` fails without touching the store.
    public func plan(sources names: [String]?) throws -> [(SourceConfig, any DatasetAdapter)] {
        try Self.plan(config, sources: names)
    }

    /// The same check without a store, so a bad configuration is reported before any file is created.
    public static func plan(_ config: SourcesConfig, sources names: [String]?) throws -> [(SourceConfig, any DatasetAdapter)] {
        let known = config.sources.map(\.name)
        for n in names ?? [] where !known.contains(n) {
            throw ConfigError(file: config.file, line: nil, key: n,
                              message: "no such source; sources in this file: \(known.joined(separator: ", "))")
        }
        return try config.sources
            .filter { names == nil || names!.contains($0.name) }
            .map { ($0, try AdapterRegistry.make(for: $0)) }
    }

    public func run(sources names: [String]? = nil, progress: @escaping @Sendable (IngestEvent) -> Void = { _ in }) async throws -> [SourceSummary] {
        var summaries: [SourceSummary] = []
        for (source, adapter) in try plan(sources: names) {
            let summary = try await ingest(source, adapter: adapter, progress: progress)
            progress(.sourceFinished(summary))
            summaries.append(summary)
        }
        return summaries
    }

    // MARK: - One source

    struct Pending {
        var uid: String
        var record: ClipRecord
        var hash: String
        var state: MediaFileState
        var old: StoredClip?
        var probe: ProbeResult?
        var status: ClipStatus = .ok
        var error: String?
        var mediaProblems: [IngestProblem] = []
        var recheckMedia: Bool
    }

    func ingest(_ source: SourceConfig, adapter: any DatasetAdapter, progress: @escaping @Sendable (IngestEvent) -> Void) async throws -> SourceSummary {
        guard source.enabled else { return SourceSummary(name: source.name, outcome: .skipped, note: "disabled in sources.yaml") }
        var isDir: ObjCBool = false
        guard FileManager.default.fileExists(atPath: source.root.path, isDirectory: &isDir), isDir.boolValue else {
            return SourceSummary(name: source.name, outcome: .skipped, note: "root \(source.root.path) is not on this machine")
        }
        let adapterType = type(of: adapter)
        try store.upsertSource(SourceRow(name: source.name, root: source.root.path, adapter: adapterType.name,
                                         adapterVersion: adapterType.version, licence: source.licence,
                                         exportName: source.exportName))

        let old = Dictionary(try store.clips(source: source.name).map { ($0.uid, $0) }, uniquingKeysWith: { a, _ in a })
        let context = ScanContext(sourceName: source.name, root: source.root, known: try store.mediaProbes(source: source.name))
        var summary = SourceSummary(name: source.name, outcome: .done)
        let records: [ClipRecord]
        do {
            records = try adapter.scan(context)
        } catch {
            let p = StoredProblem(source: source.name, clipUID: nil, phase: .scan,
                                  problem: IngestProblem(kind: .unreadableLabelFile, message: "\(error)"))
            try store.replaceProblems(source: source.name, phase: .scan, with: [p] + context.problems.map {
                StoredProblem(source: source.name, clipUID: $0.clipKey.map { source.name + "/" + $0 }, phase: .scan, problem: $0)
            })
            summary.outcome = .failed
            summary.note = "\(error)"
            summary.errors = try store.problems(source: source.name).count
            return summary
        }

        let sidecar = source.faceBoxes.map(FaceBoxSidecar.init(config:))

        // Scan problems: the adapter's, each clip's label problems, duplicate keys, sidecar rows.
        var scanProblems = context.problems.map {
            StoredProblem(source: source.name, clipUID: $0.clipKey.map { source.name + "/" + $0 }, phase: .scan, problem: $0)
        }
        scanProblems += (sidecar?.problems ?? []).map { StoredProblem(source: source.name, clipUID: nil, phase: .scan, problem: $0) }
        var pending: [Pending] = []
        var seen = Set<String>()
        for record in records {
            let uid = source.name + "/" + record.key
            guard seen.insert(uid).inserted else {
                scanProblems.append(StoredProblem(source: source.name, clipUID: uid, phase: .scan, problem: IngestProblem(
                    clipKey: record.key, kind: .badRow, location: record.labelOrigin,
                    message: "clip key '\(record.key)' appears again; the first row was kept")))
                continue
            }
            for message in record.labelProblems {
                scanProblems.append(StoredProblem(source: source.name, clipUID: uid, phase: .scan, problem: IngestProblem(
                    clipKey: record.key, kind: .badLabel, location: record.labelOrigin ?? SourceLocation(file: record.path), message: message)))
            }
            let sidecarRows = sidecar?.rows(key: record.key, path: record.path).map { "\($0)" } ?? ""
            let hash = StableHash.hex(CanonicalJSON.encode(record) + "|v\(adapterType.version)|" + sidecarRows)
            let state = MediaFileState.check(context.url(record.path).path, expectDirectory: record.kind == .frames)
            let previous = old[uid]
            let fileChanged = previous == nil || previous!.fileSize != state.size || previous!.fileMtime != state.mtime
                || (previous!.status == .gone)
            let recordChanged = previous?.recordHash != hash
            if !fileChanged && !recordChanged {
                summary.skipped += 1
                continue
            }
            pending.append(Pending(uid: uid, record: record, hash: hash, state: state, old: previous, recheckMedia: fileChanged))
        }
        summary.found = seen.count

        // Media: what the file system says, then libavformat for the files that changed.
        // What to measure -> indices into pending: windows share their video's probe; clips of one
        // frame folder share it only when they select the same frame range.
        var toProbe: [MediaKey: [Int]] = [:]
        for i in pending.indices {
            guard pending[i].recheckMedia else {
                pending[i].probe = pending[i].old?.probe
                pending[i].status = pending[i].old?.status ?? .ok
                pending[i].error = pending[i].old?.error
                continue
            }
            let r = pending[i].record
            let location = r.labelOrigin ?? SourceLocation(file: r.path)
            switch pending[i].state.outcome {
            case .missing:
                pending[i].status = .missing
                let msg = r.labelOrigin != nil
                    ? "label row \(location) names \(r.path), which does not exist"
                    : "\(r.path) does not exist"
                pending[i].error = msg
                pending[i].mediaProblems.append(IngestProblem(clipKey: r.key, kind: .missingFile, location: location, message: msg))
            case .unreadable(let why):
                pending[i].status = .unreadable
                pending[i].error = "\(r.path): \(why)"
                pending[i].mediaProblems.append(IngestProblem(clipKey: r.key, kind: .unreadableMedia, location: SourceLocation(file: r.path), message: "\(r.path): \(why)"))
            case .directory, .regularFile:
                toProbe[MediaKey(path: r.path, range: r.kind == .frames ? r.frameRange : nil), default: []].append(i)
            }
        }

        let paths = Array(toProbe.keys).sorted()
        let media = paths.map { key -> MediaJob in
            let first = pending[toProbe[key]![0]].record
            return MediaJob(path: context.url(key.path).path, frames: first.kind == .frames, fps: first.frameRate, range: key.range)
        }
        progress(.sourceStarted(name: source.name, clips: seen.count, toProbe: paths.count))
        let results = await probeAll(media) { done in
            progress(.probed(name: source.name, done: done, total: paths.count))
        }
        var freshProbes: [Store.MediaProbeRow] = []
        for (key, result) in zip(paths, results) {
            let path = key.path
            if case .success(let found) = result, let i = toProbe[key]?.first {
                // Stored under a key of its own per range, so no range's count stands for another's
                // (or for the whole folder's).
                freshProbes.append(Store.MediaProbeRow(path: key.storeKey, size: pending[i].state.size, mtime: pending[i].state.mtime, probe: found.probe))
            }
            for i in toProbe[key]! {
                switch result {
                case .success(let found):
                    var probe = found.probe
                    for stray in found.strays {
                        pending[i].mediaProblems.append(IngestProblem(
                            clipKey: pending[i].record.key, kind: .strayFile, location: SourceLocation(file: path + "/" + stray),
                            message: "\(path)/\(stray) is not a frame image (.jpg, .jpeg, .png, .bmp); the folder's other frames are used"))
                    }
                    for frame in found.unreadable {
                        let span = key.range.map { " of frames \($0.first)..\($0.last)" } ?? ""
                        pending[i].mediaProblems.append(IngestProblem(
                            clipKey: pending[i].record.key, kind: .unreadableMedia, location: SourceLocation(file: path + "/" + frame.name),
                            message: "frame \(frame.name) in \(path): \(frame.reason); left out of the \(probe.frameCount ?? 0) readable frames\(span) counted"))
                    }
                    if let w = pending[i].record.window {
                        probe.duration = w.length
                        probe.frameCount = probe.fps.map { Int((w.length * $0).rounded()) }
                        probe.frameCountExact = false
                    }
                    pending[i].probe = probe
                    summary.probed += 1
                case .failure(let e):
                    pending[i].status = .failed
                    pending[i].error = "\(pending[i].record.path): \(e.message)"
                    pending[i].mediaProblems.append(IngestProblem(
                        clipKey: pending[i].record.key, kind: .probeFailed, location: SourceLocation(file: pending[i].record.path),
                        message: pending[i].record.kind == .frames ? "\(path): \(e.message)" : "libavformat \(e.message)"))
                }
            }
        }

        // Write in batches: clip rows first, then the media problems of the clips rechecked.
        let thresholds = config.viewThresholds
        var rows: [StoredClip] = []
        var mediaProblems: [StoredProblem] = []
        var rechecked = Set<String>()
        func flush() throws {
            try store.upsertClips(rows)
            try store.replaceProblems(source: source.name, phase: .media, clips: rechecked, with: mediaProblems)
            summary.written += rows.count
            rows.removeAll(keepingCapacity: true)
            mediaProblems.removeAll(keepingCapacity: true)
            rechecked.removeAll(keepingCapacity: true)
        }
        for p in pending {
            let face = p.record.faceBox.flatMap { box in box.clamped() }
                ?? sidecar?.box(key: p.record.key, path: p.record.path, frameWidth: p.probe?.width, frameHeight: p.probe?.height)
            rows.append(StoredClip(
                uid: p.uid, source: source.name, record: p.record, probe: p.probe, face: face,
                view: face.map { thresholds.classify($0.areaRatio) }, fileSize: p.state.size, fileMtime: p.state.mtime,
                recordHash: p.hash, status: p.status, error: p.error))
            if p.recheckMedia {
                rechecked.insert(p.uid)
                mediaProblems += p.mediaProblems.map { StoredProblem(source: source.name, clipUID: p.uid, phase: .media, problem: $0) }
            }
            if rows.count >= batchSize { try flush() }
        }
        try flush()
        try store.replaceProblems(source: source.name, phase: .scan, with: scanProblems)
        try store.saveMediaProbes(source: source.name, context.newProbes + freshProbes)
        try store.markGone(source: source.name, present: seen)
        summary.faces = try await searchFaces(source, progress: progress)

        let counts = try store.sourceCounts()[source.name] ?? SourceCounts()
        summary.labelled = counts.labelled
        summary.errors = counts.errors
        logger.info("ingested \(source.name): \(summary.found) clips, \(summary.probed) probed, \(summary.errors) problems")
        return summary
    }

    /// What one probe measures: a file, a whole frame folder, or the frames of a folder in a range.
    struct MediaKey: Hashable, Comparable {
        var path: String
        var range: FrameRange?

        static func < (a: MediaKey, b: MediaKey) -> Bool {
            (a.path, a.range?.first ?? Int.min, a.range?.last ?? Int.min) < (b.path, b.range?.first ?? Int.min, b.range?.last ?? Int.min)
        }

        /// The `media_probes` key: the path, plus `#frames=<first>-<last>` for a range.
        var storeKey: String { range.map { "\(path)#frames=\($0.first)-\($0.last)" } ?? path }
    }

    /// What measuring one piece of media found: the facts, and for a frame folder the files in it
    /// that are not frames and the images left out as unreadable.
    struct MediaFound: Sendable {
        var probe: ProbeResult
        var strays: [String] = []
        var unreadable: [FrameFolder.UnreadableFrame] = []
    }

    /// One file or frame folder (or range of one) to measure.
    struct MediaJob: Sendable {
        var path: String
        var frames: Bool
        var fps: Double?
        var range: FrameRange?

        func run() -> Result<MediaFound, ProbeError> {
            Result { () throws(ProbeError) in
                if frames {
                    let folder = try FrameFolder.probe(path: path, fps: fps, range: range)
                    return MediaFound(probe: folder.probe, strays: folder.strays, unreadable: folder.unreadable)
                }
                return MediaFound(probe: try MediaProbe.probe(path: path))
            }
        }
    }

    /// Probes `media` on `jobs` threads at once, returning results in input order.
    func probeAll(_ media: [MediaJob], progress: @escaping @Sendable (Int) -> Void) async -> [Result<MediaFound, ProbeError>] {
        var results = [Result<MediaFound, ProbeError>?](repeating: nil, count: media.count)
        var done = 0
        await forEachBounded(Array(media.enumerated()), width: jobs, { item in (item.offset, item.element.run()) }) { output in
            results[output.0] = output.1
            done += 1
            if done % 16 == 0 || done == media.count { progress(done) }
            return true
        }
        return results.map { $0! }
    }
}
