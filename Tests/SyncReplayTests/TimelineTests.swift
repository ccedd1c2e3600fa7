import CometWire
import Foundation
import Implementations
import Replay
import SyncMachine
import Testing
import Timeline
import JSON

/// `syncreplay timeline` (issue 15): the model from a corpus trace and its decision log, the
/// self-contained HTML page, the Perfetto JSON, the golden's first divergence.
@Suite struct TimelineTests {
    static let corpus = SyncReplayProcess.packageDirectory.appendingPathComponent("Traces")
    static func trace(_ name: String) -> String { corpus.appendingPathComponent("\(name).trace").path }
    static func golden(_ name: String, _ profile: String) -> String {
        corpus.appendingPathComponent("\(name).\(profile).golden.json").path
    }

    /// The recorded requests of a trace, per peer: (peer, height) of every outbound BlockRequest.
    static func recordedRequests(_ trace: ReplayTrace) -> [(String, Int64)] {
        trace.events.compactMap { e in
            guard case .blocksync(let peer, false, let bytes) = e.body,
                  case .blockRequest(let h)? = try? BlocksyncMessage.decode(bytes) else { return nil }
            return (peer, h)
        }
    }

    @Test func recordedModelHasEveryRequestAndPeerOfTheTrace() throws {
        let trace = try ReplayTraceLoader.load(path: Self.trace("catchup-basic"))
        let t = TimelineBuilder.recorded(trace: trace, name: "catchup-basic")
        let requests = Self.recordedRequests(trace)
        #expect(t.peers.map(\.peer) == ["p1", "p2", "p3", "p4"])
        #expect(t.peers.reduce(0) { $0 + $1.spans.count } == requests.count)
        for lane in t.peers {
            #expect(lane.spans.map(\.height) == requests.filter { $0.0 == lane.peer }.map(\.1))
            for s in lane.spans { if let end = s.end { #expect(end >= s.start) } }
            #expect(lane.marks.contains { $0.kind == .connected })
        }
        // Every block the node asked for was answered with a block in this recording.
        #expect(t.peers.allSatisfy { $0.spans.allSatisfy { $0.answer == .block } })
        #expect(t.node.heights.last?.height == 40)
        #expect(t.source == .recorded && t.divergence == nil)
    }

    @Test func replayedModelFollowsTheDecisionLog() throws {
        let path = Self.trace("bad-signature-pair-blame")
        let session = TimelineSession(tracePath: path, goldenPath: Self.golden("bad-signature-pair-blame", "cometbft-v0.38"), tool: "test")
        let t = try session.timeline(machines: .standard)
        let trace = try ReplayTraceLoader.load(path: path)
        let result = try ReplaySession.replay(trace, options: ReplayOptions(profile: .cometbftV038, mode: .reactive),
                                              hint: HintSelection(), machines: .standard)
        let requests = result.decisions.filter { $0.kind == .request }.count
        #expect(t.peers.reduce(0) { $0 + $1.spans.count } == requests)
        #expect(t.profile == "cometbft-v0.38" && t.mode == "reactive" && t.divergence == nil)
        #expect(t.node.heights.map(\.height) == result.decisions.compactMap {
            if case .blockApplied(let h, _) = $0.action { return h }; return nil
        })
        #expect(t.node.marks.contains { $0.kind == .verifyFailed && $0.detail.contains("verify failed, heights") })
        #expect(t.node.marks.contains { $0.kind == .switchToConsensus })
        let removals = t.peers.flatMap(\.marks).filter { $0.kind == .removed }
        #expect(!removals.isEmpty && removals.allSatisfy { $0.detail.hasPrefix("removed: ") })
        #expect(t.peers.flatMap(\.marks).contains { $0.kind == .banned })
    }

