import ProtoWire

/// `tendermint.blocksync.Message` (v0.34: `tendermint.blockchain.Message`; v1:
/// `cometbft.blocksync.v1.Message`; same field numbers): the payload of channel 0x40
/// (specs/cometbft-blocksync.md §1.5).
public enum BlocksyncMessage: Hashable, Sendable {
    case blockRequest(height: Int64)
    case noBlockResponse(height: Int64)
    /// `extCommit` exists only in cometbft v0.38+ (ABCI++ vote extensions).
    case blockResponse(block: Block, extCommit: ExtendedCommit?)
    case statusRequest
    case statusResponse(height: Int64, base: Int64)

    public static let protoName = "tendermint.blocksync.Message"

    /// The message kind as the proto names it (`block_request`…), for logs and reports.
    public var kind: String {
        switch self {
        case .blockRequest: return "block_request"
        case .noBlockResponse: return "no_block_response"
        case .blockResponse: return "block_response"
        case .statusRequest: return "status_request"
        case .statusResponse: return "status_response"
        }
    }

    /// The height the message is about (the block's height for a response; nil for a status request).
    public var height: Int64? {
        switch self {
        case .blockRequest(let h), .noBlockResponse(let h), .statusResponse(let h, _): return h
        case .blockResponse(let b, _): return b.header.height
        case .statusRequest: return nil
        }
    }

    /// What the replay's ghost-peer rules read of a message: its kind and the height it is about
    /// (a status's base too), not the block.
    public enum Outline: Equatable, Sendable {
        case blockRequest(Int64)
        case noBlockResponse(Int64)
        case blockResponse(Int64)
        case statusRequest
        case statusResponse(height: Int64, base: Int64)
    }

    public var outline: Outline {
        switch self {
        case .blockRequest(let h): return .blockRequest(h)
        case .noBlockResponse(let h): return .noBlockResponse(h)
        case .blockResponse(let b, _): return .blockResponse(b.header.height)
        case .statusRequest: return .statusRequest
        case .statusResponse(let h, let b): return .statusResponse(height: h, base: b)
        }
    }

    /// The outline read from the bytes without decoding a block (issue 19: the ghost rules'
    /// passes over a recording): the last oneof field, a block's last header height. It agrees
    /// with `decode(bytes).outline` for what nodes send, not for every input (a block that does
    /// not decode, merged oneofs): a caller that must agree on every input compares the two once.
    public static func outline(of bytes: [UInt8]) -> Outline? {
        func height(_ f: ProtoField) throws -> Int64 {
            var r = try f.messageReader()
            var h: Int64 = 0
            while let g = try r.next() { if g.number == 1 { h = try g.int64() } }
            return h
        }
        var reader = ProtoReader(bytes)
        var result: Outline?
        do {
            while let f = try reader.next() {
                switch f.number {
                case 1: result = .blockRequest(try height(f))
                case 2: result = .noBlockResponse(try height(f))
                case 3:
                    var h: Int64 = 0
                    let hasBlock = try forEachBlockField(inResponse: f) { header in
                        guard header.number == 1 else { return }
                        var fields = try header.messageReader()
                        while let field = try fields.next() { if field.number == 3 { h = try field.int64() } }
                    }
                    guard hasBlock else { return nil }
                    result = .blockResponse(h)
                case 4: result = .statusRequest
                case 5:
                    var r = try f.messageReader()
                    var h: Int64 = 0, b: Int64 = 0
                    while let g = try r.next() {
                        if g.number == 1 { h = try g.int64() } else if g.number == 2 { b = try g.int64() }
                    }
                    result = .statusResponse(height: h, base: b)
                default: continue
                }
            }
        } catch {
            return nil
        }
        return result
    }

    /// The gogoproto encoding: exactly the bytes a node sends on channel 0x40.
    public func encode() -> [UInt8] {
        var w = ProtoWriter()
        switch self {
        case .blockRequest(let h):
            w.message(1, always: true) { $0.int64(1, h) }
        case .noBlockResponse(let h):
            w.message(2, always: true) { $0.int64(1, h) }
        case .blockResponse(let block, let ext):
            w.message(3, always: true) { inner in
                inner.message(1, block, always: true)
                if let ext { inner.message(2, ext, always: true) }
            }
        case .statusRequest:
            w.message(4, always: true) { _ in }
        case .statusResponse(let h, let b):
            w.message(5, always: true) {
                $0.int64(1, h)
                $0.int64(2, b)
            }
        }
        return w.bytes
    }

