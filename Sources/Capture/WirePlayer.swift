import CometP2P
import CometWire
import Crypto
import Foundation
import ProtoWire
import Synchronization
import SyncTrace

/// One blocksync message of a conversation between the node under test and one peer.
public struct WireMessage: Sendable, Equatable {
    /// Sent by the node under test (else by the peer).
    public var fromNode: Bool
    /// Raw `tendermint.blocksync.Message` bytes (channel 0x40 payload).
    public var bytes: [UInt8]
    public init(fromNode: Bool, bytes: [UInt8]) { self.fromNode = fromNode; self.bytes = bytes }
}

public enum WirePlayerError: Error, Sendable, CustomStringConvertible {
    case noConversation(String)
    case mismatch(index: Int, detail: String)
    case endpoint(side: String, reason: String)

    public var description: String {
        switch self {
        case .noConversation(let why): return "nothing to play: \(why)"
        case let .mismatch(index, detail): return "message \(index): \(detail)"
        case let .endpoint(side, reason): return "\(side): \(reason)"
        }
    }
}

/// Plays a blocksync conversation over real TCP on 127.0.0.1 between two endpoints of this package:
/// the "node" listens, the "peer" dials; each side writes its NodeInfo, then its messages as
/// MConnection packets on channel 0x40, in conversation order (a side sends message i only after
/// receiving every earlier message from the other side, so the order on the wire is the order
/// given). Plaintext, or SecretConnection with the connection's keys written to a key log.
/// Turns any trace into real packets for `synccapture`.
public struct WirePlayer: Sendable {
    public var conversation: [WireMessage]
    public var encrypted: Bool
    public var chainID: String
    /// Fixed node keys and ephemeral keys make the node ids reproducible; ephemeral keys are fresh
    /// per run unless `seed` is given.
    public var seed: UInt8?

    public init(conversation: [WireMessage], encrypted: Bool, chainID: String = "syncreplay-wire", seed: UInt8? = nil) {
        self.conversation = conversation
        self.encrypted = encrypted
        self.chainID = chainID
        self.seed = seed
    }

    /// The conversation of one peer in a trace (`peer` nil: the first peer with `/blocksync` events).
    public static func conversation(fromTrace path: String, peer: String? = nil) throws -> (peer: String, messages: [WireMessage], chainID: String) {
        let reader = try TraceReader(path: path)
        var chosen = peer
        var messages: [WireMessage] = []
        var chainID = ""
        for entry in try reader.readAll() {
            switch entry.event {
            case .node(let node): chainID = node.chainID
            case .blocksync(let record):
                if chosen == nil { chosen = record.peerID }
                if record.peerID == chosen { messages.append(WireMessage(fromNode: record.direction == .outbound, bytes: record.message)) }
            default: break
            }
        }
        guard let chosen, !messages.isEmpty else {
            throw WirePlayerError.noConversation(peer.map { "no /blocksync events for peer \($0)" } ?? "the trace has no /blocksync events")
        }
        return (chosen, messages, chainID.isEmpty ? "syncreplay-wire" : chainID)
    }

    /// Node keys of the two sides (deterministic, so their node ids are stable across runs).
    public static func nodeKey(node: Bool) -> Curve25519.Signing.PrivateKey {
        let seedBytes = [UInt8](repeating: node ? 0x4e : 0x50, count: 32)
        return try! Curve25519.Signing.PrivateKey(rawRepresentation: seedBytes)  // 32 bytes: cannot fail
    }

    public static func nodeID(node: Bool) -> String {
        SecretConnection.nodeID(fromEd25519: Array(nodeKey(node: node).publicKey.rawRepresentation))
    }

    /// What a run produced.
    public struct Outcome: Sendable {
        public var nodePort: UInt16
        public var peerPort: UInt16
        /// Key-log lines (one for an encrypted run).
        public var keyLog: [String]
    }

