import CometWire
import FileInput
import Foundation
import SyncMachine
import SyncTrace

/// A trace as the reducer cuts it (issue 14 §2): the recorded entries, metadata and
/// attachments, and how to turn a subset of entries back into a valid trace.
///
/// A subset is always **repaired** into a valid trace before it is replayed or written: the
/// `/node` record and the `/capture` `end` marker stay; a peer's messages and its disconnect
/// count only while it is connected (a message before its connect, or after its disconnect,
/// goes with it); a second connect of a connected peer goes. Optionally the chain the trace
/// serves is shortened: every `StatusResponse` claims at most the highest block a kept
/// `BlockResponse` carries, so no peer advertises a block that no event holds.
public struct ReducibleTrace: Sendable {
    public var path: String
    public var entries: [TraceEntry]
    public var metadata: [String: String]
    public var attachments: [MCAPAttachment]
    /// Per entry: the peer it belongs to (`/p2p`, `/blocksync`), nil otherwise.
    let peers: [String?]
    /// Per entry: the block height a `/blocksync` message names (request, response, no-block).
    let heights: [Int64?]
    /// Entries that every candidate keeps: `/node` records and the `end` marker.
    let protected: [Bool]

    public init(path: String) throws(CaseError) {
        let bytes: [UInt8]
        do { bytes = try InputFile.read(path, what: "trace") } catch { throw CaseError(error.description) }
        // The loader's checks (damage, CRCs, not a trace) first: reduce never cuts a damaged trace.
        _ = try ReplayTraceLoader.load(bytes: bytes, path: path)
        do {
            let reader = try TraceReader(bytes: bytes)
            var metadata = reader.traceMetadata
            metadata.removeValue(forKey: SyncTraceFormat.formatVersionKey)
            self.init(path: path, entries: try reader.readAll(), metadata: metadata, attachments: try reader.attachments())
        } catch {
            throw CaseError("trace \(path): \(error)")
        }
    }

    public init(path: String, entries: [TraceEntry], metadata: [String: String], attachments: [MCAPAttachment]) {
        self.path = path
        self.entries = entries
        self.metadata = metadata
        self.attachments = attachments
        var peers: [String?] = [], heights: [Int64?] = [], protected: [Bool] = []
        for entry in entries {
            switch entry.event {
            case .node:
                peers.append(nil); heights.append(nil); protected.append(true)
            case .capture(let c):
                peers.append(nil); heights.append(nil); protected.append(c.kind == .end)
            case .p2p(let p):
                peers.append(p.peerID); heights.append(nil); protected.append(false)
            case .blocksync(let b):
                peers.append(b.peerID); protected.append(false)
                heights.append((try? BlocksyncMessage.decode(b.message))?.height)
            case .pivot:
                peers.append(nil); heights.append(nil); protected.append(false)
            }
        }
        self.peers = peers
        self.heights = heights
        self.protected = protected
    }

    /// Every entry index, in file order.
    public var all: [Int] { Array(entries.indices) }

    /// The valid trace a subset stands for (see the type's comment); `kept` is in file order.
    public func repaired(_ kept: [Int]) -> [Int] {
        var connected: Set<String> = []
        var out: [Int] = []
        out.reserveCapacity(kept.count)
        for i in kept {
            switch entries[i].event {
            case .p2p(let p) where p.kind == .connected:
                if connected.insert(p.peerID).inserted { out.append(i) }
            case .p2p(let p):
                if connected.remove(p.peerID) != nil { out.append(i) }
            case .blocksync(let b):
                if connected.contains(b.peerID) { out.append(i) }
            default:
                out.append(i)
            }
        }
        return out
    }

    /// The entries of a candidate, with `StatusResponse`s capped at the highest block kept
    /// when `shortenChain` is set.
    public func events(_ kept: [Int], shortenChain: Bool) -> [TraceEntry] {
        var selected = kept.map { entries[$0] }
        guard shortenChain else { return selected }
        var top: Int64 = 0
        for e in selected {
            if case .blocksync(let b) = e.event, case .blockResponse(let block, _)? = try? BlocksyncMessage.decode(b.message) {
                top = max(top, block.header.height)
            }
        }
        for (n, e) in selected.enumerated() {
            guard case .blocksync(var b) = e.event, case .statusResponse(let h, let base)? = try? BlocksyncMessage.decode(b.message),
                  h > top else { continue }
            b.message = BlocksyncMessage.statusResponse(height: top, base: min(base, top)).encode()
            selected[n].event = .blocksync(b)
        }
        return selected
    }

    /// The candidate as the replayer sees it (indices renumbered as in the written file).
    public func replayTrace(_ kept: [Int], shortenChain: Bool) -> ReplayTrace {
        let selected = events(kept, shortenChain: shortenChain)
        let replayEvents = selected.enumerated().map { n, e in
            ReplayEvent(index: n, sequence: UInt32(n + 1), time: e.logTime, body: ReplayTraceLoader.body(of: e.event))
        }
        var hint: (data: [UInt8], checksum: String?)?
        if let a = attachments.first(where: { $0.name == TraceAttachmentName.pivotHint }) {
            hint = (a.data, metadata[TraceAttachmentName.pivotHintChecksumKey])
        }
        var trace = ReplayTrace(path: path, sha256: "candidate", events: replayEvents, hintAttachment: hint,
                                genesisAttachment: attachments.first { $0.name == "genesis.json" }?.data)
        trace.recordsAfterSwitch = metadata[TraceAttachmentName.afterSwitchKey] != nil
        trace.blocksyncDisabled = metadata[TraceAttachmentName.blocksyncKey] == "false"
        // `init(path:)` loaded the trace first, which refuses an unreadable value.
        if let overrides = metadata[TraceAttachmentName.testOverridesKey], let read = try? TestOverrides(metadataValue: overrides) {
            trace.testOverrides = read
        }
        return trace
    }

    /// Writes the candidate as a trace file (metadata and attachments kept).
    public func write(_ kept: [Int], shortenChain: Bool, to path: String) throws(CaseError) {
        do {
            let writer = try TraceWriter(path: path, metadata: metadata)
            for e in events(kept, shortenChain: shortenChain) { try writer.append(e.event, logTime: e.logTime) }
            for a in attachments { try writer.attach(name: a.name, mediaType: a.mediaType, data: a.data) }
            try writer.finish()
        } catch {
            throw CaseError("cannot write \(path): \(error)")
        }
    }

    /// Peers in order of first appearance, with their entries.
    var peerUnits: [[Int]] {
        var order: [String] = [], byPeer: [String: [Int]] = [:]
        for (i, p) in peers.enumerated() {
            guard let p else { continue }
            if byPeer[p] == nil { order.append(p) }
            byPeer[p, default: []].append(i)
        }
        return order.map { byPeer[$0]! }
    }

    /// Heights in ascending order, each with the `/blocksync` entries naming it.
    var heightUnits: [[Int]] {
        var byHeight: [Int64: [Int]] = [:]
        for (i, h) in heights.enumerated() { if let h { byHeight[h, default: []].append(i) } }
        return byHeight.keys.sorted().map { byHeight[$0]! }
    }

    /// Single entries that a candidate may lose.
    var eventUnits: [[Int]] { entries.indices.filter { !protected[$0] }.map { [$0] } }
}
