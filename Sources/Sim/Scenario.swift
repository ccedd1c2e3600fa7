import SyncDriver
import CometWire
import SyncMachine

/// A simulation scenario (Traces/README.md "Scenario files"), in the spirit of CometBFT's e2e
/// manifests: the chain, the node under test, scripted peers, an optional pivot-hint script,
/// and per-profile expectations written from the spec before any golden is recorded.
public struct Scenario: Sendable {
    public var name: String
    public var description: String
    public var chain: ChainSpec
    public var node: NodeSpec
    public var peers: [PeerSpec]
    public var pivot: PivotSpec?
    /// Expectations per profile name (sorted by profile in `expectations`).
    public var expectations: [Expectation]
    /// `[test_overrides]`: the originals' test settings (pool_test's 2 s `peerTimeout`,
    /// reactor_test's `switchToConsensusMs`; specs/cometbft-blocksync.md §2.5, §3.4, §7), not
    /// faithful to any version; recorded as the trace metadata `test_overrides`.
    public var testOverrides = TestOverrides()
}

/// `[chain]`: everything `ChainBuilder` needs (specs/cometbft-blocksync.md §1.6; issue 3).
public struct ChainSpec: Sendable {
    public var seed: String
    public var chainID: String
    public var validators: [Int64]
    public var length: Int
    public var txsPerBlock: Int
    public var blockInterval: UInt64
    /// Genesis `InitialHeight`: the chain's blocks are `initialHeight … initialHeight + length − 1`
    /// (blocksync-v2 §v2.6 B7; issue 18 §3).
    public var initialHeight: Int64 = 1

    /// The chain's newest height.
    public var lastHeight: Int64 { initialHeight + Int64(length) - 1 }

    /// Consensus params `VoteExtensionsEnableHeight` (0: disabled): from this height on every
    /// commit has an extended commit with signed vote extensions, honest peers serve it in
    /// `BlockResponse.ext_commit`, and the `/node` record carries the height (§1.5, §3.2, §3.4).
    public var voteExtensionsEnableHeight: Int64 = 0

    /// Whether vote extensions are enabled at `height` (`VoteExtensionsEnableHeight > 0 && h >= it`, §3.2).
    public func voteExtensionsEnabled(at height: Int64) -> Bool {
        voteExtensionsEnableHeight > 0 && height >= voteExtensionsEnableHeight
    }

    /// App version 0: the trace's `/node` record carries no app version, and a genesis state
    /// rebuilt from it has `Version.Consensus.App = 0` (§4.5 checks the block's version against it).
    public var configuration: ChainBuilder.Configuration {
        ChainBuilder.Configuration(seed: Array(seed.utf8), chainID: chainID, validatorPowers: validators, length: length,
                                   txsPerBlock: txsPerBlock, blockInterval: Int64(blockInterval), initialHeight: initialHeight,
                                   appVersion: 0)
    }
}

/// `[node]`: the node under test.
public struct NodeSpec: Sendable {
    public var id: String
    /// Blocks already in the store when the simulation starts (0: sync from genesis).
    public var storeHeight: Int64
    /// The BlockSync profile the trace is made with (and the trace's profile hint).
    public var profile: String
    /// Virtual time after which the simulation stops if the node has not switched to consensus.
    public var duration: UInt64
    /// The node is this validator (index in validator-set order: by power, then address); nil:
    /// not a validator. Feeds cometbft v0.38's `localNodeBlocksTheChain` (§3.4).
    public var validator: Int?
    /// The run goes on this long after the switch to consensus, delivering late traffic (the
    /// reactor stays on the switch, specs/cometbft-blocksync.md §3.3 #5959, §3.4); nil: it ends
    /// at the switch. The trace says so in its metadata (`after_switch`), and replay then runs
    /// to the recording's end.
    public var afterSwitch: UInt64? = nil
    /// false: blocksync disabled — the node answers requests and status but never syncs
    /// (specs/cometbft-blocksync.md §3.1); recorded as the trace metadata `blocksync`.
    public var blocksync = true
    /// State sync's hand-over (specs/cometbft-blocksync.md §2.2, §3.1): the node starts with an
    /// empty store and blocksync off while state sync runs; at `at` state sync has restored the
    /// snapshot at `height` and calls `SwitchToBlockSync`. Recorded in `/node` (`StateSync`).
    public var stateSync: (height: Int64, at: UInt64)? = nil
}