    @Test func htmlIsSelfContainedDeterministicAndHasItsLanes() throws {
        let session = TimelineSession(tracePath: Self.trace("catchup-basic"), goldenPath: Self.golden("catchup-basic", "tm-v0.34"), tool: "test")
        let html = TimelineHTML.render(try session.timeline(machines: .standard))
        #expect(html == TimelineHTML.render(try session.timeline(machines: .standard)))
        #expect(html.contains("Content-Security-Policy\" content=\"default-src 'none'"))
        // No external resource: the only URL is the SVG namespace, which is a name, not a fetch.
        let urls = html.components(separatedBy: "://").dropFirst().map { String($0.prefix(20)) }
        #expect(urls.count == 2 && urls.allSatisfy { $0.hasPrefix("www.w3.org/2000/svg\"") }, "\(urls)")
        for attribute in [" src=", "<link", "@import", "url("] { #expect(!html.contains(attribute), "\(attribute)") }
        #expect(html.contains("<dd id=\"profile\">tm-v0.34</dd>"))
        #expect(html.contains("\"id\":\"p4\""))
        #expect(!html.contains("id=\"divergence\""))
    }

    @Test func aDivergingGoldenIsMarkedAtItsFirstDivergence() throws {
        let dir = try ReplayFixtures.directory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let goldenPath = dir.appendingPathComponent("catchup-basic.tm-v0.34.golden.json").path
        var golden = try GoldenFile.decode(Array(FileManager.default.contents(atPath: Self.golden("catchup-basic", "tm-v0.34"))!))
        let i = try #require(golden.entries.firstIndex { if case .decision(let d) = $0, d.kind == .switchToConsensus { return true }; return false })
        guard case .decision(var d) = golden.entries[i], case .switchToConsensus(let h) = d.action else { Issue.record("no switch"); return }
        d.action = .switchToConsensus(height: h + 1)
        golden.entries[i] = .decision(d)
        try Data(golden.encoded().utf8).write(to: URL(fileURLWithPath: goldenPath))
        let t = try TimelineSession(tracePath: Self.trace("catchup-basic"), goldenPath: goldenPath, tool: "test").timeline(machines: .standard)
        let mark = try #require(t.divergence)
        #expect(mark.time == d.time)
        #expect(mark.detail.hasPrefix("first divergence at decision #") && mark.detail.contains("switch_to_consensus"))
        #expect(TimelineHTML.render(t).contains("id=\"divergence\""))
        #expect(!FileManager.default.fileExists(atPath: dir.appendingPathComponent("catchup-basic.tm-v0.34.golden.new.json").path))
    }

    @Test func perfettoJSONHasAThreadPerPeerAndFlowsFromRequestsToAnswers() throws {
        let trace = try ReplayTraceLoader.load(path: Self.trace("catchup-basic"))
        let t = TimelineBuilder.recorded(trace: trace, name: "catchup-basic")
        let json = try JSONParser.parse(PerfettoTrace.render(t))
        let events = try #require(json["traceEvents"]?.arrayValue)
        let threads = events.filter { $0["name"] == .string("thread_name") }.compactMap { $0["args"]?["name"]?.stringValue }
        #expect(threads == ["node", "pivot", "peer p1", "peer p2", "peer p3", "peer p4"])
        let complete = events.filter { $0["ph"] == .string("X") }
        #expect(complete.count == t.peers.reduce(0) { $0 + $1.spans.filter { $0.end != nil }.count })
        let starts = events.filter { $0["ph"] == .string("s") }.compactMap { $0["id"]?.int64 }
        let finishes = events.filter { $0["ph"] == .string("f") }.compactMap { $0["id"]?.int64 }
        #expect(!starts.isEmpty && starts == finishes)
        #expect(events.contains { $0["ph"] == .string("i") && $0["name"] == .string("connected") })
    }

    @Test func tenThousandBlocksStayUnderFiveMegabytes() throws {
        let trace = try ReplayTraceLoader.load(path: Self.trace("long-sync-10k"))
        let html = TimelineHTML.render(TimelineBuilder.recorded(trace: trace, name: "long-sync-10k"))
        #expect(html.utf8.count < 5_000_000)
        #expect(html.contains("\"id\":\"p8\""))
    }

    @Test func commandLineErrorsSayWhy() throws {
        let out = FileManager.default.temporaryDirectory.appendingPathComponent("timeline-\(UUID().uuidString).html").path
        let r = try SyncReplayProcess.run(["timeline", "/dev/null", "-o", out])
        #expect(r.status == 2)
        #expect(r.stderr == "syncreplay: cannot read trace /dev/null: not a regular file (a character device)\n")
        let both = try SyncReplayProcess.run(["timeline", Self.trace("catchup-basic"), "--recorded", "--profile", "tm-v0.34", "-o", out])
        #expect(both.status == 2)
        #expect(!FileManager.default.fileExists(atPath: out))
        let ok = try SyncReplayProcess.run(["timeline", Self.trace("catchup-basic"), "--format", "perfetto", "-o", out])
        #expect(ok.status == 0, "\(ok.stderr)")
        #expect(ok.stdout.hasPrefix("wrote \(out): catchup-basic, "))
        try? FileManager.default.removeItem(atPath: out)
    }
}
