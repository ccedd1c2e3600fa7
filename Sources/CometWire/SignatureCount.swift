import ProtoWire

/// The signature counts cometbft v0.38.24+'s `FilterMsgBytes` reads from a raw channel-0x40
/// payload before unmarshalling it, with its stub proto `SigCountMessage` (specs §3.3):
/// only `block_response(3).block(1).last_commit(4).signatures(4)` and
/// `block_response(3).ext_commit(2).extended_signatures(4)` are looked at; everything else is
/// skipped. Like the stub (where `block_response` is not a oneof), repeated occurrences merge,
/// so duplicated fields add up.
public struct BlockResponseSignatureCount: Hashable, Sendable {
    public var lastCommit: Int
    public var extendedCommit: Int

    public init(lastCommit: Int, extendedCommit: Int) {
        self.lastCommit = lastCommit
        self.extendedCommit = extendedCommit
    }

    /// nil when the payload has no `block_response` field (not a BlockResponse: nothing to check).
    /// Throws for a payload the stub cannot parse (⇒ "malformed blocksync message").
    public static func read(_ payload: [UInt8]) throws(WireError) -> BlockResponseSignatureCount? {
        do {
            return try scan(payload)
        } catch {
            throw WireError.wrap(error, in: "tendermint.blocksync.SigCountMessage")
        }
    }

    /// `validateMaxVotes`: both counts at most `MaxVotesCount` (10,000); the error text is Go's.
    public func validateMaxVotes() throws(WireError) {
        if lastCommit > Limits.maxVotesCount {
            throw .invalidMessage("too many commit signatures: \(lastCommit) (max \(Limits.maxVotesCount))")
        }
        if extendedCommit > Limits.maxVotesCount {
            throw .invalidMessage("too many extended commit signatures: \(extendedCommit) (max \(Limits.maxVotesCount))")
        }
    }

    private static func scan(_ payload: [UInt8]) throws -> BlockResponseSignatureCount? {
        var reader = ProtoReader(payload)
        var result: BlockResponseSignatureCount?
        while let f = try reader.next() {
            guard f.number == 3 else { continue }
            var count = result ?? BlockResponseSignatureCount(lastCommit: 0, extendedCommit: 0)
            var response = try f.messageReader()
            while let g = try response.next() {
                switch g.number {
                case 1:
                    var block = try g.messageReader()
                    while let h = try block.next() {
                        if h.number == 4 { count.lastCommit += try countRepeated(h) }
                    }
                case 2:
                    count.extendedCommit += try countRepeated(g)
                default: continue
                }
            }
            result = count
        }
        return result
    }

    /// Counts field-4 entries (each must be length-delimited) inside a commit message field.
    private static func countRepeated(_ field: ProtoField) throws -> Int {
        var commit = try field.messageReader()
        var n = 0
        while let s = try commit.next() {
            guard s.number == 4 else { continue }
            _ = try s.messageReader()  // checks the wire type without copying
            n += 1
        }
        return n
    }
}
