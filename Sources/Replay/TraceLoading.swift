import FileInput
import HexCoding
import Foundation
import Crypto
import SyncMachine
import SyncTrace
import SyncMachine

/// Reads a trace file into a `ReplayTrace`, refusing damaged input (DESIGN.md §2: replay never
/// runs on a silently shortened trace; `syncreplay recover` rebuilds a valid one).
public enum ReplayTraceLoader {
    public static func load(path: String) throws(CaseError) -> ReplayTrace {
        let bytes: [UInt8]
        do { bytes = try InputFile.read(path, what: "trace") } catch { throw CaseError(error.description) }
        return try load(bytes: bytes, path: path)
    }

    /// Opens a trace for a streaming replay (issue 19): one pass checks the whole file now —
    /// its SHA-256, chunk and data CRCs, event decoding and order, as `load` does — and keeps
    /// only what replay needs before it starts (`TraceFacts`, attachments, metadata); the events
    /// are read again, chunk by chunk, while replaying (`ReplayTrace.eventStream()`). Memory is
    /// one chunk, whatever the trace's length.
    public static func open(path: String) throws(CaseError) -> ReplayTrace {
        if let why = InputFile.problem(path) { throw CaseError(UnreadableFile(path: path, what: "trace", reason: why).description) }
        let before = identity(path)
        let source: MCAPFileSource
        do { source = try MCAPFileSource(path: path) } catch { throw CaseError("cannot read trace \(path): \(error)") }
        var hasher = SHA256()
        var offset: UInt64 = 0
        while offset < source.size {
            let piece: [UInt8]
            do { piece = try source.read(at: offset, count: 1 << 20) } catch { throw CaseError("cannot read trace \(path): \(error)") }
            guard !piece.isEmpty else { break }
            hasher.update(data: piece)
            offset += UInt64(piece.count)
        }
        var facts = TraceFacts()
        var trace = try read(source: source, path: path, sha256: Hex.lower(Array(hasher.finalize()))) { facts.add($0) }
        guard before == identity(path) else { throw CaseError("trace \(path) changed while it was being read; replay it again") }
        trace.streamed = StreamedEvents(facts: facts, size: before.size, modified: before.modified)
        return trace
    }

    /// A file's size and modification time (a streamed trace must not change between passes).
    static func identity(_ path: String) -> (size: UInt64, modified: Double?) {
        let attributes = try? FileManager.default.attributesOfItem(atPath: path)
        let size = (attributes?[.size] as? NSNumber)?.uint64Value ?? 0
        return (size, (attributes?[.modificationDate] as? Date)?.timeIntervalSinceReferenceDate)
    }

    /// The trace's identity in a golden's provenance: the SHA-256 of its bytes, lowercase hex.
    public static func sha256(_ bytes: [UInt8]) -> String { Hex.lower(Array(SHA256.hash(data: bytes))) }

    /// Reads a trace from its bytes; `path` names it in messages (the fuzz target's entry).
    public static func load(bytes: [UInt8], path: String) throws(CaseError) -> ReplayTrace {
        var events: [ReplayEvent] = []
        var trace = try read(source: MCAPMemorySource(bytes), path: path, sha256: sha256(bytes)) { events.append($0) }
        trace.events = events
        return trace
    }

    /// Checks a trace and hands `each` its events in file order (the one pass of `load` and of
    /// `open`); the trace returned has the attachments and metadata, no events.
    private static func read(source: any MCAPByteSource, path: String, sha256 sha: String,
                             each: (ReplayEvent) -> Void) throws(CaseError) -> ReplayTrace {
        let recover = "; run `syncreplay doctor \(ShellQuote.quote(path))` to see what was lost and `syncreplay recover \(ShellQuote.quote(path)) -o FIXED.trace` to rebuild a valid trace"
        let reader: TraceReader
        var attachments: [MCAPAttachment] = []
        do {
            reader = try TraceReader(source: source)
            guard reader.isSyncReplayTrace else {
                throw CaseError("\(path) is an MCAP file with profile \"\(reader.header.profile)\", not a syncreplay trace")
            }
            if let damage = reader.summaryError { throw CaseError("trace \(path) is damaged: \(damage)" + recover) }
            var stream = try reader.events()
            var index = 0
            while let entry = try stream.next() {
                each(ReplayEvent(index: index, sequence: entry.sequence, time: entry.logTime, body: body(of: entry.event)))
                index += 1
            }
            attachments = try reader.attachments()
        } catch let e as CaseError {
            throw e
        } catch {
            throw CaseError("trace \(path) is damaged or not a trace: \(error)" + recover)
        }
        return try assemble(path: path, sha256: sha, reader: reader, attachments: attachments, recover: recover)
    }

