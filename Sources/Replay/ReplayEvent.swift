import SyncTrace
/// The node under test as the trace's `/node` record describes it (DESIGN.md §2).
public struct ReplayNode: Equatable, Sendable {
    public var chainID: String
    public var initialHeight: Int64
    public var storeBase: Int64
    public var storeHeight: Int64
    public var nodeID: String
    public var validators: [(pubKey: [UInt8], power: Int64)]
    public var appHash: [UInt8]
    /// Encoded `tendermint.types.Block` at `storeHeight`; empty when syncing from genesis.
    public var startBlock: [UInt8]
    public var genesisTimeSeconds: Int64
    public var genesisTimeNanos: Int32
    public var profileHint: String
    /// How the trace was made (`syncsim`, `pcap`…): a `syncsim` trace's chain comes from
    /// `ChainBuilder`, whose application the replayed reactor can run (`ApplicationModel`).
    public var captureMethod: String
    /// The node's own validator address when it is a validator (localNodeBlocksTheChain).
    public var localValidatorAddress: [UInt8]
    /// Consensus params `VoteExtensionsEnableHeight` (0: disabled or not recorded).
    public var voteExtensionsEnableHeight: Int64
    /// Consensus params `Block.MaxBytes` (0: not recorded).
    public var blockMaxBytes: Int64
    /// The state-sync hand-over (`/node` field 15), when the node started with state sync.
    public var stateSync: NodeStart.Record.StateSync?

    public init(chainID: String, initialHeight: Int64, storeBase: Int64, storeHeight: Int64, nodeID: String,
                validators: [(pubKey: [UInt8], power: Int64)], appHash: [UInt8], startBlock: [UInt8],
                genesisTimeSeconds: Int64, genesisTimeNanos: Int32, profileHint: String, captureMethod: String = "",
                localValidatorAddress: [UInt8] = [], voteExtensionsEnableHeight: Int64 = 0, blockMaxBytes: Int64 = 0,
                stateSync: NodeStart.Record.StateSync? = nil) {
        self.stateSync = stateSync
        self.localValidatorAddress = localValidatorAddress
        self.voteExtensionsEnableHeight = voteExtensionsEnableHeight
        self.blockMaxBytes = blockMaxBytes
        self.chainID = chainID
        self.initialHeight = initialHeight
        self.storeBase = storeBase
        self.storeHeight = storeHeight
        self.nodeID = nodeID
        self.validators = validators
        self.appHash = appHash
        self.startBlock = startBlock
        self.genesisTimeSeconds = genesisTimeSeconds
        self.genesisTimeNanos = genesisTimeNanos
        self.profileHint = profileHint
        self.captureMethod = captureMethod
    }

    public static func == (a: ReplayNode, b: ReplayNode) -> Bool {
        a.chainID == b.chainID && a.initialHeight == b.initialHeight && a.storeBase == b.storeBase
            && a.storeHeight == b.storeHeight && a.nodeID == b.nodeID
            && a.validators.map(\.pubKey) == b.validators.map(\.pubKey) && a.validators.map(\.power) == b.validators.map(\.power)
            && a.appHash == b.appHash && a.startBlock == b.startBlock && a.genesisTimeSeconds == b.genesisTimeSeconds
            && a.genesisTimeNanos == b.genesisTimeNanos && a.profileHint == b.profileHint
            && a.captureMethod == b.captureMethod && a.localValidatorAddress == b.localValidatorAddress
            && a.voteExtensionsEnableHeight == b.voteExtensionsEnableHeight && a.blockMaxBytes == b.blockMaxBytes
            && a.stateSync == b.stateSync
    }
}

/// What the real node decided for a fork event, when the recorder knew it.
public enum ObservedOutcome: String, Equatable, Sendable {
    case unknown, allowed, denied
}

/// The body of one input event, independent of the container it was read from.
public enum ReplayEventBody: Equatable, Sendable {
    case node(ReplayNode)
    case peerConnected(peer: String, outbound: Bool)
    case peerDisconnected(peer: String, reason: String)
    /// One BlockchainChannel message; `inbound` is toward the node under test.
    case blocksync(peer: String, inbound: Bool, message: [UInt8])
    /// A pivot switch attempt with the branch's hashes at the heights the hint may ask for.
    case pivotSwitch(forkAt: UInt64, meHeight: UInt64, meHash: [UInt8], branch: [(height: UInt64, hash: [UInt8])], observed: ObservedOutcome)
    case pivotExtend(height: UInt64, hash: [UInt8], observed: ObservedOutcome)
    /// Something the recorder could not see (gap, decode error…); informational.
    case capture(kind: String, detail: String)

