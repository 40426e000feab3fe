import CZstd
import Foundation

/// zstd for the stored response bodies of the LLM cache, and streams for the export's `.jsonl.zst` shards.
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

/// Reads a file that is either plain or a zstd stream (`.zst`), in pieces.
public final class ChunkedFileReader {
    private let handle: FileHandle
    private let stream: OpaquePointer?
    private var input = [UInt8]()
    private var inputPos = 0
    private var finished = false
    /// The last call filled the output buffer, so the context may hold more decoded bytes.
    private var outputWasFull = false

    public init(path: String) throws {
        guard let h = FileHandle(forReadingAtPath: path) else {
            throw CocoaError(.fileReadNoSuchFile, userInfo: [NSFilePathErrorKey: path])
        }
        handle = h
        stream = path.hasSuffix(".zst") ? ZSTD_createDCtx() : nil
    }

    deinit {
        if let stream { ZSTD_freeDCtx(stream) }
        try? handle.close()
    }

    /// The next piece of the (decompressed) content; nil at the end.
    public func next() throws -> [UInt8]? {
        guard let stream else {
            guard let data = try handle.read(upToCount: 1 << 20), !data.isEmpty else { return nil }
            return [UInt8](data)
        }
        var out = [UInt8](repeating: 0, count: ZSTD_DStreamOutSize())
        while true {
            if inputPos == input.count && !outputWasFull {
                guard !finished else { return nil }
                if let data = try handle.read(upToCount: ZSTD_DStreamInSize()), !data.isEmpty {
                    input = [UInt8](data)
                    inputPos = 0
                } else {
                    finished = true
                    return nil
                }
            }
            let (r, produced, consumed): (Int, Int, Int) = input.withUnsafeBytes { i in
                out.withUnsafeMutableBytes { o in
                    var ib = ZSTD_inBuffer(src: i.baseAddress, size: i.count, pos: inputPos)
                    var ob = ZSTD_outBuffer(dst: o.baseAddress, size: o.count, pos: 0)
                    let r = ZSTD_decompressStream(stream, &ob, &ib)
                    return (r, ob.pos, ib.pos)
                }
            }
            if ZSTD_isError(r) != 0 {
                throw CocoaError(.fileReadCorruptFile, userInfo: [NSLocalizedDescriptionKey: "not a valid zstd stream: " + String(cString: ZSTD_getErrorName(r))])
            }
            inputPos = consumed
            outputWasFull = produced == out.count
            if produced > 0 { return Array(out[0..<produced]) }
        }
    }
}
