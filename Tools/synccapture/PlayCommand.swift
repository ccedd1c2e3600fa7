import ArgumentParser
import Capture
import CometWire
import CommandExit
import Foundation

extension WirePlayerError: InputError {}
extension RPCJSONError: InputError {}

/// `synccapture play`: a blocksync conversation over real TCP on 127.0.0.1 (DESIGN.md §5).
struct Play: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "play",
        abstract: "Play a blocksync conversation over real TCP on 127.0.0.1, to capture it.",
        discussion: """
        Two endpoints of this package talk over loopback: the node under test listens, the peer dials. Each writes its NodeInfo, then the conversation's channel-0x40 messages as MConnection packets, in order. With --encrypted they run the SecretConnection handshake and the key log (one SECRET_CONNECTION line, see README: Capture) goes to --keylog, so `synccapture record --keylog` can decrypt what was captured.

        The conversation is one peer's /blocksync events of a trace (--trace, --peer), or a sync from a peer serving CometBFT RPC `/block` JSON files (--blocks). With several --peer options or --all-peers, the peers dial the node one after another and their conversations then run at once, each on its own connection, with its own node id (derived from the peer's name in the trace); --encrypted-peer picks the ones that use SecretConnection. Record such a capture with `synccapture -r F --node-from TRACE`, so the node starts from the played trace's state.

        Examples:
          tcpdump -i lo -w sync.pcap 'tcp port 26656' &
          synccapture play --trace Traces/catchup-basic.trace --peer p1 --port 26656
          kill -INT %1; synccapture -r sync.pcap -o sync.trace

          synccapture play --trace Traces/catchup-basic.trace --all-peers --linger 6
        """)

    @Option(help: ArgumentHelp("Play one peer's /blocksync events of this trace.", valueName: "TRACE"))
    var trace: String?

    @Option(help: ArgumentHelp("With --trace: a peer to play (repeat for several; default: the first with /blocksync events).", valueName: "PEER_ID"))
    var peer: [String] = []

    @Flag(help: "With --trace: play every peer with /blocksync events at once.")
    var allPeers = false

    @Option(help: ArgumentHelp("With several peers: this one uses SecretConnection (repeatable; requires --keylog).", valueName: "PEER_ID"))
    var encryptedPeer: [String] = []

    @Option(parsing: .upToNextOption, help: ArgumentHelp("Play a sync from a peer serving these /block JSON files.", valueName: "BLOCK.json"))
    var blocks: [String] = []

    @Option(help: ArgumentHelp("With several peers: seconds each connection stays open, idle, after its conversation (real peers stay connected).", valueName: "SECONDS"))
    var linger: Double = 0

    @Option(help: ArgumentHelp("Port the node listens on (0: any free port).", valueName: "PORT"))
    var port: UInt16 = 26656

    @Flag(help: "Use SecretConnection (requires --keylog).")
    var encrypted = false

    @Option(help: ArgumentHelp("Write the connection's key-log line here (appends).", valueName: "FILE"))
    var keylog: String?

    func validate() throws {
        if (trace == nil) == blocks.isEmpty { throw ArgumentParser.ValidationError("give exactly one of --trace TRACE or --blocks FILE...") }
        if (encrypted || !encryptedPeer.isEmpty) && keylog == nil { throw ArgumentParser.ValidationError("--encrypted needs --keylog FILE") }
        if !(linger >= 0 && linger <= 3600) { throw ArgumentParser.ValidationError("--linger must be between 0 and 3600 seconds") }
        if linger > 0 && !playsSession { throw ArgumentParser.ValidationError("--linger goes with several peers (--all-peers, --peer … --peer, --encrypted-peer)") }
        if trace == nil && (!peer.isEmpty || allPeers) { throw ArgumentParser.ValidationError("--peer and --all-peers need --trace") }
        if allPeers && !peer.isEmpty { throw ArgumentParser.ValidationError("give --peer or --all-peers, not both") }
        if let p = encryptedPeer.first(where: { !allPeers && !peer.contains($0) }) {
            throw ArgumentParser.ValidationError("--encrypted-peer \(p) is not one of the peers played (--peer or --all-peers)")
        }
    }

    /// Several peers of a trace at once (`--all-peers`, or more than one `--peer`, or `--encrypted-peer`).
    private var playsSession: Bool { allPeers || peer.count > 1 || !encryptedPeer.isEmpty }

    func run() throws {
        if let trace, playsSession { return try playSession(trace: trace) }
        let conversation: [WireMessage]
        var chainID = "syncreplay-wire"
        if let trace {
            let found = try WirePlayer.conversation(fromTrace: trace, peer: peer.first)
            conversation = found.messages
            chainID = found.chainID
        } else {
            var loaded: [Block] = []
            for path in blocks {
                guard let data = FileManager.default.contents(atPath: path) else {
                    throw CaptureError.unreadable(path: path, reason: "no such file or not readable")
                }
                do {
                    guard case .block(let block, _) = try RPCJSON.parse(Array(data)) else {
                        throw CaptureError.unreadable(path: path, reason: "not a CometBFT /block response")
                    }
                    loaded.append(block)
                } catch let e as RPCJSONError {
                    throw CaptureError.unreadable(path: path, reason: e.description)
                }
            }
            chainID = loaded.first?.header.chainID ?? chainID
            conversation = WirePlayer.syncConversation(blocks: loaded)
        }
        let player = WirePlayer(conversation: conversation, encrypted: encrypted, chainID: chainID)
        let outcome = try player.play(port: port)
        try appendKeyLog(outcome.keyLog)
        print("played \(conversation.count) messages: node \(WirePlayer.nodeID(node: true)) on 127.0.0.1:\(outcome.nodePort), "
              + "peer \(WirePlayer.nodeID(node: false)) from port \(outcome.peerPort)\(encrypted ? ", encrypted" : "")")
    }

    private func playSession(trace: String) throws {
        let found = try WirePlayer.conversations(fromTrace: trace)
        let names = allPeers ? found.peers.map(\.peer) : peer
        var peers: [WirePeer] = []
        for name in names {
            guard let c = found.peers.first(where: { $0.peer == name }) else {
                throw WirePlayerError.noConversation("no /blocksync events for peer \(name) in \(trace)")
            }
            peers.append(WirePeer(name: name, conversation: c.messages, encrypted: encrypted || encryptedPeer.contains(name)))
        }
        let outcome = try WireSession(peers: peers, chainID: found.chainID, linger: linger).play(port: port)
        try appendKeyLog(outcome.keyLog)
        print("played \(peers.count) peers to node \(WirePlayer.nodeID(node: true)) on 127.0.0.1:\(outcome.nodePort):")
        for (p, o) in zip(peers, outcome.peers) {
            print("  \(p.name ?? "peer") as \(o.id) from port \(o.port): \(p.conversation.count) messages\(p.encrypted ? ", encrypted" : "")")
        }
    }

    /// Appends the key-log lines to --keylog (created when missing).
    private func appendKeyLog(_ lines: [String]) throws {
        guard let keylog, !lines.isEmpty else { return }
        let text = lines.map { $0 + "\n" }.joined()
        if let handle = FileHandle(forWritingAtPath: keylog) {
            handle.seekToEndOfFile()
            handle.write(Data(text.utf8))
            handle.closeFile()
        } else {
            do { try Data(text.utf8).write(to: URL(fileURLWithPath: keylog)) } catch {
                throw CaptureError.unreadable(path: keylog, reason: "cannot write the key log: \(error.localizedDescription)")
            }
        }
    }
}
