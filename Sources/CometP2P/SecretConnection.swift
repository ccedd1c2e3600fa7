import HexCoding
import Crypto
import Foundation
import ProtoWire

/// SecretConnection primitives (§1.2): ephemeral-key message, X25519, the merlin challenge,
/// HKDF key derivation and node IDs. All pure functions; the handshake state machine is
/// `SecretConnectionHandshake`, the frames are `FrameSealer` / `FrameOpener`.
public enum SecretConnection {
    /// Plaintext frame = LE32 length ‖ ≤1024 data ‖ zero padding (§1.2 step 8).
    public static let dataLengthSize = 4
    public static let dataMaxSize = 1024
    public static let totalFrameSize = 1028
    public static let sealedFrameSize = 1044
    /// The only plaintext on the wire: `22 0a 20 <key>` (§1.2 step 2).
    public static let ephemeralKeyMessageSize = 35

    static let transcriptLabel = "TENDERMINT_SECRET_CONNECTION_TRANSCRIPT_HASH"
    static let keyDerivationInfo = Array("TENDERMINT_SECRET_CONNECTION_KEY_AND_CHALLENGE_GEN".utf8)

    /// The delimited `google.protobuf.BytesValue{value = key}` each side sends first.
    public static func ephemeralKeyMessage(_ publicKey: [UInt8]) -> [UInt8] {
        var w = ProtoWriter(capacity: 34)
        w.bytes(1, publicKey)
        return ProtoWriter.delimited(w.bytes)
    }

    /// The key inside a received `BytesValue` (without its length prefix). Like the node
    /// (`copy` into a 32-byte array) a shorter value is zero-padded and a longer one truncated.
    public static func ephemeralKey(fromBytesValue message: ArraySlice<UInt8>) throws -> [UInt8] {
        var value: [UInt8] = []
        do {
            var r = ProtoReader(message)
            while let f = try r.next() {
                if f.number == 1 { value = try f.bytes() }  // last one wins; unknown fields skipped
            }
        } catch let e as ProtoError {
            throw SecretConnectionError.malformedMessage(what: "ephemeral key message", e)
        }
        var key = [UInt8](repeating: 0, count: 32)
        for i in 0..<min(32, value.count) { key[i] = value[i] }
        return key
    }

    /// Bytewise sort of the two ephemeral public keys (§1.2 step 3).
    public static func sortEphemeralKeys(_ a: [UInt8], _ b: [UInt8]) -> (lo: [UInt8], hi: [UInt8]) {
        a.lexicographicallyPrecedes(b) ? (a, b) : (b, a)
    }

    /// X25519 of a raw 32-byte scalar (unclamped as Go stores it; X25519 clamps) and the remote
    /// public key. Throws `.lowOrderPoint` for the all-zero result, as Go's `curve25519.X25519`.
    public static func dhSecret(privateKey: [UInt8], remotePublicKey: [UInt8]) throws -> [UInt8] {
        guard privateKey.count == 32 else { throw SecretConnectionError.invalidKeyLength(what: "X25519 private key", length: privateKey.count) }
        guard remotePublicKey.count == 32 else { throw SecretConnectionError.invalidKeyLength(what: "X25519 public key", length: remotePublicKey.count) }
        let priv = try Curve25519.KeyAgreement.PrivateKey(rawRepresentation: privateKey)
        let pub = try Curve25519.KeyAgreement.PublicKey(rawRepresentation: remotePublicKey)
        let shared = try priv.sharedSecretFromKeyAgreement(with: pub)
        let bytes = shared.withUnsafeBytes { Array($0) }
        guard bytes.contains(where: { $0 != 0 }) else { throw SecretConnectionError.lowOrderPoint }
        return bytes
    }

    /// 32 bytes from the system CSPRNG (`getrandom` on Linux) for a real connection's
    /// ephemeral key, stored unclamped like Go's `box.GenerateKey`. Tests inject fixed keys instead.
    public static func randomEphemeralPrivateKey() -> [UInt8] {
        var generator = SystemRandomNumberGenerator()
        return (0..<32).map { _ in UInt8.random(in: .min ... .max, using: &generator) }
    }

    /// The X25519 public key of a raw private scalar.
    public static func ephemeralPublicKey(privateKey: [UInt8]) throws -> [UInt8] {
        guard privateKey.count == 32 else { throw SecretConnectionError.invalidKeyLength(what: "X25519 private key", length: privateKey.count) }
        return Array(try Curve25519.KeyAgreement.PrivateKey(rawRepresentation: privateKey).publicKey.rawRepresentation)
    }

