// `emocfg-bench sha256 [--mb N] [--count N] [--runs N]`: SHA-256 throughput of the SHA256Hasher in
// Sources (swift-crypto's SHA256, BoringSSL's, with the CPU's SHA instructions) against the hand-written
// Swift implementation it replaced (kept below as `ReferenceSHA256Hasher`, for this comparison only):
// a buffer of N MB (default 256) hashed in 64 KB pieces, as an export hashes the shards it writes, and
// N (default 1,000,000) one-shot hex digests of 200-byte strings, as the LLM cache keys are. The two
// alternate, `--runs` times each (default 3); the best run of each is reported, and their digests
// must agree.
import EmoCFG
import Foundation

func hashBenchmark() throws {
    let mb = max(1, arg("--mb", 256)), count = max(1, arg("--count", 1_000_000)), runs = max(1, arg("--runs", 3))
    print("sha256: \(mb) MB in 64 KB pieces, \(count) hashes of 200-byte strings; best of \(runs) runs, alternating")

    // 1. A large buffer in 64 KB pieces.
    var state: UInt64 = 0x9E37_79B9_7F4A_7C15
    let buffer = (0..<(mb << 20)).map { _ -> UInt8 in
        state = state &* 6364136223846793005 &+ 1442695040888963407
        return UInt8(truncatingIfNeeded: state >> 56)
    }
    let piece = 64 << 10
    func large<H>(_ make: () -> H, _ update: (inout H, UnsafeRawBufferPointer) -> Void, _ hex: (inout H) -> String) -> String {
        var h = make()
        buffer.withUnsafeBytes { all in
            var at = 0
            while at < all.count {
                let n = min(piece, all.count - at)
                update(&h, UnsafeRawBufferPointer(rebasing: all[at..<at + n]))
                at += n
            }
        }
        return hex(&h)
    }
    var newBest = Double.infinity, oldBest = Double.infinity
    var newHex = "", oldHex = ""
    for _ in 0..<runs {
        newBest = min(newBest, seconds { newHex = large({ SHA256Hasher() }, { $0.update($1) }, { $0.finalizeHex() }) })
        oldBest = min(oldBest, seconds { oldHex = large({ ReferenceSHA256Hasher() }, { $0.update($1) }, { $0.finalizeHex() }) })
    }
    let bytes = Double(buffer.count) / 1e6
    print(String(format: "  %-28@ swift-crypto %7.0f MB/s (%.3f s)   old Swift %7.0f MB/s (%.3f s)   %.2fx",
                 "\(mb) MB in 64 KB pieces".padding(toLength: 28, withPad: " ", startingAt: 0), bytes / newBest, newBest, bytes / oldBest, oldBest, oldBest / newBest))
    guard newHex == oldHex else {
        print("  DIFFERENT digests: \(newHex) vs \(oldHex)")
        exit(1)
    }

    // 2. Many small inputs: one-shot hex digests of 200-byte strings (a pool of 4,096 distinct ones).
    let pool = (0..<4096).map { i -> String in
        let head = "{\"model\":\"gpt-4o-mini\",\"stage\":\"caption\",\"clip\":\"\(i)\",\"prompt\":\"caption/attribute\",\"text\":\""
        return head + String(repeating: "x", count: 200 - head.utf8.count - 2) + "\"}"
    }
    precondition(pool.allSatisfy { $0.utf8.count == 200 })
    for s in pool.prefix(64) where SHA256Digest.hex(s) != ReferenceSHA256Hasher.hex(s) {
        print("  DIFFERENT digests of \(s)")
        exit(1)
    }
    var newSmall = Double.infinity, oldSmall = Double.infinity
    var sink = 0
    for _ in 0..<runs {
        newSmall = min(newSmall, seconds { for i in 0..<count { sink &+= SHA256Digest.hex(pool[i & 4095]).utf8.count } })
        oldSmall = min(oldSmall, seconds { for i in 0..<count { sink &+= ReferenceSHA256Hasher.hex(pool[i & 4095]).utf8.count } })
    }
    let small = Double(count * 200) / 1e6
    print(String(format: "  %-28@ swift-crypto %7.0f MB/s (%.3f s, %.2f µs each)   old Swift %7.0f MB/s (%.3f s, %.2f µs each)   %.2fx",
                 "\(count) x 200-byte strings".padding(toLength: 28, withPad: " ", startingAt: 0), small / newSmall, newSmall, newSmall / Double(count) * 1e6,
                 small / oldSmall, oldSmall, oldSmall / Double(count) * 1e6, oldSmall / newSmall))
    precondition(sink == 2 * runs * count * 64)
}

