import ProtoWire

/// Why a SecretConnection handshake or frame failed (`p2p/conn/secret_connection.go`, §1.2).
/// `nodeError` is the error text a CometBFT node reports for the same condition.
///
/// Divergence: where the node panics (nonce overflow) we throw `.nonceExhausted`.
public enum SecretConnectionError: Error, Equatable, Sendable, CustomStringConvertible {
    /// A delimited handshake message (ephemeral key, AuthSigMessage, NodeInfo) whose length
    /// prefix exceeds the reader's limit.
    case messageTooLarge(what: String, length: UInt64, max: Int)
    /// A delimited handshake message that does not parse.
    case malformedMessage(what: String, ProtoError)
    /// X25519 gave the all-zero output: the remote ephemeral key is a low-order point.
    case lowOrderPoint
    /// The AuthSigMessage public key is not a 32-byte ed25519 key.
    case unsupportedPublicKey(String)
    /// The remote signature over the challenge does not verify.
    case challengeVerificationFailed
    /// A sealed frame failed authentication; `frame` is its index in the direction's stream.
    case decryptFailed(frame: UInt64)
    /// A decrypted frame's length field is above 1024.
    case chunkTooLong(frame: UInt64, length: UInt32)
    /// The per-direction nonce counter would wrap.
    case nonceExhausted
    /// The peer closed the connection before the handshake finished.
    case closedDuringHandshake(stage: String)
    /// A key had the wrong length (programming error on the caller's side).
    case invalidKeyLength(what: String, length: Int)
    /// The authenticated key's node ID differs from the expected one; `source` is
    /// `"dialed ID"` or `"NodeInfo.ID"` (the transport's two checks).
    case nodeIDMismatch(authenticated: String, claimed: String, source: String)

    public var nodeError: String {
        switch self {
        case .messageTooLarge(_, let len, let max): return "message exceeds max size (\(len) > \(max))"
        case .malformedMessage(_, let e): return e.description
        case .lowOrderPoint: return "bad input point: low order point"
        case .unsupportedPublicKey(let detail): return detail
        case .challengeVerificationFailed: return "challenge verification failed"
        case .decryptFailed: return "failed to decrypt SecretConnection: chacha20poly1305: message authentication failed"
        case .chunkTooLong: return "chunkLength is greater than dataMaxSize"
        case .nonceExhausted: return "can't increase nonce without overflow"
        case .closedDuringHandshake: return "EOF"
        case .invalidKeyLength(let what, let n): return "invalid \(what) length \(n)"
        case .nodeIDMismatch(let auth, let claimed, let source):
            return "conn.ID (\(auth)) \(source) (\(claimed)) mismatch"
        }
    }

    public var description: String {
        switch self {
        case .messageTooLarge(let what, _, _), .malformedMessage(let what, _):
            return "SecretConnection \(what): \(nodeError)"
        case .decryptFailed(let frame), .chunkTooLong(let frame, _):
            return "SecretConnection frame \(frame): \(nodeError)"
        case .closedDuringHandshake(let stage):
            return "SecretConnection: connection closed during \(stage)"
        default:
            return "SecretConnection: \(nodeError)"
        }
    }
}
