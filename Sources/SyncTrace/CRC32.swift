import CRC32Hardware

/// CRC-32/ISO-HDLC (zlib `crc32`), the only checksum MCAP uses (specs/mcap.md §2.1):
/// reflected polynomial 0xEDB88320, init and xorout 0xFFFFFFFF. `"123456789"` → 0xCBF43926.
/// Carry-less multiplication where the CPU has it (x86-64 PCLMULQDQ, module CRC32Hardware) for
/// 64 bytes and more, slicing-by-16 over one flat table otherwise, and `combine` so a reader
/// that has the CRC of a chunk's records need not hash those bytes again for the data-section
/// CRC (issue 19).
public struct CRC32: Sendable {
    /// 16 tables of 256 entries, back to back: entry `256·k + b` is the CRC register after the
    /// byte `b` followed by `k` zero bytes.
    private static let table: [UInt32] = {
        var t = [UInt32](repeating: 0, count: 16 * 256)
        for i in 0..<256 {
            var c = UInt32(i)
            for _ in 0..<8 { c = (c & 1) != 0 ? (0xEDB8_8320 ^ (c >> 1)) : (c >> 1) }
            t[i] = c
        }
        for k in 1..<16 {
            for i in 0..<256 {
                let prev = t[256 * (k - 1) + i]
                t[256 * k + i] = (prev >> 8) ^ t[Int(prev & 0xFF)]
            }
        }
        return t
    }()

    private var state: UInt32 = 0xFFFF_FFFF

    public init() {}

    /// The finished checksum of everything passed to `update` so far.
    public var value: UInt32 { state ^ 0xFFFF_FFFF }

    public mutating func update<C: Collection>(_ bytes: C) where C.Element == UInt8 {
        let done: Void? = bytes.withContiguousStorageIfAvailable { buffer in
            update(UnsafeRawBufferPointer(buffer))
        }
        if done == nil { update(Array(bytes)) }
    }

    /// True when `syncreplay_crc32_clmul` runs on this CPU.
    static let hardware = syncreplay_crc32_clmul_available() != 0

    public mutating func update(_ buffer: UnsafeRawBufferPointer) {
        guard let base = buffer.baseAddress, buffer.count > 0 else { return }
        if buffer.count >= 64 && CRC32.hardware {
            state = syncreplay_crc32_clmul(state, base.assumingMemoryBound(to: UInt8.self), buffer.count)
            return
        }
        let c = state
        state = CRC32.table.withUnsafeBufferPointer { t in
            CRC32.advance(c, base, buffer.count, t.baseAddress.unsafelyUnwrapped)
        }
    }

    /// Continues as if the `length` bytes whose CRC is `crc` had been passed to `update`.
    public mutating func append(crc: UInt32, length: Int) {
        state = CRC32.combine(value, crc, secondLength: length) ^ 0xFFFF_FFFF
    }

    /// The register after `n` bytes at `p`: 16 bytes per step, one table lookup per byte.
    @inline(__always)
    private static func advance(_ register: UInt32, _ p: UnsafeRawPointer, _ n: Int, _ t: UnsafePointer<UInt32>) -> UInt32 {
        var c = register
        var i = 0
        while i + 16 <= n {
            let a = UInt64(littleEndian: p.loadUnaligned(fromByteOffset: i, as: UInt64.self)) ^ UInt64(c)
            let b = UInt64(littleEndian: p.loadUnaligned(fromByteOffset: i + 8, as: UInt64.self))
            var x: UInt32 = t[15 * 256 + Int(a & 0xFF)]
            x ^= t[14 * 256 + Int((a >> 8) & 0xFF)]
            x ^= t[13 * 256 + Int((a >> 16) & 0xFF)]
            x ^= t[12 * 256 + Int((a >> 24) & 0xFF)]
            x ^= t[11 * 256 + Int((a >> 32) & 0xFF)]
            x ^= t[10 * 256 + Int((a >> 40) & 0xFF)]
            x ^= t[9 * 256 + Int((a >> 48) & 0xFF)]
            x ^= t[8 * 256 + Int(a >> 56)]
            x ^= t[7 * 256 + Int(b & 0xFF)]
            x ^= t[6 * 256 + Int((b >> 8) & 0xFF)]
            x ^= t[5 * 256 + Int((b >> 16) & 0xFF)]
            x ^= t[4 * 256 + Int((b >> 24) & 0xFF)]
            x ^= t[3 * 256 + Int((b >> 32) & 0xFF)]
            x ^= t[2 * 256 + Int((b >> 40) & 0xFF)]
            x ^= t[1 * 256 + Int((b >> 48) & 0xFF)]
            x ^= t[Int(b >> 56)]
            c = x
            i += 16
        }
        while i < n {
            c = t[Int((c ^ UInt32(p.load(fromByteOffset: i, as: UInt8.self))) & 0xFF)] ^ (c >> 8)
            i += 1
        }
        return c
    }

    /// The CRC of `bytes` in one call.
    public static func checksum<C: Collection>(_ bytes: C) -> UInt32 where C.Element == UInt8 {
        var crc = CRC32()
        crc.update(bytes)
        return crc.value
    }

    /// The CRC of A followed by B, from the CRC of A, the CRC of B and B's length. CRC-32 is
    /// linear over GF(2): crc(A‖B) = crc(A)·x^(8·|B|) mod P ⊕ crc(B), init and xorout cancelling.
    public static func combine(_ first: UInt32, _ second: UInt32, secondLength: Int) -> UInt32 {
        multiply(first, xToThe8n(UInt64(secondLength))) ^ second
    }

    /// `a·b mod P` for polynomials in the reflected form (bit 31 is x⁰, bit 0 is x³¹).
    static func multiply(_ a: UInt32, _ b: UInt32) -> UInt32 {
        var product: UInt32 = 0
        var b = b
        var bit: UInt32 = 1 << 31
        while bit != 0 {
            if a & bit != 0 { product ^= b }
            b = (b & 1) != 0 ? (b >> 1) ^ 0xEDB8_8320 : b >> 1  // b·x
            bit >>= 1
        }
        return product
    }

    /// x^(2^k) mod P for k in 0..<64.
    private static let xToThePowersOfTwo: [UInt32] = {
        var powers: [UInt32] = [1 << 30]  // x¹
        for _ in 1..<64 { powers.append(multiply(powers[powers.count - 1], powers[powers.count - 1])) }
        return powers
    }()

    /// x^(8n) mod P, by the binary expansion of n (x^(8n) = x^(n·2³)).
    static func xToThe8n(_ n: UInt64) -> UInt32 {
        var result: UInt32 = 1 << 31  // x⁰
        var n = n, k = 3
        while n != 0 && k < 64 {
            if n & 1 != 0 { result = multiply(result, xToThePowersOfTwo[k]) }
            n >>= 1
            k += 1
        }
        return result
    }
}
