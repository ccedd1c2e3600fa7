import Crypto
import ProtoWire

/// Reads one uvarint-delimited message from the front of `stream` as `protoio.NewDelimitedReader`
/// does: nil until complete; a prefix above `maxSize` fails as soon as the prefix is read.
func readDelimited(_ stream: ArraySlice<UInt8>, maxSize: Int, what: String) throws -> (body: ArraySlice<UInt8>, consumed: Int)? {
    var r = ProtoReader(stream)
    let length: UInt64
    do {
        length = try r.readVarint()
    } catch ProtoError.truncated {
        return nil
    } catch let e as ProtoError {
        throw SecretConnectionError.malformedMessage(what: what, e)
    }
    guard length <= UInt64(maxSize) else {
        throw SecretConnectionError.messageTooLarge(what: what, length: length, max: maxSize)
    }
    let header = r.offset
    guard stream.count - header >= Int(length) else { return nil }
    let start = stream.startIndex + header
    return (stream[start..<(start + Int(length))], header + Int(length))
}

/// An established SecretConnection: the keys, the authenticated peer, and the two frame
/// codecs positioned right after the handshake.
public struct SecretConnectionSession: Sendable {
    public let keys: SecretConnectionKeys
    /// The peer's authenticated ed25519 public key and its node ID (§1.2 step 10).
    public let remoteNodeKey: [UInt8]
    public let remoteNodeID: String
    public var sealer: FrameSealer
    /// Holds any ciphertext received after the peer's AuthSigMessage frame.
    public var opener: FrameOpener
    /// Plaintext that arrived in the same frames as the AuthSigMessage, after it.
    public var initialPlaintext: [UInt8]
}

/// The SecretConnection handshake as a sans-IO state machine (§1.2 steps 1–10).
///
/// ```
/// var hs = try SecretConnectionHandshake(nodeKey: key, ephemeralPrivateKey: eph)
/// send(hs.initialBytes)                       // the 35-byte ephemeral key message
/// while hs.session == nil { send(try hs.receive(readSome())) }
/// ```
/// The ephemeral private key is injected (32 raw bytes, unclamped as Go stores them), so runs
/// are reproducible; draw it from a CSPRNG for real connections. `keys` becomes available as
/// soon as the peer's ephemeral key arrives, also when authentication later fails, so a capture
/// tool can log it.
public struct SecretConnectionHandshake: Sendable {
    public enum Stage: Equatable, Sendable {
        case awaitingEphemeralKey
        case awaitingAuthSignature
        case established
        case failed
    }

    public private(set) var stage: Stage = .awaitingEphemeralKey
    public let localEphemeralPublicKey: [UInt8]
    public private(set) var keys: SecretConnectionKeys?
    public private(set) var session: SecretConnectionSession?

    private let nodeKey: Curve25519.Signing.PrivateKey
    private let ephemeralPrivateKey: [UInt8]
    private var plaintext: [UInt8] = []     // before keys: raw stream; after: decrypted stream
    private var sealer: FrameSealer?
    private var opener: FrameOpener?
    private var failure: (any Error)?

    public init(nodeKey: Curve25519.Signing.PrivateKey, ephemeralPrivateKey: [UInt8]) throws {
        self.nodeKey = nodeKey
        self.ephemeralPrivateKey = ephemeralPrivateKey
        self.localEphemeralPublicKey = try SecretConnection.ephemeralPublicKey(privateKey: ephemeralPrivateKey)
    }

    /// Bytes to send before anything is received: `22 0a 20 <ephemeral public key>`.
    public var initialBytes: [UInt8] { SecretConnection.ephemeralKeyMessage(localEphemeralPublicKey) }

    /// The local node ID.
    public var localNodeID: String { SecretConnection.nodeID(fromEd25519: Array(nodeKey.publicKey.rawRepresentation)) }

    /// Consumes received bytes (any piece size); returns bytes to send (possibly none). When
    /// `stage` becomes `.established`, `session` holds the result. An error leaves the
    /// handshake `.failed` (the node closes the connection); later calls throw it again.
    public mutating func receive<C: Collection>(_ bytes: C) throws -> [UInt8] where C.Element == UInt8 {
        if let failure { throw failure }
        do {
            return try step(bytes)
        } catch {
            stage = .failed
            failure = error
            throw error
        }
    }

    private mutating func step<C: Collection>(_ bytes: C) throws -> [UInt8] where C.Element == UInt8 {
        switch stage {
        case .established:
            session?.opener.feed(bytes)  // later bytes belong to the session's stream
            return []
        case .failed:
            return []
        case .awaitingEphemeralKey:
            plaintext.append(contentsOf: bytes)
            guard let (body, consumed) = try readDelimited(plaintext[...], maxSize: CometP2P.handshakeMessageMaxSize,
                                                          what: "ephemeral key message") else { return [] }
            let remote = try SecretConnection.ephemeralKey(fromBytesValue: body)
            let rest = Array(plaintext[consumed...])
            plaintext = []
            let dh = try SecretConnection.dhSecret(privateKey: ephemeralPrivateKey, remotePublicKey: remote)
            let keys = SecretConnectionKeys(localEphemeralPublicKey: localEphemeralPublicKey,
                                            remoteEphemeralPublicKey: remote, dhSecret: dh)
            self.keys = keys
            var sealer = try FrameSealer(key: keys.sendSecret)
            opener = try FrameOpener(key: keys.recvSecret)
            let auth = try AuthSigMessage(signing: keys.challenge, with: nodeKey)
            let out = try sealer.seal(auth.encodeDelimited())
            self.sealer = sealer
            stage = .awaitingAuthSignature
            return out + (try step(rest))
        case .awaitingAuthSignature:
            guard var opener, let keys, let sealer else { return [] }
            opener.feed(bytes)
            // Decrypt only until the AuthSigMessage is complete; later frames stay buffered.
            while true {
                if let (body, consumed) = try readDelimited(plaintext[...], maxSize: CometP2P.handshakeMessageMaxSize,
                                                           what: "AuthSigMessage") {
                    let auth = try AuthSigMessage.decode(body)
                    let remoteKey = try auth.verify(challenge: keys.challenge)
                    session = SecretConnectionSession(
                        keys: keys, remoteNodeKey: remoteKey,
                        remoteNodeID: SecretConnection.nodeID(fromEd25519: remoteKey),
                        sealer: sealer, opener: opener, initialPlaintext: Array(plaintext[consumed...]))
                    plaintext = []
                    self.opener = nil
                    stage = .established
                    return []
                }
                guard let chunk = try opener.next() else { break }
                plaintext.append(contentsOf: chunk)
            }
            self.opener = opener
            return []
        }
    }
}
