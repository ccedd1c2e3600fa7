import CometP2P
import Crypto

/// SecretConnection with the AEAD in place: the harness holds fixed ephemeral and node keys and
/// seals the fuzzed plaintext itself, so mutations reach the decoders behind the frames.
/// The first byte chooses what the fuzzed bytes are:
/// 0: the sealed plaintext from the AuthSigMessage on (recorded-stream decoder);
/// 1: the sealed plaintext after a valid AuthSigMessage (NodeInfo, then the MConnection stream);
/// 2: the raw bytes after the ephemeral key (frames as they come off the wire);
/// 3: what a handshaking node receives: the peer's key message, then the sealed plaintext.
/// Public for the seed builder in the tests.
public enum SealedInput {
    static let senderEphemeral = [UInt8](repeating: 0x11, count: 32)
    static let receiverEphemeral = [UInt8](repeating: 0x22, count: 32)
    static let senderNodeKey = try! Curve25519.Signing.PrivateKey(rawRepresentation: [UInt8](repeating: 0x33, count: 32))
    static let receiverNodeKey = try! Curve25519.Signing.PrivateKey(rawRepresentation: [UInt8](repeating: 0x44, count: 32))

    /// The sender's node ID (what its NodeInfo must carry).
    public static var senderNodeID: String { SecretConnection.nodeID(fromEd25519: Array(senderNodeKey.publicKey.rawRepresentation)) }

    /// The sender's view of the connection (fixed keys: the same frames for the same input).
    public static let keys: SecretConnectionKeys = {
        let local = try! SecretConnection.ephemeralPublicKey(privateKey: senderEphemeral)
        let remote = try! SecretConnection.ephemeralPublicKey(privateKey: receiverEphemeral)
        let dh = try! SecretConnection.dhSecret(privateKey: senderEphemeral, remotePublicKey: remote)
        return SecretConnectionKeys(localEphemeralPublicKey: local, remoteEphemeralPublicKey: remote, dhSecret: dh)
    }()

    /// The sender's length-delimited AuthSigMessage, signed over the challenge.
    public static let validAuthSig = try! AuthSigMessage(signing: keys.challenge, with: senderNodeKey).encodeDelimited()

    /// `plaintext` as the sender's frames.
    public static func sealed(_ plaintext: [UInt8]) -> [UInt8] {
        var sealer = try! FrameSealer(key: keys.sendSecret)
        return try! sealer.seal(plaintext)
    }

    static func run(_ data: [UInt8]) {
        guard let mode = data.first else { return }
        let fuzzed = Array(data.dropFirst())
        let keyMessage = SecretConnection.ephemeralKeyMessage(keys.localEphemeralPublicKey)
        switch mode % 4 {
        case 0: decodeRecorded(keyMessage + sealed(fuzzed))
        case 1: decodeRecorded(keyMessage + sealed(validAuthSig + fuzzed))
        case 2: decodeRecorded(keyMessage + fuzzed)
        default:
            guard var handshake = try? SecretConnectionHandshake(nodeKey: receiverNodeKey, ephemeralPrivateKey: receiverEphemeral)
            else { preconditionFailure("fixed handshake keys rejected") }
            _ = try? handshake.receive(keyMessage + sealed(fuzzed))
        }
    }

    static func decodeRecorded(_ stream: [UInt8]) {
        guard var decoder = try? RecordedStreamDecoder(senderKeys: keys) else { preconditionFailure("fixed keys rejected") }
        decoder.feed(stream)
        while (try? decoder.next()).flatMap({ $0 }) != nil {}
    }
}