    /// The trace from its checked parts: attachments (CRCs checked) and metadata.
    static func assemble(path: String, sha256 sha: String, reader: TraceReader,
                         attachments: [MCAPAttachment], recover: String) throws(CaseError) -> ReplayTrace {
        for a in attachments where a.storedCRC != 0 && a.storedCRC != a.computedCRC {
            throw CaseError("trace \(path) is damaged: attachment \(a.name) fails its CRC" + recover)
        }
        var hint: (data: [UInt8], checksum: String?)?
        if let a = attachments.first(where: { $0.name == TraceAttachmentName.pivotHint }) {
            hint = (a.data, reader.traceMetadata[TraceAttachmentName.pivotHintChecksumKey])
        }
        let genesis = attachments.first { $0.name == "genesis.json" }?.data
        var trace = ReplayTrace(path: path, sha256: sha, events: [], hintAttachment: hint, genesisAttachment: genesis)
        trace.recordsAfterSwitch = reader.traceMetadata[TraceAttachmentName.afterSwitchKey] != nil
        trace.blocksyncDisabled = reader.traceMetadata[TraceAttachmentName.blocksyncKey] == "false"
        if let overrides = reader.traceMetadata[TraceAttachmentName.testOverridesKey] {
            do { trace.testOverrides = try TestOverrides(metadataValue: overrides) } catch {
                throw CaseError("trace \(path): metadata \(TraceAttachmentName.testOverridesKey): \(error)")
            }
        }
        return trace
    }

    static func observed(_ o: PivotObservation) -> ObservedOutcome {
        switch o {
        case .unknown: return .unknown
        case .allowed: return .allowed
        case .denied: return .denied
        }
    }

    static func body(of event: TraceEvent) -> ReplayEventBody {
        switch event {
        case .node(let n):
            return .node(ReplayNode(chainID: n.chainID, initialHeight: n.initialHeight, storeBase: n.storeBase, storeHeight: n.storeHeight,
                                    nodeID: n.nodeID, validators: n.validators.map { ($0.pubKey, $0.power) }, appHash: n.appHash,
                                    startBlock: n.startBlock, genesisTimeSeconds: n.genesisTime.seconds,
                                    genesisTimeNanos: n.genesisTime.nanos, profileHint: n.profileHint,
                                    captureMethod: n.captureMethod, localValidatorAddress: n.localValidatorAddress,
                                    voteExtensionsEnableHeight: n.voteExtensionsEnableHeight, blockMaxBytes: n.blockMaxBytes,
                                    stateSync: n.stateSync.map {
                                        NodeStart.Record.StateSync(at: $0.at, block: $0.block, appHash: $0.appHash,
                                                                   lastResultsHash: $0.lastResultsHash)
                                    }))
        case .p2p(let p):
            switch p.kind {
            case .connected: return .peerConnected(peer: p.peerID, outbound: p.outbound)
            case .disconnected: return .peerDisconnected(peer: p.peerID, reason: p.reason)
            }
        case .blocksync(let b):
            return .blocksync(peer: b.peerID, inbound: b.direction == .inbound, message: b.message)
        case .pivot(.switch(let s)):
            return .pivotSwitch(forkAt: s.forkAt, meHeight: s.meHeight, meHash: s.meHash,
                                branch: s.branch.map { ($0.height, $0.hash) }, observed: observed(s.observed))
        case .pivot(.extend(let e)):
            return .pivotExtend(height: e.height, hash: e.hash, observed: observed(e.observed))
        case .capture(let c):
            return .capture(kind: c.kind.rawValue, detail: c.detail + (c.byteCount > 0 ? " (\(c.byteCount) bytes)" : ""))
        }
    }
}
