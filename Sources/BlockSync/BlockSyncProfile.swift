import CometWire
import SyncMachine

/// The versions of the v0 blocksync reactor this module can behave as (DESIGN.md §3 "Profiles").
extension ProfileName {
    public static let tmV034: ProfileName = "tm-v0.34"
    public static let tmV035: ProfileName = "tm-v0.35"
    public static let cometbftV038: ProfileName = "cometbft-v0.38"
}

extension Nanoseconds {
    static let millisecond: Nanoseconds = 1_000_000
    static let second: Nanoseconds = 1_000_000_000
}

/// One version's behaviour as data: constants and feature switches, every difference of
/// specs/cometbft-blocksync.md §2.1–§2.10 and §3 (DESIGN.md §3: "a profile is data, not a fork
/// of the code"). The reactor and pool read only these fields, never the profile's name.
public struct BlockSyncProfile: Sendable, Equatable {
    /// How `BlockPool.makeRequestersRoutine` paces itself (§2.3).
    public enum RequesterCreation: Sendable, Equatable {
        /// ≤ v0.38.5, tm v0.34/v0.35: create requesters without sleeping until `maxTotalRequesters`
        /// or `maxPendingRequests` is reached; only then sleep and run `removeTimedoutPeers`.
        case busySpin(maxTotalRequesters: Int, maxPendingRequests: Int)
        /// v0.37, v0.38.6+, v1 (#2467): wait `peerConnWait`, then one requester per loop
        /// iteration, sleeping `requestInterval` after each; cap `len(peers) × maxPendingPerPeer`.
        case paced(peerConnWait: Nanoseconds)
    }

    /// In which order `pickIncrAvailablePeer` tries peers (§2.4).
    public enum PeerOrder: Sendable, Equatable {
        /// Go map order (random). Replaced by order of arrival in the pool (module doc).
        case arrival
        /// `sortedPeers`: newly added peers first, re-sorted by `curRate` descending on every
        /// `removeTimedoutPeers` (stable sort here; Go's `sort.Slice` is not stable).
        case sortedByRate
    }

    /// `bpRequester` semantics (§2.6).
    public enum RequesterStyle: Sendable, Equatable {
        /// One peer per height; `redo(id)` acts only when `id == peerID`; `setBlock` refuses a
        /// second block even from the right peer; the retry timer (when present) is not
        /// stopped by a received block, so a block left unprocessed for 30 s is dropped and
        /// requested again.
        case single
        /// Primary and second peer (second when within `secondRequestWindow` of the pool
        /// height), `didRequestFrom`, `gotBlockFrom`, retry only while no block arrived.
        case dual(secondRequestWindow: Int64)
    }

    /// What `AddBlock` does with a block no requester waits for (§2.8 step 2).
    public enum UnexpectedBlock: Sendable, Equatable {
        /// Disconnect only when `|pool.height − h| > maxDiff`, else ignore.
        case disconnectIfFarFrom(poolHeight: Int64)
        /// Disconnect when `h > pool.height || h < startHeight`, else benign ("already committed").
        case disconnectIfAheadOrBeforeStart
    }

    /// `IsCaughtUp` and the extra switch-to-consensus conditions (§2.10, §3.4).
    public enum CaughtUpRule: Sendable, Equatable {
        /// `len(peers) > 0 && (height > 0 || since(start) > 5 s) && (max == 0 || height ≥ max − 1)`.
        case poolHeightNearMax
        /// tm v0.35: `len(peers) > 0 && height ≥ max − 1`, or no block applied for `syncTimeout`.
        case poolHeightNearMaxOrStalled(syncTimeout: Nanoseconds)
    }

