import Foundation

/// A face bounding box, always normalised to the frame (`0...1`), with where it came from.
public struct FaceBox: Codable, Sendable, Equatable {
    /// Who supplied the box: the dataset's own annotation, a sidecar file named in `sources.yaml`, or
    /// emocfg's own face detector (`detector:<name>-<version>`, e.g. `detector:dlib-hog-19.24`).
    /// Dataset and sidecar boxes win over the detector's.
    public struct Origin: RawRepresentable, Codable, Sendable, Hashable, CustomStringConvertible {
        public var rawValue: String
        public init(rawValue: String) { self.rawValue = rawValue }

        public static let dataset = Origin(rawValue: "dataset")
        public static let sidecar = Origin(rawValue: "sidecar")
        /// The detector `name` (its name and version, as `FaceDetecting.identity` gives it).
        public static func detector(_ name: String) -> Origin { Origin(rawValue: "detector:" + name) }

        /// The detector's name and version when the box came from one.
        public var detectorName: String? {
            rawValue.hasPrefix("detector:") ? String(rawValue.dropFirst("detector:".count)) : nil
        }
        public var isDetector: Bool { detectorName != nil }
        public var description: String { rawValue }
    }

    public var x: Double
    public var y: Double
    public var w: Double
    public var h: Double
    public var origin: Origin

    public init(x: Double, y: Double, w: Double, h: Double, origin: Origin) {
        self.x = x
        self.y = y
        self.w = w
        self.h = h
        self.origin = origin
    }

    /// The box from `top/bottom/left/right` edges, normalising pixels by the frame size when needed.
    public static func fromEdges(
        top: Double, bottom: Double, left: Double, right: Double, origin: Origin,
        units: BoxUnits, frameWidth: Int?, frameHeight: Int?
    ) -> FaceBox? {
        fromPixelsOrNormalized(
            x: left, y: top, w: right - left, h: bottom - top, origin: origin, units: units,
            frameWidth: frameWidth, frameHeight: frameHeight)
    }

    /// The box from `x, y, w, h`, normalising pixels by the frame size when needed. Nil when the box
    /// is in pixels and the frame size is unknown, or when it is degenerate.
    public static func fromPixelsOrNormalized(
        x: Double, y: Double, w: Double, h: Double, origin: Origin,
        units: BoxUnits, frameWidth: Int?, frameHeight: Int?
    ) -> FaceBox? {
        let resolved = units == .auto ? ([x, y, w, h].allSatisfy { $0 <= 1.0 } ? .normalized : .pixels) : units
        var box = FaceBox(x: x, y: y, w: w, h: h, origin: origin)
        if resolved == .pixels {
            guard let fw = frameWidth, let fh = frameHeight, fw > 0, fh > 0 else { return nil }
            box = FaceBox(
                x: x / Double(fw), y: y / Double(fh), w: w / Double(fw), h: h / Double(fh), origin: origin)
        }
        guard box.w > 0, box.h > 0 else { return nil }
        return box.clamped()
    }

    /// The box cut to the frame.
    public func clamped() -> FaceBox {
        let x0 = min(max(x, 0), 1), y0 = min(max(y, 0), 1)
        let x1 = min(max(x + w, 0), 1), y1 = min(max(y + h, 0), 1)
        return FaceBox(x: x0, y: y0, w: x1 - x0, h: y1 - y0, origin: origin)
    }

    /// The share of the frame the face covers, in `0...1`.
    public var areaRatio: Double { w * h }
}

/// Whether box coordinates are pixels, fractions of the frame, or to be told apart by their values.
public enum BoxUnits: String, Codable, Sendable {
    case pixels
    case normalized
    /// All four values `<= 1` means normalised; anything larger means pixels.
    case auto
}

/// How much of a person a clip shows, from the face-area ratio: a head shot, half body or full body.
public enum ViewClass: String, Codable, Sendable, CaseIterable {
    case head
    case half
    case full
}

/// The face-area ratios that separate head, half-body and full-body views (set in `sources.yaml`).
public struct ViewThresholds: Codable, Sendable, Equatable {
    /// A ratio at or above this is a head shot.
    public var head: Double
    /// A ratio at or above this (and below `head`) is half body; below it, full body.
    public var half: Double

    public init(head: Double = 0.10, half: Double = 0.02) {
        self.head = head
        self.half = half
    }

    public func classify(_ ratio: Double) -> ViewClass {
        ratio >= head ? .head : (ratio >= half ? .half : .full)
    }
}