    public static func == (a: ReplayEventBody, b: ReplayEventBody) -> Bool {
        switch (a, b) {
        case let (.node(x), .node(y)): return x == y
        case let (.peerConnected(p, o), .peerConnected(q, r)): return p == q && o == r
        case let (.peerDisconnected(p, r), .peerDisconnected(q, s)): return p == q && r == s
        case let (.blocksync(p, i, m), .blocksync(q, j, n)): return p == q && i == j && m == n
        case let (.pivotSwitch(f, m, h, br, o), .pivotSwitch(g, n, k, bs, p)):
            return f == g && m == n && h == k && o == p && br.map(\.height) == bs.map(\.height) && br.map(\.hash) == bs.map(\.hash)
        case let (.pivotExtend(h, x, o), .pivotExtend(k, y, p)): return h == k && x == y && o == p
        case let (.capture(k, d), .capture(l, e)): return k == l && d == e
        default: return false
        }
    }
}

/// One input event: position in file order (`index`, what decisions and reports cite), the
/// trace's `sequence`, and virtual time in nanoseconds.
public struct ReplayEvent: Equatable, Sendable {
    public var index: Int
    public var sequence: UInt32
    public var time: UInt64
    public var body: ReplayEventBody

    public init(index: Int, sequence: UInt32, time: UInt64, body: ReplayEventBody) {
        self.index = index
        self.sequence = sequence
        self.time = time
        self.body = body
    }

    public var peer: String? {
        switch body {
        case .peerConnected(let p, _), .peerDisconnected(let p, _), .blocksync(let p, _, _): return p
        default: return nil
        }
    }
}

/// What replay needs to know of a trace's events before it runs them (issue 19: a streamed
/// trace learns it in the pass that checks the file, and keeps no event).
public struct TraceFacts: Sendable, Equatable {
    public private(set) var eventCount = 0
    /// The first `/node` record.
    public private(set) var node: ReplayNode?
    public private(set) var hasBlocksync = false
    public private(set) var hasPivot = false
    /// The node's own outbound blocksync messages are recorded (strict mode compares them).
    public private(set) var hasOutbound = false
    public private(set) var firstTime: UInt64?
    public private(set) var lastTime: UInt64?

    public init() {}

    public init<S: Sequence>(_ events: S) where S.Element == ReplayEvent {
        for e in events { add(e) }
    }

    /// Takes the next event in file order into account.
    public mutating func add(_ e: ReplayEvent) {
        eventCount += 1
        if firstTime == nil { firstTime = e.time }
        lastTime = e.time
        switch e.body {
        case .node(let n): if node == nil { node = n }
        case .blocksync(_, let inbound, _):
            hasBlocksync = true
            if !inbound { hasOutbound = true }
        case .pivotSwitch, .pivotExtend: hasPivot = true
        case .peerConnected, .peerDisconnected, .capture: break
        }
    }
}

/// A trace file whose events are read again, chunk by chunk, each time it is replayed
/// (`ReplayTraceLoader.open`), so replay memory does not grow with the trace (issue 19).
struct StreamedEvents: Sendable {
    let facts: TraceFacts
    /// The file as it was checked: a replay refuses a file that changed since.
    let size: UInt64
    let modified: Double?
}

/// A loaded trace, ready to replay.
///
/// Its events are either in memory (`ReplayTraceLoader.load`, and traces built in memory) or
/// streamed from the file while replaying (`ReplayTraceLoader.open`: `events` is then empty,
/// `facts` says what they hold, `eventStream()` reads them and `inMemory()` loads them all).
public struct ReplayTrace: Sendable {
    public var path: String
    public var sha256: String
    /// The events in file order when held in memory; empty for a streamed trace (`isStreamed`).
    public var events: [ReplayEvent]
    /// The pivot-hint file attached to the trace, with its checksum when the trace names one.
    public var hintAttachment: (data: [UInt8], checksum: String?)?
    /// The `genesis.json` attachment (a CometBFT genesis document, or a `/genesis` RPC
    /// response), when the recorder attached one.
    public var genesisAttachment: [UInt8]?
    /// The recording goes on after the node switched to consensus (metadata `after_switch`):
    /// replay then runs to the recording's end instead of stopping at the switch.
    public var recordsAfterSwitch = false
    /// The node ran with blocksync disabled (metadata `blocksync = false`, §3.1).
    public var blocksyncDisabled = false
    /// The node ran with the originals' test settings (metadata `test_overrides`; not faithful).
    public var testOverrides = TestOverrides()
    /// Set when the events stay in the file (`ReplayTraceLoader.open`).
    var streamed: StreamedEvents?

