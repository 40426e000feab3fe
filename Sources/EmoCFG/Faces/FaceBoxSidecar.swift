import Foundation

/// Face boxes from a file made elsewhere (a face detector's output), one or many rows per clip.
///
/// Each row names its clip by `key`, `clip`, `clip_id` or `path`, may say `frame` or `time`, and
/// gives a box as `x, y, w, h` or `left, top, right, bottom` (top-level fields, a `box`/`bbox`
/// object with those fields, or a `box`/`bbox` array `[x, y, w, h]`). Rows of one clip (one per
/// frame) are combined into their median box, which is robust to a few bad detections.
public struct FaceBoxSidecar: Sendable {
    /// A box as written in the file, in its own units.
    public struct RawBox: Sendable, Equatable {
        public var x, y, w, h: Double
    }

    public let config: FaceBoxSidecarConfig
    /// Boxes by clip name (key, path, or path without extension, whichever the file used).
    public private(set) var boxes: [String: [RawBox]] = [:]
    public private(set) var problems: [IngestProblem] = []

    static let keyFields = ["key", "clip", "clip_id", "path"]

    /// Reads the file; unreadable files and bad rows become problems, never errors.
    public init(config: FaceBoxSidecarConfig) {
        self.config = config
        let name = config.file.lastPathComponent
        guard let data = try? Data(contentsOf: config.file) else {
            problems.append(IngestProblem(kind: .badFaceBox, location: SourceLocation(file: config.file.path),
                                          message: "cannot read the face-box file \(name)"))
            return
        }
        switch config.format {
        case .jsonl: readJSONL(data)
        case .csv: readCSV(data)
        }
    }

    private mutating func bad(_ line: Int, _ message: String) {
        problems.append(IngestProblem(kind: .badFaceBox, location: SourceLocation(file: config.file.path, line: line), message: message))
    }

    private mutating func readJSONL(_ data: Data) {
        for (i, raw) in data.split(separator: UInt8(ascii: "\n"), omittingEmptySubsequences: false).enumerated() {
            let line = i + 1
            guard !raw.allSatisfy({ $0 == 32 || $0 == 13 || $0 == 9 }) else { continue }
            guard let obj = (try? JSONSerialization.jsonObject(with: Data(raw))) as? [String: Any] else {
                bad(line, "not a JSON object")
                continue
            }
            guard let key = Self.keyFields.lazy.compactMap({ Self.string(obj[$0]) }).first else {
                bad(line, "no clip key; expected one of: \(Self.keyFields.joined(separator: ", "))")
                continue
            }
            var fields: [String: Double] = [:]
            for (k, v) in obj { if let d = Self.number(v) { fields[k] = d } }
            for nested in ["box", "bbox"] {
                if let o = obj[nested] as? [String: Any] {
                    for (k, v) in o { if let d = Self.number(v) { fields[k] = d } }
                } else if let a = obj[nested] as? [Any], a.count == 4 {
                    let n = a.compactMap(Self.number)
                    if n.count == 4 { (fields["x"], fields["y"], fields["w"], fields["h"]) = (n[0], n[1], n[2], n[3]) }
                }
            }
            add(key: key, fields: fields, line: line)
        }
    }

    private mutating func readCSV(_ data: Data) {
        let table: CSVTable
        do { table = try CSVTable(data: data) } catch {
            bad(1, "cannot parse as CSV: \(error)")
            return
        }
        guard let keyField = Self.keyFields.first(where: { table.column($0) != nil }) else {
            bad(1, "no clip key column; expected one of: \(Self.keyFields.joined(separator: ", ")); found \(table.header.joined(separator: ", "))")
            return
        }
        for row in table.rows {
            guard let key = table.value(row, keyField), !key.isEmpty else {
                bad(row.line, "empty clip key")
                continue
            }
            var fields: [String: Double] = [:]
            for name in ["x", "y", "w", "h", "left", "top", "right", "bottom"] {
                if let v = table.value(row, name), let d = Double(v) { fields[name] = d }
            }
            add(key: key, fields: fields, line: row.line)
        }
    }

    private mutating func add(key: String, fields: [String: Double], line: Int) {
        let box: RawBox
        if let x = fields["x"], let y = fields["y"], let w = fields["w"], let h = fields["h"] {
            box = RawBox(x: x, y: y, w: w, h: h)
        } else if let l = fields["left"], let t = fields["top"], let r = fields["right"], let b = fields["bottom"] {
            box = RawBox(x: l, y: t, w: r - l, h: b - t)
        } else {
            bad(line, "no box; expected x, y, w, h or left, top, right, bottom")
            return
        }
        guard box.w > 0, box.h > 0, box.x >= 0, box.y >= 0 else {
            bad(line, "box \(box.x), \(box.y), \(box.w), \(box.h) has no area or lies outside the frame")
            return
        }
        boxes[key, default: []].append(box)
    }

    /// The raw rows for a clip, trying its key, its path, and its path without extension.
    public func rows(key: String, path: String) -> [RawBox]? {
        boxes[key] ?? boxes[path] ?? boxes[(path as NSString).deletingPathExtension]
    }

    /// The clip's median box, normalised; nil when the file has none for it, or when it is in
    /// pixels and the frame size is unknown.
    public func box(key: String, path: String, frameWidth: Int?, frameHeight: Int?) -> FaceBox? {
        guard let rows = rows(key: key, path: path), !rows.isEmpty else { return nil }
        func median(_ v: [Double]) -> Double {
            let s = v.sorted()
            return s.count % 2 == 1 ? s[s.count / 2] : (s[s.count / 2 - 1] + s[s.count / 2]) / 2
        }
        let m = RawBox(x: median(rows.map(\.x)), y: median(rows.map(\.y)), w: median(rows.map(\.w)), h: median(rows.map(\.h)))
        // Decide units over all rows of the clip, not per row: one small pixel box must not pass as normalised.
        let units: BoxUnits = config.units != .auto ? config.units
            : (rows.allSatisfy { max($0.x + $0.w, $0.y + $0.h) <= 1.0 } ? .normalized : .pixels)
        return FaceBox.fromPixelsOrNormalized(x: m.x, y: m.y, w: m.w, h: m.h, origin: .sidecar, units: units,
                                              frameWidth: frameWidth, frameHeight: frameHeight)
    }

    static func string(_ v: Any?) -> String? {
        if let s = v as? String { return s }
        if let n = v as? NSNumber { return n.stringValue }
        return nil
    }

    static func number(_ v: Any?) -> Double? {
        // No `is Bool` check: Foundation on Linux reads JSON 0 and 1 as Bool, and 0 is a valid coordinate.
        if let n = v as? NSNumber { return n.doubleValue }
        if let s = v as? String { return Double(s) }
        return nil
    }
}
