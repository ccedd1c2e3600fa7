/// A one-line description of a channel-0x40 payload for `syncreplay cat` / `doctor`: the
/// message kind, heights and sizes (issue 3).
public struct BlocksyncSummary: Hashable, Sendable, CustomStringConvertible {
    public let kind: String
    public let height: Int64?
    /// `StatusResponse.base`.
    public let base: Int64?
    /// Size of the whole payload.
    public let byteCount: Int
    /// Encoded size of the block (`msg.Block.Size()`, what the pool feeds its rate monitor).
    public let blockBytes: Int?
    public let txCount: Int?
    /// Signatures in the block's `last_commit`.
    public let lastCommitSignatures: Int?
    /// Signatures in `ext_commit`, when present.
    public let extCommitSignatures: Int?

    public init(_ message: BlocksyncMessage, byteCount: Int) {
        self.kind = message.kind
        self.height = message.height
        self.byteCount = byteCount
        if case .statusResponse(_, let b) = message { base = b } else { base = nil }
        if case .blockResponse(let block, let ext) = message {
            blockBytes = block.encodedSize
            txCount = block.data.txs.count
            lastCommitSignatures = block.lastCommit?.signatures.count ?? 0
            extCommitSignatures = ext?.extendedSignatures.count
        } else {
            blockBytes = nil
            txCount = nil
            lastCommitSignatures = nil
            extCommitSignatures = nil
        }
    }

    /// Decodes and summarises a payload; a payload that does not decode gives its `WireError`.
    public static func of(_ payload: [UInt8]) -> Result<BlocksyncSummary, WireError> {
        do {
            return .success(BlocksyncSummary(try BlocksyncMessage.decode(payload), byteCount: payload.count))
        } catch {
            return .failure(error)
        }
    }

    /// E.g. `block_response height=10 bytes=575 block=569 txs=0 sigs=1`.
    public var description: String {
        var parts = [kind]
        if let height { parts.append("height=\(height)") }
        if let base { parts.append("base=\(base)") }
        parts.append("bytes=\(byteCount)")
        if let blockBytes { parts.append("block=\(blockBytes)") }
        if let txCount { parts.append("txs=\(txCount)") }
        if let lastCommitSignatures { parts.append("sigs=\(lastCommitSignatures)") }
        if let extCommitSignatures { parts.append("ext_sigs=\(extCommitSignatures)") }
        return parts.joined(separator: " ")
    }
}
