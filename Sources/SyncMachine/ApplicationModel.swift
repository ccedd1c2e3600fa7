import CometWire

/// Where the node's application results come from (specs/cometbft-blocksync.md §3.4 step 6,
/// §4.5). A real node runs `ApplyBlock`: its ABCI application executes `first` and returns the
/// `AppHash` and `LastResultsHash` that `ValidateBlock` then requires of the *next* block. They
/// depend only on the blocks applied so far — never on the unverified `second` block a peer
/// sent along (a tampered `second` must not change what the node expects).
public enum ApplicationModel: Sendable, Equatable {
    /// The application is not known (e.g. a captured node running its own app): after the
    /// first applied block, `AppHash` and `LastResultsHash` are not compared. Documented
    /// divergence: a real node would reject a block whose app hash its application disagrees
    /// with; a replay without the application cannot tell.
    case unknown
    /// The simulator's honest application (`ChainBuilder.appHash(totalTxs:)`,
    /// `ChainBuilder.resultsHash(txCount:)`): the app hash is the 8-byte big-endian count of
    /// transactions applied so far, the results hash a Merkle root of one empty result per
    /// transaction. Its state is its app hash, so it also resumes from a stored state.
    case transactionCounter

    /// The state after applying `block` (`state.Update` with this application's results).
    public func applying(_ block: Block, blockID: BlockID, to state: ChainState) -> ChainState {
        switch self {
        case .unknown:
            return state.applying(block, blockID: blockID)
        case .transactionCounter:
            var applied: UInt64 = 0
            for byte in state.appHash.suffix(8) { applied = applied << 8 | UInt64(byte) }
            let total = applied &+ UInt64(block.data.txs.count)
            return state.applying(block, blockID: blockID, appHash: ChainBuilder.appHash(totalTxs: total),
                                  lastResultsHash: ChainBuilder.resultsHash(txCount: block.data.txs.count))
        }
    }
}
