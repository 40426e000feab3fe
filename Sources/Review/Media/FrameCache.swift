import EmoCFG
import Foundation

/// Frames sampled from clips for the item page, kept for the most recently shown clips: a page and
/// its image requests sample a clip once.
actor FrameCache {
    /// Frames per clip, and the most pixels one may have (no face crop: the page draws the box).
    static let options = FrameSamplingOptions(count: 8, pixelBudget: 640 * 360, jpegQScale: 4, decoderThreads: 1)

    private var frames: [String: [SampledFrame]] = [:]
    private var errors: [String: String] = [:]
    private var order: [String] = []
    private let capacity: Int

    init(capacity: Int = 24) { self.capacity = capacity }

    /// The frames of `clip`, sampled from `path` (already checked to be inside the source root);
    /// the reason when they cannot be read.
    func frames(of clip: StoredClip, path: String) -> Result<[SampledFrame], FrameSamplingError> {
        if let f = frames[clip.uid] { return .success(f) }
        if let e = errors[clip.uid] { return .failure(FrameSamplingError(path: clip.record.path, message: e)) }
        let result: Result<[SampledFrame], FrameSamplingError>
        do {
            switch clip.record.kind {
            case .frames:
                result = .success(try FrameSampler.sample(frames: path, fps: clip.record.frameRate, range: clip.record.frameRange, options: Self.options))
            case .video, .window:
                result = .success(try FrameSampler.sample(video: path, window: clip.record.window, options: Self.options))
            }
        } catch {
            result = .failure(error)
        }
        switch result {
        case .success(let f): frames[clip.uid] = f
        case .failure(let e): errors[clip.uid] = e.message
        }
        order.removeAll { $0 == clip.uid }
        order.append(clip.uid)
        while order.count > capacity {
            let old = order.removeFirst()
            frames[old] = nil
            errors[old] = nil
        }
        return result
    }
}
