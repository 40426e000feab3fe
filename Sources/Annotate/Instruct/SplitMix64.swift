import EmoCFG
import Foundation

/// A small deterministic random number generator (SplitMix64), so that label-derived samples are the
/// same on every run, on every machine and in every store.
///
/// Swift's own `shuffle(using:)` and `randomElement(using:)` are not used with it: the standard
/// library does not promise how many numbers they draw or in what order, so a toolchain update could
/// reorder every multiple-choice question. `index(below:)` and `shuffled(_:)` are spelled out here.
public struct SplitMix64: RandomNumberGenerator, Sendable {
    private var state: UInt64

    public init(seed: UInt64) {
        state = seed
    }

    /// A generator seeded from the first 8 bytes (big-endian) of the SHA-256 of `key`.
    public init(key: String) {
        let digest = SHA256Digest.digest(Data(key.utf8))
        state = digest.prefix(8).reduce(0) { $0 << 8 | UInt64($1) }
    }

    public mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    /// A uniform integer in `0..<n` (`n` > 0), without modulo bias: draws below `2^64 mod n` are
    /// rejected.
    public mutating func index(below n: Int) -> Int {
        precondition(n > 0, "index(below:) needs a positive bound")
        let bound = UInt64(n)
        let threshold = (0 &- bound) % bound
        while true {
            let r = next()
            if r >= threshold { return Int(r % bound) }
        }
    }

    /// The elements in a uniformly random order (Fisher-Yates, from the last position down).
    public mutating func shuffled<T>(_ elements: [T]) -> [T] {
        var a = elements
        var i = a.count - 1
        while i > 0 {
            let j = index(below: i + 1)
            if i != j { a.swapAt(i, j) }
            i -= 1
        }
        return a
    }
}