    /// HKDF-SHA256(ikm = dh, salt = nil, info = "TENDERMINT_SECRET_CONNECTION_KEY_AND_CHALLENGE_GEN"),
    /// 96 bytes; K1 = [0:32], K2 = [32:64]. If `locIsLeast`: recv = K1, send = K2; else
    /// send = K1, recv = K2 (§1.2 step 6, `deriveSecrets`).
    public static func deriveSecrets(dh: [UInt8], locIsLeast: Bool) -> (recv: [UInt8], send: [UInt8]) {
        let okm = HKDF<SHA256>.deriveKey(inputKeyMaterial: SymmetricKey(data: dh),
                                         info: keyDerivationInfo, outputByteCount: 96)
        let bytes = okm.withUnsafeBytes { Array($0) }
        let k1 = Array(bytes[0..<32]), k2 = Array(bytes[32..<64])
        return locIsLeast ? (recv: k1, send: k2) : (recv: k2, send: k1)
    }

    /// The 32-byte challenge both sides sign (§1.2 step 5).
    public static func challenge(lo: [UInt8], hi: [UInt8], dh: [UInt8]) -> [UInt8] {
        var t = Transcript(label: transcriptLabel)
        t.appendMessage(label: "EPHEMERAL_LOWER_PUBLIC_KEY", message: lo)
        t.appendMessage(label: "EPHEMERAL_UPPER_PUBLIC_KEY", message: hi)
        t.appendMessage(label: "DH_SECRET", message: dh)
        return t.challengeBytes(label: "SECRET_CONNECTION_MAC", count: 32)
    }

    /// Node ID: lowercase hex of SHA256(ed25519 public key)[:20] (§1.2 step 10, `PubKeyToID`).
    public static func nodeID(fromEd25519 publicKey: [UInt8]) -> String {
        let digest = SHA256.hash(data: publicKey)
        return Hex.lower(digest.prefix(20))
    }
}

/// Everything one connection's crypto depends on, from one side's point of view. A capture
/// tool that logs (both ephemeral public keys, dh) can rebuild this for either side and open
/// both directions of a recorded connection (§1.2 "Decrypting a pcap").
public struct SecretConnectionKeys: Equatable, Sendable {
    public let localEphemeralPublicKey: [UInt8]
    public let remoteEphemeralPublicKey: [UInt8]
    public let dhSecret: [UInt8]
    /// Whether the local ephemeral key sorts first.
    public let locIsLeast: Bool
    /// The key of frames this side receives / sends.
    public let recvSecret: [UInt8]
    public let sendSecret: [UInt8]
    /// The merlin challenge the AuthSigMessages sign.
    public let challenge: [UInt8]

    public init(localEphemeralPublicKey: [UInt8], remoteEphemeralPublicKey: [UInt8], dhSecret: [UInt8]) {
        self.localEphemeralPublicKey = localEphemeralPublicKey
        self.remoteEphemeralPublicKey = remoteEphemeralPublicKey
        self.dhSecret = dhSecret
        let (lo, hi) = SecretConnection.sortEphemeralKeys(localEphemeralPublicKey, remoteEphemeralPublicKey)
        locIsLeast = lo == localEphemeralPublicKey
        (recvSecret, sendSecret) = SecretConnection.deriveSecrets(dh: dhSecret, locIsLeast: locIsLeast)
        challenge = SecretConnection.challenge(lo: lo, hi: hi, dh: dhSecret)
    }

    /// The same connection seen from the other end.
    public var swapped: SecretConnectionKeys {
        SecretConnectionKeys(localEphemeralPublicKey: remoteEphemeralPublicKey,
                             remoteEphemeralPublicKey: localEphemeralPublicKey, dhSecret: dhSecret)
    }

    /// One key-log line, SSLKEYLOGFILE-style:
    /// `SECRET_CONNECTION <local eph pub hex> <remote eph pub hex> <dh hex>`.
    public var keyLogLine: String {
        "SECRET_CONNECTION \(Self.hex(localEphemeralPublicKey)) \(Self.hex(remoteEphemeralPublicKey)) \(Self.hex(dhSecret))"
    }

    /// Parses a `keyLogLine`; nil when the line is not one (blank, comment, other label, bad hex).
    public init?(keyLogLine line: String) {
        let parts = line.split(separator: " ", omittingEmptySubsequences: true)
        guard parts.count == 4, parts[0] == "SECRET_CONNECTION",
              let a = Hex.decode(String(parts[1])), let b = Hex.decode(String(parts[2])), let dh = Hex.decode(String(parts[3])),
              a.count == 32, b.count == 32, dh.count == 32 else { return nil }
        self.init(localEphemeralPublicKey: a, remoteEphemeralPublicKey: b, dhSecret: dh)
    }

    static func hex(_ b: [UInt8]) -> String { Hex.lower(b) }
}
