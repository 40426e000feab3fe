import EmoCFG
import Foundation

/// What the face pass of one source did, for the summary.
public struct FacePassCounts: Codable, Sendable, Equatable {
    /// Clips the detector searched on this run.
    public var searched = 0
    /// Clips whose earlier search still stands (same file, detector and settings), not searched again.
    public var cached = 0
    /// Of the clips searched or cached: how many have a face, and how many have none.
    public var withFace = 0
    public var noFace = 0
    /// Clips whose frames could not be searched (recorded as problems).
    public var failed = 0
    /// Clips left unsearched because the run was told not to search (`--no-faces`).
    public var notSearched = 0
    /// Clips with a box from the dataset or a sidecar, which the detector leaves alone.
    public var givenBoxes = 0

    public init() {}

    enum CodingKeys: String, CodingKey {
        case searched, cached
        case withFace = "with_face"
        case noFace = "no_face"
        case failed
        case notSearched = "not_searched"
        case givenBoxes = "given_boxes"
    }
}

extension IngestRunner {
    /// The media key a clip's face search is stored under: its path, plus the window's times or
    /// the frame range, so each window of one video has its own search.
    static func faceMediaKey(_ clip: StoredClip) -> String {
        let r = clip.record
        if let w = r.window { return r.path + String(format: "#t=%.3f-%.3f", w.start, w.end) }
        if let range = r.frameRange { return r.path + "#frames=\(range.first)-\(range.last)" }
        return r.path
    }

    /// Searches the source's readable clips without a dataset or sidecar box for faces, reusing
    /// every stored search whose file, detector and settings are unchanged; writes the boxes, views
    /// and counts on the clips and records clips that could not be searched as problems.
    func searchFaces(
        _ source: SourceConfig, progress: @escaping @Sendable (IngestEvent) -> Void
    ) async throws -> FacePassCounts {
        var counts = FacePassCounts()
        let clips = try store.clips(source: source.name).filter { $0.status == .ok }
        let thresholds = config.viewThresholds
        guard source.faces.enabled else {
            // Off for this source: nothing the detector wrote stays on its clips (the searches stay
            // stored, so turning it back on costs nothing for unchanged files).
            let written = try store.clipFaceSearchState(source: source.name)
            try store.applyFaceSearches(written.keys.sorted().map { ($0, nil) }, thresholds: thresholds)
            counts.givenBoxes = clips.filter { $0.face.map { !$0.origin.isDetector } ?? false }.count
            return counts
        }
        let identity = detectors.identity
        let settings = source.faces.options.cacheKey
        let stored = try store.faceSearches(source: source.name)
        let onClips = try store.clipFaceSearchState(source: source.name)

        var apply: [(uid: String, result: FaceSearchResult?)] = []
        var toSearch: [String: [StoredClip]] = [:]
        var problemsFor = Set<String>()
        for clip in clips {
            if let face = clip.face, !face.origin.isDetector {
                counts.givenBoxes += 1
                continue
            }
            let key = Self.faceMediaKey(clip)
            if let row = stored[key], row.matches(size: clip.fileSize, mtime: clip.fileMtime, detector: identity, settings: settings) {
                counts.cached += 1
                guard let result = row.result else {
                    counts.failed += 1
                    continue
                }
                if result.box != nil { counts.withFace += 1 } else { counts.noFace += 1 }
                let now = onClips[clip.uid]
                if now?.searchedBy != identity || now?.facesSeen != result.facesSeen || clip.face != result.box {
                    apply.append((clip.uid, result))
                }
                continue
            }
            guard searchFacesThisRun else {
                counts.notSearched += 1
                continue
            }
            toSearch[key, default: []].append(clip)
        }
        try store.applyFaceSearches(apply, thresholds: thresholds)

        let keys = toSearch.keys.sorted()
        progress(.facesStarted(name: source.name, toSearch: keys.count))
        guard !keys.isEmpty else { return counts }
        let root = source.root.path
        let options = source.faces.options
        let pool = detectors
        var rows: [Store.FaceSearchRow] = []
        var updates: [(uid: String, result: FaceSearchResult?)] = []
        var problems: [StoredProblem] = []
        func flush() throws {
            try store.saveFaceSearches(source: source.name, rows)
            try store.applyFaceSearches(updates, thresholds: thresholds)
            try store.replaceProblems(source: source.name, phase: .faces, clips: problemsFor, with: problems)
            rows.removeAll(keepingCapacity: true)
            updates.removeAll(keepingCapacity: true)
            problems.removeAll(keepingCapacity: true)
            problemsFor.removeAll(keepingCapacity: true)
        }
        var done = 0
        let jobs: [(key: String, clip: StoredClip)] = keys.map { ($0, toSearch[$0]![0]) }
        var failure: (any Error)?
        await forEachBounded(jobs, width: self.jobs, { job -> (String, Result<FaceSearchResult, FrameSamplingError>) in
            let result = Result { () throws(FrameSamplingError) in
                do {
                    return try pool.with { detector in try FaceSearch.search(clip: job.clip, root: root, options: options, detector: detector) }
                } catch let e as FrameSamplingError {
                    throw e
                } catch {
                    throw FrameSamplingError(path: job.clip.record.path, message: "\(error)")
                }
            }
            return (job.key, result)
        }) { output in
            let (key, result) = output
            let sharing = toSearch[key]!
            let first = sharing[0]
            counts.searched += sharing.count
            for clip in sharing { problemsFor.insert(clip.uid) }
            switch result {
            case .success(let found):
                rows.append(Store.FaceSearchRow(media: key, size: first.fileSize, mtime: first.fileMtime, detector: identity,
                                                settings: settings, result: found, error: nil))
                for clip in sharing { updates.append((clip.uid, found)) }
                if found.box != nil { counts.withFace += sharing.count } else { counts.noFace += sharing.count }
            case .failure(let e):
                rows.append(Store.FaceSearchRow(media: key, size: first.fileSize, mtime: first.fileMtime, detector: identity,
                                                settings: settings, result: nil, error: e.message))
                counts.failed += sharing.count
                for clip in sharing {
                    updates.append((clip.uid, nil))
                    problems.append(StoredProblem(source: source.name, clipUID: clip.uid, phase: .faces, problem: IngestProblem(
                        clipKey: clip.record.key, kind: .faceSearchFailed, location: SourceLocation(file: clip.record.path),
                        message: "the face search could not read the frames of \(clip.record.path): \(e.message)")))
                }
            }
            done += 1
            if done % 16 == 0 || done == jobs.count { progress(.facesSearched(name: source.name, done: done, total: jobs.count)) }
            if rows.count >= batchSize {
                do { try flush() } catch {
                    failure = error
                    return false
                }
            }
            return true
        }
        if let failure { throw failure }
        try flush()
        return counts
    }
}
