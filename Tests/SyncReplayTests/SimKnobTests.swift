import CometWire
import Foundation
import Implementations
import Replay
import Sim
import SyncTrace
import Testing

/// Issue 18 §3 scenario knobs: `[node] after_switch` (the run goes on after the switch to
/// consensus) and `[[peer]] raw` (crafted bytes on the blocksync channel).
@Suite struct SimKnobTests {
    static let base = "[chain]\nseed = \"knobs\"\nlength = 12\n[node]\nprofile = \"tm-v0.34\"\n"
    static let onePeer = "[[peer]]\nid = \"p1\"\n"

    func error(_ text: String) -> String? {
        do { _ = try Scenario.parse(text); return nil } catch { return error.description }
    }

    @Test func afterSwitchParsesAndRefusesNonsense() throws {
        #expect(try Scenario.parse(Self.base + "after_switch = \"2500ms\"\n" + Self.onePeer).node.afterSwitch == 2_500_000_000)
        #expect(try Scenario.parse(Self.base + Self.onePeer).node.afterSwitch == nil)
        #expect(error(Self.base + "after_switch = \"0s\"\n" + Self.onePeer)?
            .hasPrefix("line 6, key node.after_switch: must be a positive duration") == true)
        #expect(error(Self.base + "after_switch = 5\n" + Self.onePeer)?.hasPrefix("line 6, key node.after_switch: must be a duration") == true)
    }

    @Test func rawEntriesParseAndRefuseNonsense() throws {
        let ok = try Scenario.parse(Self.base + Self.onePeer
            + "raw = [{at = \"1s\", bytes = \"0A0208ff\"}, {at = \"2s\", shape = \"duplicate_block_field\", height = 4}, {at = \"3s\", shape = \"empty\"}]\n")
        #expect(ok.peers[0].raw.map(\.at) == [1_000_000_000, 2_000_000_000, 3_000_000_000])
        #expect(ok.peers[0].raw.map(\.payload) == [.bytes([0x0A, 0x02, 0x08, 0xFF]), .shape(.duplicateBlockField, height: 4),
                                                  .shape(.empty, height: 2)])
        let cases: [(String, String)] = [
            ("raw = [{at = \"1s\"}]", "needs exactly one of bytes"),
            ("raw = [{at = \"1s\", bytes = \"00\", shape = \"empty\"}]", "needs exactly one of bytes"),
            ("raw = [{at = \"1s\", bytes = \"0g\"}]", "must be hex digits"),
            ("raw = [{at = \"1s\", shape = \"noise\"}]", "unknown raw shape \"noise\" (expected one of empty, wrong_tag, duplicate_block_field, unknown_oneof, garbage, oversized)"),
            ("raw = [{at = \"1s\", shape = \"oversized\"}]", "shape oversized needs a height"),
            ("raw = [{at = \"1s\", shape = \"oversized\", height = 1}]", "(a block with a last commit)"),
            ("raw = [{at = \"1s\", shape = \"empty\", colour = 1}]", "unknown key"),
        ]
        for (line, message) in cases {
            let e = error(Self.base + Self.onePeer + line + "\n")
            #expect(e?.hasPrefix("line 8, key peer[0].raw") == true && e?.contains(message) == true, "\(line): \(e ?? "parsed")")
        }
    }

    /// Each shape reaches the path it is named after: four do not decode at all, the two
    /// carrying a block decode (as Go's unmarshal does) and then fail BlockFromProto.
    @Test func shapesReachTheirPaths() throws {
        let chain = ChainBuilder(ChainBuilder.Configuration(seed: Array("raw".utf8), chainID: "raw-chain", validatorPowers: [10, 10],
                                                            length: 6, txsPerBlock: 1, blockInterval: 1_000_000_000, appVersion: 0)).build()
        let block = try #require(chain.block(at: 4))
        for shape in [RawShape.empty, .wrongTag, .unknownOneof, .garbage] {
            #expect(throws: WireError.self, "\(shape)") { try BlocksyncMessage.decode(shape.bytes(block: block)) }
        }
        guard case .blockResponse(let merged, nil) = try BlocksyncMessage.decode(RawShape.duplicateBlockField.bytes(block: block)) else {
            Issue.record("duplicate_block_field does not decode to a BlockResponse"); return
        }
        #expect(merged.header == block.header && merged.data.txs.count == 2 * block.data.txs.count)
        #expect(merged.lastCommit?.signatures.count == 2 * (block.lastCommit?.signatures.count ?? 0))
        #expect(throws: (any Error).self) { try merged.validateFromProto() }
        guard case .blockResponse(let big, nil) = try BlocksyncMessage.decode(RawShape.oversized.bytes(block: block)) else {
            Issue.record("oversized does not decode to a BlockResponse"); return
        }
        #expect(big.lastCommit?.signatures.count == Limits.maxVotesCount + 1)
        #expect(throws: (any Error).self) { try big.validateFromProto() }
    }

    /// With `after_switch` the recording goes on past the switch (the metadata says so) and
    /// strict replay follows it to the recording's end; told to stop at the switch, the same
    /// replay never reaches the post-switch request or the node's answer.
    @Test func afterSwitchRecordsAndReplaysLateTraffic() throws {
        let text = Self.base.replacingOccurrences(of: "length = 12", with: "length = 20")
            + "after_switch = \"3s\"\n[[peer]]\nid = \"p1\"\nask = [{at = \"2s\", height = 3}]\n[[peer]]\nid = \"p2\"\nlatency = \"1500ms\"\n"
        let scenario = try Scenario.parse(text)
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("knobs-\(UUID().uuidString).trace").path
        defer { try? FileManager.default.removeItem(atPath: path) }
        let summary = try Simulation(scenario: scenario, machines: .standard).run(to: path)
        let trace = try ReplayTraceLoader.load(path: path)
        #expect(trace.recordsAfterSwitch)
        // tm-v0.34 switches at the 1 s check; the recording ends 3 s later.
        #expect(summary.switchedAt != nil && summary.endTime == 4_000_000_000)
        let late = trace.events.filter { $0.time > 1_000_000_000 }
        #expect(late.contains { if case .blocksync("p1", false, _) = $0.body { return true }; return false })  // the block served at 2 s
        let full = try ReplayEngine(trace: trace, options: ReplayOptions(profile: "tm-v0.34", mode: .strict)).run(machines: .standard, pivot: nil)
        #expect(!full.decisions.contains { $0.kind == .outboundMissing || $0.kind == .outboundExtra })
        #expect(full.decisions.contains { $0.action == .respond(peer: "p1", height: 3, found: true) && $0.time == 2_000_000_000 })
        var stop = ReplayOptions(profile: "tm-v0.34", mode: .strict)
        stop.afterSwitch = .stop
        let stopped = try ReplayEngine(trace: trace, options: stop).run(machines: .standard, pivot: nil)
        #expect(!stopped.decisions.contains { $0.kind == .respond && $0.time == 2_000_000_000 })
        // Recorded events after the switch are not delivered (nor matched) at all.
        #expect(stopped.eventsDelivered < full.eventsDelivered)
    }

    /// `lacking`: a peer claiming more than its chain holds (pool_test's MaliciousNode, §7)
    /// answers the heights it lacks with NoBlockResponse (the default) or blackholes them; with
    /// `status_every` the blackholed heights follow the growing claim.
    @Test func lackingParsesAndBlackholesTheClaimedHeightsTheChainLacks() throws {
        #expect(try Scenario.parse(Self.base + Self.onePeer).peers[0].lacking == .noBlock)
        #expect(try Scenario.parse(Self.base + Self.onePeer + "lacking = \"silent\"\n").peers[0].lacking == .silent)
        #expect(error(Self.base + Self.onePeer + "lacking = \"drop\"\n")
            == "line 8, key peer[0].lacking: unknown answer \"drop\" (expected one of no_block, silent)")
        #expect(error(Self.base + Self.onePeer + "lacking = 1\n")?.hasPrefix("line 8, key peer[0].lacking:") == true)
        func run(_ answer: String) throws -> (asked: [Int64], noBlock: [Int64]) {
            let text = Self.base + "duration = \"4s\"\n" + Self.onePeer
                + "height = 14\nstatus_every = {interval = \"1s\", step = 1}\nlacking = \"\(answer)\"\n"
            let path = FileManager.default.temporaryDirectory.appendingPathComponent("lacking-\(UUID().uuidString).trace").path
            defer { try? FileManager.default.removeItem(atPath: path) }
            _ = try Simulation(scenario: try Scenario.parse(text), machines: .standard).run(to: path)
            var asked: [Int64] = [], noBlock: [Int64] = []
            for e in try ReplayTraceLoader.load(path: path).events {
                guard case .blocksync("p1", let inbound, let bytes) = e.body else { continue }
                switch try BlocksyncMessage.decode(bytes) {
                case .blockRequest(let h) where !inbound && h > 12: asked.append(h)
                case .noBlockResponse(let h) where inbound: noBlock.append(h)
                default: break
                }
            }
            return (asked.sorted(), noBlock.sorted())
        }
        // The claim is 14 at connection and rises to 18 at 4 s; the chain ends at 12. The answer to
        // the request for 18 (sent at 4 s) would arrive after the run's end.
        let silent = try run("silent")
        #expect(silent.asked == [13, 14, 15, 16, 17, 18] && silent.noBlock.isEmpty)
        let answered = try run("no_block")
        #expect(answered.asked == [13, 14, 15, 16, 17, 18] && answered.noBlock == [13, 14, 15, 16, 17])
    }

    @Test func blocksyncAndOtherChainAndLargeSetsParse() throws {
        #expect(try Scenario.parse(Self.base + "blocksync = false\n" + Self.onePeer).node.blocksync == false)
        #expect(try Scenario.parse(Self.base + Self.onePeer).node.blocksync)
        #expect(error(Self.base + "blocksync = \"off\"\n" + Self.onePeer)?.hasPrefix("line 6, key node.blocksync:") == true)
        let other = try Scenario.parse(Self.base + Self.onePeer + "bad_block = {height = 4, kind = \"other_chain\"}\n")
        #expect(other.peers[0].badBlock?.height == 4 && other.peers[0].badBlock?.kind == .otherChain)
        let wide = Self.base.replacingOccurrences(of: "length = 12", with: "length = 12\nvalidators = [" + Array(repeating: "1", count: 150).joined(separator: ", ") + "]")
        #expect(try Scenario.parse(wide + Self.onePeer).chain.validators.count == 150)
        let tooWide = Self.base.replacingOccurrences(of: "length = 12", with: "length = 12\nvalidators = [" + Array(repeating: "1", count: 10_002).joined(separator: ", ") + "]")
        #expect(error(tooWide + Self.onePeer) == "line 4, key chain.validators: must list 1 to 10001 validator powers (MaxVotesCount + 1, §1.6)")
    }
}