    /// How the first block of a pair is authenticated by the second's LastCommit (§3.4 step 4).
    public enum CommitCheck: Sendable, Equatable {
        /// `VerifyCommitLight` (stops once +2/3 is tallied), then `ValidateBlock` (which fully
        /// verifies `first.LastCommit`).
        case light
        /// v0.38.22+: full `VerifyCommit` of `second.LastCommit`; `ValidateBlock` for the first
        /// synced block, `ValidateBlockSkipLastCommit` afterwards.
        case fullSkippingLastCommitAfterFirst
    }

    /// Who is blamed when a pair fails verification (§2.9, §3.4 step 5, [FS-ISSUE-KILL]).
    public enum Blame: Sendable, Equatable {
        /// `RedoRequest(h)`: the requester's assigned `peerID`; no ban.
        case assignedPeer
        /// `RemovePeerAndRedoAllPeerRequests(h)`: `gotBlockFrom`, then banned.
        case supplierBanned
    }

    public var name: ProfileName
    /// Which released versions this profile reproduces (README, `syncreplay --help`).
    public var matches: String

    // §2.1 constants
    public var requestInterval: Nanoseconds
    public var requesterCreation: RequesterCreation
    public var maxPendingPerPeer: Int
    /// `requestRetrySeconds`; nil where the retry does not exist (tm v0.35).
    public var requestRetry: Nanoseconds?
    public var minRecvRate: Int64
    public var peerTimeout: Nanoseconds
    /// `bannedPeers` lifetime; nil before v0.38.8 (no banning).
    public var banDuration: Nanoseconds?

    // §2.4–§2.9 switches
    public var peerOrder: PeerOrder
    public var requesterStyle: RequesterStyle
    public var unexpectedBlock: UnexpectedBlock
    /// ASA-2025-001 (v0.38.17): a known peer lowering its base or height is removed and banned.
    public var banOnLoweredRange: Bool
    /// v0.38.23 (#5803): `base > height` bans, and `maxPeerHeight` ignores pruned-ahead peers
    /// and is recomputed on every update and pop.
    public var baseFilter: Bool
    /// v0.38.6+ (#2475): `NoBlockResponse` triggers `RedoRequestFrom`; before, it is only logged.
    public var redoOnNoBlockResponse: Bool
    public var blame: Blame
    /// How the disconnect reason wraps a failed pair's verification error (§3.4 step 5):
    /// tm v0.34.24 `fmt.Errorf("blockchainReactor validation error: %v")` (blockchain/v0
    /// poolRoutine), tm v0.35.9 the bare error (`blockSyncCh.Error`), cometbft v0.38.24
    /// `ErrReactorValidation` ("reactor validation error: %v", `handleValidationFailure`).
    public var validationErrorPrefix: String
    /// v0.38: `BlockResponse` may carry an `ExtendedCommit` whose height must match the block.
    public var extendedCommits: Bool

    // §2.10, §3 reactor
    public var caughtUp: CaughtUpRule
    /// v0.38.10+ (#3406): switch when our own validator holds ≥ 1/3 of the power.
    public var localNodeBlocksTheChain: Bool
    public var commitCheck: CommitCheck
    /// Which variant of the commit checks this version runs (batch path, address check…).
    public var commitVerification: CommitVerificationOptions
    /// v0.38.24+ (#5860, #5959): BlockResponses are pre-filtered (§3.3).
    public var filterBlockResponses: Bool
    public var trySyncInterval: Nanoseconds
    public var statusUpdateInterval: Nanoseconds
    public var switchToConsensusInterval: Nanoseconds
    /// Who checks a received message before the reactor sees it (specs/cometbft-blocksync.md §1.5).
    public var messageCheck: MessageCheck = .validateMsg
    /// `AddBlock`'s error when the block comes from a peer other than the requester's, or a
    /// second time (single requesters, §2.5): tm v0.34.24 `errors.New("invalid peer")`; tm
    /// v0.35.9 `errors.New("requester is different or block already exists")` (pool.go).
    public var addBlockMismatchError = "invalid peer"

