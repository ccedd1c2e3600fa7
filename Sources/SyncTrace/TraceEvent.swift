import ProtoWire

/// Seen from the node under test: `.inbound` reaches it, `.outbound` leaves it.
public enum TraceDirection: String, Sendable, Equatable, Hashable, CaseIterable {
    case inbound, outbound
    var wire: UInt64 { self == .inbound ? 1 : 2 }
    init?(wire: UInt64) {
        switch wire { case 1: self = .inbound; case 2: self = .outbound; default: return nil }
    }
}

/// `google.protobuf.Timestamp`-shaped genesis time.
public struct TraceTimestamp: Sendable, Equatable, Hashable {
    public var seconds: Int64
    public var nanos: Int32
    public init(seconds: Int64 = 0, nanos: Int32 = 0) { self.seconds = seconds; self.nanos = nanos }
}

public struct ValidatorRecord: Sendable, Equatable, Hashable {
    /// ed25519 public key, 32 bytes.
    public var pubKey: [UInt8]
    public var power: Int64
    public init(pubKey: [UInt8], power: Int64) { self.pubKey = pubKey; self.power = power }
}

/// `/node`: the node under test at the start of the capture (message `Node`).
public struct NodeRecord: Sendable, Equatable, Hashable {
    public var chainID: String
    public var initialHeight: Int64
    public var storeBase: Int64
    public var storeHeight: Int64
    public var nodeID: String
    public var validators: [ValidatorRecord]
    public var appHash: [UInt8]
    /// Encoded `tendermint.types.Block` at `storeHeight`; empty when syncing from genesis.
    public var startBlock: [UInt8]
    public var genesisTime: TraceTimestamp
    /// How the trace was made, e.g. "syncsim", "pcap".
    public var captureMethod: String
    public var profileHint: String
    /// The node's own validator address when it is a validator; empty otherwise.
    public var localValidatorAddress: [UInt8]
    /// Consensus params `VoteExtensionsEnableHeight` (0: vote extensions disabled, or not known).
    public var voteExtensionsEnableHeight: Int64
    /// Consensus params `Block.MaxBytes` (0: not recorded; CometBFT's default then applies).
    public var blockMaxBytes: Int64
    /// The state-sync hand-over, when the node started with state sync: nil for a node that
    /// block-syncs from its store (message `StateSync`, field 15).
    public var stateSync: StateSyncRecord?

    public init(chainID: String = "", initialHeight: Int64 = 0, storeBase: Int64 = 0, storeHeight: Int64 = 0,
                nodeID: String = "", validators: [ValidatorRecord] = [], appHash: [UInt8] = [],
                startBlock: [UInt8] = [], genesisTime: TraceTimestamp = TraceTimestamp(),
                captureMethod: String = "", profileHint: String = "", localValidatorAddress: [UInt8] = [],
                voteExtensionsEnableHeight: Int64 = 0, blockMaxBytes: Int64 = 0, stateSync: StateSyncRecord? = nil) {
        self.stateSync = stateSync
        self.localValidatorAddress = localValidatorAddress
        self.voteExtensionsEnableHeight = voteExtensionsEnableHeight
        self.blockMaxBytes = blockMaxBytes
        self.chainID = chainID; self.initialHeight = initialHeight; self.storeBase = storeBase
        self.storeHeight = storeHeight; self.nodeID = nodeID; self.validators = validators
        self.appHash = appHash; self.startBlock = startBlock; self.genesisTime = genesisTime
        self.captureMethod = captureMethod; self.profileHint = profileHint
    }
}

/// `/node` field 15 (message `StateSync`): the node ran state sync with blocksync off and, at log
/// time `at`, state sync handed over to blocksync (`SwitchToBlockSync`, specs/cometbft-blocksync.md
/// §2.2, §3.1) with the state after `block` — what the light client verified: the block at the
/// snapshot height, and the application's `AppHash` / `LastResultsHash` after it (the next
/// header's). The block store stays empty.
public struct StateSyncRecord: Sendable, Equatable, Hashable {
    /// Log time (ns, the events' clock) of the hand-over.
    public var at: UInt64
    /// Encoded `tendermint.types.Block` at the snapshot height.
    public var block: [UInt8]
    public var appHash: [UInt8]
    public var lastResultsHash: [UInt8]
    public init(at: UInt64, block: [UInt8], appHash: [UInt8], lastResultsHash: [UInt8]) {
        self.at = at; self.block = block; self.appHash = appHash; self.lastResultsHash = lastResultsHash
    }
}

