import FileInput
import Foundation
import CometWire
import HexCoding
import Implementations
import SyncDriver
import SyncMachine

extension Scenario {
    /// Reads a scenario file; every problem is a `ScenarioError` naming line and key.
    public static func load(path: String) throws(ScenarioError) -> Scenario {
        let data: [UInt8]
        do { data = try InputFile.read(path, what: "scenario") } catch { throw ScenarioError(line: nil, key: "", error.description) }
        guard let text = String(validating: data, as: UTF8.self) else {
            throw ScenarioError(line: nil, key: "", "scenario \(path) is not UTF-8 text")
        }
        let fallback = URL(fileURLWithPath: path).lastPathComponent.replacingOccurrences(of: ".scenario.toml", with: "")
        return try parse(text, defaultName: fallback)
    }

    /// Parses scenario text (the TOML subset of `TOMLDocumentReader`).
    public static func parse(_ text: String, defaultName: String = "scenario") throws(ScenarioError) -> Scenario {
        let table = try TOMLDocumentReader.parse(text)
        let root = TOMLNode(value: .table(table), path: "", locator: SourceLocator(text: text), header: nil, occurrence: 0, firstKey: nil)
        return try ScenarioParser.scenario(root, defaultName: defaultName)
    }
}

/// The scenario grammar (documented in Traces/README.md).
enum ScenarioParser {
    static let profiles = MachineRegistry.standard.profileNames.map(\.rawValue)

    static func scenario(_ root: TOMLNode, defaultName: String) throws(ScenarioError) -> Scenario {
        let name = try root.optional("name")?.string() ?? defaultName
        let description = try root.optional("description")?.string() ?? ""
        let chain = try chainSpec(try root.required("chain"))
        let node = try nodeSpec(try root.required("node"), chain: chain)
        var peers: [PeerSpec] = []
        if let list = try root.optional("peer") {
            for p in try list.elements() { peers.append(try peerSpec(p, chain: chain)) }
        }
        var ids = Set<String>()
        for (i, p) in peers.enumerated() where !ids.insert(p.id).inserted {
            throw ScenarioError(line: root.locator.line(header: "peer", occurrence: i, key: "id"), key: "peer[\(i)].id",
                                "duplicate peer id \"\(p.id)\"")
        }
        // `status_every` schedules one push per interval up to node.duration: keep that bounded.
        for (i, p) in peers.enumerated() {
            if let g = p.growth, node.duration > p.connectAt, (node.duration - p.connectAt) / g.interval > 100_000 {
                throw ScenarioError(line: root.locator.line(header: "peer", occurrence: i, key: "status_every"), key: "peer[\(i)].status_every",
                                    "pushes more than 100000 statuses before node.duration: use a longer interval")
            }
        }
        let overrides = try root.optional("test_overrides").map { n throws(ScenarioError) in try testOverrides(n) } ?? TestOverrides()
        let pivot = try root.optional("pivot").map { n throws(ScenarioError) in try pivotSpec(n) }
        var expectations: [Expectation] = []
        if let e = try root.optional("expect") {
            guard let t = e.table else { throw e.error("must be a table of [expect.\"<profile>\"] tables") }
            for profile in t.keys.sorted() {
                let sub = try e.optional(profile)!
                guard profiles.contains(profile) else {
                    throw sub.error("unknown profile \"\(profile)\" (expected one of \(profiles.joined(separator: ", ")))")
                }
                expectations.append(try expectation(sub, profile: profile, scenarioProfile: node.profile))
            }
            try e.finish()
        }
        if peers.isEmpty && pivot == nil {
            throw ScenarioError(line: nil, key: "peer", "a scenario needs at least one [[peer]] or a [pivot] section")
        }
        try root.finish()
        return Scenario(name: name, description: description, chain: chain, node: node, peers: peers, pivot: pivot,
                        expectations: expectations, testOverrides: overrides)
    }

    /// `[test_overrides]`: optional positive durations `peer_timeout` (§2.5) and
    /// `switch_check_interval` (§3.4), each at most the maximum virtual span.
    static func testOverrides(_ n: TOMLNode) throws(ScenarioError) -> TestOverrides {
        guard n.table != nil else { throw n.error("must be a table: [test_overrides]") }
        var overrides = TestOverrides()
        for name in TestOverrides.names {
            guard let v = try n.optional(name) else { continue }
            let ns = try v.duration()
            guard ns > 0, ns <= VirtualSpan.defaultMaximum.nanoseconds else {
                throw v.error("must be a positive duration of at most \(VirtualSpan.defaultMaximum) (omit it to keep the profile's value)")
            }
            do { try overrides.set(name, nanoseconds: ns) } catch { throw v.error(error.message) }
        }
        try n.finish()
        return overrides
    }

