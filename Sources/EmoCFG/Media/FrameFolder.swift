import Foundation

/// A clip stored as a folder of frame images (CASME, FERV39K, DFEW's aligned crops, …).
///
/// Frames are counted and sorted naturally (`img2` before `img10`); the resolution comes from
/// decoding the first frame's header in-process; the frame rate is the dataset's known rate (from
/// `sources.yaml`), since images carry none; duration = frames / fps.
public enum FrameFolder {
    public static let imageExtensions: Set<String> = ["jpg", "jpeg", "png", "bmp"]

    /// What probing a frame folder found: the media facts, and the names of files that are not
    /// frames (reported, then ignored).
    public struct Result: Sendable, Equatable {
        public var probe: ProbeResult
        public var frames: [String]
        public var strays: [String]
    }

    /// The frame images in `path`, in natural order, and the other files found there.
    public static func list(_ path: String) throws(ProbeError) -> (frames: [String], strays: [String]) {
        let names: [String]
        do { names = try FileManager.default.contentsOfDirectory(atPath: path) } catch {
            throw ProbeError(path: path, message: "cannot list the frame folder: \(error.localizedDescription)")
        }
        var frames: [String] = [], strays: [String] = []
        for n in names where !n.hasPrefix(".") {
            if imageExtensions.contains((n as NSString).pathExtension.lowercased()) { frames.append(n) } else { strays.append(n) }
        }
        return (NaturalOrder.sorted(frames), NaturalOrder.sorted(strays))
    }

    /// Counts and measures the folder at `path`. `fps` is the dataset's rate; without it duration
    /// and fps stay unknown.
    public static func probe(path: String, fps: Double?) throws(ProbeError) -> Result {
        let (frames, strays) = try list(path)
        guard let first = frames.first else {
            let extra = strays.isEmpty ? "" : " (it holds only: \(strays.prefix(5).joined(separator: ", ")))"
            throw ProbeError(path: path, message: "no frame images (.jpg, .jpeg, .png, .bmp) in the folder\(extra)")
        }
        let firstFrame: ProbeResult
        do { firstFrame = try MediaProbe.probe(path: path + "/" + first) } catch {
            throw ProbeError(path: path, message: "first frame \(first) cannot be read: \(error.message)")
        }
        var r = ProbeResult()
        r.width = firstFrame.width
        r.height = firstFrame.height
        r.codec = firstFrame.codec
        r.container = "frames"
        r.frameCount = frames.count
        r.frameCountExact = true
        r.fps = fps
        r.duration = fps.map { Double(frames.count) / $0 }
        return Result(probe: r, frames: frames, strays: strays)
    }
}
