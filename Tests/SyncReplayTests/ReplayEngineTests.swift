import SyncMachine
import CometWire
import Foundation
import Replay
import Testing

/// The virtual clock, strict outbound matching and ghost-peer rules, driven through the public
/// `BlockSyncMachine` protocol by a small scripted machine (independent of the BlockSync reactor).
@Suite struct ReplayEngineTests {
    /// Asks every new peer for its status, requests every height a status covers, drops a peer
    /// on NoBlockResponse, and broadcasts a status request every second.
    struct ScriptedMachine: BlockSyncMachine {
        enum Timer: String, MachineTimer { case status }

        /// A trivial test-only implementation, registered from the test target.
        static let registry = TestImplementations.registry(name: "scripted", profile: "scripted-1") { _ in ScriptedMachine() }

        var now: UInt64 = 0
        var nextTick: UInt64 = 1_000_000_000
        var requested: Int64 = 0

        mutating func handle(_ input: MachineInput) -> [MachineEffect] {
            now = input.time
            switch input {
            case .peerAdded(let p, _): return [.send(.statusRequest, to: p)]
            case .peerRemoved, .timeAdvanced: return []
            case .received(.statusResponse(let height, _), let p, _, _):
                var out: [MachineEffect] = []
                while requested < height { requested += 1; out.append(.send(.blockRequest(height: requested), to: p)) }
                return out
            case .received(.noBlockResponse(let h), let p, _, _): return [.disconnect(p, reason: "no block \(h)")]
            case .undecodable(let p, let error, _): return [.disconnect(p, reason: "undecodable message: \(error)")]
            case .received: return []
            }
        }

        mutating func fireTimers() -> [(timer: Timer, effect: MachineEffect)] {
            now = nextTick
            nextTick += 1_000_000_000
            return [(.status, .broadcastStatusRequest)]
        }

        var nextTimer: (deadline: UInt64, timer: Timer)? { (nextTick, .status) }
    }

    static let node = ReplayNode(chainID: "c", initialHeight: 1, storeBase: 0, storeHeight: 0, nodeID: "n", validators: [],
                                 appHash: [], startBlock: [], genesisTimeSeconds: 0, genesisTimeNanos: 0, profileHint: "")

    static func trace(_ bodies: [(UInt64, ReplayEventBody)]) -> ReplayTrace {
        let events = ([(0, ReplayEventBody.node(node))] + bodies).enumerated().map {
            ReplayEvent(index: $0.offset, sequence: UInt32($0.offset + 1), time: $0.element.0, body: $0.element.1)
        }
        return ReplayTrace(path: "mem.trace", sha256: String(repeating: "0", count: 64), events: events, hintAttachment: nil)
    }

    static let ms: UInt64 = 1_000_000

    /// Peer A reports 1..3; the node asked A for height 1 and A answered NoBlockResponse 3 ms later.
    static let recording = trace([
        (0, .peerConnected(peer: "A", outbound: true)),
        (0, .blocksync(peer: "A", inbound: false, message: BlocksyncMessage.statusRequest.encode())),
        (1 * ms, .blocksync(peer: "A", inbound: true, message: BlocksyncMessage.statusResponse(height: 3, base: 1).encode())),
        (2 * ms, .blocksync(peer: "A", inbound: false, message: BlocksyncMessage.blockRequest(height: 1).encode())),
        (5 * ms, .blocksync(peer: "A", inbound: true, message: BlocksyncMessage.noBlockResponse(height: 1).encode())),
        (1000 * ms, .peerConnected(peer: "B", outbound: true)),
    ])

    static func run(_ trace: ReplayTrace, _ mode: ReplayMode) throws -> [String] {
        let result = try ReplayEngine(trace: trace, options: ReplayOptions(profile: "scripted-1", mode: mode))
            .run(machines: ScriptedMachine.registry, pivot: nil)
        return result.decisions.map(\.json.canonical)
    }

