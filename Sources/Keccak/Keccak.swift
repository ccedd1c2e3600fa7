/// Keccak-f[1600] and Keccak-256 with the original (pre-FIPS 202) padding `0x01 … 0x80`, as
/// Ethereum and Conflux use it (specs/conflux-pivot-hint.md §6). This is not SHA3-256, whose
/// domain byte is `0x06`. The bare permutation is public so STROBE (merlin transcripts in
/// SecretConnection) can run on the same code.

/// The 1600-bit Keccak state as 25 little-endian lanes, `lanes[x + 5*y]`.
public struct KeccakState: Sendable, Equatable {
    public var lanes: [UInt64]

    public init() { lanes = [UInt64](repeating: 0, count: 25) }

    /// Byte `i` (0..<200) of the state in its standard little-endian serialisation.
    public subscript(byte i: Int) -> UInt8 {
        get { UInt8(truncatingIfNeeded: lanes[i >> 3] >> (UInt64(i & 7) * 8)) }
        set {
            let shift = UInt64(i & 7) * 8
            lanes[i >> 3] = (lanes[i >> 3] & ~(0xff << shift)) | (UInt64(newValue) << shift)
        }
    }

    /// XORs `value` into byte `i`.
    public mutating func xor(byte i: Int, _ value: UInt8) {
        lanes[i >> 3] ^= UInt64(value) << (UInt64(i & 7) * 8)
    }

    /// Keccak-f[1600]: 24 rounds of θ, ρ, π, χ, ι.
    public mutating func permute() {
        lanes.withUnsafeMutableBufferPointer { a in
            KeccakState.permute(a.baseAddress!)
        }
    }

    private static let roundConstants: [UInt64] = [
        0x0000000000000001, 0x0000000000008082, 0x800000000000808A, 0x8000000080008000,
        0x000000000000808B, 0x0000000080000001, 0x8000000080008081, 0x8000000000008009,
        0x000000000000008A, 0x0000000000000088, 0x0000000080008009, 0x000000008000000A,
        0x000000008000808B, 0x800000000000008B, 0x8000000000008089, 0x8000000000008003,
        0x8000000000008002, 0x8000000000000080, 0x000000000000800A, 0x800000008000000A,
        0x8000000080008081, 0x8000000000008080, 0x0000000080000001, 0x8000000080008008,
    ]

    /// ρ offsets and π destinations along the lane walk starting at lane 1.
    private static let rho: [UInt64] = [1, 3, 6, 10, 15, 21, 28, 36, 45, 55, 2, 14, 27, 41, 56, 8, 25, 43, 62, 18, 39, 61, 20, 44]
    private static let pi: [Int] = [10, 7, 11, 17, 18, 3, 5, 16, 8, 21, 24, 4, 15, 23, 19, 13, 12, 2, 20, 14, 22, 9, 6, 1]

    @inline(__always)
    private static func rotl(_ x: UInt64, _ n: UInt64) -> UInt64 { (x << n) | (x >> (64 - n)) }

    static func permute(_ a: UnsafeMutablePointer<UInt64>) {
        var c0: UInt64, c1: UInt64, c2: UInt64, c3: UInt64, c4: UInt64
        for round in 0..<24 {
            // θ
            c0 = a[0] ^ a[5] ^ a[10] ^ a[15] ^ a[20]
            c1 = a[1] ^ a[6] ^ a[11] ^ a[16] ^ a[21]
            c2 = a[2] ^ a[7] ^ a[12] ^ a[17] ^ a[22]
            c3 = a[3] ^ a[8] ^ a[13] ^ a[18] ^ a[23]
            c4 = a[4] ^ a[9] ^ a[14] ^ a[19] ^ a[24]
            let d0 = c4 ^ rotl(c1, 1), d1 = c0 ^ rotl(c2, 1), d2 = c1 ^ rotl(c3, 1)
            let d3 = c2 ^ rotl(c4, 1), d4 = c3 ^ rotl(c0, 1)
            var y = 0
            while y < 25 {
                a[y] ^= d0; a[y + 1] ^= d1; a[y + 2] ^= d2; a[y + 3] ^= d3; a[y + 4] ^= d4
                y += 5
            }
            // ρ and π
            var current = a[1]
            rho.withUnsafeBufferPointer { r in
                pi.withUnsafeBufferPointer { p in
                    for i in 0..<24 {
                        let j = p[i]
                        let tmp = a[j]
                        a[j] = rotl(current, r[i])
                        current = tmp
                    }
                }
            }
            // χ
            y = 0
            while y < 25 {
                let b0 = a[y], b1 = a[y + 1], b2 = a[y + 2], b3 = a[y + 3], b4 = a[y + 4]
                a[y] = b0 ^ (~b1 & b2)
                a[y + 1] = b1 ^ (~b2 & b3)
                a[y + 2] = b2 ^ (~b3 & b4)
                a[y + 3] = b3 ^ (~b4 & b0)
                a[y + 4] = b4 ^ (~b0 & b1)
                y += 5
            }
            // ι
            a[0] ^= roundConstants[round]
        }
    }
}

/// Incremental Keccak-256 (rate 136 bytes, padding `0x01 … 0x80`).
public struct Keccak256: Sendable {
    public static let rate = 136
    private var state = KeccakState()
    private var buffered = 0  // bytes absorbed into the current block

    public init() {}

    public mutating func update<C: Collection>(_ data: C) where C.Element == UInt8 {
        if let done: Void = data.withContiguousStorageIfAvailable({ absorb($0) }) { return done }
        absorb(Array(data))
    }

    private mutating func absorb(_ bytes: UnsafeBufferPointer<UInt8>) {
        var i = 0
        let n = bytes.count
        state.lanes.withUnsafeMutableBufferPointer { lanesBuffer in
            let a = lanesBuffer.baseAddress!
            // Finish a partly filled block byte by byte.
            while i < n && buffered != 0 {
                a[buffered >> 3] ^= UInt64(bytes[i]) << (UInt64(buffered & 7) * 8)
                buffered += 1; i += 1
                if buffered == Keccak256.rate { KeccakState.permute(a); buffered = 0 }
            }
            // Whole blocks, lane by lane.
            while n - i >= Keccak256.rate {
                for lane in 0..<(Keccak256.rate / 8) {
                    var v: UInt64 = 0
                    let base = i + lane * 8
                    for k in 0..<8 { v |= UInt64(bytes[base + k]) << (UInt64(k) * 8) }
                    a[lane] ^= v
                }
                KeccakState.permute(a)
                i += Keccak256.rate
            }
            while i < n {
                a[buffered >> 3] ^= UInt64(bytes[i]) << (UInt64(buffered & 7) * 8)
                buffered += 1; i += 1
            }
        }
    }

    private mutating func absorb(_ bytes: [UInt8]) {
        bytes.withUnsafeBufferPointer { absorb($0) }
    }

    public consuming func finalize() -> [UInt8] {
        state.xor(byte: buffered, 0x01)
        state.xor(byte: Keccak256.rate - 1, 0x80)
        state.permute()
        return (0..<32).map { state[byte: $0] }
    }

    public static func hash<C: Collection>(_ data: C) -> [UInt8] where C.Element == UInt8 {
        var h = Keccak256()
        h.update(data)
        return h.finalize()
    }
}