    static func chainSpec(_ n: TOMLNode) throws(ScenarioError) -> ChainSpec {
        let seed = try n.required("seed").string()
        let chainID = try n.optional("chain_id")?.string() ?? "syncsim-chain"
        if chainID.isEmpty || chainID.utf8.count > 50 {
            throw try n.required("chain_id").error("must be 1 to 50 bytes (MaxChainIDLen, specs/cometbft-blocksync.md §1.6)")
        }
        var validators: [Int64] = [10, 10, 10, 10]
        if let v = try n.optional("validators") {
            validators = []
            for e in try v.elements() {
                let p = try e.int()
                guard p > 0, p < (1 << 40) else { throw e.error("a validator's power must be 1 … 2^40, got \(p)") }
                validators.append(p)
            }
            // Up to one over MaxVotesCount, so a chain can exceed the originals' 10,000-signature caps (§1.6, §3.3).
            guard !validators.isEmpty, validators.count <= Limits.maxVotesCount + 1 else {
                throw v.error("must list 1 to \(Limits.maxVotesCount + 1) validator powers (MaxVotesCount + 1, §1.6)")
            }
        }
        let lengthNode = try n.required("length")
        let length = try lengthNode.int()
        guard length >= 2, length <= 200_000 else { throw lengthNode.error("must be 2 … 200000 blocks, got \(length)") }
        var txs: Int64 = 0
        if let t = try n.optional("txs_per_block") {
            txs = try t.nonNegative()
            guard txs <= 1000 else { throw t.error("must be at most 1000") }
        }
        let interval = try n.optional("block_interval")?.duration() ?? 1_000_000_000
        var initialHeight: Int64 = 1
        if let i = try n.optional("initial_height") {
            initialHeight = try i.int()
            // Genesis InitialHeight (§v2.6 B7); the bound keeps every height far from Int64 overflow.
            guard initialHeight >= 1, initialHeight <= 1 << 40 else { throw i.error("must be 1 … 2^40, got \(initialHeight)") }
        }
        let enableHeight = try n.optional("vote_extensions_enable_height")?.nonNegative() ?? 0
        try n.finish()
        return ChainSpec(seed: seed, chainID: chainID, validators: validators, length: Int(length), txsPerBlock: Int(txs),
                         blockInterval: max(interval, 1), initialHeight: initialHeight, voteExtensionsEnableHeight: enableHeight)
    }