    @Test func reactiveGhostAnswersAsRecorded() throws {
        let log = try Self.run(Self.recording, .reactive)
        #expect(log == [
            #"{"event":1,"kind":"status_request","t":0}"#,
            #"{"event":3,"height":1,"kind":"request","peer":"A","t":1000000}"#,
            #"{"event":3,"height":2,"kind":"request","peer":"A","t":1000000}"#,
            #"{"event":3,"height":3,"kind":"request","peer":"A","t":1000000}"#,
            // Rule 3: the recorded answer to height 1 with its recorded latency (3 ms).
            #"{"event":5,"kind":"peer_removed","peer":"A","reason":"no block 1","t":4000000}"#,
            // Same time: the recorded event (B connects) comes before the timer.
            #"{"event":6,"kind":"status_request","t":1000000000}"#,
            #"{"kind":"status_request","t":1000000000,"timer":"status"}"#,
            // Reactive: timers keep firing for the 5 s drain after the last event (nothing was
            // applied to move it further), then the replay ends.
            #"{"kind":"status_request","t":2000000000,"timer":"status"}"#,
            #"{"kind":"status_request","t":3000000000,"timer":"status"}"#,
            #"{"kind":"status_request","t":4000000000,"timer":"status"}"#,
            #"{"kind":"status_request","t":5000000000,"timer":"status"}"#,
            #"{"kind":"status_request","t":6000000000,"timer":"status"}"#,
        ])
    }

    @Test func strictComparesOutbound() throws {
        let log = try Self.run(Self.recording, .strict)
        #expect(log == [
            #"{"event":1,"kind":"status_request","t":0}"#,
            #"{"event":3,"height":1,"kind":"request","peer":"A","t":1000000}"#,
            #"{"event":3,"height":2,"kind":"request","peer":"A","t":1000000}"#,
            #"{"event":3,"height":3,"kind":"request","peer":"A","t":1000000}"#,
            // Delivered as recorded, at its recorded time.
            #"{"event":5,"kind":"peer_removed","peer":"A","reason":"no block 1","t":5000000}"#,
            #"{"event":6,"kind":"status_request","t":1000000000}"#,
            #"{"kind":"status_request","t":1000000000,"timer":"status"}"#,
            #"{"kind":"status_request","t":2000000000,"timer":"status"}"#,
            // The recording never shows requests for 2 and 3, nor any status request to B.
            #"{"event":3,"kind":"outbound_extra","message":"block_request 2","peer":"A","t":1000000}"#,
            #"{"event":3,"kind":"outbound_extra","message":"block_request 3","peer":"A","t":1000000}"#,
            #"{"event":6,"kind":"outbound_extra","message":"status_request","peer":"B","t":1000000000}"#,
            #"{"kind":"outbound_extra","message":"status_request","peer":"B","t":1000000000,"timer":"status"}"#,
            #"{"kind":"outbound_extra","message":"status_request","peer":"B","t":2000000000,"timer":"status"}"#,
        ])
    }

    @Test func ghostServesUnaskedHeightsOnlyWithinItsRange() {
        var ghosts = GhostPeers(events: Self.recording.events)
        // Asked and answered in the recording: the same answer, recorded latency.
        #expect(ghosts.answer(.blockRequest(height: 1), to: "A", at: 0)
            == GhostPeers.Reply(message: BlocksyncMessage.noBlockResponse(height: 1).encode(), delay: 3 * Self.ms, sourceIndex: 5, sourceLocation: 5))
        // In range, never asked, no copy anywhere: silent.
        #expect(ghosts.answer(.blockRequest(height: 2), to: "A", at: 0) == nil)
        // Out of range: NoBlockResponse with the usual latency.
        #expect(ghosts.answer(.blockRequest(height: 9), to: "A", at: 0)
            == GhostPeers.Reply(message: BlocksyncMessage.noBlockResponse(height: 9).encode(), delay: 3 * Self.ms, sourceIndex: nil))
        // Status: the latest recorded range.
        #expect(ghosts.answer(.statusRequest, to: "A", at: 0)?.message == BlocksyncMessage.statusResponse(height: 3, base: 1).encode())
        // A peer that never spoke does not answer.
        #expect(ghosts.answer(.statusRequest, to: "B", at: 0) == nil)
    }

    static let chain = ChainBuilder(.init(seed: Array("ghost".utf8), validatorPowers: [10], length: 4)).build()
    static func response(_ h: Int64) -> [UInt8] {
        BlocksyncMessage.blockResponse(block: chain.block(at: h)!, extCommit: nil).encode()
    }

    /// Rule 3 duplicates and rule 6 unsolicited blocks: recorded misbehaviour is reproduced.
    @Test func ghostRepeatsDuplicatesAndReplaysUnsolicitedBlocks() throws {
        let recording = Self.trace([
            (0, .peerConnected(peer: "A", outbound: true)),
            (1 * Self.ms, .blocksync(peer: "A", inbound: true, message: BlocksyncMessage.statusResponse(height: 4, base: 1).encode())),
            (2 * Self.ms, .blocksync(peer: "A", inbound: false, message: BlocksyncMessage.blockRequest(height: 1).encode())),
            (6 * Self.ms, .blocksync(peer: "A", inbound: true, message: Self.response(1))),
            (6 * Self.ms, .blocksync(peer: "A", inbound: true, message: Self.response(1))),   // same-instant duplicate
            (500 * Self.ms, .blocksync(peer: "A", inbound: true, message: Self.response(3))), // never asked
        ])
        var ghosts = GhostPeers(events: recording.events)
        #expect(ghosts.answer(.blockRequest(height: 1), to: "A", at: 0)
            == GhostPeers.Reply(message: Self.response(1), delay: 4 * Self.ms, sourceIndex: 4, sourceLocation: 4, count: 2))
        #expect(ghosts.unsolicited == [6])
        // The unsolicited block is delivered at its recorded time, before anyone asks for it.
        let result = try ReplayEngine(trace: recording, options: ReplayOptions(profile: "scripted-1", mode: .reactive))
            .run(machines: ScriptedMachine.registry, pivot: nil)
        #expect(result.eventsDelivered == recording.events.count)
    }

    /// Rule 3: a request skipped while later ones were answered stays unanswered and makes the
    /// ghost misbehaving; one cut off by a disconnect does not.
    @Test func ghostTellsSkippedRequestsFromCutOffOnes() {
        let recording = Self.trace([
            (0, .peerConnected(peer: "A", outbound: true)),
            (0, .peerConnected(peer: "B", outbound: true)),
            (1 * Self.ms, .blocksync(peer: "A", inbound: true, message: BlocksyncMessage.statusResponse(height: 4, base: 1).encode())),
            (1 * Self.ms, .blocksync(peer: "B", inbound: true, message: BlocksyncMessage.statusResponse(height: 4, base: 1).encode())),
            (2 * Self.ms, .blocksync(peer: "A", inbound: false, message: BlocksyncMessage.blockRequest(height: 1).encode())),
            (2 * Self.ms, .blocksync(peer: "A", inbound: false, message: BlocksyncMessage.blockRequest(height: 2).encode())),
            (2 * Self.ms, .blocksync(peer: "B", inbound: false, message: BlocksyncMessage.blockRequest(height: 3).encode())),
            (5 * Self.ms, .blocksync(peer: "A", inbound: true, message: Self.response(2))),   // A skips 1
            (5 * Self.ms, .peerDisconnected(peer: "B", reason: "closed")),                 // B is cut off
            (6 * Self.ms, .blocksync(peer: "A", inbound: false, message: BlocksyncMessage.blockRequest(height: 3).encode())),
            (9 * Self.ms, .blocksync(peer: "A", inbound: true, message: Self.response(3))),
        ])
        var ghosts = GhostPeers(events: recording.events)
        #expect(ghosts.answer(.blockRequest(height: 1), to: "A", at: 0) == nil)
        #expect(ghosts.answer(.blockRequest(height: 3), to: "A", at: 0)?.message == Self.response(3))
        // B never skipped anything: a height it was never asked for is served from the recorded copy.
        #expect(ghosts.answer(.blockRequest(height: 2), to: "B", at: 0)?.message == Self.response(2))
        // B's request for 3 was cut off by its disconnect: B serves the recorded copy.
        #expect(ghosts.answer(.blockRequest(height: 3), to: "B", at: 0)?.message == Self.response(3))
    }

    /// Rule 3 by count: a request lost once and served when asked again (tm #9518) is lost the
    /// first time in replay too, and served the second time.
    @Test func ghostLosesTheRequestItLostInTheRecording() {
        let recording = Self.trace([
            (0, .peerConnected(peer: "A", outbound: true)),
            (1 * Self.ms, .blocksync(peer: "A", inbound: true, message: BlocksyncMessage.statusResponse(height: 4, base: 1).encode())),
            (2 * Self.ms, .blocksync(peer: "A", inbound: false, message: BlocksyncMessage.blockRequest(height: 1).encode())),
            (2 * Self.ms, .blocksync(peer: "A", inbound: false, message: BlocksyncMessage.blockRequest(height: 2).encode())),
            (5 * Self.ms, .blocksync(peer: "A", inbound: true, message: Self.response(2))),
            (30_002 * Self.ms, .blocksync(peer: "A", inbound: false, message: BlocksyncMessage.blockRequest(height: 1).encode())),
            (30_005 * Self.ms, .blocksync(peer: "A", inbound: true, message: Self.response(1))),
        ])
        var ghosts = GhostPeers(events: recording.events)
        #expect(ghosts.answer(.blockRequest(height: 1), to: "A", at: 0) == nil)
        #expect(ghosts.answer(.blockRequest(height: 1), to: "A", at: 0)?.message == Self.response(1))
        #expect(ghosts.answer(.blockRequest(height: 1), to: "A", at: 0)?.message == Self.response(1))
    }

    /// Issue 19: answers are held a bucket of 1,024 heights at a time, at most 16 buckets; a
    /// bucket let go of is read again and answers as before, and whole-peer facts (a request
    /// skipped early, shown by an answer on the same connection 40,000 heights later) still hold.
    @Test func ghostAnswersAlikeWhenBucketsAreLetGoAndReadAgain() {
        let heights = (0..<20).map { Int64($0) * 2_048 + 1 }
        var bodies: [(UInt64, ReplayEventBody)] = [
            (0, .peerConnected(peer: "A", outbound: true)),
            (0, .peerConnected(peer: "B", outbound: true)),
            (0, .peerConnected(peer: "C", outbound: true)),
            (1 * Self.ms, .blocksync(peer: "A", inbound: true, message: BlocksyncMessage.statusResponse(height: 50_000, base: 1).encode())),
            (1 * Self.ms, .blocksync(peer: "B", inbound: true, message: BlocksyncMessage.statusResponse(height: 50_000, base: 1).encode())),
            (1 * Self.ms, .blocksync(peer: "C", inbound: true, message: BlocksyncMessage.statusResponse(height: 50_000, base: 1).encode())),
            (2 * Self.ms, .blocksync(peer: "B", inbound: false, message: BlocksyncMessage.blockRequest(height: 1).encode())),
            (2 * Self.ms, .blocksync(peer: "A", inbound: false, message: BlocksyncMessage.blockRequest(height: 3).encode())),
            (4 * Self.ms, .blocksync(peer: "A", inbound: true, message: Self.response(3))),
        ]
        for (k, h) in heights.enumerated() {
            let t = UInt64(10 + 10 * k) * Self.ms
            bodies.append((t, .blocksync(peer: "A", inbound: false, message: BlocksyncMessage.blockRequest(height: h).encode())))
            bodies.append((t + UInt64(k + 1) * Self.ms, .blocksync(peer: "A", inbound: true, message: BlocksyncMessage.noBlockResponse(height: h).encode())))
        }
        bodies.append((500 * Self.ms, .blocksync(peer: "B", inbound: false, message: BlocksyncMessage.blockRequest(height: 40_000).encode())))
        bodies.append((501 * Self.ms, .blocksync(peer: "B", inbound: true, message: BlocksyncMessage.noBlockResponse(height: 40_000).encode())))
        let recording = Self.trace(bodies)
        let expected = heights.enumerated().map { k, h in
            GhostPeers.Reply(message: BlocksyncMessage.noBlockResponse(height: h).encode(), delay: UInt64(k + 1) * Self.ms,
                             sourceIndex: 11 + 2 * k, sourceLocation: UInt64(11 + 2 * k))
        }
        var ghosts = GhostPeers(events: recording.events)
        #expect(heights.map { ghosts.answer(.blockRequest(height: $0), to: "A", at: 0) } == expected)
        #expect(ghosts.bucketsHeld <= 16)
        #expect(ghosts.bucketsReadAgain == 0)
        // The lowest buckets were let go of: read again, they answer alike.
        #expect(heights.map { ghosts.answer(.blockRequest(height: $0), to: "A", at: 0) } == expected)
        #expect(ghosts.bucketsReadAgain > 0)
        #expect(ghosts.bucketsHeld <= 16)
        // B skipped height 1 (it answered a later request on the same connection, 40,000 heights
        // on): misbehaving, so it serves nothing it was not asked for, though its range covers it
        // and a copy exists; C, which never misbehaved, serves that copy.
        #expect(ghosts.answer(.blockRequest(height: 1), to: "B", at: 0) == nil)
        #expect(ghosts.answer(.blockRequest(height: 3), to: "B", at: 0) == nil)
        #expect(ghosts.answer(.blockRequest(height: 3), to: "C", at: 0)?.message == Self.response(3))
        #expect(ghosts.answer(.blockRequest(height: 40_000), to: "B", at: 0)?.message == BlocksyncMessage.noBlockResponse(height: 40_000).encode())
        // A misbehaved in nothing: out of its range it answers NoBlockResponse.
        #expect(ghosts.answer(.blockRequest(height: 60_000), to: "A", at: 0)?.message == BlocksyncMessage.noBlockResponse(height: 60_000).encode())
    }

    @Test func undecodableMessageRemovesThePeer() throws {
        let log = try Self.run(Self.trace([
            (0, .peerConnected(peer: "A", outbound: true)),
            (1 * Self.ms, .blocksync(peer: "A", inbound: true, message: [0xFF, 0xFF])),
        ]), .reactive)
        #expect(log.count == 7)  // status request, removal, the status timer for the 5 s reactive drain
        #expect(log[1].contains(#""kind":"peer_removed","peer":"A","reason":"undecodable message: "#))
    }

    @Test func strictNeedsRecordedOutbound() {
        let inboundOnly = Self.trace([
            (0, .peerConnected(peer: "A", outbound: true)),
            (1 * Self.ms, .blocksync(peer: "A", inbound: true, message: BlocksyncMessage.statusResponse(height: 3, base: 1).encode())),
        ])
        #expect(throws: ReplayError.noOutbound) {
            try ReplayEngine(trace: inboundOnly, options: ReplayOptions(profile: "scripted-1", mode: .strict))
                .run(machines: ScriptedMachine.registry, pivot: nil)
        }
        #expect((try? Self.run(inboundOnly, .reactive))?.isEmpty == false)
    }

    @Test func blocksyncWithoutAMachineIsAnInputError() {
        #expect(throws: ReplayError.noMachine) {
            try ReplayEngine(trace: Self.recording, options: ReplayOptions(profile: "scripted-1", mode: .strict)).run(machines: nil, pivot: nil)
        }
    }
}