    /// Runs the conversation. `port` 0 picks a free port. `ready` is called with the listening port
    /// before the peer dials (a live capture can start then).
    public func play(port: UInt16 = 0, ready: (UInt16) -> Void = { _ in }) throws -> Outcome {
        let listener = try TCPListener.listen(host: "127.0.0.1", port: port)
        defer { listener.close() }
        ready(listener.port)
        let conversation = self.conversation, encrypted = self.encrypted, chainID = self.chainID
        let listenPort = listener.port
        let peerResult = Mutex<Result<UInt16, WirePlayerError>?>(nil)
        let done = DispatchSemaphore(value: 0)
        let seed = self.seed
        let thread = Thread {
            do {
                let connection = try TCPConnection.connect(host: "127.0.0.1", port: listenPort)
                let localPort = Self.localPort(connection.descriptor)
                try Self.runSide(node: false, connection: connection, conversation: conversation, encrypted: encrypted,
                                 chainID: chainID, listenPort: 0, seed: seed, keyLog: { _ in })
                peerResult.withLock { $0 = .success(localPort) }
            } catch let e as WirePlayerError {
                peerResult.withLock { $0 = .failure(e) }
            } catch {
                peerResult.withLock { $0 = .failure(.endpoint(side: "peer", reason: "\(error)")) }
            }
            done.signal()
        }
        thread.start()
        let lines = Mutex<[String]>([])
        var nodeError: Error?
        do {
            let connection = try listener.accept()
            try Self.runSide(node: true, connection: connection, conversation: conversation, encrypted: encrypted,
                             chainID: chainID, listenPort: listenPort, seed: seed, keyLog: { line in lines.withLock { $0.append(line) } })
        } catch {
            nodeError = error
        }
        done.wait()
        if let nodeError {
            if let e = nodeError as? WirePlayerError { throw e }
            throw WirePlayerError.endpoint(side: "node", reason: "\(nodeError)")
        }
        switch peerResult.withLock({ $0 }) {
        case .success(let peerPort)?:
            return Outcome(nodePort: listenPort, peerPort: peerPort, keyLog: lines.withLock { $0 })
        case .failure(let e)?: throw e
        case nil: throw WirePlayerError.endpoint(side: "peer", reason: "did not finish")
        }
    }

    /// One side: handshake, NodeInfo, then the script; closes the connection at the end (FIN).
    private static func runSide(node: Bool, connection: TCPConnection, conversation: [WireMessage], encrypted: Bool,
                                chainID: String, listenPort: UInt16, seed: UInt8?, keyLog: @escaping (String) -> Void) throws {
        defer { connection.close() }
        let key = nodeKey(node: node)
        let info = NodeInfo(nodeID: nodeID(node: node), listenAddr: "tcp://127.0.0.1:\(listenPort)", network: chainID,
                            version: "syncreplay-wire", channels: [ChannelDescriptor.blocksyncChannelID],
                            moniker: node ? "node" : "peer")
        let side: any WireSide
        if encrypted {
            var ephemeral = [UInt8](repeating: 0, count: 32)
            if let seed {
                for i in ephemeral.indices { ephemeral[i] = UInt8(truncatingIfNeeded: i &* 7 &+ Int(seed) &+ (node ? 1 : 101)) }
            } else {
                ephemeral = Array(Curve25519.KeyAgreement.PrivateKey().rawRepresentation)
            }
            let peer = try BlockingPeerConnection(connection: connection, nodeKey: key, ephemeralPrivateKey: ephemeral,
                                                  nodeInfo: info, keyLog: { keys in if node { keyLog(keys.keyLogLine) } })
            side = SecretSide(connection: peer)
        } else {
            side = try PlainSide(connection: connection, nodeInfo: info)
        }
        for (index, message) in conversation.enumerated() {
            if message.fromNode == node {
                try side.send(message.bytes)
            } else {
                let got = try side.receive()
                guard let got else { throw WirePlayerError.mismatch(index: index, detail: "connection closed before the message arrived") }
                guard got == message.bytes else {
                    throw WirePlayerError.mismatch(index: index, detail: "received \(got.count) bytes differing from the \(message.bytes.count) sent")
                }
            }
        }
    }

