import CometWire

/// A block the node holds, with what it stored beside it (`SaveBlock` seen commit or
/// `SaveBlockWithExtendedCommit`, specs/cometbft-blocksync.md §3.4 step 6).
public struct StoredBlock: Sendable, Equatable {
    public var block: Block
    public var extendedCommit: ExtendedCommit?

    public init(block: Block, extendedCommit: ExtendedCommit? = nil) {
        self.block = block
        self.extendedCommit = extendedCommit
    }
}

/// The node's block store as the reactor sees it: `Base()`/`Height()` for StatusResponses and
/// `LoadBlock(h)` for BlockRequests (§3.2).
///
/// `base` and `height` are what the store declares (from the trace's `/node` record); only the
/// blocks actually given (e.g. the trace's start block) and those applied during the run can be
/// served — a request for any other height gets NoBlockResponse. Blocks live in fixed-size
/// chunks so copying a reactor (a snapshot) shares them and a later save copies one chunk.
public struct NodeBlockStore: Sendable, Equatable {
    static let chunkSize = 256

    public private(set) var base: Int64
    public private(set) var height: Int64
    /// Height of the first held block; blocks are held contiguously from there.
    private var firstHeld: Int64
    private var chunks: [[StoredBlock]] = []
    public private(set) var heldCount = 0

    /// An empty store (a node syncing from genesis reports base 0, height 0).
    public init() {
        base = 0
        height = 0
        firstHeld = 1
    }

    /// A store that declares `base…height` and holds `blocks`, which must be consecutive and end
    /// at `height` (typically just the block at `height`).
    public init(base: Int64, height: Int64, blocks: [StoredBlock]) throws(NodeStateError) {
        self.base = base
        self.height = height
        self.firstHeld = height &- Int64(blocks.count) &+ 1
        for (i, stored) in blocks.enumerated() where stored.block.header.height != firstHeld &+ Int64(i) {
            throw .storeBlocksNotConsecutive(expected: firstHeld &+ Int64(i), got: stored.block.header.height)
        }
        for stored in blocks { append(stored) }
    }

    /// `LoadBlock(h)`: nil when not held.
    public func block(at h: Int64) -> StoredBlock? {
        let offset = h &- firstHeld
        guard heldCount > 0, offset >= 0, offset < Int64(heldCount) else { return nil }
        let i = Int(offset)
        return chunks[i / Self.chunkSize][i % Self.chunkSize]
    }

    /// `SaveBlock`: the next height after `height`.
    public mutating func save(_ stored: StoredBlock) {
        if heldCount == 0 { firstHeld = stored.block.header.height }
        if base == 0 { base = stored.block.header.height }
        height = stored.block.header.height
        append(stored)
    }

    private mutating func append(_ stored: StoredBlock) {
        if heldCount % Self.chunkSize == 0 {
            var chunk: [StoredBlock] = []
            chunk.reserveCapacity(Self.chunkSize)
            chunks.append(chunk)
        }
        chunks[chunks.count - 1].append(stored)
        heldCount += 1
    }
}

/// Why a reactor cannot be built from the given state and store (Go panics here).
public enum NodeStateError: Error, Equatable, Sendable, CustomStringConvertible {
    case stateStoreMismatch(stateHeight: Int64, storeHeight: Int64)
    case storeBlocksNotConsecutive(expected: Int64, got: Int64)

    public var description: String {
        switch self {
        case .stateStoreMismatch(let s, let b):
            return "state (height \(s)) and store (height \(b)) heights don't match"
        case .storeBlocksNotConsecutive(let e, let g):
            return "store blocks must be consecutive and end at the store height: expected height \(e), got \(g)"
        }
    }
}