public enum PeerEventKind: String, Sendable, Equatable, Hashable, CaseIterable {
    case connected, disconnected
    var wire: UInt64 { self == .connected ? 1 : 2 }
    init?(wire: UInt64) {
        switch wire { case 1: self = .connected; case 2: self = .disconnected; default: return nil }
    }
}

/// `/p2p`: a peer connected or disconnected (message `Peer`).
public struct PeerRecord: Sendable, Equatable, Hashable {
    public var peerID: String
    public var address: String
    /// The node under test dialed the peer.
    public var outbound: Bool
    public var kind: PeerEventKind
    public var reason: String
    public init(peerID: String, address: String = "", outbound: Bool = false, kind: PeerEventKind, reason: String = "") {
        self.peerID = peerID; self.address = address; self.outbound = outbound; self.kind = kind; self.reason = reason
    }
}

/// `/blocksync`: one BlockchainChannel (0x40) message (message `Blocksync`).
public struct BlocksyncRecord: Sendable, Equatable, Hashable {
    public var peerID: String
    public var direction: TraceDirection
    /// The raw `tendermint.blocksync.Message` bytes exactly as on the wire, as the trace reader
    /// hands them out: a slice of the buffer it read the chunk into (no copy per event: its
    /// 1 MiB read-ahead window, or a larger chunk's own record), which stays alive while the
    /// slice is held; copy it out (`message`) to keep it for long.
    public var messageBytes: ArraySlice<UInt8>
    /// The message bytes as an array of their own (a copy of `messageBytes` on each read).
    public var message: [UInt8] {
        get { Array(messageBytes) }
        set { messageBytes = newValue[...] }
    }
    public init(peerID: String, direction: TraceDirection, message: [UInt8]) {
        self.peerID = peerID; self.direction = direction; self.messageBytes = message[...]
    }
    public init(peerID: String, direction: TraceDirection, messageBytes: ArraySlice<UInt8>) {
        self.peerID = peerID; self.direction = direction; self.messageBytes = messageBytes
    }
}

/// What the real node decided for a fork event, when the recorder knew it.
public enum PivotObservation: String, Sendable, Equatable, Hashable, CaseIterable {
    case unknown, allowed, denied
    var wire: UInt64 { switch self { case .unknown: 0; case .allowed: 1; case .denied: 2 } }
    init?(wire: UInt64) {
        switch wire { case 0: self = .unknown; case 1: self = .allowed; case 2: self = .denied; default: return nil }
    }
}

/// One (height, hash) of the branch a switch would adopt.
public struct PivotBranchEntry: Sendable, Equatable, Hashable {
    public var height: UInt64
    public var hash: [UInt8]
    public init(height: UInt64, hash: [UInt8]) { self.height = height; self.hash = hash }
}

/// A pivot-chain switch attempt (message `PivotSwitch`).
public struct PivotSwitch: Sendable, Equatable, Hashable {
    public var forkAt: UInt64
    public var meHeight: UInt64
    public var meHash: [UInt8]
    /// The branch's hashes at the heights the hint may ask for.
    public var branch: [PivotBranchEntry]
    public var observed: PivotObservation
    public init(forkAt: UInt64, meHeight: UInt64, meHash: [UInt8], branch: [PivotBranchEntry], observed: PivotObservation = .unknown) {
        self.forkAt = forkAt; self.meHeight = meHeight; self.meHash = meHash; self.branch = branch; self.observed = observed
    }
}

