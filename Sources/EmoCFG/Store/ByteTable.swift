import Foundation

/// Byte strings (with a small tag) to dense indexes, by open addressing, compared byte for byte:
/// what the export's loop looks its clip and stratum up in, and the statistics' sample tally its
/// clips, without making a `String` (Swift hashes a string by its Unicode normalisation, which
/// costs more than the lookup itself). Inlinable: the export calls it for every sample.
public struct ByteTable {
    @inlinable public init() {}

    @usableFromInline var slots = [Int32](repeating: -1, count: 1024)
    @usableFromInline var hashes: [UInt64] = []
    @usableFromInline var tags: [UInt32] = []
    @usableFromInline var starts: [Int] = [0]
    @usableFromInline var arena: [UInt8] = []
    @inlinable public var count: Int { hashes.count }

    @inlinable public static func hash(_ tag: UInt32, _ b: UnsafeBufferPointer<UInt8>) -> UInt64 {
        var h: UInt64 = 0x9E37_79B9_7F4A_7C15 ^ (UInt64(tag) &* 0xFF51_AFD7_ED55_8CCD) ^ UInt64(b.count)
        guard let base = b.baseAddress else { return h }
        let p = UnsafeRawPointer(base)
        let n = b.count
        var i = 0
        while i + 8 <= n {
            h = (h ^ p.loadUnaligned(fromByteOffset: i, as: UInt64.self)) &* 0x9E37_79B9_7F4A_7C15
            h ^= h >> 32
            i += 8
        }
        var last: UInt64 = 0, shift: UInt64 = 0
        while i < n {
            last |= UInt64(base[i]) << shift
            shift += 8
            i += 1
        }
        h = (h ^ last) &* 0xBF58_476D_1CE4_E5B9
        return h ^ (h >> 31)
    }

    /// The index of (`tag`, `key`), adding it if new.
    @inlinable public mutating func index(_ tag: UInt32, _ key: UnsafeBufferPointer<UInt8>) -> (index: Int, new: Bool) {
        let h = Self.hash(tag, key)
        let mask = slots.count - 1
        var slot = Int(truncatingIfNeeded: h) & mask
        while true {
            let e = Int(slots[slot])
            if e < 0 { break }
            if hashes[e] == h && tags[e] == tag && starts[e + 1] - starts[e] == key.count
                && (key.count == 0 || arena.withUnsafeBufferPointer { memcmp($0.baseAddress! + starts[e], key.baseAddress!, key.count) == 0 }) {
                return (e, false)
            }
            slot = (slot + 1) & mask
        }
        let e = hashes.count
        hashes.append(h)
        tags.append(tag)
        arena.append(contentsOf: key)
        starts.append(arena.count)
        slots[slot] = Int32(e)
        if hashes.count * 2 > slots.count { grow() }
        return (e, true)
    }

    /// The index of (`tag`, `key`), nil when it was never added.
    @inlinable public func find(_ tag: UInt32, _ key: UnsafeBufferPointer<UInt8>) -> Int? {
        let h = Self.hash(tag, key)
        let mask = slots.count - 1
        var slot = Int(truncatingIfNeeded: h) & mask
        while true {
            let e = Int(slots[slot])
            if e < 0 { return nil }
            if hashes[e] == h && tags[e] == tag && starts[e + 1] - starts[e] == key.count
                && (key.count == 0 || arena.withUnsafeBufferPointer { memcmp($0.baseAddress! + starts[e], key.baseAddress!, key.count) == 0 }) {
                return e
            }
            slot = (slot + 1) & mask
        }
    }

    @usableFromInline mutating func grow() {
        slots = [Int32](repeating: -1, count: slots.count * 2)
        let mask = slots.count - 1
        for (e, h) in hashes.enumerated() {
            var slot = Int(truncatingIfNeeded: h) & mask
            while slots[slot] >= 0 { slot = (slot + 1) & mask }
            slots[slot] = Int32(e)
        }
    }
}
