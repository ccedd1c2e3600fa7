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
        let all = try conversations(fromTrace: path)
        let chosen = peer == nil ? all.peers.first : all.peers.first { $0.peer == peer }
        guard let chosen else {
            throw WirePlayerError.noConversation(peer.map { "no /blocksync events for peer \($0)" } ?? "the trace has no /blocksync events")
        }
        return (chosen.peer, chosen.messages, all.chainID)
    }

    /// Every peer's conversation in a trace, in the order the peers first appear in `/blocksync`
    /// events, with the trace's chain id.
    public static func conversations(fromTrace path: String) throws -> (peers: [(peer: String, messages: [WireMessage])], chainID: String) {
        let reader = try TraceReader(path: path)
        var order: [String] = []
        var byPeer: [String: [WireMessage]] = [:]
        var chainID = ""
        for entry in try reader.readAll() {
            switch entry.event {
            case .node(let node): chainID = node.chainID
            case .blocksync(let record):
                if byPeer[record.peerID] == nil { order.append(record.peerID) }
                byPeer[record.peerID, default: []].append(WireMessage(fromNode: record.direction == .outbound, bytes: record.message))
            default: break
            }
        }
        return (order.map { ($0, byPeer[$0]!) }, chainID.isEmpty ? "syncreplay-wire" : chainID)
    }

    /// Node keys of the two sides (deterministic, so their node ids are stable across runs).
    public static func nodeKey(node: Bool) -> Curve25519.Signing.PrivateKey {
        let seedBytes = [UInt8](repeating: node ? 0x4e : 0x50, count: 32)
        return try! Curve25519.Signing.PrivateKey(rawRepresentation: seedBytes)  // 32 bytes: cannot fail
    }

    public static func nodeID(node: Bool) -> String {
        SecretConnection.nodeID(fromEd25519: Array(nodeKey(node: node).publicKey.rawRepresentation))
    }

    /// A dialing peer's node key: the single-peer key of `nodeKey(node: false)` when unnamed (the
    /// committed captures were recorded with it), else derived from the name — SHA-256 of
    /// "syncreplay-wire-peer:" + name — so each peer of a multi-peer session has its own stable id.
    public static func peerKey(name: String?) -> Curve25519.Signing.PrivateKey {
        guard let name else { return nodeKey(node: false) }
        let seedBytes = Array(SHA256.hash(data: Array("syncreplay-wire-peer:\(name)".utf8)))
        return try! Curve25519.Signing.PrivateKey(rawRepresentation: seedBytes)  // 32 bytes: cannot fail
    }

    public static func peerID(name: String?) -> String {
        SecretConnection.nodeID(fromEd25519: Array(peerKey(name: name).publicKey.rawRepresentation))
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
        let session = WireSession(peers: [WirePeer(name: nil, conversation: conversation, encrypted: encrypted)],
                                  chainID: chainID, seed: seed)
        let outcome = try session.play(port: port, ready: ready)
        return Outcome(nodePort: outcome.nodePort, peerPort: outcome.peers[0].port, keyLog: outcome.keyLog)
    }

    /// One side: handshake, NodeInfo, then the script; closes the connection at the end (FIN).
    static func runSide(node: Bool, peerName: String?, connection: TCPConnection, conversation: [WireMessage], encrypted: Bool,
                        chainID: String, listenPort: UInt16, seed: UInt8?, linger: Double = 0,
                        keyLog: @escaping (String) -> Void) throws {
        defer { connection.close() }
        let key = node ? nodeKey(node: true) : peerKey(name: peerName)
        let info = NodeInfo(nodeID: SecretConnection.nodeID(fromEd25519: Array(key.publicKey.rawRepresentation)),
                            listenAddr: "tcp://127.0.0.1:\(listenPort)", network: chainID,
                            version: "syncreplay-wire", channels: [ChannelDescriptor.blocksyncChannelID],
                            moniker: node ? "node" : (peerName ?? "peer"))
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
        // Stay connected, idle, like a real peer after the conversation (`WireSession.linger`).
        if linger > 0 { Thread.sleep(forTimeInterval: linger) }
    }

    static func localPort(_ fd: Int32) -> UInt16 {
        var address = sockaddr_in()
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let rc = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) }
        }
        return rc == 0 ? UInt16(bigEndian: address.sin_port) : 0
    }
}

/// One dialing peer of a `WireSession`.
public struct WirePeer: Sendable {
    /// The trace's peer id it plays (its node key derives from it; nil: the single-peer key).
    public var name: String?
    public var conversation: [WireMessage]
    public var encrypted: Bool
    public init(name: String?, conversation: [WireMessage], encrypted: Bool) {
        self.name = name
        self.conversation = conversation
        self.encrypted = encrypted
    }
}

