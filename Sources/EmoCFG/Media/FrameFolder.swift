import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// A clip stored as a folder of frame images (CASME, FERV39K, DFEW's aligned crops, …).
///
/// Frames are sorted naturally (`img2` before `img10`). Every image is checked cheaply — more than
/// zero bytes and a JPEG, PNG or BMP header in its first bytes, whatever its extension says — and
/// only readable frames are counted; the others are listed with the reason. The resolution comes
/// from decoding the first readable frame's header in-process; the frame rate is the dataset's known
/// rate (from `sources.yaml`), since images carry none; duration = frames / fps.
///
/// Frame numbers: an image's number is the trailing integer of its file stem (`img123.jpg` → 123,
/// `00001_00012.jpg` → 12, `EP01_5-17.jpg` → 17). When some image of the folder has no trailing
/// number, or two images share one, every image is numbered by its 1-based place in natural order
/// instead (unreadable images keep their place). A `FrameRange` selects images by these numbers.
public enum FrameFolder {
    public static let imageExtensions: Set<String> = ["jpg", "jpeg", "png", "bmp"]

    /// An image left out of the count, and why (`zero bytes`, `not a JPEG, PNG or BMP image …`).
    public struct UnreadableFrame: Sendable, Equatable {
        public var name: String
        public var reason: String
        public init(name: String, reason: String) {
            self.name = name
            self.reason = reason
        }
    }

    /// What probing a frame folder found: the media facts, the readable frames counted (in the
    /// range, when one was given), the images left out as unreadable (in the range), and the names of
    /// files that are not frames (reported, then ignored).
    public struct Result: Sendable, Equatable {
        public var probe: ProbeResult
        public var frames: [String]
        public var strays: [String]
        public var unreadable: [UnreadableFrame] = []
    }

    /// The images of a folder with their frame numbers, checked, and the other files found there.
    public struct Selection: Sendable {
        /// Readable images in display order, with their frame numbers.
        public var readable: [(name: String, number: Int)]
        public var unreadable: [UnreadableFrame]
        public var strays: [String]
        /// The frame numbers of all images of the folder (readable or not), lowest and highest.
        public var numbers: ClosedRange<Int>?
    }

    /// The frame images in `path`, in natural order (readable or not), and the other files found there.
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

    /// The trailing integer of a file name's stem: `img123.jpg` → 123, `00001_00012.jpg` → 12,
    /// `EP01_5-17.jpg` → 17; nil when the stem does not end in a digit.
    public static func trailingNumber(_ name: String) -> Int? {
        let stem = (name as NSString).deletingPathExtension
        let digits = stem.reversed().prefix { $0.isASCII && $0.isNumber }
        guard !digits.isEmpty, digits.count <= 18 else { return nil }
        return Int(String(digits.reversed()))
    }

    /// The frame numbers of `names` (in display order): each trailing integer when every name has
    /// one and no two share it, otherwise each name's 1-based place.
    public static func frameNumbers(_ names: [String]) -> [Int] {
        let trailing = names.compactMap(trailingNumber)
        if trailing.count == names.count, Set(trailing).count == trailing.count { return trailing }
        return Array(1..<(names.count + 1))
    }

    /// Why the image at `file` cannot be a frame, from its size and first bytes only (nothing is
    /// decoded); nil when it starts like a JPEG (FF D8 FF), PNG (89 50 4E 47 0D 0A 1A 0A) or BMP (`BM`).
    public static func unreadableReason(_ file: String) -> String? {
        let fd = open(file, O_RDONLY)
        guard fd >= 0 else { return "cannot be opened: \(String(cString: strerror(errno)))" }
        defer { close(fd) }
        var bytes = [UInt8](repeating: 0, count: 8)
        let n = bytes.withUnsafeMutableBytes { read(fd, $0.baseAddress, 8) }
        guard n >= 0 else { return "cannot be read: \(String(cString: strerror(errno)))" }
        if n == 0 { return "zero bytes" }
        let head = Array(bytes.prefix(n))
        if head.starts(with: [0xFF, 0xD8, 0xFF]) || head.starts(with: [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A])
            || head.starts(with: [0x42, 0x4D]) {
            return nil
        }
        let hex = head.prefix(4).map { String(format: "%02X", $0) }.joined(separator: " ")
        if n < 3 { return "truncated: only \(n) byte\(n == 1 ? "" : "s") (\(hex))" }
        return "not a JPEG, PNG or BMP image (it starts with \(hex))"
    }