    /// §1.5: the switch's `ValidateMsg` (tm v0.34, cometbft v0.38; tm v0.35's legacy p2p shim),
    /// or tm v0.35.9's default router, which unmarshals and delivers without validating.
    public enum MessageCheck: Sendable, Equatable {
        /// Undecodable bytes, negative heights, a negative base or base > height: `StopPeerForError`.
        case validateMsg
        /// `Router.receivePeer`: bytes that do not unmarshal are dropped with the peer kept; the
        /// message reaches the handler unchecked — a BlockRequest{-1} is answered with
        /// NoBlockResponse{-1}, a StatusResponse with a negative height or base > height is
        /// stored by `SetPeerRange`. A BlockResponse still fails in `BlockFromProto` (a
        /// `PeerError`: the peer is evicted).
        case routerUnchecked
    }

    /// tendermint v0.34.24 (also cometbft v0.34.x): 600 requesters, 7680 B/s, the 30 s retry of
    /// #9518, map-order peers, NoBlockResponse only logged, no bans.
    public static let tmV034 = BlockSyncProfile(
        name: .tmV034,
        matches: "tendermint v0.34.24 (blockchain/v0); cometbft v0.34.x behaves the same",
        requestInterval: 2 * .millisecond,
        requesterCreation: .busySpin(maxTotalRequesters: 600, maxPendingRequests: 600),
        maxPendingPerPeer: 20,
        requestRetry: 30 * .second,
        minRecvRate: 7680,
        peerTimeout: 15 * .second,
        banDuration: nil,
        peerOrder: .arrival,
        requesterStyle: .single,
        unexpectedBlock: .disconnectIfFarFrom(poolHeight: 100),
        banOnLoweredRange: false,
        baseFilter: false,
        redoOnNoBlockResponse: false,
        blame: .assignedPeer,
        validationErrorPrefix: "blockchainReactor validation error: ",
        extendedCommits: false,
        caughtUp: .poolHeightNearMax,
        localNodeBlocksTheChain: false,
        commitCheck: .light,
        commitVerification: .tendermintV034,
        filterBlockResponses: false,
        trySyncInterval: 10 * .millisecond,
        statusUpdateInterval: 10 * .second,
        switchToConsensusInterval: 1 * .second
    )

    /// tendermint v0.35.9 (internal/blocksync/v0): as v0.34 but without the 30 s request retry,
    /// with the 60 s no-progress `syncTimeout` switch, and behind the default router, which
    /// does not validate messages (§1.5; `messageCheck`).
    public static let tmV035: BlockSyncProfile = {
        var p = tmV034
        p.name = .tmV035
        p.matches = "tendermint v0.35.9 (internal/blocksync/v0)"
        p.requestRetry = nil
        p.validationErrorPrefix = ""
        p.caughtUp = .poolHeightNearMaxOrStalled(syncTimeout: 60 * .second)
        p.messageCheck = .routerUnchecked
        p.addBlockMismatchError = "requester is different or block already exists"
        return p
    }()

    /// cometbft v0.38.24+ (newest v0.38 in the spec): paced requesters capped at 20 × peers,
    /// second requests within 50 of the pool height, 128 KiB/s minimum rate, rate-sorted peers,
    /// NoBlockResponse re-request, 60 s bans (incl. ASA-2025-001 and #5803), full commit check
    /// (#5711), `localNodeBlocksTheChain`, `FilterMsgBytes` with late-response tolerance.
    public static let cometbftV038 = BlockSyncProfile(
        name: .cometbftV038,
        matches: "cometbft v0.38.24 and later v0.38.x (blocksync/)",
        requestInterval: 2 * .millisecond,
        requesterCreation: .paced(peerConnWait: 3 * .second),
        maxPendingPerPeer: 20,
        requestRetry: 30 * .second,
        minRecvRate: 128 * 1024,
        peerTimeout: 15 * .second,
        banDuration: 60 * .second,
        peerOrder: .sortedByRate,
        requesterStyle: .dual(secondRequestWindow: 50),
        unexpectedBlock: .disconnectIfAheadOrBeforeStart,
        banOnLoweredRange: true,
        baseFilter: true,
        redoOnNoBlockResponse: true,
        blame: .supplierBanned,
        validationErrorPrefix: "reactor validation error: ",
        extendedCommits: true,
        caughtUp: .poolHeightNearMax,
        localNodeBlocksTheChain: true,
        commitCheck: .fullSkippingLastCommitAfterFirst,
        commitVerification: .cometbft,
        filterBlockResponses: true,
        trySyncInterval: 10 * .millisecond,
        statusUpdateInterval: 10 * .second,
        switchToConsensusInterval: 1 * .second
    )

