import Keccak

/// The subset of STROBE-128 (v1.0.2) that merlin uses: `meta_ad`, `ad`, `prf`, on
/// Keccak-f[1600] with rate 166 bytes (security 128). SecretConnection derives its challenge
/// with it (§1.2 step 5).
struct Strobe128: Sendable {
    static let rate = 166

    private static let flagI: UInt8 = 1
    private static let flagA: UInt8 = 1 << 1
    private static let flagC: UInt8 = 1 << 2
    private static let flagM: UInt8 = 1 << 4

    private var state = KeccakState()
    private var pos = 0
    private var posBegin = 0
    private var currentFlags: UInt8 = 0

    init(protocolLabel: [UInt8]) {
        // Domain block: [1, R+2, 1, 0, 1, 12*8] ‖ "STROBEv1.0.2", then F.
        let domain: [UInt8] = [1, UInt8(Self.rate + 2), 1, 0, 1, 96] + Array("STROBEv1.0.2".utf8)
        for (i, b) in domain.enumerated() { state[byte: i] = b }
        state.permute()
        metaAD(protocolLabel, more: false)
    }

    mutating func metaAD(_ data: [UInt8], more: Bool) {
        beginOperation(Self.flagM | Self.flagA, more: more)
        absorb(data)
    }

    mutating func ad(_ data: [UInt8], more: Bool) {
        beginOperation(Self.flagA, more: more)
        absorb(data)
    }

    mutating func prf(count: Int, more: Bool) -> [UInt8] {
        beginOperation(Self.flagI | Self.flagA | Self.flagC, more: more)
        return squeeze(count: count)
    }

    private mutating func runF() {
        state.xor(byte: pos, UInt8(posBegin))
        state.xor(byte: pos + 1, 0x04)
        state.xor(byte: Self.rate + 1, 0x80)
        state.permute()
        pos = 0
        posBegin = 0
    }

    private mutating func absorb(_ data: [UInt8]) {
        for b in data {
            state.xor(byte: pos, b)
            pos += 1
            if pos == Self.rate { runF() }
        }
    }

    private mutating func squeeze(count: Int) -> [UInt8] {
        var out = [UInt8](repeating: 0, count: count)
        for i in 0..<count {
            out[i] = state[byte: pos]
            state[byte: pos] = 0
            pos += 1
            if pos == Self.rate { runF() }
        }
        return out
    }

    private mutating func beginOperation(_ flags: UInt8, more: Bool) {
        if more {
            // Continuing an operation requires the same flags (a programming error otherwise).
            precondition(flags == currentFlags, "STROBE: continued operation with different flags")
            return
        }
        let oldBegin = posBegin
        posBegin = pos + 1
        currentFlags = flags
        absorb([UInt8(oldBegin), flags])
        // Operations with C or K force a permutation before their data.
        if flags & (Self.flagC | (1 << 5)) != 0 && pos != 0 { runF() }
    }
}

/// A merlin transcript ("Merlin v1.0" over STROBE-128): labelled messages in, challenges out.
/// SecretConnection uses `"TENDERMINT_SECRET_CONNECTION_TRANSCRIPT_HASH"` (§1.2 step 5).
public struct Transcript: Sendable {
    private var strobe: Strobe128

    public init(label: String) {
        strobe = Strobe128(protocolLabel: Array("Merlin v1.0".utf8))
        appendMessage(label: "dom-sep", message: Array(label.utf8))
    }

    /// `append_message`: meta-AD(label ‖ LE32(len)), AD(message).
    public mutating func appendMessage(label: String, message: [UInt8]) {
        strobe.metaAD(Array(label.utf8), more: false)
        strobe.metaAD(Self.le32(message.count), more: true)
        strobe.ad(message, more: false)
    }

    /// `append_u64`: the value as 8 little-endian bytes.
    public mutating func appendUInt64(label: String, _ value: UInt64) {
        appendMessage(label: label, message: (0..<8).map { UInt8(truncatingIfNeeded: value >> (8 * UInt64($0))) })
    }

    /// `challenge_bytes` (gtank/merlin `ExtractBytes`): meta-AD(label ‖ LE32(count)), PRF(count).
    public mutating func challengeBytes(label: String, count: Int) -> [UInt8] {
        precondition(count >= 0 && count <= Int(UInt32.max), "challenge length out of range")
        strobe.metaAD(Array(label.utf8), more: false)
        strobe.metaAD(Self.le32(count), more: true)
        return strobe.prf(count: count, more: false)
    }

    private static func le32(_ n: Int) -> [UInt8] {
        let v = UInt32(truncatingIfNeeded: n)
        return [UInt8(truncatingIfNeeded: v), UInt8(truncatingIfNeeded: v >> 8),
                UInt8(truncatingIfNeeded: v >> 16), UInt8(truncatingIfNeeded: v >> 24)]
    }
}