/// The reactor's starting state from a `/node` record, checked against the real v0.34 chain.
@Suite struct ReplayNodeStateTests {
    @Test func genesisStateAcceptsTheRealFirstBlock() throws {
        let genesis = try CometWireFixtureTests.genesis()
        let (block, _) = try CometWireFixtureTests.block("block_at_height_1.json")
        let node = ReplayNode(chainID: genesis.chainID, initialHeight: genesis.initialHeight, storeBase: 0, storeHeight: 0,
                              nodeID: "n", validators: genesis.validators.validators.map { ($0.pubKey.bytes, $0.votingPower) },
                              appHash: genesis.appHash, startBlock: [], genesisTimeSeconds: genesis.genesisTime.seconds,
                              genesisTimeNanos: genesis.genesisTime.nanos, profileHint: "tm-v0.34")
        var state = try NodeStart(record: node.startRecord, application: .unknown, startTime: 0).state
        #expect(state.validators.hash() == block.header.validatorsHash)
        // The genesis attachment gives the genesis document's own state.
        let genesisBytes = [UInt8](try Data(contentsOf: CometWireFixtureTests.directory.appendingPathComponent("genesis.json")))
        let trace = ReplayTrace(path: "t", sha256: "", events: [ReplayEvent(index: 0, sequence: 1, time: 0, body: .node(node))],
                                hintAttachment: nil, genesisAttachment: genesisBytes)
        #expect(try trace.initialState() == genesis.initialState)
        // The kvstore application reports app version 1 at its ABCI handshake, which no
        // recording of the p2p traffic shows; with it, the real first block validates.
        #expect(throws: BlockValidationError.self) { try state.validateBlock(block) }
        state.version.app = 1
        try state.validateBlock(block)
        var resumed = node
        resumed.storeHeight = 5
        #expect(throws: MachineStartError.self) { try NodeStart(record: resumed.startRecord, application: .unknown, startTime: 0) }
    }
}