    private static func localPort(_ fd: Int32) -> UInt16 {
        var address = sockaddr_in()
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let rc = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) }
        }
        return rc == 0 ? UInt16(bigEndian: address.sin_port) : 0
    }
}

private protocol WireSide {
    func send(_ message: [UInt8]) throws
    /// The next blocksync message; nil at end of stream.
    func receive() throws -> [UInt8]?
}

private final class SecretSide: WireSide {
    let connection: BlockingPeerConnection
    init(connection: BlockingPeerConnection) { self.connection = connection }
    func send(_ message: [UInt8]) throws { try connection.send(channel: ChannelDescriptor.blocksyncChannelID, message: message) }
    func receive() throws -> [UInt8]? {
        while let event = try connection.receive() {
            if case let .message(channel, bytes) = event, channel == ChannelDescriptor.blocksyncChannelID { return bytes }
        }
        return nil
    }
}

/// The unencrypted transport: delimited NodeInfo each way, then MConnection packets.
private final class PlainSide: WireSide {
    let connection: TCPConnection
    var decoder = MConnectionDecoder(channels: .blocksyncOnly)
    let encoder = MConnectionEncoder()

    init(connection: TCPConnection, nodeInfo: NodeInfo) throws {
        self.connection = connection
        try connection.write(nodeInfo.encodeDelimited())
        var buffer: [UInt8] = []
        while true {
            if let (_, consumed) = try ProtoReader.delimited(buffer[...], maxSize: CometP2P.maxNodeInfoSize) {
                decoder.feed(buffer[consumed...])
                return
            }
            let bytes = try connection.read()
            guard !bytes.isEmpty else { throw WirePlayerError.endpoint(side: "plaintext", reason: "closed during NodeInfo exchange") }
            buffer += bytes
        }
    }

    func send(_ message: [UInt8]) throws {
        try connection.write(encoder.encode(channel: ChannelDescriptor.blocksyncChannelID, message: message))
    }

    func receive() throws -> [UInt8]? {
        while true {
            while let event = try decoder.next() {
                if case let .message(channel, bytes) = event, channel == ChannelDescriptor.blocksyncChannelID { return bytes }
            }
            let bytes = try connection.read()
            if bytes.isEmpty { return nil }
            decoder.feed(bytes)
        }
    }
}

extension WirePlayer {
    /// The conversation of a node syncing from one peer that serves `blocks` (CometBFT blocksync v0,
    /// cometbft-blocksync.md §3.2): the node asks for the peer's status, the peer answers with its
    /// height and base (the highest and lowest block given), the peer asks the node's status and
    /// learns it is empty, then the node requests every height from the base up and the peer answers
    /// each with its block or, for heights it lacks, a NoBlockResponse.
    public static func syncConversation(blocks: [Block]) -> [WireMessage] {
        let byHeight = Dictionary(blocks.map { ($0.header.height, $0) }, uniquingKeysWith: { first, _ in first })
        guard let base = byHeight.keys.min(), let top = byHeight.keys.max() else { return [] }
        var out = [
            WireMessage(fromNode: true, bytes: BlocksyncMessage.statusRequest.encode()),
            WireMessage(fromNode: false, bytes: BlocksyncMessage.statusResponse(height: top, base: base).encode()),
            WireMessage(fromNode: false, bytes: BlocksyncMessage.statusRequest.encode()),
            WireMessage(fromNode: true, bytes: BlocksyncMessage.statusResponse(height: 0, base: 0).encode()),
        ]
        for height in base...top {
            out.append(WireMessage(fromNode: true, bytes: BlocksyncMessage.blockRequest(height: height).encode()))
            let reply: BlocksyncMessage = byHeight[height].map { .blockResponse(block: $0, extCommit: nil) }
                ?? .noBlockResponse(height: height)
            out.append(WireMessage(fromNode: false, bytes: reply.encode()))
        }
        return out
    }
}
