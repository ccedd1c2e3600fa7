import CometWire
import Foundation
import SyncMachine
import SyncTrace

/// Replay's `BlockArchive` (issue 19): the node's store keeps only its recent blocks
/// (`NodeBlockStore.keepRecent`), and this remembers, for every applied height, where in the
/// trace the block came from — its BlockResponse's Message record offset (a streamed trace) or
/// its event's index (a trace in memory), 8 bytes a block — to read and decode it again when a
/// peer asks for a height the store let go of. What the node serves is unchanged.
///
/// Which delivered response carried the applied block: the only one delivered for that height,
/// else the latest whose block has the applied hash. Two responses with the same block and
/// different extended commits are not told apart (the latest is taken); that only matters when
/// such a block is also let go of and then served with vote extensions enabled.
///
/// Shared by the replay (which records) and the machine's store (which reads), on one thread;
/// the lock makes it `Sendable`. A block that cannot be read again (the file changed under the
/// replay) is recorded as the archive's `failure`, which fails the replay.
final class TraceBlockArchive: BlockArchive, @unchecked Sendable {
    private enum Source {
        case file(MCAPFileSource)
        case memory([ReplayEvent])
    }

    private let source: Source
    private let path: String
    private let lock = NSLock()
    private var firstHeight: Int64?
    /// Locations by height from `firstHeight`, in pieces of `pieceSize` (no doubling slack).
    private var pieces: [[UInt64]] = []
    private var count = 0
    static let pieceSize = 4096
    private var failure_: String?

    init(trace: ReplayTrace) throws(CaseError) {
        path = trace.path
        if trace.isStreamed {
            do { source = .file(try MCAPFileSource(path: trace.path)) } catch {
                throw CaseError("trace \(trace.path) became unreadable after it was checked: \(error)")
            }
        } else {
            source = .memory(trace.events)
        }
    }

    /// Recorded for a height whose response was not found (never expected): asking for it fails
    /// the replay instead of serving something else.
    static let unknown = UInt64.max

    /// The first block that could not be read again, if any.
    var failure: String? { lock.withLock { failure_ } }

    /// The block applied at `height` came from the response at `location`. Heights are applied
    /// in order; a gap (none in practice) starts the archive over from there.
    func record(height: Int64, location: UInt64) {
        lock.withLock {
            if firstHeight == nil || height != firstHeight! &+ Int64(count) {
                firstHeight = height
                pieces = []
                count = 0
            }
            if count % Self.pieceSize == 0 {
                var piece: [UInt64] = []
                piece.reserveCapacity(Self.pieceSize)
                pieces.append(piece)
            }
            pieces[pieces.count - 1].append(location)
            count += 1
        }
    }

    func block(at height: Int64) -> StoredBlock? {
        let location: UInt64? = lock.withLock {
            guard let first = firstHeight, height >= first, height &- first < Int64(count) else { return nil }
            let i = Int(height &- first)
            return pieces[i / Self.pieceSize][i % Self.pieceSize]
        }
        guard let location else { return nil }
        do {
            guard location != Self.unknown else { throw CaseError("no delivered response was found for it") }
            guard case .blockResponse(let block, let ext) = try message(at: location) else {
                throw CaseError("the event there is not a BlockResponse")
            }
            return StoredBlock(block: block, extendedCommit: ext)
        } catch {
            lock.withLock { if failure_ == nil { failure_ = "trace \(path): the block at height \(height) could not be read again: \(error)" } }
            return nil
        }
    }

    /// The blocksync message of the event at `location`.
    func message(at location: UInt64) throws -> BlocksyncMessage {
        switch source {
        case .file(let file):
            let entry = try TraceReader.event(in: file, atOffset: location, topic: .blocksync)
            guard case .blocksync(let record) = entry.event else { throw CaseError("not a /blocksync event") }
            return try BlocksyncMessage.decode(record.message)
        case .memory(let events):
            guard location < UInt64(events.count), case .blocksync(_, _, let bytes) = events[Int(location)].body else {
                throw CaseError("event \(location) is not a /blocksync event")
            }
            return try BlocksyncMessage.decode(bytes)
        }
    }
}
