import HexCoding
import Testing
import Keccak

/// Keccak-256 vectors of specs/conflux-pivot-hint.md §6 (original padding, not SHA3-256).
@Suite struct KeccakTests {
    static func hex(_ bytes: [UInt8]) -> String { Hex.lower(bytes) }

    @Test func emptyInput() {
        #expect(Self.hex(Keccak256.hash([UInt8]())) == "c5d2460186f7233c927e7db2dcc703c0e500b653ca82273b7bfad8045d85a470")
    }

    @Test func abc() {
        #expect(Self.hex(Keccak256.hash(Array("abc".utf8))) == "4e03657aea45a94fc7d47ba826c8d667c0d1e6e33a64a036ec44f58fa12d6c45")
    }

    @Test func eightZeroBytes() {
        #expect(Self.hex(Keccak256.hash([UInt8](repeating: 0, count: 8))) == "011b4d03dd8c01f1049143cf9c4c817e4b167f1d1b83e5c6f0f10d89ba1e7bce")
    }

    /// Incremental absorption in odd-sized pieces equals one-shot hashing across block edges.
    @Test func incrementalEqualsOneShot() {
        let data = (0..<1000).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ 7) }
        for split in [1, 7, 135, 136, 137, 500] {
            var h = Keccak256()
            var i = 0
            while i < data.count {
                let end = min(data.count, i + split)
                h.update(data[i..<end])
                i = end
            }
            #expect(h.finalize() == Keccak256.hash(data), "split \(split)")
        }
    }

    /// Byte view of the state agrees with lanes (little-endian), which STROBE relies on.
    @Test func stateByteView() {
        var s = KeccakState()
        s[byte: 9] = 0xab
        #expect(s.lanes[1] == 0xab00)
        s.xor(byte: 9, 0xff)
        #expect(s[byte: 9] == 0x54)
    }
}