/// How a peer's served block `height` is made bad (specs/cometbft-blocksync.md §4; §6 rows).
public enum BadBlockKind: String, Sendable, CaseIterable {
    /// One signature in the commit for `height` (carried by block height+1) is corrupted.
    case badSignature = "bad_signature"
    /// Block `height`'s header is changed after signing, so its hash is not the one committed.
    case wrongHash = "wrong_hash"
    /// Block height+1 carries a last commit for `height` signed by at most 2/3 of the power.
    case forgedLastCommit = "forged_last_commit"
    /// Block `height` is a sibling signed only by a minority (at most 1/3 of the power).
    case minorityFork = "minority_fork"
    /// Block `height` names a wrong previous block (fully signed).
    case wrongLastBlockID = "wrong_last_block_id"
    /// Block `height` carries a wrong app hash (fully signed).
    case wrongAppHash = "wrong_app_hash"
    /// From `height` on the peer serves another chain's blocks: same chain id, heights and
    /// layout, a different validator set (the originals' BadBlockStopsPeer: a reactor swapped
    /// to another chain's store). Every block is well-formed and fully signed — by validators
    /// the node does not trust (§3.4 step 4, §4.4).
    case otherChain = "other_chain"
}

/// A crafted payload a peer sends on the blocksync channel (`raw`), named after the path of
/// the receiving reactor it reaches (specs/cometbft-blocksync.md §1.5 ValidateMsg and
/// decoding, §3.2, §3.3 FilterMsgBytes).
public enum RawShape: String, Sendable, CaseIterable {
    /// Zero bytes: a `Message` with no field set (ValidateMsg: nil / unknown message).
    case empty
    /// `08 05`: field 1 (block_request) with the varint wire type instead of a length-delimited
    /// message; does not unmarshal.
    case wrongTag = "wrong_tag"
    /// A BlockResponse carrying block `height` twice in its `block` field: protobuf merges the
    /// two, so the block's repeated fields (txs, commit signatures) double and its hashes no
    /// longer match (`BlockFromProto`'s ValidateBasic fails).
    case duplicateBlockField = "duplicate_block_field"
    /// `32 00`: field 6, outside the oneof; unmarshals to a Message with no known field.
    case unknownOneof = "unknown_oneof"
    /// `de ad be ef`: a field tag whose varint runs past the end; does not unmarshal.
    case garbage
    /// A BlockResponse for block `height` whose LastCommit carries MaxVotesCount + 1 = 10,001
    /// signatures (the originals' signature cap, §1.6, §3.3; the added ones are absent votes, so
    /// the LastCommitHash no longer matches either).
    case oversized
}

/// What one `raw` entry sends: bytes as given, or a named shape.
public enum RawPayload: Sendable, Equatable {
    case bytes([UInt8])
    case shape(RawShape, height: Int64)
}

/// One `raw` entry of a peer: a payload arriving at the node at `at`.
public struct RawSend: Sendable, Equatable {
    public var at: UInt64
    public var payload: RawPayload
}

/// How a peer's `BlockResponse.ext_commit` for one height is made wrong (cometbft v0.38's
/// `TestCheckExtendedCommit` cases; specs/cometbft-blocksync.md §2.8, §3.4 step 4).
public enum ExtCommitFaultKind: String, Sendable, CaseIterable {
    /// Vote extensions are enabled at the height, but the response carries no extended commit.
    case missing
    /// Vote extensions are disabled at the height, but the response carries an extended commit
    /// (fully signed, extensions included).
    case presentWhileDisabled = "present_while_disabled"
    /// The extended commit's first COMMIT vote has a corrupted extension signature.
    case badExtensionSignature = "bad_extension_signature"
    /// The extended commit is the one for the next height (its height is not the block's).
    case wrongHeight = "wrong_height"

    /// Whether the kind needs vote extensions enabled (true) or disabled (false) at its height.
    public var needsExtensionsEnabled: Bool { self != .presentWhileDisabled }
}

/// One point of a peer's range over time; `send` pushes a `StatusResponse` at that time.
public struct StatusPoint: Sendable {
    public var at: UInt64
    public var base: Int64
    public var height: Int64
    public var send: Bool
}

/// Which status message a scripted peer sends when it connects and when asked
/// (specs/cometbft-blocksync-v2.md §v2.5.1, §v2.6 B6; issue 18 §3).
public enum StatusStyle: String, Sendable, CaseIterable {
    /// A `StatusResponse` at connection and for every `StatusRequest` (v0, v2 up to v0.34.22).
    case response
    /// A `StatusRequest` at connection and for every `StatusRequest`: tendermint v0.34.23+'s v2
    /// reactor, whose `sendStatusResponse` sends a `StatusRequest` (§v2.6 B6). It never reports a range.
    case request
    /// Nothing: the peer connects and never sends or answers a status.
    case none
}

