import CometP2P
import CometWire

/// Protobuf and framing decoders of the CometBFT wire.
enum WireInput {
    /// A blocksync message as the reactor receives it: decode, `BlockFromProto`'s checks, the
    /// block ID (header hash, part set) and the summary `cat` prints.
    static func blocksync(_ data: [UInt8]) {
        _ = BlocksyncSummary.of(data)
        guard case .blockResponse(let block, let extCommit)? = try? BlocksyncMessage.decode(data) else { return }
        try? block.validateFromProto()
        try? block.validateBasic()
        _ = block.blockID()
        try? extCommit?.validateBasic()
    }

    /// The MConnection stream, fed in pieces whose size the first byte chooses (so reassembly
    /// across pieces is exercised), and one packet on its own.
    static func mconnection(_ data: [UInt8]) {
        guard let first = data.first else { return }
        _ = try? MConnectionPacket.decode(data[1...])
        var decoder = MConnectionDecoder(channels: .fullNode)
        let piece = Int(first) + 1
        var start = 1
        while start < data.count {
            decoder.feed(data[start..<min(start + piece, data.count)])
            start += piece
            do {
                while try decoder.next() != nil {}
            } catch {
                return
            }
        }
    }

    /// Handshake messages on their own: ephemeral key, AuthSigMessage (and its signature over a
    /// fixed challenge), NodeInfo (and `CompatibleWith` against a node of its network).
    static func handshake(_ data: [UInt8]) {
        _ = try? SecretConnection.ephemeralKey(fromBytesValue: data[...])
        if let auth = try? AuthSigMessage.decode(data[...]) { _ = try? auth.verify(challenge: SealedInput.keys.challenge) }
        if let info = try? NodeInfo.decode(data[...]) {
            var local = info
            local.nodeID = String(repeating: "0", count: 40)
            _ = local.incompatibility(with: info)
            _ = info.encodeDelimited()
        }
    }
}
