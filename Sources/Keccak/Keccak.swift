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

    @inline(__always)
    private static func rotl(_ x: UInt64, _ n: UInt64) -> UInt64 { (x << n) | (x >> (64 - n)) }

    /// The permutation on 25 lanes held in locals (θ, ρ·π, χ, ι unrolled per round).
    static func permute(_ a: UnsafeMutablePointer<UInt64>) {
        var a0 = a[0]
        var a1 = a[1]
        var a2 = a[2]
        var a3 = a[3]
        var a4 = a[4]
        var a5 = a[5]
        var a6 = a[6]
        var a7 = a[7]
        var a8 = a[8]
        var a9 = a[9]
        var a10 = a[10]
        var a11 = a[11]
        var a12 = a[12]
        var a13 = a[13]
        var a14 = a[14]
        var a15 = a[15]
        var a16 = a[16]
        var a17 = a[17]
        var a18 = a[18]
        var a19 = a[19]
        var a20 = a[20]
        var a21 = a[21]
        var a22 = a[22]
        var a23 = a[23]
        var a24 = a[24]
        for round in 0..<24 {
            // θ
            let c0 = a0 ^ a5 ^ a10 ^ a15 ^ a20
            let c1 = a1 ^ a6 ^ a11 ^ a16 ^ a21
            let c2 = a2 ^ a7 ^ a12 ^ a17 ^ a22
            let c3 = a3 ^ a8 ^ a13 ^ a18 ^ a23
            let c4 = a4 ^ a9 ^ a14 ^ a19 ^ a24
            let d0 = c4 ^ rotl(c1, 1)
            let d1 = c0 ^ rotl(c2, 1)
            let d2 = c1 ^ rotl(c3, 1)
            let d3 = c2 ^ rotl(c4, 1)
            let d4 = c3 ^ rotl(c0, 1)
            // ρ and π: B[y, 2x+3y] = rot(A[x, y] ^ D[x], r[x, y])
            let b0 = (a0 ^ d0)
            let b16 = rotl(a5 ^ d0, 36)
            let b7 = rotl(a10 ^ d0, 3)
            let b23 = rotl(a15 ^ d0, 41)
            let b14 = rotl(a20 ^ d0, 18)
            let b10 = rotl(a1 ^ d1, 1)
            let b1 = rotl(a6 ^ d1, 44)
            let b17 = rotl(a11 ^ d1, 10)
            let b8 = rotl(a16 ^ d1, 45)
            let b24 = rotl(a21 ^ d1, 2)
            let b20 = rotl(a2 ^ d2, 62)
            let b11 = rotl(a7 ^ d2, 6)
            let b2 = rotl(a12 ^ d2, 43)
            let b18 = rotl(a17 ^ d2, 15)
            let b9 = rotl(a22 ^ d2, 61)
            let b5 = rotl(a3 ^ d3, 28)
            let b21 = rotl(a8 ^ d3, 55)
            let b12 = rotl(a13 ^ d3, 25)
            let b3 = rotl(a18 ^ d3, 21)
            let b19 = rotl(a23 ^ d3, 56)
            let b15 = rotl(a4 ^ d4, 27)
            let b6 = rotl(a9 ^ d4, 20)
            let b22 = rotl(a14 ^ d4, 39)
            let b13 = rotl(a19 ^ d4, 8)
            let b4 = rotl(a24 ^ d4, 14)
            // χ
            a0 = b0 ^ (~b1 & b2)
            a1 = b1 ^ (~b2 & b3)
            a2 = b2 ^ (~b3 & b4)
            a3 = b3 ^ (~b4 & b0)
            a4 = b4 ^ (~b0 & b1)
            a5 = b5 ^ (~b6 & b7)
            a6 = b6 ^ (~b7 & b8)
            a7 = b7 ^ (~b8 & b9)
            a8 = b8 ^ (~b9 & b5)
            a9 = b9 ^ (~b5 & b6)
            a10 = b10 ^ (~b11 & b12)
            a11 = b11 ^ (~b12 & b13)
            a12 = b12 ^ (~b13 & b14)
            a13 = b13 ^ (~b14 & b10)
            a14 = b14 ^ (~b10 & b11)
            a15 = b15 ^ (~b16 & b17)
            a16 = b16 ^ (~b17 & b18)
            a17 = b17 ^ (~b18 & b19)
            a18 = b18 ^ (~b19 & b15)
            a19 = b19 ^ (~b15 & b16)
            a20 = b20 ^ (~b21 & b22)
            a21 = b21 ^ (~b22 & b23)
            a22 = b22 ^ (~b23 & b24)
            a23 = b23 ^ (~b24 & b20)
            a24 = b24 ^ (~b20 & b21)
            // ι
            a0 ^= roundConstants[round]
        }
        a[0] = a0
        a[1] = a1
        a[2] = a2
        a[3] = a3
        a[4] = a4
        a[5] = a5
        a[6] = a6
        a[7] = a7
        a[8] = a8
        a[9] = a9
        a[10] = a10
        a[11] = a11
        a[12] = a12
        a[13] = a13
        a[14] = a14
        a[15] = a15
        a[16] = a16
        a[17] = a17
        a[18] = a18
        a[19] = a19
        a[20] = a20
        a[21] = a21
        a[22] = a22
        a[23] = a23
        a[24] = a24
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
            if let base = bytes.baseAddress {
                let raw = UnsafeRawPointer(base)
                while n - i >= Keccak256.rate {
                    for lane in 0..<(Keccak256.rate / 8) {
                        a[lane] ^= UInt64(littleEndian: raw.loadUnaligned(fromByteOffset: i + lane * 8, as: UInt64.self))
                    }
                    KeccakState.permute(a)
                    i += Keccak256.rate
                }
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