/// What a scripted peer does when asked for a height it claims but its chain does not have
/// (`lacking`): a lie about its height, as pool_test's MaliciousNode tells (claiming more than
/// it has, specs/cometbft-blocksync.md §7). With `status_every` the lie — and the heights it
/// lacks — move up with the claim.
public enum LackingAnswer: String, Sendable, CaseIterable {
    /// `NoBlockResponse`, as a node answers for a block it does not hold (§3.2 respondToPeer).
    case noBlock = "no_block"
    /// Nothing: the request is blackholed, so only the peer timeout (§2.5) or the request
    /// retry (§2.6) moves the height on.
    case silent
}

/// A claimed height that moves with time: every `interval` after `connect_at` the peer's
/// reported height rises by `step` and it sends a `StatusResponse` (a growing chain, or a
/// moving lie when it passes the chain's length; §v2.6 B11; issue 18 §3).
public struct StatusGrowth: Sendable {
    public var interval: UInt64
    public var step: Int64
}

/// `[[peer]]`: one scripted peer.
public struct PeerSpec: Sendable {
    public var id: String
    public var connectAt: UInt64
    /// One-way delay of everything the peer sends (≥ 1 µs, so a reply never ties with the
    /// timer that caused it: DESIGN.md §3 tie rule).
    public var latency: UInt64
    /// Extra delay on block responses (a slow link).
    public var slow: UInt64
    /// `slow` applies to requests arriving at or after this time (0: all of them).
    public var slowFrom: UInt64 = 0
    /// The status message the peer sends (`status_style`).
    public var statusStyle: StatusStyle = .response
    /// The claimed height rises with time (`status_every`).
    public var growth: StatusGrowth?
    /// The range reported at connection and the changes over time (sorted by `at`).
    public var status: [StatusPoint]
    /// Requests for these heights are never answered.
    public var silent: HeightSet
    /// The first request for each of these heights is lost (never answered); later requests
    /// for them are served (tm #9518: a `TrySend` dropped on a full queue).
    public var dropOnce: HeightSet
    /// A serial link: block responses leave one after another, each taking this long before
    /// its `latency` (0: all at once).
    public var serviceTime: UInt64
    /// Requests for these heights get `NoBlockResponse` although the peer has them.
    public var noBlock: HeightSet
    /// The answer to a request for a height within its claimed range that its chain lacks.
    public var lacking: LackingAnswer = .noBlock
    /// Block responses sent without a request: (time, height).
    public var unsolicited: [(at: UInt64, height: Int64)]
    /// Heights whose block is sent twice in a row.
    public var duplicate: HeightSet
    /// The peer serves a bad chain from this height on.
    public var badBlock: (height: Int64, kind: BadBlockKind)?
    /// The peer's response for this height carries a wrong extended commit (or none).
    public var extCommit: (height: Int64, kind: ExtCommitFaultKind)?
    /// The peer hangs up at this time (nil: never).
    public var disconnectAt: UInt64?
    /// The peer connects again at this time (after its own or the node's disconnect).
    public var reconnectAt: UInt64?
    /// Block requests the peer sends to the node (exercises the node's responses, §3.2).
    public var asks: [(at: UInt64, height: Int64)]
    /// Times at which the peer sends a `StatusRequest` to the node.
    public var statusRequests: [UInt64]
    /// Crafted payloads the peer sends on the blocksync channel (`RawShape`).
    public var raw: [RawSend] = []

    /// The range in force at `time`: the latest status point, raised by `growth` for every
    /// whole `interval` since `connect_at`.
    public func range(at time: UInt64) -> (base: Int64, height: Int64) {
        var r = (status[0].base, status[0].height)
        for p in status where p.at <= time { r = (p.base, p.height) }
        if let g = growth, time >= connectAt {
            r.1 = r.1 &+ Int64((time - connectAt) / g.interval) &* g.step
        }
        return r
    }

    /// The times at which `growth` pushes a `StatusResponse`, up to `end`.
    public func growthTimes(until end: UInt64) -> [UInt64] {
        guard let g = growth else { return [] }
        var out: [UInt64] = []
        var t = connectAt &+ g.interval
        while t <= end && t > connectAt {
            out.append(t)
            t &+= g.interval
        }
        return out
    }
}

/// Which branch a pivot event's hashes come from (specs/conflux-pivot-hint.md §8.1).
public enum PivotBranch: String, Sendable, CaseIterable {
    /// `H(h)`: the recorded pivot chain.
    case canonical
    /// `F(h)`: a branch differing in every prefix.
    case foreign
    /// `P(h) = H(h)[0..<4] ‖ 28 zero bytes`: the prefix collides, the full hash does not.
    case prefix
}

