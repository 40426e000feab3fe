import CZstd
import Foundation

/// zstd for the stored response bodies of the LLM cache.
public enum Zstd {
    public static func compress(_ data: Data, level: Int32 = 3) -> Data {
        let bound = ZSTD_compressBound(data.count)
        var out = Data(count: bound)
        let n = out.withUnsafeMutableBytes { dst in
            data.withUnsafeBytes { src in ZSTD_compress(dst.baseAddress, bound, src.baseAddress, data.count, level) }
        }
        guard ZSTD_isError(n) == 0 else { return Data() }
        return out.prefix(n)
    }

    /// Nil when `data` is not a complete zstd frame.
    public static func decompress(_ data: Data) -> Data? {
        let size = data.withUnsafeBytes { ZSTD_getFrameContentSize($0.baseAddress, data.count) }
        // ZSTD_CONTENTSIZE_UNKNOWN / ERROR are the two largest UInt64 values.
        guard size < UInt64.max - 1, size < 1 << 31 else { return nil }
        var out = Data(count: Int(size))
        let n = out.withUnsafeMutableBytes { dst in
            data.withUnsafeBytes { src in ZSTD_decompress(dst.baseAddress, Int(size), src.baseAddress, data.count) }
        }
        guard ZSTD_isError(n) == 0, n == Int(size) else { return nil }
        return out
    }
}