/// A pivot-chain extension (message `PivotExtend`).
public struct PivotExtend: Sendable, Equatable, Hashable {
    public var height: UInt64
    public var hash: [UInt8]
    public var observed: PivotObservation
    public init(height: UInt64, hash: [UInt8], observed: PivotObservation = .unknown) {
        self.height = height; self.hash = hash; self.observed = observed
    }
}

/// `/pivot`: a Conflux fork event (message `Pivot`, a oneof).
public enum PivotRecord: Sendable, Equatable, Hashable {
    case `switch`(PivotSwitch)
    case extend(PivotExtend)
}

public enum CaptureKind: String, Sendable, Equatable, Hashable, CaseIterable {
    case gap, decodeError = "decode_error", dropped, undecodable
    /// The recorder stopped observing at this time (nothing lost): the trace covers the node up
    /// to here, even if nothing happened since the previous event (replay runs its timers up to
    /// this time, then drains).
    case end
    var wire: UInt64 { switch self { case .gap: 1; case .decodeError: 2; case .dropped: 3; case .undecodable: 4; case .end: 5 } }
    init?(wire: UInt64) {
        switch wire {
        case 1: self = .gap; case 2: self = .decodeError; case 3: self = .dropped; case 4: self = .undecodable; case 5: self = .end
        default: return nil
        }
    }
}

/// `/capture`: what the recorder could not see (message `Capture`).
public struct CaptureRecord: Sendable, Equatable, Hashable {
    public var kind: CaptureKind
    public var connection: String
    /// nil when the recorder could not tell (wire value DIRECTION_UNSPECIFIED).
    public var direction: TraceDirection?
    public var byteCount: UInt64
    public var detail: String
    public init(kind: CaptureKind, connection: String = "", direction: TraceDirection? = nil, byteCount: UInt64 = 0, detail: String = "") {
        self.kind = kind; self.connection = connection; self.direction = direction; self.byteCount = byteCount; self.detail = detail
    }
}

/// One trace event: the payload of one MCAP message on one of the five syncreplay topics.
public enum TraceEvent: Sendable, Equatable, Hashable {
    /// Boxed: a NodeRecord is several times larger than the other records, and one trace
    /// holds one, so every event would otherwise be moved at its size.
    indirect case node(NodeRecord)
    case p2p(PeerRecord)
    case blocksync(BlocksyncRecord)
    case pivot(PivotRecord)
    case capture(CaptureRecord)

    public var topic: TraceTopic {
        switch self {
        case .node: .node
        case .p2p: .p2p
        case .blocksync: .blocksync
        case .pivot: .pivot
        case .capture: .capture
        }
    }
}

/// The five channels of DESIGN.md §2, with their fixed MCAP channel/schema ids and protobuf
/// message names.
public enum TraceTopic: String, Sendable, CaseIterable, Comparable {
    case node = "/node", p2p = "/p2p", blocksync = "/blocksync", pivot = "/pivot", capture = "/capture"

    /// MCAP channel id (and schema id) used by `TraceWriter`.
    public var channelID: UInt16 {
        switch self { case .node: 1; case .p2p: 2; case .blocksync: 3; case .pivot: 4; case .capture: 5 }
    }

    /// Fully qualified protobuf message name (the Schema record's name).
    public var schemaName: String {
        switch self {
        case .node: "syncreplay.trace.v1.Node"
        case .p2p: "syncreplay.trace.v1.Peer"
        case .blocksync: "syncreplay.trace.v1.Blocksync"
        case .pivot: "syncreplay.trace.v1.Pivot"
        case .capture: "syncreplay.trace.v1.Capture"
        }
    }

    public init?(schemaName: String) {
        guard let t = TraceTopic.allCases.first(where: { $0.schemaName == schemaName }) else { return nil }
        self = t
    }

    public static func < (a: TraceTopic, b: TraceTopic) -> Bool { a.channelID < b.channelID }
}

/// The embedded schema (DESIGN.md §2): protobuf messages described by a FileDescriptorSet.
public enum TraceSchema {
    /// MCAP Schema.encoding and Channel.message_encoding (specs/mcap.md §5).
    public static let encoding = "protobuf"
}
