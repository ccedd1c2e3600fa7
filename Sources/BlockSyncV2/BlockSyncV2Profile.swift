import CometWire
import SyncMachine

extension ProfileName {
    /// tendermint v0.34.23/.24 `blockchain/v2` (with the StatusRequest regression, §v2.5.1).
    public static let tmV034V2: ProfileName = "tm-v0.34-v2"
    /// tendermint v0.34.0–v0.34.22 `blockchain/v2`.
    public static let tmV03422V2: ProfileName = "tm-v0.34.22-v2"
}

extension Nanoseconds {
    static let millisecond: Nanoseconds = 1_000_000
    static let second: Nanoseconds = 1_000_000_000
}

/// One version of the v2 reactor as data (specs/cometbft-blocksync-v2.md §v2.2.1, §v2.1.6,
/// §v2.5.1). Scheduler and processor rules are the same in every version; only IO differs.
/// v0.35.9's v2 is not a profile: its own configuration refuses `version = "v2"` (§v2.5.2).
public struct BlockSyncV2Profile: Sendable, Equatable {
    /// What `sendStatusResponse` sends (AddPeer and the reply to a StatusRequest, §v2.4.1).
    public enum StatusReply: Sendable, Equatable {
        /// v0.34.23/.24 (bdedf2ec, #9641): a StatusRequest — the regression of §v2.6 B6.
        case statusRequest
        /// v0.34.0–.22: StatusResponse{height, base} of our store.
        case statusResponse
    }

    /// What `markReceived` divides by the latency for `lastRate` (§v2.5.1).
    public enum RateInput: Sendable, Equatable {
        /// v0.34.23/.24: `block.Size()`, the protobuf size of the Block.
        case blockSize
        /// v0.34.0–.22: `len(msgBytes)`, the received message's size.
        case messageSize
    }

    public var name: ProfileName
    public var matches: String
    public var statusReply: StatusReply
    public var rateInput: RateInput
    /// How an undecodable message ends the peer (§v2.5.1 "Decoding"): v0.34.23+ the p2p layer
    /// panics and the connection recovers (`"recovered from panic: "`), before it the reactor
    /// reports the decode error (no prefix).
    public var undecodablePrefix: String

    // §v2.2.1 scheduler constants (none configurable in the original).
    public var targetPending: Int64 = 10
    public var peerTimeout: Nanoseconds = 15 * .second
    /// 0 in every release (the comment's 7680 is not used): the rate test never fires.
    public var minRecvRate: Int64 = 0
    public var syncTimeout: Nanoseconds = 60 * .second

    // §v2.1.6 tickers.
    public var processInterval: Nanoseconds = 20 * .millisecond
    public var scheduleInterval: Nanoseconds = 20 * .millisecond
    public var pruneInterval: Nanoseconds = 1 * .second
    public var statusInterval: Nanoseconds = 10 * .second

    /// tendermint v0.34's `VerifyCommitLight` (single path, no address check).
    public var commitVerification: CommitVerificationOptions = .tendermintV034

    public static let tmV034 = BlockSyncV2Profile(
        name: .tmV034V2,
        matches: "tendermint v0.34.23/.24 blockchain/v2 ([fastsync] version = \"v2\"), StatusRequest regression included",
        statusReply: .statusRequest, rateInput: .blockSize, undecodablePrefix: "recovered from panic: ")

    public static let tmV03422 = BlockSyncV2Profile(
        name: .tmV03422V2,
        matches: "tendermint v0.34.0–v0.34.22 blockchain/v2 ([fastsync] version = \"v2\")",
        statusReply: .statusResponse, rateInput: .messageSize, undecodablePrefix: "")

    public static let all: [BlockSyncV2Profile] = [.tmV034, .tmV03422]

    public init(name: ProfileName, matches: String, statusReply: StatusReply, rateInput: RateInput, undecodablePrefix: String) {
        self.name = name
        self.matches = matches
        self.statusReply = statusReply
        self.rateInput = rateInput
        self.undecodablePrefix = undecodablePrefix
    }

    /// The profile with this name; nil for any other.
    public init?(named name: ProfileName) {
        guard let known = Self.all.first(where: { $0.name == name }) else { return nil }
        self = known
    }
}

/// How the routines' input queues order events (§v2.1.9, DET-4).
public enum V2QueueModel: String, Sendable, Equatable, CaseIterable {
    /// Model A: FIFO queues, every input run to completion (the default; for conformance).
    case fifo
    /// Model B: the original's min-heap (§v2.1.3): Low pops before Normal before High, equal
    /// priorities in the heap's array order, not FIFO.
    case heap
    /// Model B with a lagging scheduler (`heap-lag`): the scheduler goroutine runs only at
    /// instants that are multiples of `lagPeriod` (100 ms virtual, every fifth schedule tick)
    /// and then works through its whole backlog in heap order, one event per round, while the
    /// processor and the demux run as in Model B. A deterministic stand-in for the original's
    /// arbitrary goroutine lag, which the heap-order bugs of §v2.6 (B3, B5(ii), B8) need: several
    /// `pcBlockProcessed` and `bcBlockResponse` events wait together in the scheduler's heap.
    case heapLag = "heap-lag"

    /// How often a lagging scheduler (`heap-lag`) runs.
    public static let lagPeriod: Nanoseconds = 100_000_000

    /// The routines' inboxes are the original's min-heap (`heap`, `heap-lag`).
    public var usesHeap: Bool { self != .fifo }

    /// The `NodeStart.implementationOptions` key that selects it (`--v2-queue`).
    public static let optionName = MachineOption.v2Queue.name
}