    /// Lists, numbers and checks the images of `path`, keeping those whose number is in `range`
    /// (every image when nil). Does not fail on an empty result; `readableFrames` and `probe` do.
    public static func select(in path: String, range: FrameRange?) throws(ProbeError) -> Selection {
        let (frames, strays) = try list(path)
        let numbers = frameNumbers(frames)
        var readable: [(name: String, number: Int)] = []
        var unreadable: [UnreadableFrame] = []
        for (name, number) in zip(frames, numbers) where range?.contains(number) ?? true {
            if let why = unreadableReason(path + "/" + name) {
                unreadable.append(UnreadableFrame(name: name, reason: why))
            } else {
                readable.append((name, number))
            }
        }
        let span = numbers.isEmpty ? nil : numbers.min()!...numbers.max()!
        return Selection(readable: readable, unreadable: unreadable, strays: strays, numbers: span)
    }

    /// The error for a selection without a readable frame, naming the folder, the range and what
    /// the folder holds.
    static func emptyError(_ path: String, range: FrameRange?, _ s: Selection) -> ProbeError {
        let bad = s.unreadable.isEmpty ? "" : "; unreadable: " + s.unreadable.prefix(5).map { "\($0.name) (\($0.reason))" }.joined(separator: ", ")
        if let range {
            let held = s.numbers.map { "its frames are numbered \($0.lowerBound)..\($0.upperBound)" } ?? "it holds no frame images"
            return ProbeError(path: path, message: "no readable frame numbered \(range.first)..\(range.last) in the folder (\(held))\(bad)")
        }
        if s.numbers == nil {
            let extra = s.strays.isEmpty ? "" : " (it holds only: \(s.strays.prefix(5).joined(separator: ", ")))"
            return ProbeError(path: path, message: "no frame images (.jpg, .jpeg, .png, .bmp) in the folder\(extra)")
        }
        return ProbeError(path: path, message: "no readable frame image in the folder\(bad)")
    }

    /// Counts and measures the folder at `path`, limited to the frames numbered in `range` when
    /// given. `fps` is the dataset's rate; without it duration and fps stay unknown. Counts exactly
    /// the frames `readableFrames(in:range:)` gives.
    public static func probe(path: String, fps: Double?, range: FrameRange? = nil) throws(ProbeError) -> Result {
        let s = try select(in: path, range: range)
        let frames = s.readable.map(\.name)
        guard !frames.isEmpty else { throw emptyError(path, range: range, s) }
        // The first readable frame whose header libavformat reads gives the size.
        var firstFrame: ProbeResult?
        var firstError: ProbeError?
        for name in frames {
            do {
                firstFrame = try MediaProbe.probe(path: path + "/" + name)
                break
            } catch {
                if firstError == nil { firstError = error }
            }
        }
        guard let firstFrame else {
            throw ProbeError(path: path, message: "first frame \(frames[0]) cannot be read: \(firstError?.message ?? "?")")
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
        return Result(probe: r, frames: frames, strays: s.strays, unreadable: s.unreadable)
    }
}

extension FrameFolder {
    /// The readable frame images of `path` (absolute folder), in display order, limited to `range` when given: file names relative to the folder.
    public static func readableFrames(in path: String, range: FrameRange?) throws(ProbeError) -> [String] {
        let s = try select(in: path, range: range)
        guard !s.readable.isEmpty else { throw emptyError(path, range: range, s) }
        return s.readable.map(\.name)
    }
}