// MARK: - The hand-written implementation SHA256Hasher used before swift-crypto (for comparison only)

/// Incremental SHA-256 in Swift (FIPS 180-4), as it was in Sources/EmoCFG/JSON/SHA256.swift.
struct ReferenceSHA256Hasher: Sendable {
    static func hex(_ text: String) -> String {
        var h = ReferenceSHA256Hasher()
        h.update(text)
        return h.finalizeHex()
    }

    private static let k: [UInt32] = [
        0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
        0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
        0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
        0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
        0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
        0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
        0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
        0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2,
    ]

    private var h: State =
        (0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19)
    /// The bytes of an unfinished block (stored inline: a hasher allocates nothing), and how many there are.
    private var block: (UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64) = (0, 0, 0, 0, 0, 0, 0, 0)
    private var pendingCount = 0
    private var length: UInt64 = 0

    init() {}

    mutating func update(_ data: Data) {
        data.withUnsafeBytes { update(UnsafeRawBufferPointer($0)) }
    }

    mutating func update(_ text: String) {
        var text = text
        text.withUTF8 { update(UnsafeRawBufferPointer($0)) }
    }

    mutating func update(_ bytes: [UInt8]) {
        bytes.withUnsafeBytes { update($0) }
    }

    mutating func update(_ bytes: UnsafeRawBufferPointer) {
        guard var p = bytes.baseAddress, bytes.count > 0 else { return }
        var n = bytes.count
        length &+= UInt64(n)
        if pendingCount > 0 {
            let take = min(64 - pendingCount, n)
            let at = pendingCount
            withUnsafeMutableBytes(of: &block) { $0.baseAddress!.advanced(by: at).copyMemory(from: p, byteCount: take) }
            pendingCount += take
            p += take
            n -= take
            guard pendingCount == 64 else { return }
            compressBlock()
            pendingCount = 0
        }
        let whole = n / 64
        if whole > 0 {
            Self.compress(&h, blocks: p, count: whole)
            p += whole * 64
            n -= whole * 64
        }
        if n > 0 {
            withUnsafeMutableBytes(of: &block) { $0.baseAddress!.copyMemory(from: p, byteCount: n) }
            pendingCount = n
        }
    }

    private mutating func compressBlock() {
        var state = h
        withUnsafeBytes(of: &block) { Self.compress(&state, blocks: $0.baseAddress!, count: 1) }
        h = state
    }

    /// Pads the message (0x80, zeros, the length in bits, big-endian) and compresses the last block(s).
    private mutating func pad() -> State {
        let bits = length &* 8
        let used = pendingCount
        withUnsafeMutableBytes(of: &block) { b in
            b[used] = 0x80
            for i in (used + 1)..<64 { b[i] = 0 }
        }
        if used + 1 > 56 {
            compressBlock()
            withUnsafeMutableBytes(of: &block) { b in for i in 0..<64 { b[i] = 0 } }
        }
        withUnsafeMutableBytes(of: &block) { b in
            for i in 0..<8 { b[56 + i] = UInt8(truncatingIfNeeded: bits >> (56 - 8 * UInt64(i))) }
        }
        compressBlock()
        pendingCount = 0
        return h
    }

    /// The digest; the hasher is spent afterwards.
    mutating func finalize() -> [UInt8] {
        let s = pad()
        let words = [s.0, s.1, s.2, s.3, s.4, s.5, s.6, s.7]
        var out = [UInt8]()
        out.reserveCapacity(32)
        for v in words { for shift in stride(from: 24, through: 0, by: -8) { out.append(UInt8(truncatingIfNeeded: v >> UInt32(shift))) } }
        return out
    }

