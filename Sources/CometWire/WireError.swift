import ProtoWire

/// A CometBFT message or block that cannot be decoded, or a decoded value that breaks a rule a
/// node checks (specs/cometbft-blocksync.md §1.5, §1.6). Offsets are byte offsets into the
/// outermost buffer handed to the decoder.
public enum WireError: Error, Equatable, Sendable, CustomStringConvertible {
    /// The protobuf itself is malformed (truncated, bad varint, bad wire type…) while decoding `message`.
    case malformed(ProtoError, message: String)
    /// A required field is absent (e.g. `BlockResponse` without a block).
    case missingField(offset: Int, message: String, field: String)
    /// A field decoded but its value is not acceptable to gogoproto's unmarshalling
    /// (e.g. a timestamp outside 0001-01-01…9999-12-31, an evidence item of no known kind).
    case invalidField(offset: Int, message: String, field: String, reason: String)
    /// `tendermint.blocksync.Message` with no known `sum` set ("unknown message type").
    case unknownMessage(offset: Int)
    /// A decoded blocksync message fails `ValidateMsg` (§1.5).
    case invalidMessage(String)

    public var description: String {
        switch self {
        case .malformed(let error, let message):
            return "\(message): \(error.description)"
        case .missingField(let offset, let message, let field):
            return "\(message) at byte \(offset): required field \(field) is missing"
        case .invalidField(let offset, let message, let field, let reason):
            return "\(message).\(field) at byte \(offset): \(reason)"
        case .unknownMessage(let offset):
            return "blocksync message at byte \(offset): unknown message type (no known oneof field set)"
        case .invalidMessage(let reason):
            return "invalid blocksync message: \(reason)"
        }
    }
}