    public init(path: String, sha256: String, events: [ReplayEvent], hintAttachment: (data: [UInt8], checksum: String?)?,
                genesisAttachment: [UInt8]? = nil) {
        self.path = path
        self.sha256 = sha256
        self.events = events
        self.hintAttachment = hintAttachment
        self.genesisAttachment = genesisAttachment
    }

    /// The events are read from the file while replaying, not held.
    public var isStreamed: Bool { streamed != nil }

    /// What the events hold (counted from memory, or kept from the pass that checked the file).
    public var facts: TraceFacts { streamed?.facts ?? TraceFacts(events) }

    /// The events in file order, from memory or read again from the file, one at a time.
    public func eventStream() throws(CaseError) -> ReplayEventStream {
        guard let streamed else { return ReplayEventStream(events: events) }
        return try ReplayEventStream(path: path, expected: streamed)
    }

    /// This trace with every event in memory (a streamed trace's read from its file again).
    public func inMemory() throws(CaseError) -> ReplayTrace {
        guard streamed != nil else { return self }
        var stream = try eventStream()
        var all: [ReplayEvent] = []
        all.reserveCapacity(facts.eventCount)
        while let e = try stream.next() { all.append(e) }
        var copy = self
        copy.events = all
        copy.streamed = nil
        return copy
    }

    /// The attached genesis document's state (exact consensus parameters and app version), nil
    /// without one. Throws when the attachment does not parse.
    public func initialState() throws(CaseError) -> ChainState? {
        try genesisDocument()?.initialState
    }

    /// The attached genesis document, nil without one. Throws when it does not parse.
    public func genesisDocument() throws(CaseError) -> Genesis? {
        guard let bytes = genesisAttachment else { return nil }
        let document: RPCDocument
        do { document = try RPCJSON.parse(bytes) } catch { throw CaseError("the trace's genesis.json attachment: \(error)") }
        guard case .genesis(let g) = document else { throw CaseError("the trace's genesis.json attachment is not a genesis document") }
        return g
    }

    /// The first `/node` record, if any.
    public var node: ReplayNode? {
        if let streamed { return streamed.facts.node }
        for e in events { if case .node(let n) = e.body { return n } }
        return nil
    }

    public var hasBlocksync: Bool {
        if let streamed { return streamed.facts.hasBlocksync }
        return events.contains { if case .blocksync = $0.body { return true }; return false }
    }

    public var hasPivot: Bool {
        if let streamed { return streamed.facts.hasPivot }
        return events.contains {
            switch $0.body { case .pivotSwitch, .pivotExtend: return true; default: return false }
        }
    }
}

/// A trace's events in file order, one at a time: from memory, or read chunk by chunk from the
/// trace file (every chunk's CRC checked again), numbered in file order as `load` numbers them.
public struct ReplayEventStream {
    private var memory: IndexingIterator<[ReplayEvent]>?
    private var file: TraceEventStream?
    private var path = ""
    private var index = 0
    /// Where the event `next()` returned last lies: its Message record's file offset (a file),
    /// or its index (memory) — what `TraceBlockArchive` reads it again by.
    public private(set) var lastLocation: UInt64 = 0

    init(events: [ReplayEvent]) {
        memory = events.makeIterator()
    }

    init(path: String, expected: StreamedEvents) throws(CaseError) {
        self.path = path
        let now = ReplayTraceLoader.identity(path)
        guard now.size == expected.size, now.modified == expected.modified else {
            throw CaseError("trace \(path) changed after it was checked (size or modification time differs); replay it again")
        }
        do { file = try TraceReader(path: path).events() } catch {
            throw CaseError("trace \(path) became unreadable after it was checked: \(error)")
        }
    }

    /// The next event, nil after the last.
    public mutating func next() throws(CaseError) -> ReplayEvent? {
        if memory != nil {
            let e = memory!.next()
            if let e { lastLocation = UInt64(e.index) }
            return e
        }
        guard file != nil else { return nil }
        let entry: TraceEntry?
        do { entry = try file!.next() } catch {
            file = nil
            throw CaseError("trace \(path) became unreadable after it was checked: \(error)")
        }
        guard let entry else {
            file = nil
            return nil
        }
        defer { index += 1 }
        lastLocation = file!.lastOffset
        return ReplayEvent(index: index, sequence: entry.sequence, time: entry.logTime, body: ReplayTraceLoader.body(of: entry.event))
    }
}

