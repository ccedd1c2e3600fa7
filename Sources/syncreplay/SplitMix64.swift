/// SplitMix64: the benches' one seeded generator — the same draws and synthetic hashes every run.
struct SplitMix64 {
    var state: UInt64
    init(seed: UInt64) { state = seed }

    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    /// 32 pseudo-random bytes: four draws, little-endian (a synthetic block hash).
    mutating func hash32() -> [UInt8] {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(32)
        for _ in 0..<4 {
            let z = next()
            for i in 0..<8 { bytes.append(UInt8(truncatingIfNeeded: z >> (8 * UInt64(i)))) }
        }
        return bytes
    }
}
