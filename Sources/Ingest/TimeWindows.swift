import EmoCFG
import Foundation

/// How frame-level labels become one label for a time window (`aggregate` in `sources.yaml`).
public enum WindowAggregate: String, Sendable, CaseIterable {
    /// The class most valid frames carry; a flag that is on in more than half of the valid frames;
    /// the mean of a continuous value.
    case majority
    /// Every class some valid frame carries; a flag that is on in at least one valid frame; the mean
    /// of a continuous value.
    case any
}

/// A `[firstFrame, endFrame)` run of a video's frames, and the seconds it covers at `fps`.
public struct FrameSpan: Equatable, Sendable {
    public var firstFrame: Int
    public var endFrame: Int
    public var fps: Double

    public init(firstFrame: Int, endFrame: Int, fps: Double) {
        self.firstFrame = firstFrame
        self.endFrame = endFrame
        self.fps = fps
    }

    public var frames: Range<Int> { firstFrame..<endFrame }
    public var count: Int { endFrame - firstFrame }
    /// The span in seconds: frame `i` starts at `i / fps`.
    public var window: TimeWindow { TimeWindow(start: Double(firstFrame) / fps, end: Double(endFrame) / fps) }
}

/// Cuts a long video into time windows and aggregates frame-level labels over each window, for
/// datasets annotated per frame (AffWild2). Invalid frames (markers such as `-1` or `-5`) are passed
/// in as `nil` and never count.
public enum TimeWindows {
    /// Windows of `window` seconds every `stride` seconds over `frameCount` frames at `fps`.
    ///
    /// Lengths are rounded to whole frames (at least one). Windows start at frame 0 and every stride
    /// after it; the last window is cut short at the end of the video, and cutting stops once a
    /// window reaches the end, so every frame is covered (when `stride <= window`) and no window lies
    /// inside the one before it. Empty when there are no frames or the rate is not positive.
    public static func cut(frameCount: Int, fps: Double, window: Double, stride: Double) -> [FrameSpan] {
        guard frameCount > 0, fps > 0, fps.isFinite, window > 0, stride > 0 else { return [] }
        let length = max(1, Int((window * fps).rounded()))
        let step = max(1, Int((stride * fps).rounded()))
        var out: [FrameSpan] = []
        var start = 0
        while start < frameCount {
            let end = min(start + length, frameCount)
            out.append(FrameSpan(firstFrame: start, endFrame: end, fps: fps))
            if end == frameCount { break }
            start += step
        }
        return out
    }

    /// The class most valid frames carry; a tie goes to the class that appears first in time. Nil
    /// when no frame is valid.
    public static func majority<T: Hashable>(_ values: some Sequence<T?>) -> T? {
        var counts: [T: Int] = [:]
        var order: [T] = []
        for case let v? in values {
            if counts[v] == nil { order.append(v) }
            counts[v, default: 0] += 1
        }
        var best: (value: T, count: Int)?
        for v in order where counts[v]! > best?.count ?? 0 { best = (v, counts[v]!) }
        return best?.value
    }

    /// Every class a valid frame carries, in order of first appearance.
    public static func present<T: Hashable>(_ values: some Sequence<T?>) -> [T] {
        var seen = Set<T>()
        var out: [T] = []
        for case let v? in values where seen.insert(v).inserted { out.append(v) }
        return out
    }

    /// Whether a flag (an action unit) is on over the window: on in more than half of the valid
    /// frames (`majority`) or in at least one (`any`). Nil when no frame is valid.
    public static func flag(_ values: some Sequence<Bool?>, rule: WindowAggregate) -> Bool? {
        var valid = 0, on = 0
        for case let v? in values {
            valid += 1
            if v { on += 1 }
        }
        guard valid > 0 else { return nil }
        switch rule {
        case .majority: return on * 2 > valid
        case .any: return on > 0
        }
    }

    /// The mean of the valid frames' values; nil when no frame is valid.
    public static func mean(_ values: some Sequence<Double?>) -> Double? {
        var sum = 0.0, n = 0
        for case let v? in values {
            sum += v
            n += 1
        }
        return n == 0 ? nil : sum / Double(n)
    }

    /// Frame values written compactly and exactly as given, runs collapsed: `4*2 -1 0*3`.
    public static func runLength(_ values: some Sequence<String>) -> String {
        var runs: [(String, Int)] = []
        for v in values {
            if let last = runs.last, last.0 == v {
                runs[runs.count - 1].1 += 1
            } else {
                runs.append((v, 1))
            }
        }
        return runs.map { $0.1 == 1 ? $0.0 : "\($0.0)*\($0.1)" }.joined(separator: " ")
    }
}