/// One `[[pivot.event]]`.
public enum PivotEventSpec: Sendable {
    case `switch`(at: UInt64, forkAt: UInt64, meHeight: UInt64, branch: PivotBranch, recordBranch: Bool, observed: String)
    case extend(at: UInt64, height: UInt64, branch: PivotBranch, observed: String)

    public var at: UInt64 {
        switch self {
        case .switch(let at, _, _, _, _, _), .extend(let at, _, _, _): return at
        }
    }
}

/// `[pivot]`: the hint file's parameters, how it is damaged, and the fork events.
public struct PivotSpec: Sendable {
    public var minorInterval: UInt32
    public var majorInterval: UInt32
    public var pageInterval: UInt32
    public var rangeMax: UInt64
    public var minorHashLength: UInt32
    /// Salt of the canonical chain; empty gives exactly the spec's file S (§8.1).
    public var seed: String
    /// Flip one byte (offset 5) of this page.
    public var corruptPage: UInt64?
    /// Keep only pages below this one (the file is cut after page `truncatePages − 1`).
    public var truncatePages: UInt64?
    public var events: [PivotEventSpec]
}

/// A peer named in an expected ban or removal, with the reason text it must contain.
public struct PeerReason: Sendable, Equatable {
    public var peer: String
    /// Substring of the recorded reason ("" matches any).
    public var reason: String
}

/// `[expect."<profile>"]`: what the spec says this profile must decide, checked against the
/// golden by the corpus test (so a wrong golden cannot be blessed silently).
public struct Expectation: Sendable {
    public var profile: String
    /// `strict` for the scenario's own profile, `reactive` otherwise (unless set).
    public var mode: String
    /// The spec section(s) the expectation follows, e.g. "§2.7".
    public var spec: String
    public var lastApplied: Int64?
    public var switchedToConsensus: Bool?
    public var banned: [PeerReason]
    public var removed: [PeerReason]
    /// Each pattern (decision fields; `reason` matches as a substring) must match ≥ 1 decision.
    public var decisionsInclude: [[String: PatternValue]]
    /// No decision may match any of these patterns.
    public var decisionsExclude: [[String: PatternValue]]
    /// A known divergence of the implementation from this (spec-derived) expectation, with
    /// the reason: the corpus test then requires the check to fail, so a fix is noticed.
    public var knownDivergence: String?
    /// `v2_queue = "heap"` (v2 profiles only): the golden is recorded and checked under this
    /// execution model (`--v2-queue`, `MachineOption.v2Queue`); nil is the default, `fifo`.
    public var v2Queue: String?

    /// The replay options that spell this table's model: `["--v2-queue", "heap"]` or none.
    public var implementationArguments: [String] {
        v2Queue.map { ["--" + MachineOption.v2Queue.name, $0] } ?? []
    }

    /// The implementation options its golden's provenance must name (`Provenance.options`).
    public var implementationOptions: [String: String] {
        guard let v2Queue, v2Queue != MachineOption.v2Queue.defaultValue else { return [:] }
        return [MachineOption.v2Queue.name: v2Queue]
    }
}

/// A value in a decision pattern.
public enum PatternValue: Sendable, Equatable, CustomStringConvertible {
    case string(String)
    case int(Int64)
    case bool(Bool)
    case null
    /// An array of integers (e.g. `heights = [14, 15]` of a `verify_failed` pair): equal to
    /// the decision's array.
    case ints([Int64])

    public var description: String {
        switch self {
        case .string(let s): return "\"\(s)\""
        case .int(let i): return String(i)
        case .ints(let a): return "[" + a.map(String.init).joined(separator: ", ") + "]"
        case .bool(let b): return String(b)
        case .null: return "null"
        }
    }
}

extension Scenario {
    /// `NAME.scenario.toml`.
    public static let fileSuffix = ".scenario.toml"

    /// `dir/NAME.scenario.toml` → `dir/NAME.trace`, the trace syncsim records from it.
    public static func tracePath(scenarioPath: String) -> String {
        let stem = scenarioPath.hasSuffix(fileSuffix) ? String(scenarioPath.dropLast(fileSuffix.count)) : scenarioPath
        return stem + GoldenNaming.traceSuffix
    }

    /// The golden an `[expect."<profile>"]` table is checked against, beside the scenario
    /// (`GoldenNaming`): `NAME.<profile>.golden.json`, or `NAME.golden.json` when the scenario has
    /// no peers — its trace has no `/blocksync` events, so no block-sync profile names its golden
    /// (issue 17).
    public func goldenPath(scenarioPath: String, profile: String) -> String {
        GoldenNaming.golden(trace: Self.tracePath(scenarioPath: scenarioPath), profile: peers.isEmpty ? nil : ProfileName(profile))
    }
}