    /// The digest's first 8 bytes as a big-endian number, allocating nothing; the hasher is spent afterwards.
    mutating func finalizeLeading64() -> UInt64 {
        let s = pad()
        return UInt64(s.0) << 32 | UInt64(s.1)
    }

    mutating func finalizeHex() -> String {
        let digits = Array("0123456789abcdef".utf8)
        var out = [UInt8]()
        out.reserveCapacity(64)
        for b in finalize() {
            out.append(digits[Int(b >> 4)])
            out.append(digits[Int(b & 0x0f)])
        }
        return String(decoding: out, as: UTF8.self)
    }

    private typealias State = (UInt32, UInt32, UInt32, UInt32, UInt32, UInt32, UInt32, UInt32)

    /// The compression function over `count` 64-byte blocks. Rounds go eight at a time with the
    /// working variables renamed instead of shifted, and Ch/Maj in their shorter forms: about 1.6
    /// times the throughput of the textbook loop.
    private static func compress(_ h: inout State, blocks: UnsafeRawPointer, count: Int) {
        var (a0, b0, c0, d0, e0, f0, g0, h0) = h
        Self.k.withUnsafeBufferPointer { kb in
            let k = kb.baseAddress!
            withUnsafeTemporaryAllocation(of: UInt32.self, capacity: 64) { wb in
                let w = wb.baseAddress!
                for block in 0..<count {
                    let base = blocks + block * 64
                    for i in 0..<16 {
                        w[i] = UInt32(bigEndian: base.loadUnaligned(fromByteOffset: i * 4, as: UInt32.self))
                    }
                    for i in 16..<64 {
                        let x = w[i - 15], y = w[i - 2]
                        w[i] = w[i - 16] &+ (rotr(x, 7) ^ rotr(x, 18) ^ (x >> 3)) &+ w[i - 7] &+ (rotr(y, 17) ^ rotr(y, 19) ^ (y >> 10))
                    }
                    var a = a0, b = b0, c = c0, d = d0, e = e0, f = f0, g = g0, hh = h0
                    var i = 0
                    while i < 64 {
                        round(a, b, c, &d, e, f, g, &hh, k[i] &+ w[i])
                        round(hh, a, b, &c, d, e, f, &g, k[i + 1] &+ w[i + 1])
                        round(g, hh, a, &b, c, d, e, &f, k[i + 2] &+ w[i + 2])
                        round(f, g, hh, &a, b, c, d, &e, k[i + 3] &+ w[i + 3])
                        round(e, f, g, &hh, a, b, c, &d, k[i + 4] &+ w[i + 4])
                        round(d, e, f, &g, hh, a, b, &c, k[i + 5] &+ w[i + 5])
                        round(c, d, e, &f, g, hh, a, &b, k[i + 6] &+ w[i + 6])
                        round(b, c, d, &e, f, g, hh, &a, k[i + 7] &+ w[i + 7])
                        i += 8
                    }
                    a0 = a0 &+ a; b0 = b0 &+ b; c0 = c0 &+ c; d0 = d0 &+ d
                    e0 = e0 &+ e; f0 = f0 &+ f; g0 = g0 &+ g; h0 = h0 &+ hh
                }
            }
        }
        h = (a0, b0, c0, d0, e0, f0, g0, h0)
    }

    /// One round: `d += T1`, `h = T1 + T2`; the caller rotates the names.
    @inline(__always) private static func round(_ a: UInt32, _ b: UInt32, _ c: UInt32, _ d: inout UInt32,
                                                _ e: UInt32, _ f: UInt32, _ g: UInt32, _ h: inout UInt32, _ kw: UInt32) {
        let t1 = h &+ (rotr(e, 6) ^ rotr(e, 11) ^ rotr(e, 25)) &+ (g ^ (e & (f ^ g))) &+ kw
        d = d &+ t1
        h = t1 &+ (rotr(a, 2) ^ rotr(a, 13) ^ rotr(a, 22)) &+ ((a & b) | (c & (a | b)))
    }

    @inline(__always) private static func rotr(_ x: UInt32, _ n: UInt32) -> UInt32 { (x >> n) | (x << (32 - n)) }
}
