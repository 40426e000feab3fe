import Foundation
internal import Crypto

/// SHA-256 (FIPS 180-4), for the LLM cache key, image digests and the export's shard hashes.
///
/// Computed by swift-crypto's `SHA256`, which on Linux is BoringSSL's: it uses the CPU's SHA
/// instructions where there are any (SHA-NI on x86-64, the ARMv8 SHA extensions), else its assembly or C.
/// The trade-off: swift-crypto compiles a second copy of BoringSSL next to the one swift-nio-ssl
/// brings (the package was already in the resolved graph, through swift-nio-extras, but none of its
/// targets were built). On the 2-core development machine (2026-12-07, shared with other builds)
/// that added 1 min 50 s of CPU to a clean debug build that took 7 min 6 s of CPU (2 min 34 s wall
/// for `swift build --target Crypto` alone, niced, under load), about a quarter more; in return
/// SHA-256 runs 6x as fast there on long inputs (SHA-NI): 1,427 against 236 MB/s over 256 MB in 64 KB
/// pieces, and 3.2x on short ones: 0.40 against 1.28 µs for a 200-byte cache key, against the hand-written Swift implementation it
/// replaces (`emocfg-bench sha256` keeps that one for the comparison). An export hashes every shard
/// it writes (1.1 GB at 2.1M samples), and this was its largest remaining cost.
///
/// `SHA256Hasher` takes its input in pieces, so an export hashes a shard while writing it.
public struct SHA256Digest: Sendable {
    /// The digest of `data` as 64 lowercase hex digits.
    public static func hex(_ data: Data) -> String {
        var h = SHA256Hasher()
        h.update(data)
        return h.finalizeHex()
    }

    public static func hex(_ text: String) -> String {
        var h = SHA256Hasher()
        h.update(text)
        return h.finalizeHex()
    }

    public static func digest(_ data: Data) -> [UInt8] {
        var h = SHA256Hasher()
        h.update(data)
        return h.finalize()
    }
}

/// Incremental SHA-256: `update` any number of times, then `finalize` once.
///
/// A value: copying a hasher copies its state (swift-crypto's hasher is copy-on-write), so a copy
/// can go on from a common prefix independently.
public struct SHA256Hasher: Sendable {
    private var hasher = Crypto.SHA256()

    public init() {}

    public mutating func update(_ data: Data) {
        data.withUnsafeBytes { update(UnsafeRawBufferPointer($0)) }
    }

    public mutating func update(_ text: String) {
        var text = text
        text.withUTF8 { update(UnsafeRawBufferPointer($0)) }
    }

    public mutating func update(_ bytes: [UInt8]) {
        bytes.withUnsafeBytes { update($0) }
    }

    public mutating func update(_ bytes: UnsafeRawBufferPointer) {
        guard bytes.count > 0 else { return }
        hasher.update(bufferPointer: bytes)
    }

    /// The digest; the hasher is spent afterwards.
    public mutating func finalize() -> [UInt8] {
        Array(hasher.finalize())
    }

    /// The digest's first 8 bytes as a big-endian number, allocating nothing; the hasher is spent afterwards.
    public mutating func finalizeLeading64() -> UInt64 {
        hasher.finalize().withUnsafeBytes { UInt64(bigEndian: $0.loadUnaligned(as: UInt64.self)) }
    }

    public mutating func finalizeHex() -> String {
        hasher.finalize().withUnsafeBytes { digest in
            String(unsafeUninitializedCapacity: 64) { out in
                let digits: StaticString = "0123456789abcdef"
                digits.withUTF8Buffer { d in
                    for (i, b) in digest.enumerated() {
                        out[2 * i] = d[Int(b >> 4)]
                        out[2 * i + 1] = d[Int(b & 0x0f)]
                    }
                }
                return 64
            }
        }
    }
}
