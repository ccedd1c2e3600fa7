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

/// Where a store that keeps only its recent blocks finds the older ones it saved (issue 19:
/// replay memory independent of the trace's length). Replay's archive reads them again from
/// the trace they came from, so the same height always gives the same block. It is asked only
/// for heights the store saved and let go of.
public protocol BlockArchive: AnyObject, Sendable {
    /// The block saved at `height`, as it was saved (nil: not archived).
    func block(at height: Int64) -> StoredBlock?
}

/// The node's block store as the reactor sees it: `Base()`/`Height()` for StatusResponses and
/// `LoadBlock(h)` for BlockRequests (§3.2).
///
/// `base` and `height` are what the store declares (from the trace's `/node` record); only the
/// blocks actually given (e.g. the trace's start block) and those applied during the run can be
/// served — a request for any other height gets NoBlockResponse. Blocks live in fixed-size
/// chunks so copying a reactor (a snapshot) shares them and a later save copies one chunk.
///
/// With an archive (`keepRecent(_:archive:)`), the store holds the given blocks and only the
/// last saved ones (at least `retention`, whole chunks) and asks the archive for older saved
/// heights: what `LoadBlock` answers does not change, only where the block comes from.
public struct NodeBlockStore: Sendable, Equatable {
    static let defaultChunkSize = 256

    /// Saved blocks per chunk (smaller than the default only to keep fewer than 256 blocks).
    private var chunkSize = NodeBlockStore.defaultChunkSize

    public private(set) var base: Int64
    public private(set) var height: Int64
    /// The blocks given at the start, consecutive from `givenFirst`; never let go of.
    private var given: [StoredBlock] = []
    private var givenFirst: Int64 = 1
    /// The first height saved during the run (nil before the first save).
    private var savedFirst: Int64?
    /// Height of the first saved block still held; held contiguously from there.
    private var heldFirst: Int64 = 1
    private var chunks: [[StoredBlock]] = []
    /// Saved blocks held.
    private var heldSaved = 0
    /// Saved blocks held at least (nil: all of them), and where the others are.
    private var retention: Int?
    private var archive: (any BlockArchive)?

    /// Blocks held in memory (given and saved).
    public var heldCount: Int { given.count + heldSaved }

    /// An empty store (a node syncing from genesis reports base 0, height 0).
    public init() {
        base = 0
        height = 0
    }

    /// A store that declares `base…height` and holds `blocks`, which must be consecutive and end
    /// at `height` (typically just the block at `height`).
    public init(base: Int64, height: Int64, blocks: [StoredBlock]) throws(NodeStateError) {
        self.base = base
        self.height = height
        givenFirst = height &- Int64(blocks.count) &+ 1
        for (i, stored) in blocks.enumerated() where stored.block.header.height != givenFirst &+ Int64(i) {
            throw .storeBlocksNotConsecutive(expected: givenFirst &+ Int64(i), got: stored.block.header.height)
        }
        given = blocks
    }

    /// Holds only the last `retention` (up to one chunk more) of the blocks it saves, and asks
    /// `archive` for the older ones. Called before the first save.
    public mutating func keepRecent(_ retention: Int, archive: any BlockArchive) {
        let retention = max(1, retention)
        self.retention = retention
        self.archive = archive
        if savedFirst == nil { chunkSize = min(Self.defaultChunkSize, retention) }
    }

    /// `LoadBlock(h)`: nil when not held.
    public func block(at h: Int64) -> StoredBlock? {
        if !given.isEmpty, h >= givenFirst, h &- givenFirst < Int64(given.count) { return given[Int(h &- givenFirst)] }
        guard let savedFirst, h >= savedFirst, h <= height else { return nil }
        guard h >= heldFirst else { return archive?.block(at: h) }
        let i = Int(h &- heldFirst)
        guard i < heldSaved else { return nil }
        return chunks[i / chunkSize][i % chunkSize]
    }

    /// `SaveBlock`: the next height after `height`.
    public mutating func save(_ stored: StoredBlock) {
        let h = stored.block.header.height
        if savedFirst == nil {
            savedFirst = h
            heldFirst = h
        }
        if base == 0 { base = h }
        height = h
        if heldSaved % chunkSize == 0 {
            var chunk: [StoredBlock] = []
            chunk.reserveCapacity(chunkSize)
            chunks.append(chunk)
        }
        chunks[chunks.count - 1].append(stored)
        heldSaved += 1
        // Let go of the oldest chunk once the rest still holds `retention` blocks.
        if let retention, heldSaved - chunkSize >= retention, chunks.count > 1 {
            chunks.removeFirst()
            heldSaved -= chunkSize
            heldFirst = heldFirst &+ Int64(chunkSize)
        }
    }

    public static func == (a: NodeBlockStore, b: NodeBlockStore) -> Bool {
        a.base == b.base && a.height == b.height && a.given == b.given && a.givenFirst == b.givenFirst
            && a.savedFirst == b.savedFirst && a.heldFirst == b.heldFirst && a.chunks == b.chunks && a.heldSaved == b.heldSaved
            && a.retention == b.retention && a.chunkSize == b.chunkSize && a.archive === b.archive
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
