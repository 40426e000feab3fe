import Foundation

/// A `Range: bytes=…` request header, as a video element sends it to seek.
enum ByteRange: Equatable {
    case whole
    case partial(ClosedRange<Int>)
    case unsatisfiable

    /// One range of a file of `size` bytes: `bytes=a-b`, `bytes=a-` or `bytes=-n`. Several ranges, or
    /// a header that is not bytes, get the whole file (which RFC 9110 allows).
    static func parse(_ header: String?, size: Int) -> ByteRange {
        guard let header, header.hasPrefix("bytes="), !header.contains(",") else { return .whole }
        let spec = header.dropFirst("bytes=".count).trimmingCharacters(in: .whitespaces)
        let parts = spec.split(separator: "-", maxSplits: 1, omittingEmptySubsequences: false)
        guard parts.count == 2 else { return .whole }
        let first = Int(parts[0]), last = Int(parts[1])
        switch (parts[0].isEmpty, parts[1].isEmpty) {
        case (true, false):
            guard let n = last, n > 0, size > 0 else { return .unsatisfiable }
            return .partial(max(0, size - n)...(size - 1))
        case (false, _):
            guard let a = first, a >= 0, a < size else { return .unsatisfiable }
            let b = min(last ?? (size - 1), size - 1)
            guard b >= a else { return .unsatisfiable }
            return .partial(a...b)
        default:
            return .whole
        }
    }
}