    public static let all: [BlockSyncProfile] = [.tmV034, .tmV035, .cometbftV038]

    public init(
        name: ProfileName, matches: String, requestInterval: Nanoseconds,
        requesterCreation: RequesterCreation, maxPendingPerPeer: Int, requestRetry: Nanoseconds?,
        minRecvRate: Int64, peerTimeout: Nanoseconds, banDuration: Nanoseconds?, peerOrder: PeerOrder,
        requesterStyle: RequesterStyle, unexpectedBlock: UnexpectedBlock, banOnLoweredRange: Bool,
        baseFilter: Bool, redoOnNoBlockResponse: Bool, blame: Blame, validationErrorPrefix: String, extendedCommits: Bool,
        caughtUp: CaughtUpRule, localNodeBlocksTheChain: Bool, commitCheck: CommitCheck,
        commitVerification: CommitVerificationOptions, filterBlockResponses: Bool, trySyncInterval: Nanoseconds, statusUpdateInterval: Nanoseconds,
        switchToConsensusInterval: Nanoseconds
    ) {
        self.name = name
        self.matches = matches
        self.requestInterval = requestInterval
        self.requesterCreation = requesterCreation
        self.maxPendingPerPeer = maxPendingPerPeer
        self.requestRetry = requestRetry
        self.minRecvRate = minRecvRate
        self.peerTimeout = peerTimeout
        self.banDuration = banDuration
        self.peerOrder = peerOrder
        self.requesterStyle = requesterStyle
        self.unexpectedBlock = unexpectedBlock
        self.banOnLoweredRange = banOnLoweredRange
        self.baseFilter = baseFilter
        self.redoOnNoBlockResponse = redoOnNoBlockResponse
        self.blame = blame
        self.validationErrorPrefix = validationErrorPrefix
        self.extendedCommits = extendedCommits
        self.caughtUp = caughtUp
        self.localNodeBlocksTheChain = localNodeBlocksTheChain
        self.commitCheck = commitCheck
        self.commitVerification = commitVerification
        self.filterBlockResponses = filterBlockResponses
        self.trySyncInterval = trySyncInterval
        self.statusUpdateInterval = statusUpdateInterval
        self.switchToConsensusInterval = switchToConsensusInterval
    }

    /// The profile named `tm-v0.34`, `tm-v0.35` or `cometbft-v0.38`; nil for any other name.
    public init?(named name: ProfileName) {
        guard let known = Self.all.first(where: { $0.name == name }) else { return nil }
        self = known
    }

    /// This profile with the originals' test settings (`TestOverrides`, not faithful): pool_test's
    /// `peerTimeout` (§2.5, §7) and the `switchToConsensusMs` hook (§3.4, §7). The name stays:
    /// the golden's provenance marks the run `non_faithful`.
    public func overridden(by overrides: TestOverrides) -> BlockSyncProfile {
        var p = self
        if let t = overrides.peerTimeout { p.peerTimeout = t }
        if let t = overrides.switchCheckInterval { p.switchToConsensusInterval = t }
        return p
    }

    /// Second-peer window, or nil for single-peer requesters.
    var secondRequestWindow: Int64? {
        if case .dual(let window) = requesterStyle { return window }
        return nil
    }
}