    static func nodeSpec(_ n: TOMLNode, chain: ChainSpec) throws(ScenarioError) -> NodeSpec {
        let id = try n.optional("id")?.string() ?? "node"
        var store: Int64 = 0
        if let s = try n.optional("store_height") {
            store = try s.nonNegative()
            guard store < Int64(chain.length) else { throw s.error("must be below chain.length (\(chain.length))") }
            // The /node record's store is 1…store_height; a chain starting above 1 has no such blocks.
            guard store == 0 || chain.initialHeight == 1 else { throw s.error("must be 0 when chain.initial_height is above 1") }
        }
        let profileNode = try n.required("profile")
        let profile = try profileNode.string()
        guard profiles.contains(profile) else {
            throw profileNode.error("unknown profile \"\(profile)\" (expected one of \(profiles.joined(separator: ", ")))")
        }
        var duration: UInt64 = 60_000_000_000
        if let d = try n.optional("duration") {
            duration = try d.duration()
            // Issue 20: the run's virtual span is bounded as replay's is (scripted times past it never run).
            guard duration <= VirtualSpan.defaultMaximum.nanoseconds else {
                throw d.error("must be at most \(VirtualSpan.defaultMaximum) (the maximum virtual span of a run)")
            }
        }
        var validator: Int?
        if let v = try n.optional("validator") {
            let index = try v.nonNegative()
            guard index < Int64(chain.validators.count) else {
                throw v.error("must be an index into chain.validators (0 … \(chain.validators.count - 1))")
            }
            validator = Int(index)
        }
        var afterSwitch: UInt64?
        if let a = try n.optional("after_switch") {
            let grace = try a.duration()
            guard grace > 0, grace <= VirtualSpan.defaultMaximum.nanoseconds else {
                throw a.error("must be a positive duration of at most \(VirtualSpan.defaultMaximum) (omit it to end at the switch)")
            }
            afterSwitch = grace
        }
        let blocksyncNode = try n.optional("blocksync")
        let blocksync = try blocksyncNode?.bool() ?? true
        var stateSync: (height: Int64, at: UInt64)?
        if let h = try n.optional("state_sync") {
            guard h.table != nil else { throw h.error("must be an inline table like {height = 20, at = \"5s\"}") }
            let heightNode = try h.required("height")
            let height = try heightNode.int()
            guard height >= chain.initialHeight, height < chain.lastHeight else {
                throw heightNode.error("must be a snapshot height of the chain with a block after it (\(chain.initialHeight) … \(chain.lastHeight - 1))")
            }
            let atNode = try h.required("at")
            let at = try atNode.duration()
            guard at < duration else { throw atNode.error("must be before node.duration (\(VirtualSpan(nanoseconds: duration)))") }
            try h.finish()
            // State sync starts from an empty store, and hands over only to an enabled blocksync
            // (with blocksync off CometBFT goes from state sync straight to consensus).
            if let s = try n.optional("store_height"), store > 0 { throw s.error("must be 0 with state_sync (state sync starts from an empty store)") }
            if let b = blocksyncNode, !blocksync { throw b.error("must be true with state_sync (the hand-over starts blocksync)") }
            stateSync = (height, at)
        }
        try n.finish()
        var spec = NodeSpec(id: id, storeHeight: store, profile: profile, duration: duration, validator: validator)
        spec.afterSwitch = afterSwitch
        spec.blocksync = blocksync
        spec.stateSync = stateSync
        return spec
    }