import CometWire
import SyncMachine

extension ReplayEvent {
    /// The report's view of this event.
    public var summary: EventSummary {
        EventSummary(index: index, sequence: sequence, time: time, peer: peer, description: describeBody())
    }

    func describeBody() -> String {
        switch body {
        case .node(let n): return "node chain=\(n.chainID) store=\(n.storeBase)..\(n.storeHeight)"
        case .peerConnected(_, let outbound): return "peer connected (\(outbound ? "outbound" : "inbound"))"
        case .peerDisconnected(_, let reason): return "peer disconnected" + (reason.isEmpty ? "" : ": \(reason)")
        case .blocksync(_, let inbound, let bytes):
            let dir = inbound ? "in" : "out"
            guard let m = try? BlocksyncMessage.decode(bytes) else { return "blocksync \(dir) undecodable (\(bytes.count) bytes)" }
            switch m {
            case .blockRequest(let h), .noBlockResponse(let h): return "blocksync \(dir) \(m.kind) height=\(h)"
            case .blockResponse(let b, _): return "blocksync \(dir) block_response height=\(b.header.height)"
            case .statusRequest: return "blocksync \(dir) status_request"
            case .statusResponse(let h, let base): return "blocksync \(dir) status_response base=\(base) height=\(h)"
            }
        case .pivotSwitch(let f, let m, _, let branch, let o):
            return "pivot switch fork_at=\(f) me_height=\(m) branch_hashes=\(branch.count) observed=\(o.rawValue)"
        case .pivotExtend(let h, _, let o): return "pivot extend height=\(h) observed=\(o.rawValue)"
        case .capture(let kind, let detail): return "capture \(kind)" + (detail.isEmpty ? "" : ": \(detail)")
        }
    }
}

extension ReplayNode {
    /// The record's validators as a set (they sign the node's next block, from genesis or resumed).
    public var validatorSet: ValidatorSet {
        ValidatorSet(sorting: validators.map { Validator(ed25519: $0.pubKey, votingPower: $0.power) })
    }

    /// The record's fields as `NodeStart` reads them.
    public var startRecord: NodeStart.Record {
        NodeStart.Record(chainID: chainID, initialHeight: initialHeight, storeBase: storeBase, storeHeight: storeHeight,
                         validators: validatorSet, appHash: appHash, startBlock: startBlock,
                         genesisTime: Timestamp(seconds: genesisTimeSeconds, nanos: genesisTimeNanos),
                         localValidatorAddress: localValidatorAddress,
                         voteExtensionsEnableHeight: voteExtensionsEnableHeight, blockMaxBytes: blockMaxBytes,
                         stateSync: stateSync)
    }

    /// The application the replayed node runs (specs/cometbft-blocksync.md §3.4 step 6): a
    /// simulator trace (`capture_method` `syncsim`) has `ChainBuilder`'s chain, whose application
    /// is `.transactionCounter`, so app-hash checks are real; any other trace gets `.unknown`
    /// (its application results are not checked after the first block).
    public var application: ApplicationModel {
        captureMethod == "syncsim" ? .transactionCounter : .unknown
    }
}

extension ReplayTrace {
    /// Where the node under test starts (`NodeStart(record:…)`): from its `/node` record — from
    /// genesis (the attached `genesis.json` when present, else the record with CometBFT's
    /// default consensus parameters and app version 0) or resuming from its stored block —,
    /// with the application of `ReplayNode.application` and the clock at the first event's time.
    public func nodeStart() throws(CaseError) -> NodeStart {
        guard let node else { throw CaseError("the trace has no /node record") }
        let document = try genesisDocument()
        var record = node.startRecord
        // A capture made without `--consensus-params` still has the attached genesis's enable
        // height (issue 18 §2): the record's, when it has one, wins.
        if record.voteExtensionsEnableHeight == 0, let h = document?.voteExtensionsEnableHeight { record.voteExtensionsEnableHeight = h }
        let genesis = node.storeHeight == 0 ? document?.initialState : nil
        do {
            var start = try NodeStart(record: record, genesis: genesis, application: node.application,
                                      startTime: facts.firstTime ?? 0)
            if blocksyncDisabled { start.implementationOptions[NodeStart.blocksyncOption] = "false" }
            start.testOverrides = testOverrides
            return start
        } catch {
            throw CaseError(error.message)
        }
    }
}
