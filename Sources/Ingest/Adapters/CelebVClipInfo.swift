import EmoCFG
import Foundation

/// The per-clip fields CelebV-HQ and CelebV-Text share in their info JSON (CelebV-Text grew out of
/// CelebV-HQ): `ytb_id`, `version`, `duration {start_sec, end_sec}` and the face box
/// `bbox {top, bottom, left, right}`. Both adapters read them here; each adds its own fields.
struct CelebVClipInfo {
    var identity: String?
    var native: [String: String] = [:]
    var labels = NormalizedLabels()
    var faceBox: FaceBox?
    var problems: [String] = []

    /// How a box in pixels is handled: CelebV-HQ ships normalised boxes only, so a pixel box is a
    /// label problem; CelebV-Text ships both, so a pixel box is normalised by the frame size.
    enum PixelBoxes {
        case rejected
        /// `frameSize` is asked only when the box is in pixels (it probes the clip).
        case normalised(frameSize: () -> (width: Int?, height: Int?)?, path: String)
    }

    /// Reads the shared fields of `clip`; `fallbackIdentity` is used when the clip has no `ytb_id`.
    init(id: String, clip: [String: Any], origin: SourceLocation, fallbackIdentity: String?, pixelBoxes: PixelBoxes) {
        if let ytb = clip["ytb_id"] as? String, !ytb.isEmpty {
            native["ytb_id"] = ytb
            identity = "ytb:" + ytb
        } else {
            problems.append("clip '\(id)' (\(origin)) has no ytb_id")
            identity = fallbackIdentity
        }
        if let version = clip["version"] { native["version"] = Self.text(version) }

        if let duration = clip["duration"] {
            native["duration"] = Self.text(duration)
            let d = duration as? [String: Any]
            for field in ["start_sec", "end_sec"] {
                if let v = Self.number(d?[field]) {
                    labels.facts[field] = Self.format(v)
                } else {
                    problems.append("duration.\(field) (\(origin)) is not a number")
                }
            }
        }

        guard let bbox = clip["bbox"] else { return }
        let text = Self.text(bbox)
        native["bbox"] = text
        let b = bbox as? [String: Any]
        guard let top = Self.number(b?["top"]), let bottom = Self.number(b?["bottom"]),
              let left = Self.number(b?["left"]), let right = Self.number(b?["right"]) else {
            problems.append("bbox \(text) (\(origin)) lacks a numeric top, bottom, left or right")
            return
        }
        switch pixelBoxes {
        case .rejected:
            faceBox = FaceBox.fromEdges(top: top, bottom: bottom, left: left, right: right, origin: .dataset,
                                        units: .auto, frameWidth: nil, frameHeight: nil)
            if faceBox == nil {
                problems.append("bbox \(text) (\(origin)) is not a normalised (0-1) box with top < bottom and left < right")
            }
        case .normalised(let frameSize, let path):
            let pixels = [top, bottom, left, right].contains { $0 > 1 }
            // Only a pixel box needs the frame size, so only then is the clip probed.
            let size = pixels ? frameSize() : nil
            faceBox = FaceBox.fromEdges(top: top, bottom: bottom, left: left, right: right, origin: .dataset,
                                        units: .auto, frameWidth: size?.width, frameHeight: size?.height)
            if faceBox == nil {
                if pixels && (size?.width == nil || size?.height == nil) {
                    problems.append("bbox \(text) (\(origin)) is in pixels, but the frame size of \(path) is unknown (the video is missing or unreadable)")
                } else {
                    problems.append("bbox \(text) (\(origin)) is not a box with top < bottom and left < right")
                }
            } else if pixels {
                labels.facts["bbox_units"] = "pixels"
            }
        }
    }

    // MARK: - JSON values

    /// A JSON number (or a number written as a string). Booleans pass as 1 and 0: Foundation cannot
    /// tell them from the integers 1 and 0 on every platform.
    static func number(_ any: Any?) -> Double? {
        switch any {
        case let n as NSNumber: return n.doubleValue
        case let s as String: return Double(s.trimmingCharacters(in: .whitespaces))
        default: return nil
        }
    }

    /// A JSON value written back as compact JSON text, for `nativeLabels`; a string stays as it is.
    static func text(_ any: Any) -> String {
        if let s = any as? String { return s }
        guard let data = try? JSONSerialization.data(
            withJSONObject: any, options: [.sortedKeys, .withoutEscapingSlashes, .fragmentsAllowed])
        else { return "\(any)" }
        return String(decoding: data, as: UTF8.self)
    }

    /// `12` for 12.0, `12.5` for 12.5.
    static func format(_ value: Double) -> String {
        value == value.rounded() && abs(value) < 1e15 ? String(Int(value)) : String(value)
    }
}