/// Several peers syncing one node over loopback at once: the node listens, the peers dial one
/// after another (peer k dials once the node has accepted peer k−1, so the accept order is the
/// peers' order), then every conversation runs concurrently on its own connection — a real
/// multi-peer sync on the wire, with the interleaving the kernel gives it.
public struct WireSession: Sendable {
    public var peers: [WirePeer]
    public var chainID: String
    public var seed: UInt8?
    /// Seconds each connection stays open, idle, after its conversation before it is closed: a
    /// real peer stays connected, and a node that waits before its first request (cometbft
    /// v0.38 waits 3 s) needs its peers still there when replayed reactively.
    public var linger: Double

    public init(peers: [WirePeer], chainID: String, seed: UInt8? = nil, linger: Double = 0) {
        self.peers = peers
        self.chainID = chainID
        self.seed = seed
        self.linger = linger
    }

    public struct Outcome: Sendable {
        public var nodePort: UInt16
        /// Per peer, in `peers` order: its node id and the local port it dialed from.
        public var peers: [(id: String, port: UInt16)]
        /// Key-log lines of the encrypted connections, in `peers` order.
        public var keyLog: [String]
    }

    public func play(port: UInt16 = 0, ready: (UInt16) -> Void = { _ in }) throws -> Outcome {
        guard !peers.isEmpty else { throw WirePlayerError.noConversation("no peers to play") }
        let listener = try TCPListener.listen(host: "127.0.0.1", port: port)
        defer { listener.close() }
        ready(listener.port)
        let listenPort = listener.port, chainID = self.chainID, seed = self.seed, linger = self.linger
        let count = peers.count
        let results = Mutex<[Result<UInt16, WirePlayerError>?]>(Array(repeating: nil, count: count))
        let nodeErrors = Mutex<[WirePlayerError?]>(Array(repeating: nil, count: count))
        let keyLines = Mutex<[[String]]>(Array(repeating: [], count: count))
        let finished = DispatchGroup()
        for (k, peer) in peers.enumerated() {
            finished.enter()
            Thread {
                defer { finished.leave() }
                do {
                    let connection = try TCPConnection.connect(host: "127.0.0.1", port: listenPort)
                    let localPort = WirePlayer.localPort(connection.descriptor)
                    try WirePlayer.runSide(node: false, peerName: peer.name, connection: connection, conversation: peer.conversation,
                                           encrypted: peer.encrypted, chainID: chainID, listenPort: 0, seed: seed, linger: linger,
                                           keyLog: { _ in })
                    results.withLock { $0[k] = .success(localPort) }
                } catch let e as WirePlayerError {
                    results.withLock { $0[k] = .failure(e) }
                } catch {
                    results.withLock { $0[k] = .failure(.endpoint(side: "peer \(peer.name ?? "")", reason: "\(error)")) }
                }
            }.start()
            // Handed to exactly one thread, which owns and closes it.
            nonisolated(unsafe) let connection: TCPConnection
            do { connection = try listener.accept() } catch {
                nodeErrors.withLock { $0[k] = .endpoint(side: "node", reason: "\(error)") }
                break
            }
            finished.enter()
            Thread {
                defer { finished.leave() }
                do {
                    try WirePlayer.runSide(node: true, peerName: nil, connection: connection, conversation: peer.conversation,
                                           encrypted: peer.encrypted, chainID: chainID, listenPort: listenPort, seed: seed, linger: linger,
                                           keyLog: { line in keyLines.withLock { $0[k].append(line) } })
                } catch let e as WirePlayerError {
                    nodeErrors.withLock { $0[k] = e }
                } catch {
                    nodeErrors.withLock { $0[k] = .endpoint(side: "node", reason: "\(error)") }
                }
            }.start()
        }
        finished.wait()
        if let e = nodeErrors.withLock({ $0.compactMap { $0 }.first }) { throw e }
        var played: [(id: String, port: UInt16)] = []
        for (k, result) in results.withLock({ $0 }).enumerated() {
            switch result {
            case .success(let port)?: played.append((WirePlayer.peerID(name: peers[k].name), port))
            case .failure(let e)?: throw e
            case nil: throw WirePlayerError.endpoint(side: "peer \(peers[k].name ?? "")", reason: "did not finish")
            }
        }
        return Outcome(nodePort: listenPort, peers: played, keyLog: keyLines.withLock { $0.flatMap { $0 } })
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