    /// Decodes one channel-0x40 payload. Any field order and unknown fields are accepted; if
    /// several oneof fields appear the last wins (as in Go). Throws `WireError.unknownMessage`
    /// when no known message is present and `.missingField` for a `BlockResponse` without a
    /// block (Go decodes both but `ValidateMsg` / `BlockFromProto` then fail: the peer is
    /// disconnected either way). Does not run `validate()`.
    public static func decode(_ bytes: [UInt8]) throws(WireError) -> BlocksyncMessage {
        do {
            return try decodeUnchecked(bytes)
        } catch {
            throw WireError.wrap(error, in: protoName)
        }
    }

    /// The `LastCommit` of the block in a `BlockResponse` payload, merged as `decode` merges it,
    /// without decoding the rest of the block (header, txs, evidence); nil for other messages,
    /// a block without one, or bytes malformed on the way there. For a reader that only
    /// wants signatures to check ahead (issue 19: the verifier ahead decoded every block whole).
    public static func lastCommit(inBlockResponse bytes: [UInt8]) -> Commit? {
        var reader = ProtoReader(bytes)
        var commit: Commit?
        do {
            while let f = try reader.next() {
                guard f.number == 3 else {
                    if (1...5).contains(f.number) { commit = nil }  // another oneof member wins
                    continue
                }
                commit = nil
                _ = try forEachBlockField(inResponse: f) { field in
                    guard field.number == 4 else { return }
                    var c = commit ?? Commit()
                    try c.mergeField(field)
                    commit = c
                }
            }
        } catch {
            return nil
        }
        return commit
    }

    /// Calls `body` with each field of each `block` occurrence (field 1, merged in Go) of the
    /// `BlockResponse` in `response`, in order, for the readers that skip decoding the block
    /// (`outline`, `lastCommit`); true when the response holds a block at all.
    private static func forEachBlockField(inResponse response: ProtoField, _ body: (ProtoField) throws -> Void) throws -> Bool {
        var reader = try response.messageReader()
        var hasBlock = false
        while let g = try reader.next() {
            guard g.number == 1 else { continue }
            hasBlock = true
            var block = try g.messageReader()
            while let field = try block.next() { try body(field) }
        }
        return hasBlock
    }

    private static func decodeUnchecked(_ bytes: [UInt8]) throws -> BlocksyncMessage {
        var reader = ProtoReader(bytes)
        var result: BlocksyncMessage?
        while let f = try reader.next() {
            switch f.number {
            case 1: result = .blockRequest(height: try singleHeight(f))
            case 2: result = .noBlockResponse(height: try singleHeight(f))
            case 3:
                var r = try f.messageReader()
                var block: Block?
                var ext: ExtendedCommit?
                while let g = try r.next() {
                    switch g.number {
                    case 1:
                        var b = block ?? Block()
                        try b.mergeField(g)
                        block = b
                    case 2:
                        var e = ext ?? ExtendedCommit()
                        try e.mergeField(g)
                        ext = e
                    default: continue
                    }
                }
                guard let block else {
                    throw WireError.missingField(offset: f.offset, message: "tendermint.blocksync.BlockResponse", field: "block")
                }
                result = .blockResponse(block: block, extCommit: ext)
            case 4:
                _ = try f.messageReader()
                result = .statusRequest
            case 5:
                var r = try f.messageReader()
                var h: Int64 = 0
                var b: Int64 = 0
                while let g = try r.next() {
                    switch g.number {
                    case 1: h = try g.int64()
                    case 2: b = try g.int64()
                    default: continue
                    }
                }
                result = .statusResponse(height: h, base: b)
            default: continue
            }
        }
        guard let result else { throw WireError.unknownMessage(offset: 0) }
        return result
    }

    private static func singleHeight(_ f: ProtoField) throws -> Int64 {
        var r = try f.messageReader()
        var h: Int64 = 0
        while let g = try r.next() {
            if g.number == 1 { h = try g.int64() }
        }
        return h
    }

    /// `ValidateMsg` (§1.5, all versions): negative heights, negative base, or base > height
    /// are errors (the reactor then calls `StopPeerForError`). A `BlockResponse` passes here;
    /// v0.34–v0.38.5 additionally run `Block.validateBasic()` inside ValidateMsg (call it
    /// separately when the profile says so).
    public func validate() throws(WireError) {
        switch self {
        case .blockRequest(let h):
            if h < 0 { throw WireError.invalidMessage("negative Height") }
        case .noBlockResponse(let h):
            if h < 0 { throw WireError.invalidMessage("negative Height") }
        case .statusResponse(let h, let b):
            if b < 0 { throw WireError.invalidMessage("negative Base") }
            if h < 0 { throw WireError.invalidMessage("negative Height") }
            if b > h { throw WireError.invalidMessage("base \(b) cannot be greater than height \(h)") }
        case .blockResponse, .statusRequest:
            return
        }
    }
}