    static func peerSpec(_ n: TOMLNode, chain: ChainSpec) throws(ScenarioError) -> PeerSpec {
        let id = try n.required("id").string()
        guard !id.isEmpty else { throw try n.required("id").error("must not be empty") }
        let connectAt = try n.optional("connect_at")?.duration() ?? 0
        var latency: UInt64 = 10_000_000
        if let l = try n.optional("latency") {
            latency = try l.duration()
            guard latency >= 1_000 else {
                throw l.error("must be at least 1us: a reply may not tie with the timer that caused it (DESIGN.md §3 tie rule)")
            }
        }
        let slow = try n.optional("slow")?.duration() ?? 0
        let slowFrom = try n.optional("slow_from")?.duration() ?? 0
        let base = try n.optional("base")?.int() ?? chain.initialHeight
        let height = try n.optional("height")?.int() ?? chain.lastHeight
        var style = StatusStyle.response
        if let st = try n.optional("status_style") {
            let name = try st.string()
            guard let s = StatusStyle(rawValue: name) else {
                throw st.error("unknown status style \"\(name)\" (expected one of \(StatusStyle.allCases.map(\.rawValue).joined(separator: ", ")))")
            }
            style = s
        }
        var growth: StatusGrowth?
        if let g = try n.optional("status_every") {
            guard g.table != nil else { throw g.error("must be an inline table like {interval = \"1s\", step = 1}") }
            let iNode = try g.required("interval")
            let interval = try iNode.duration()
            guard interval >= 1_000_000 else { throw iNode.error("must be at least 1ms") }
            let sNode = try g.required("step")
            let step = try sNode.int()
            guard step >= 1, step <= 1_000_000 else { throw sNode.error("must be 1 … 1000000 (a claimed height only moves up)") }
            try g.finish()
            growth = StatusGrowth(interval: interval, step: step)
        }
        var status = [StatusPoint(at: connectAt, base: base, height: height, send: true)]
        if let s = try n.optional("status") {
            for e in try s.elements() {
                let at = try e.required("at").duration()
                let point = StatusPoint(at: at, base: try e.optional("base")?.int() ?? status.last!.base,
                                        height: try e.required("height").int(), send: try e.optional("send")?.bool() ?? true)
                guard at >= status.last!.at else { throw e.error("status points must be in time order") }
                try e.finish()
                if point.send && style != .response {
                    throw e.error("a status push (send = true) needs status_style = \"response\"")
                }
                status.append(point)
            }
        }
        var unsolicited: [(UInt64, Int64)] = []
        if let u = try n.optional("unsolicited") {
            for e in try u.elements() {
                unsolicited.append((try e.required("at").duration(), try e.required("height").int()))
                try e.finish()
            }
        }
        var asks: [(UInt64, Int64)] = []
        if let a = try n.optional("ask") {
            for e in try a.elements() {
                asks.append((try e.required("at").duration(), try e.required("height").int()))
                try e.finish()
            }
        }
        var statusRequests: [UInt64] = []
        if let s = try n.optional("status_request_at") {
            for e in try s.elements() { statusRequests.append(try e.duration()) }
        }
        var bad: (Int64, BadBlockKind)?
        if let b = try n.optional("bad_block") {
            let hNode = try b.required("height")
            let h = try hNode.int()
            guard h >= chain.initialHeight, h < chain.lastHeight else {
                throw hNode.error("must be \(chain.initialHeight) … \(chain.lastHeight - 1) (the block above it carries the commit)")
            }
            let kNode = try b.required("kind")
            let k = try kNode.string()
            guard let kind = BadBlockKind(rawValue: k) else {
                throw kNode.error("unknown bad block kind \"\(k)\" (expected one of \(BadBlockKind.allCases.map(\.rawValue).joined(separator: ", ")))")
            }
            try b.finish()
            bad = (h, kind)
        }
        var extFault: (Int64, ExtCommitFaultKind)?
        if let e = try n.optional("ext_commit") {
            let hNode = try e.required("height")
            let h = try hNode.int()
            guard h >= chain.initialHeight, h <= chain.lastHeight else { throw hNode.error("must be a height of the chain (\(chain.initialHeight) … \(chain.lastHeight))") }
            let kNode = try e.required("kind")
            let k = try kNode.string()
            guard let kind = ExtCommitFaultKind(rawValue: k) else {
                throw kNode.error("unknown ext_commit kind \"\(k)\" (expected one of \(ExtCommitFaultKind.allCases.map(\.rawValue).joined(separator: ", ")))")
            }
            let enabled = chain.voteExtensionsEnabled(at: h)
            if kind.needsExtensionsEnabled && !enabled {
                throw hNode.error("vote extensions are not enabled at height \(h) (chain.vote_extensions_enable_height = \(chain.voteExtensionsEnableHeight)), as kind \"\(k)\" needs")
            }
            if !kind.needsExtensionsEnabled && enabled {
                throw hNode.error("vote extensions are enabled at height \(h) (chain.vote_extensions_enable_height = \(chain.voteExtensionsEnableHeight)); kind \"\(k)\" needs a height below it")
            }
            try e.finish()
            extFault = (h, kind)
        }
        var raw: [RawSend] = []
        if let r = try n.optional("raw") {
            for e in try r.elements() {
                let at = try e.required("at").duration()
                let bytesNode = try e.optional("bytes"), shapeNode = try e.optional("shape")
                switch (bytesNode, shapeNode) {
                case (let b?, nil):
                    guard let bytes = Hex.decode(try b.string()) else { throw b.error("must be hex digits, two per byte (\"\" for none)") }
                    raw.append(RawSend(at: at, payload: .bytes(bytes)))
                case (nil, let s?):
                    let name = try s.string()
                    guard let shape = RawShape(rawValue: name) else {
                        throw s.error("unknown raw shape \"\(name)\" (expected one of \(RawShape.allCases.map(\.rawValue).joined(separator: ", ")))")
                    }
                    var h: Int64 = 2
                    if let hNode = try e.optional("height") {
                        h = try hNode.int()
                        guard h > chain.initialHeight, h <= chain.lastHeight else {
                            throw hNode.error("must be \(chain.initialHeight + 1) … \(chain.lastHeight) (a block with a last commit)")
                        }
                    } else if shape == .duplicateBlockField || shape == .oversized {
                        throw e.error("shape \(name) needs a height (the block it carries)")
                    }
                    raw.append(RawSend(at: at, payload: .shape(shape, height: h)))
                default:
                    throw e.error("needs exactly one of bytes = \"<hex>\" or shape = \"<name>\"")
                }
                try e.finish()
            }
        }
        var spec = PeerSpec(
            id: id, connectAt: connectAt, latency: latency, slow: slow, status: status,
            silent: try n.optional("silent")?.heights() ?? HeightSet(),
            dropOnce: try n.optional("drop_once")?.heights() ?? HeightSet(),
            serviceTime: try n.optional("service_time")?.duration() ?? 0,
            noBlock: try n.optional("no_block")?.heights() ?? HeightSet(),
            unsolicited: unsolicited,
            duplicate: try n.optional("duplicate")?.heights() ?? HeightSet(),
            badBlock: bad,
            extCommit: extFault,
            disconnectAt: try n.optional("disconnect_at")?.duration(),
            reconnectAt: try n.optional("reconnect_at")?.duration(),
            asks: asks, statusRequests: statusRequests)
        spec.slowFrom = slowFrom
        spec.statusStyle = style
        spec.growth = growth
        if growth != nil && style != .response {
            throw try n.required("status_every").error("needs status_style = \"response\" (it pushes StatusResponses)")
        }
        spec.raw = raw
        if let l = try n.optional("lacking") {
            let name = try l.string()
            guard let answer = LackingAnswer(rawValue: name) else {
                throw l.error("unknown answer \"\(name)\" (expected one of \(LackingAnswer.allCases.map(\.rawValue).joined(separator: ", ")))")
            }
            spec.lacking = answer
        }
        if let d = spec.disconnectAt, d < connectAt { throw try n.required("disconnect_at").error("is before connect_at") }
        if let r = spec.reconnectAt, r <= connectAt { throw try n.required("reconnect_at").error("must be after connect_at") }
        try n.finish()
        return spec
    }

