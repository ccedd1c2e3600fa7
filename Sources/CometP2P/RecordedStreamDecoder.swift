/// Decodes one direction of a recorded CometBFT connection (the raw TCP bytes one side sent,
/// from the connection's first byte) given that side's keys, e.g. from a key log (§1.2
/// "Decrypting a pcap"): the plaintext ephemeral key, then sealed frames carrying the
/// AuthSigMessage, the NodeInfo and the MConnection stream. Sans-IO: feed bytes in any
/// pieces, pull events.
///
/// For a key-log line written by endpoint E: E's outgoing direction uses `keys`, its incoming
/// direction `keys.swapped`.
public struct RecordedStreamDecoder: Sendable {
    public enum Event: Equatable, Sendable {
        /// The sender's plaintext ephemeral public key (checked against the keys).
        case ephemeralKey([UInt8])
        /// The sender's AuthSigMessage verified over the challenge.
        case authenticated(nodeID: String, publicKey: [UInt8])
        case nodeInfo(NodeInfo)
        case mconnection(MConnectionEvent)
    }

    /// The recorded bytes do not belong to the keys given.
    public struct KeyMismatch: Error, Equatable, Sendable, CustomStringConvertible {
        public let recordedEphemeralKey: [UInt8]
        public var description: String {
            "recorded ephemeral key \(SecretConnectionKeys.hex(recordedEphemeralKey)) is not the one in the key log"
        }
    }

    private enum Stage: Sendable { case ephemeralKey, authSig, nodeInfo, mconnection }

    public let senderKeys: SecretConnectionKeys
    private var stage = Stage.ephemeralKey
    private var raw: [UInt8] = []            // before the first frame
    private var opener: FrameOpener
    private var plaintext: [UInt8] = []      // decrypted, before the MConnection stream
    private var decoder: MConnectionDecoder

    /// - Parameter senderKeys: the keys as seen by the endpoint that sent these bytes.
    public init(senderKeys: SecretConnectionKeys, channels: ChannelTable = .fullNode) throws {
        self.senderKeys = senderKeys
        self.opener = try FrameOpener(key: senderKeys.sendSecret)
        self.decoder = MConnectionDecoder(channels: channels)
    }

    public mutating func feed<C: Collection>(_ bytes: C) where C.Element == UInt8 {
        if stage == .ephemeralKey { raw.append(contentsOf: bytes) } else { opener.feed(bytes) }
    }

    /// The next event, or nil until more bytes arrive.
    public mutating func next() throws -> Event? {
        switch stage {
        case .ephemeralKey:
            guard let (body, consumed) = try readDelimited(raw[...], maxSize: CometP2P.handshakeMessageMaxSize,
                                                           what: "ephemeral key message") else { return nil }
            let key = try SecretConnection.ephemeralKey(fromBytesValue: body)
            guard key == senderKeys.localEphemeralPublicKey else { throw KeyMismatch(recordedEphemeralKey: key) }
            opener.feed(raw[consumed...])
            raw = []
            stage = .authSig
            return .ephemeralKey(key)
        case .authSig:
            guard let (body, consumed) = try delimited(max: CometP2P.handshakeMessageMaxSize, what: "AuthSigMessage")
            else { return nil }
            let auth = try AuthSigMessage.decode(body)
            let key = try auth.verify(challenge: senderKeys.challenge)
            plaintext.removeFirst(consumed)
            stage = .nodeInfo
            return .authenticated(nodeID: SecretConnection.nodeID(fromEd25519: key), publicKey: key)
        case .nodeInfo:
            guard let (body, consumed) = try delimited(max: CometP2P.maxNodeInfoSize, what: "NodeInfo")
            else { return nil }
            let info = try NodeInfo.decode(body)
            plaintext.removeFirst(consumed)
            decoder.feed(plaintext)
            plaintext = []
            stage = .mconnection
            return .nodeInfo(info)
        case .mconnection:
            while true {
                if let e = try decoder.next() { return .mconnection(e) }
                guard let chunk = try opener.next() else { return nil }
                decoder.feed(chunk)
            }
        }
    }

    /// A delimited message from the decrypted stream, decrypting frames as needed.
    private mutating func delimited(max: Int, what: String) throws -> (body: ArraySlice<UInt8>, consumed: Int)? {
        while true {
            if let found = try readDelimited(plaintext[...], maxSize: max, what: what) {
                return (ArraySlice(Array(found.body)), found.consumed)
            }
            guard let chunk = try opener.next() else { return nil }
            plaintext.append(contentsOf: chunk)
        }
    }
}
