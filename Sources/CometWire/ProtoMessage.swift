import ProtoWire

/// A protobuf message with a gogoproto-exact encoder and a tolerant decoder.
///
/// Encoding writes fields in ascending number order, omits zero scalars and always emits
/// non-nullable sub-messages (specs/cometbft-blocksync.md §1.6). Decoding accepts any field
/// order, skips unknown fields, and *merges* like Go's generated `Unmarshal`: a repeated
/// sub-message field appends, a repeated singular sub-message merges into the earlier one,
/// scalars and bytes take the last value.
public protocol ProtoMessage: Equatable, Sendable {
    /// The protobuf type name, used in error messages.
    static var protoName: String { get }
    /// The empty message (all fields zero; non-nullable timestamps are Go's zero time).
    init()
    /// Appends this message's fields to `writer`.
    func encode(into writer: inout ProtoWriter)
    /// Merges the fields of one encoded message into `self`.
    mutating func merge(from reader: inout ProtoReader) throws
}

extension ProtoMessage {
    /// The gogoproto encoding of this message, into a buffer of at least `capacity` bytes.
    public func encoded(capacity: Int = 0) -> [UInt8] {
        var w = ProtoWriter(capacity: capacity)
        encode(into: &w)
        return w.bytes
    }

    /// Decodes one message occupying all of `bytes`.
    public init(protobuf bytes: [UInt8]) throws(WireError) {
        self.init()
        var reader = ProtoReader(bytes)
        do {
            try merge(from: &reader)
        } catch {
            throw WireError.wrap(error, in: Self.protoName)
        }
    }

    /// The size of the encoding (Go's `Size()`).
    public var encodedSize: Int { encoded().count }

    /// Decodes a sub-message field into a fresh value.
    static func decode(_ field: ProtoField) throws -> Self {
        var value = Self()
        try value.mergeField(field)
        return value
    }

    /// Merges a sub-message field into `self` (Go's merge of a repeated singular field).
    mutating func mergeField(_ field: ProtoField) throws {
        var reader = try field.messageReader()
        try merge(from: &reader)
    }
}

extension WireError {
    /// Maps anything thrown inside a decoder to a `WireError`.
    static func wrap(_ error: Error, in message: String) -> WireError {
        if let wire = error as? WireError { return wire }
        if let proto = error as? ProtoError { return .malformed(proto, message: message) }
        return .malformed(.invalid(offset: 0, reason: "\(error)"), message: message)
    }
}

extension ProtoWriter {
    /// Writes `message` as field `field`; an empty message is written only when `always`.
    mutating func message<M: ProtoMessage>(_ field: Int, _ message: M, always: Bool) {
        self.message(field, always: always) { message.encode(into: &$0) }
    }
}
