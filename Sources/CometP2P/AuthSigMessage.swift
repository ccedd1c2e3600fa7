import Crypto
import Foundation
import ProtoWire

/// `tendermint.crypto.PublicKey { oneof sum { bytes ed25519 = 1; bytes secp256k1 = 2; } }`.
public enum P2PPublicKey: Equatable, Sendable {
    case ed25519([UInt8])
    case secp256k1([UInt8])

    func write(to w: inout ProtoWriter) {
        switch self {
        // A oneof member is written even when empty (gogoproto oneof semantics).
        case .ed25519(let k): w.bytes(1, k, always: true)
        case .secp256k1(let k): w.bytes(2, k, always: true)
        }
    }
}

/// `tendermint.p2p.AuthSigMessage { PublicKey pub_key = 1 (non-nullable); bytes sig = 2; }`,
/// the first encrypted message each way (§1.2 step 9): 103 bytes delimited for ed25519,
/// `66 0a 22 0a 20 <pk32> 12 40 <sig64>`.
public struct AuthSigMessage: Equatable, Sendable {
    /// nil when the received message sets no oneof member.
    public var publicKey: P2PPublicKey?
    public var signature: [UInt8]

    public init(publicKey: P2PPublicKey?, signature: [UInt8]) {
        self.publicKey = publicKey
        self.signature = signature
    }

    /// Signs the handshake challenge with the node's ed25519 key.
    public init(signing challenge: [UInt8], with key: Curve25519.Signing.PrivateKey) throws {
        publicKey = .ed25519(Array(key.publicKey.rawRepresentation))
        signature = Array(try key.signature(for: challenge))
    }

    public func encode() -> [UInt8] {
        var w = ProtoWriter()
        w.message(1, always: true) { publicKey?.write(to: &$0) }
        w.bytes(2, signature)
        return w.bytes
    }

    public func encodeDelimited() -> [UInt8] { ProtoWriter.delimited(encode()) }

    /// Decodes the message body (no length prefix); any field order, unknown fields skipped.
    public static func decode(_ bytes: ArraySlice<UInt8>) throws -> AuthSigMessage {
        var msg = AuthSigMessage(publicKey: nil, signature: [])
        do {
            var r = ProtoReader(bytes)
            while let f = try r.next() {
                switch f.number {
                case 1:
                    var inner = try f.messageReader()
                    while let k = try inner.next() {
                        switch k.number {
                        case 1: msg.publicKey = .ed25519(try k.bytes())
                        case 2: msg.publicKey = .secp256k1(try k.bytes())
                        default: break
                        }
                    }
                case 2: msg.signature = try f.bytes()
                default: break
                }
            }
        } catch let e as ProtoError {
            throw SecretConnectionError.malformedMessage(what: "AuthSigMessage", e)
        }
        return msg
    }

    /// Checks the message as the node does (§1.2 step 9): the key must be a 32-byte ed25519
    /// key and the signature must verify over the challenge. Returns the key.
    ///
    /// Divergence: the node verifies with ZIP-215 rules (curve25519-voi); swift-crypto uses
    /// RFC 8032 verification. They differ only on adversarially crafted signatures.
    public func verify(challenge: [UInt8]) throws -> [UInt8] {
        let key: [UInt8]
        switch publicKey {
        case .ed25519(let k):
            guard k.count == 32 else {
                throw SecretConnectionError.unsupportedPublicKey("invalid size for PubKeyEd25519. Got \(k.count), expected 32")
            }
            key = k
        case .secp256k1(let k):
            guard k.count == 33 else {
                throw SecretConnectionError.unsupportedPublicKey("invalid size for PubKeySecp256k1. Got \(k.count), expected 33")
            }
            throw SecretConnectionError.unsupportedPublicKey("expected ed25519 pubkey, got secp256k1.PubKey")
        case nil:
            throw SecretConnectionError.unsupportedPublicKey("fromproto: key type <nil> is not supported")
        }
        guard signature.count == 64,
              let pk = try? Curve25519.Signing.PublicKey(rawRepresentation: key),
              pk.isValidSignature(signature, for: challenge) else {
            throw SecretConnectionError.challengeVerificationFailed
        }
        return key
    }
}
