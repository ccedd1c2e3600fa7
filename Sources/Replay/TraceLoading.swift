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

    /// The trace's identity in a golden's provenance: the SHA-256 of its bytes, lowercase hex.
    public static func sha256(_ bytes: [UInt8]) -> String { Hex.lower(Array(SHA256.hash(data: bytes))) }

    /// Reads a trace from its bytes; `path` names it in messages (the fuzz target's entry).
    public static func load(bytes: [UInt8], path: String) throws(CaseError) -> ReplayTrace {
        let sha = sha256(bytes)
        let recover = "; run `syncreplay doctor \(ShellQuote.quote(path))` to see what was lost and `syncreplay recover \(ShellQuote.quote(path)) -o FIXED.trace` to rebuild a valid trace"
        let reader: TraceReader
        let entries: [TraceEntry]
        var attachments: [MCAPAttachment] = []
        do {
            reader = try TraceReader(bytes: bytes)
            guard reader.isSyncReplayTrace else {
                throw CaseError("\(path) is an MCAP file with profile \"\(reader.header.profile)\", not a syncreplay trace")
            }
            if let damage = reader.summaryError { throw CaseError("trace \(path) is damaged: \(damage)" + recover) }
            entries = try reader.readAll()
            attachments = try reader.attachments()
        } catch let e as CaseError {
            throw e
        } catch {
            throw CaseError("trace \(path) is damaged or not a trace: \(error)" + recover)
        }
        for a in attachments where a.storedCRC != 0 && a.storedCRC != a.computedCRC {
            throw CaseError("trace \(path) is damaged: attachment \(a.name) fails its CRC" + recover)
        }
        var events: [ReplayEvent] = []
        events.reserveCapacity(entries.count)
        for (i, entry) in entries.enumerated() {
            events.append(ReplayEvent(index: i, sequence: entry.sequence, time: entry.logTime, body: body(of: entry.event)))
        }
        var hint: (data: [UInt8], checksum: String?)?
        if let a = attachments.first(where: { $0.name == TraceAttachmentName.pivotHint }) {
            hint = (a.data, reader.traceMetadata[TraceAttachmentName.pivotHintChecksumKey])
        }
        let genesis = attachments.first { $0.name == "genesis.json" }?.data
        var trace = ReplayTrace(path: path, sha256: sha, events: events, hintAttachment: hint, genesisAttachment: genesis)
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