    static func pivotSpec(_ n: TOMLNode) throws(ScenarioError) -> PivotSpec {
        func u32(_ key: String, _ d: UInt32) throws(ScenarioError) -> UInt32 {
            guard let v = try n.optional(key) else { return d }
            let i = try v.int()
            guard i > 0, i <= Int64(UInt32.max) else { throw v.error("must be 1 … \(UInt32.max)") }
            return UInt32(i)
        }
        let minor = try u32("minor_interval", 2), major = try u32("major_interval", 10), page = try u32("page_interval", 100)
        let minorLength = try u32("minor_hash_length", 4)
        var rangeMax: UInt64 = 1000
        if let r = try n.optional("range_max") { rangeMax = UInt64(try r.nonNegative()) }
        // Reject what the hint loader would reject, here, with the line (spec §2.1 order).
        if major % minor != 0 { throw try n.required("major_interval").error("must be a multiple of minor_interval (§2.1)") }
        if page % major != 0 { throw try n.required("page_interval").error("must be a multiple of major_interval (§2.1)") }
        if rangeMax % UInt64(page) != 0 { throw try n.required("range_max").error("must be a multiple of page_interval (§2.1)") }
        if minorLength > 32 { throw try n.required("minor_hash_length").error("must be at most 32") }
        if rangeMax / UInt64(page) > 100_000 { throw try n.required("range_max").error("gives more than 100000 pages") }
        let seed = try n.optional("seed")?.string() ?? ""
        let pages = rangeMax / UInt64(page)
        var corrupt: UInt64?
        if let c = try n.optional("corrupt_page") {
            let v = UInt64(try c.nonNegative())
            guard v < pages else { throw c.error("page \(v) does not exist (the file has \(pages) pages)") }
            corrupt = v
        }
        var truncate: UInt64?
        if let t = try n.optional("truncate_pages") {
            let v = UInt64(try t.nonNegative())
            guard v < pages else { throw t.error("must be below the page count \(pages)") }
            truncate = v
        }
        var events: [PivotEventSpec] = []
        if let list = try n.optional("event") {
            var last: UInt64 = 0
            for e in try list.elements() {
                let at = try e.required("at").duration()
                guard at >= last else { throw e.error("events must be in time order") }
                last = at
                let kindNode = try e.required("kind")
                let branchName = try e.optional("branch")?.string() ?? "canonical"
                guard let branch = PivotBranch(rawValue: branchName) else {
                    throw try e.required("branch").error("unknown branch \"\(branchName)\" (canonical, foreign or prefix)")
                }
                let observed = try e.optional("observed")?.string() ?? "unknown"
                guard ["unknown", "allowed", "denied"].contains(observed) else {
                    throw try e.required("observed").error("must be unknown, allowed or denied")
                }
                switch try kindNode.string() {
                case "switch":
                    let forkNode = try e.required("fork_at")
                    let forkAt = try forkNode.nonNegative()
                    guard forkAt >= 1 else { throw forkNode.error("must be at least 1 (fork_at = lca + 1; §3.1 precondition)") }
                    events.append(.switch(at: at, forkAt: UInt64(forkAt), meHeight: UInt64(try e.required("me_height").nonNegative()),
                                          branch: branch, recordBranch: try e.optional("record_branch")?.bool() ?? true,
                                          observed: observed))
                case "extend":
                    events.append(.extend(at: at, height: UInt64(try e.required("height").nonNegative()), branch: branch, observed: observed))
                case let other:
                    throw kindNode.error("unknown pivot event kind \"\(other)\" (switch or extend)")
                }
                try e.finish()
            }
        }
        try n.finish()
        return PivotSpec(minorInterval: minor, majorInterval: major, pageInterval: page, rangeMax: rangeMax,
                         minorHashLength: minorLength, seed: seed, corruptPage: corrupt, truncatePages: truncate, events: events)
    }

