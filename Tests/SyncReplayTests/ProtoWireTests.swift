import Testing
import ProtoWire

@Suite struct ProtoWireTests {
    /// `BlockRequest{height=5}` wrapped in `Message` is `0a 02 08 05` (specs/cometbft-blocksync.md §1.3).
    @Test func nestedMessageBytes() {
        var w = ProtoWriter()
        w.message(1, always: true) { $0.int64(1, 5) }
        #expect(w.bytes == [0x0a, 0x02, 0x08, 0x05])
    }

    /// Go's zero time: seconds = -62135596800 encodes as a 10-byte two's complement varint.
    @Test func negativeInt64() {
        var w = ProtoWriter()
        w.int64(1, -62135596800)
        #expect(w.bytes == [0x08, 0x80, 0x92, 0xb8, 0xc3, 0x98, 0xfe, 0xff, 0xff, 0xff, 0x01])
        var r = ProtoReader(w.bytes)
        let f = try? r.next()
        #expect((try? f?.int64()) == -62135596800)
    }

    @Test func zeroScalarsOmittedEmptyMessagesOnlyWhenAlways() {
        var w = ProtoWriter()
        w.int64(1, 0)
        w.bytes(2, [UInt8]())
        w.message(3) { _ in }
        #expect(w.bytes.isEmpty)
        w.message(2, always: true) { _ in }
        #expect(w.bytes == [0x12, 0x00])
    }

    @Test func hostileLengthIsRejectedWithoutAllocation() {
        // Field 1, length-delimited, claiming 2^62 bytes.
        let input: [UInt8] = [0x0a, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x40]
        var r = ProtoReader(input)
        #expect(throws: ProtoError.self) { _ = try r.next() }
    }

    @Test func truncatedVarintAndBadWireType() {
        var r1 = ProtoReader([0x08, 0x80])
        #expect(throws: ProtoError.truncated(offset: 1, expected: "a varint")) { _ = try r1.next() }
        var r2 = ProtoReader([0x0b])  // wire type 3 (group start)
        #expect(throws: ProtoError.invalidWireType(offset: 0, field: 1, wireType: 3)) { _ = try r2.next() }
        var r3 = ProtoReader([0x00, 0x00])
        #expect(throws: ProtoError.invalidFieldNumber(offset: 0)) { _ = try r3.next() }
    }

    @Test func delimitedStreaming() throws {
        let msg = ProtoWriter.delimited([1, 2, 3])
        #expect(msg == [3, 1, 2, 3])
        #expect(try ProtoReader.delimited(msg[0..<2], maxSize: 10) == nil)
        let whole = try ProtoReader.delimited(msg[...], maxSize: 10)
        #expect(whole.map { Array($0.message) } == [1, 2, 3])
        #expect(whole?.consumed == 4)
        #expect(throws: ProtoError.self) { _ = try ProtoReader.delimited(msg[...], maxSize: 2) }
    }

    @Test func randomBytesNeverCrash() {
        var seed: UInt64 = 0x9e3779b97f4a7c15
        for _ in 0..<2000 {
            var bytes: [UInt8] = []
            for _ in 0..<Int(seed % 40) {
                seed = seed &* 6364136223846793005 &+ 1442695040888963407
                bytes.append(UInt8(truncatingIfNeeded: seed >> 33))
            }
            seed = seed &* 6364136223846793005 &+ 1442695040888963407
            var r = ProtoReader(bytes)
            var fields = 0
            while let f = try? r.next() {
                fields += 1
                if f.wireType == .lengthDelimited, var inner = try? f.messageReader() {
                    while (try? inner.next()) != nil {}
                }
            }
            #expect(fields <= bytes.count)
        }
    }
}
