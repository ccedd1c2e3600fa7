import CometWire
import Foundation
import SyncMachine
import SyncTrace

/// Replay's `BlockArchive` (issue 19): the node's store keeps only its recent blocks
/// (`NodeBlockStore.keepRecent`), and this remembers, for every applied height, where in the
/// trace the block came from — its BlockResponse's Message record offset (a streamed trace) or
/// its event's index (a trace in memory), 4 bytes a block (`Piece`) — to read and decode it again
/// when a peer asks for a height the store let go of. What the node serves is unchanged.
///
/// Which delivered response carried the applied block: the only one delivered for that height,
/// else the latest whose block has the applied hash. Two responses with the same block and
/// different extended commits are not told apart (the latest is taken); that only matters when
/// such a block is also let go of and then served with vote extensions enabled.
///
/// Shared by the replay (which records) and the machine's store (which reads), on one thread;
/// the lock makes it `Sendable`. A block that cannot be read again fails the replay
/// (`TraceMessages.failure`).
final class TraceBlockArchive: BlockArchive, @unchecked Sendable {
    /// Recorded for a height whose response was not found (never expected): asking for it fails
    /// the replay instead of serving something else.
    static let unknown = UInt64.max
    static let pieceSize = 4096

    let messages: TraceMessages
    private let lock = NSLock()
    private var firstHeight: Int64?
    /// Locations by height from `firstHeight`, in pieces of `pieceSize` (no doubling slack).
    private var pieces: [Piece] = []
    private var count = 0

    init(messages: TraceMessages) {
        self.messages = messages
    }

    /// The block applied at `height` came from the response at `location`. Heights are applied
    /// in order; a gap (none in practice) starts the archive over from there.
    func record(height: Int64, location: UInt64) {
        lock.withLock {
            if firstHeight == nil || height != firstHeight! &+ Int64(count) {
                firstHeight = height
                pieces = []
                count = 0
            }
            if count % Self.pieceSize == 0 { pieces.append(Piece(first: location)) }
            pieces[pieces.count - 1].append(location)
            count += 1
        }
    }

    func block(at height: Int64) -> StoredBlock? {
        let location: UInt64? = lock.withLock {
            guard let first = firstHeight, height >= first, height &- first < Int64(count) else { return nil }
            let i = Int(height &- first)
            return pieces[i / Self.pieceSize].location(i % Self.pieceSize)
        }
        guard let location else { return nil }
        let what = "the block applied at height \(height)"
        guard location != Self.unknown else {
            messages.fail("trace \(messages.path): \(what) cannot be served again: no delivered response was found for it")
            return nil
        }
        guard let bytes = messages.bytes(at: location, for: what) else { return nil }
        guard case .blockResponse(let block, let ext)? = try? BlocksyncMessage.decode(bytes) else {
            messages.fail("trace \(messages.path): \(what) cannot be served again: its recorded message is not a BlockResponse")
            return nil
        }
        return StoredBlock(block: block, extendedCommit: ext)
    }

    /// The block of the BlockResponse at `location`, if it is one.
    func deliveredBlock(at location: UInt64) -> Block? {
        guard let bytes = messages.bytes(at: location, for: "a delivered block"),
              case .blockResponse(let block, _)? = try? BlocksyncMessage.decode(bytes) else { return nil }
        return block
    }

    /// `pieceSize` locations: as 32-bit offsets from the piece's first (the blocks of 4,096
    /// consecutive heights lie close together in the trace), or as full locations once one does
    /// not fit (a block delivered far from its neighbours).
    struct Piece {
        private static let unknownOffset = Int32.min
        private let base: UInt64
        private var offsets: [Int32] = []
        private var full: [UInt64]?

        init(first: UInt64) {
            base = first == TraceBlockArchive.unknown ? 0 : first
            offsets.reserveCapacity(TraceBlockArchive.pieceSize)
        }

        mutating func append(_ location: UInt64) {
            if full != nil { full!.append(location); return }
            if location == TraceBlockArchive.unknown { offsets.append(Self.unknownOffset); return }
            let offset = Int64(bitPattern: location &- base)
            if offset > Int64(Int32.min), offset <= Int64(Int32.max) {
                offsets.append(Int32(offset))
                return
            }
            var wide = (0..<offsets.count).map(self.location)
            wide.reserveCapacity(TraceBlockArchive.pieceSize)
            wide.append(location)
            full = wide
            offsets = []
        }

        func location(_ i: Int) -> UInt64 {
            if let full { return full[i] }
            let offset = offsets[i]
            return offset == Self.unknownOffset ? TraceBlockArchive.unknown : base &+ UInt64(bitPattern: Int64(offset))
        }
    }
}