    static func expectation(_ n: TOMLNode, profile: String, scenarioProfile: String) throws(ScenarioError) -> Expectation {
        let spec = try n.required("spec").string()
        guard spec.contains("§") else { throw try n.required("spec").error("must cite a spec section, e.g. \"§2.7\"") }
        let mode = try n.optional("mode")?.string() ?? (profile == scenarioProfile ? "strict" : "reactive")
        guard ReplayMode(rawValue: mode) != nil else { throw try n.required("mode").error("must be strict or reactive") }
        func peerReasons(_ key: String) throws(ScenarioError) -> [PeerReason] {
            guard let list = try n.optional(key) else { return [] }
            var out: [PeerReason] = []
            for e in try list.elements() {
                if let s = e.value.string { out.append(PeerReason(peer: s, reason: "")); continue }
                out.append(PeerReason(peer: try e.required("peer").string(), reason: try e.optional("reason")?.string() ?? ""))
                try e.finish()
            }
            return out
        }
        func patterns(_ key: String) throws(ScenarioError) -> [[String: PatternValue]] {
            guard let list = try n.optional(key) else { return [] }
            var out: [[String: PatternValue]] = []
            for e in try list.elements() {
                guard let t = e.table else { throw e.error("must be an inline table like {kind = \"peer_banned\", peer = \"p3\"}") }
                var pattern: [String: PatternValue] = [:]
                for k in t.keys.sorted() {
                    let v = try e.required(k)
                    if let s = v.value.string { pattern[k] = .string(s) }
                    else if let i = v.value.int { pattern[k] = .int(Int64(i)) }
                    else if let b = v.value.bool { pattern[k] = .bool(b) }
                    else if v.value.array != nil {
                        var items: [Int64] = []
                        for item in try v.elements() { items.append(try item.int()) }
                        pattern[k] = .ints(items)
                    }
                    else { throw v.error("pattern values must be strings, integers, booleans or arrays of integers") }
                }
                guard case .string(let kind)? = pattern["kind"], DecisionKind(rawValue: kind) != nil else {
                    throw e.error("a pattern needs kind = one of \(DecisionKind.allCases.map(\.rawValue).joined(separator: ", "))")
                }
                out.append(pattern)
            }
            return out
        }
        var v2Queue: String?
        if let q = try n.optional("v2_queue") {
            let option = MachineOption.v2Queue
            let value = try q.string()
            guard MachineRegistry.standard.implementation(of: ProfileName(profile))?.options.contains(option.name) == true else {
                let takers = MachineRegistry.standard.profiles(taking: option.name).map(\.rawValue).joined(separator: ", ")
                throw q.error("applies to the v2 profiles (\(takers)), not \(profile)")
            }
            guard option.values.contains(value) else { throw q.error("must be \(option.valueList)") }
            v2Queue = value
        }
        var e = Expectation(profile: profile, mode: mode, spec: spec,
                            lastApplied: try n.optional("last_applied")?.int(),
                            switchedToConsensus: try n.optional("switched_to_consensus")?.bool(),
                            banned: try peerReasons("banned"), removed: try peerReasons("removed"),
                            decisionsInclude: try patterns("decisions_include"),
                            decisionsExclude: try patterns("decisions_exclude"),
                            knownDivergence: try n.optional("known_divergence")?.string())
        e.v2Queue = v2Queue
        try n.finish()
        return e
    }
}
