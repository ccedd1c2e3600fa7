import Crypto
import ProtoWire

/// Why a peer connection was refused after the SecretConnection handshake (§1.2
/// "NodeInfo exchange", `p2p/transport.go`).
public enum PeerConnectionError: Error, Equatable, Sendable, CustomStringConvertible {
    /// The peer closed the stream during `stage`.
    case closed(stage: String)
    /// `CompatibleWith` failed; the node's error text.
    case incompatible(String)

    public var description: String {
        switch self {
        case .closed(let stage): return "peer closed the connection during \(stage)"
        case .incompatible(let reason): return "incompatible peer: \(reason.escapingLineBreaks)"  // quotes the peer's network name
        }
    }
}

/// A CometBFT peer connection over a blocking TCP socket: SecretConnection handshake,
/// NodeInfo exchange, then MConnection packets (§1.1 stack). A thin driver around the sans-IO
/// pieces for tests and tools; no channel scheduling, pings or rate limits.
public final class BlockingPeerConnection {
    public let connection: TCPConnection
    public let keys: SecretConnectionKeys
    public let remoteNodeID: String
    public let remoteNodeInfo: NodeInfo
    private var sealer: FrameSealer
    private var opener: FrameOpener
    private var plaintext: [UInt8]
    private var decoder: MConnectionDecoder
    private let encoder = MConnectionEncoder()

    /// Runs the handshake and the NodeInfo exchange on `connection`.
    /// - Parameters:
    ///   - ephemeralPrivateKey: 32 raw bytes (inject for reproducible runs; use a CSPRNG otherwise).
    ///   - expectedRemoteNodeID: for outbound connections, the dialed ID (checked like the transport).
    ///   - keyLog: called once the connection's keys are known (before authentication), with
    ///     both ephemeral public keys and the dh secret: what a capture key log needs.
    public init(connection: TCPConnection, nodeKey: Curve25519.Signing.PrivateKey, ephemeralPrivateKey: [UInt8],
                nodeInfo: NodeInfo, channels: ChannelTable = .blocksyncOnly, expectedRemoteNodeID: String? = nil,
                keyLog: ((SecretConnectionKeys) -> Void)? = nil) throws {
        self.connection = connection
        var handshake = try SecretConnectionHandshake(nodeKey: nodeKey, ephemeralPrivateKey: ephemeralPrivateKey)
        try connection.write(handshake.initialBytes)
        var logged = false
        while handshake.session == nil {
            let bytes = try connection.read()
            guard !bytes.isEmpty else { throw PeerConnectionError.closed(stage: "SecretConnection handshake") }
            let reply: [UInt8]
            do {
                reply = try handshake.receive(bytes)
            } catch {
                if !logged, let k = handshake.keys { keyLog?(k) }
                throw error
            }
            if !logged, let k = handshake.keys { keyLog?(k); logged = true }
            if !reply.isEmpty { try connection.write(reply) }
        }
        guard let session = handshake.session else { throw PeerConnectionError.closed(stage: "SecretConnection handshake") }
        keys = session.keys
        remoteNodeID = session.remoteNodeID
        sealer = session.sealer
        opener = session.opener
        plaintext = session.initialPlaintext
        decoder = MConnectionDecoder(channels: channels)
        if let expectedRemoteNodeID, expectedRemoteNodeID != session.remoteNodeID {
            throw SecretConnectionError.nodeIDMismatch(authenticated: session.remoteNodeID,
                                                       claimed: expectedRemoteNodeID, source: "dialed ID")
        }

        // NodeInfo exchange: both sides write, then read (max 10240 bytes).
        try connection.write(try sealer.seal(nodeInfo.encodeDelimited()))
        var remoteInfo: NodeInfo?
        while remoteInfo == nil {
            if let (body, consumed) = try readDelimited(plaintext[...], maxSize: CometP2P.maxNodeInfoSize, what: "NodeInfo") {
                remoteInfo = try NodeInfo.decode(body)
                plaintext.removeFirst(consumed)
            } else {
                try Self.fillPlaintext(connection: connection, opener: &opener, plaintext: &plaintext,
                                       stage: "NodeInfo exchange")
            }
        }
        guard let remoteInfo else { throw PeerConnectionError.closed(stage: "NodeInfo exchange") }
        guard remoteInfo.nodeID == session.remoteNodeID else {
            throw SecretConnectionError.nodeIDMismatch(authenticated: session.remoteNodeID,
                                                       claimed: remoteInfo.nodeID, source: "NodeInfo.ID")
        }
        if let reason = nodeInfo.incompatibility(with: remoteInfo) { throw PeerConnectionError.incompatible(reason) }
        self.remoteNodeInfo = remoteInfo
        // Whatever followed the NodeInfo is MConnection traffic.
        decoder.feed(plaintext)
        plaintext = []
    }

    /// Reads ciphertext until at least one more plaintext chunk is available.
    private static func fillPlaintext(connection: TCPConnection, opener: inout FrameOpener,
                                      plaintext: inout [UInt8], stage: String) throws {
        while true {
            if let chunk = try opener.next() {
                plaintext.append(contentsOf: chunk)
                return
            }
            let bytes = try connection.read()
            guard !bytes.isEmpty else { throw PeerConnectionError.closed(stage: stage) }
            opener.feed(bytes)
        }
    }

    /// Sends one channel message (split into PacketMsgs, sealed into frames).
    public func send(channel: UInt8, message: [UInt8]) throws {
        try connection.write(try sealer.seal(encoder.encode(channel: channel, message: message)))
    }

    public func sendPing() throws { try connection.write(try sealer.seal(MConnectionEncoder.ping)) }
    public func sendPong() throws { try connection.write(try sealer.seal(MConnectionEncoder.pong)) }

    /// The next MConnection event, blocking; nil when the peer closed the stream cleanly.
    public func receive() throws -> MConnectionEvent? {
        while true {
            if let event = try decoder.next() { return event }
            while let chunk = try opener.next() { decoder.feed(chunk) }
            if let event = try decoder.next() { return event }
            let bytes = try connection.read()
            if bytes.isEmpty { return nil }
            opener.feed(bytes)
        }
    }

    public func close() { connection.close() }
}
