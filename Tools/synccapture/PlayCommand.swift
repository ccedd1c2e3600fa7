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

        The conversation is one peer's /blocksync events of a trace (--trace, --peer), or a sync from a peer serving CometBFT RPC `/block` JSON files (--blocks).

        Example:
          tcpdump -i lo -w sync.pcap 'tcp port 26656' &
          synccapture play --trace Traces/catchup-basic.trace --peer p1 --port 26656
          kill -INT %1; synccapture -r sync.pcap -o sync.trace
        """)

    @Option(help: ArgumentHelp("Play one peer's /blocksync events of this trace.", valueName: "TRACE"))
    var trace: String?

    @Option(help: ArgumentHelp("With --trace: the peer (default: the first with /blocksync events).", valueName: "PEER_ID"))
    var peer: String?

    @Option(parsing: .upToNextOption, help: ArgumentHelp("Play a sync from a peer serving these /block JSON files.", valueName: "BLOCK.json"))
    var blocks: [String] = []

    @Option(help: ArgumentHelp("Port the node listens on (0: any free port).", valueName: "PORT"))
    var port: UInt16 = 26656

    @Flag(help: "Use SecretConnection (requires --keylog).")
    var encrypted = false

    @Option(help: ArgumentHelp("Write the connection's key-log line here (appends).", valueName: "FILE"))
    var keylog: String?

    func validate() throws {
        if (trace == nil) == blocks.isEmpty { throw ArgumentParser.ValidationError("give exactly one of --trace TRACE or --blocks FILE...") }
        if encrypted && keylog == nil { throw ArgumentParser.ValidationError("--encrypted needs --keylog FILE") }
    }

    func run() throws {
        let conversation: [WireMessage]
        var chainID = "syncreplay-wire"
        if let trace {
            let found = try WirePlayer.conversation(fromTrace: trace, peer: peer)
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
        if let keylog, !outcome.keyLog.isEmpty {
            let text = outcome.keyLog.map { $0 + "\n" }.joined()
            if let handle = FileHandle(forWritingAtPath: keylog) {
                handle.seekToEndOfFile()
                handle.write(Data(text.utf8))
                handle.closeFile()
            } else {
                try Data(text.utf8).write(to: URL(fileURLWithPath: keylog))
            }
        }
        print("played \(conversation.count) messages: node \(WirePlayer.nodeID(node: true)) on 127.0.0.1:\(outcome.nodePort), "
              + "peer \(WirePlayer.nodeID(node: false)) from port \(outcome.peerPort)\(encrypted ? ", encrypted" : "")")
    }
}
