import SyncTrace
import JSON

/// Turns trace events into ordered fields for `cat` (JSON lines or `key=value` text).
///
/// `describePayload` is the hook for decoding `/blocksync` payloads: given the raw
/// `tendermint.blocksync.Message` bytes it returns extra fields (message kind, height…) placed
/// after `peer`, `direction` and `size`. Without it only the framing facts are shown.
struct EventFormatter {
    typealias PayloadDescriber = (_ message: [UInt8]) -> [(String, JSONValue)]

    var raw = false
    var describePayload: PayloadDescriber?

    /// Leading fields every line carries: `seq`, `time` (ns), `topic`.
    func line(sequence: UInt32, logTime: UInt64, topic: String, fields: [(String, JSONValue)]) -> [(String, JSONValue)] {
        [("seq", .uint(UInt64(sequence))), ("time", .uint(logTime)), ("topic", .string(topic))] + fields
    }

    func fields(of event: TraceEvent) -> [(String, JSONValue)] {
        switch event {
        case .node(let n):
            var f: [(String, JSONValue)] = [
                ("chain_id", .string(n.chainID)), ("initial_height", .int(n.initialHeight)),
                ("store_base", .int(n.storeBase)), ("store_height", .int(n.storeHeight)), ("node_id", .string(n.nodeID)),
                ("validators", .array(n.validators.map { .object(["pub_key": .hex($0.pubKey), "power": .int($0.power)]) })),
                ("app_hash", .hex(n.appHash)), ("start_block_size", .uint(UInt64(n.startBlock.count))),
                ("genesis_time", .object(["seconds": .int(n.genesisTime.seconds), "nanos": .int(Int64(n.genesisTime.nanos))])),
                ("capture_method", .string(n.captureMethod)), ("profile_hint", .string(n.profileHint)),
            ]
            if !n.localValidatorAddress.isEmpty { f.append(("local_validator_address", .hex(n.localValidatorAddress))) }
            // Consensus params only when recorded, so older traces print as before.
            if n.voteExtensionsEnableHeight != 0 {
                f.append(("vote_extensions_enable_height", .int(n.voteExtensionsEnableHeight)))
            }
            if n.blockMaxBytes != 0 { f.append(("block_max_bytes", .int(n.blockMaxBytes))) }
            if raw { f.append(("start_block", .hex(n.startBlock))) }
            if let h = n.stateSync {
                var s: JSONObject = ["at": .uint(h.at), "block_size": .uint(UInt64(h.block.count)),
                                     "app_hash": .hex(h.appHash), "last_results_hash": .hex(h.lastResultsHash)]
                if raw { s["block"] = .hex(h.block) }
                f.append(("state_sync", .object(s)))
            }
            return f
        case .p2p(let p):
            return [("peer", .string(p.peerID)), ("kind", .string(p.kind.rawValue)), ("address", .string(p.address)),
                    ("outbound", .bool(p.outbound)), ("reason", .string(p.reason))]
        case .blocksync(let b):
            var f: [(String, JSONValue)] = [("peer", .string(b.peerID)), ("direction", .string(b.direction.rawValue)),
                                            ("size", .uint(UInt64(b.message.count)))]
            if let describePayload { f += describePayload(b.message) }
            if raw { f.append(("payload", .hex(b.message))) }
            return f
        case .pivot(.switch(let s)):
            return [("kind", .string("switch")), ("fork_at", .uint(s.forkAt)), ("me_height", .uint(s.meHeight)),
                    ("me_hash", .hex(s.meHash)),
                    ("branch", .array(s.branch.map { .object(["height": .uint($0.height), "hash": .hex($0.hash)]) })),
                    ("observed", .string(s.observed.rawValue))]
        case .pivot(.extend(let e)):
            return [("kind", .string("extend")), ("height", .uint(e.height)), ("hash", .hex(e.hash)),
                    ("observed", .string(e.observed.rawValue))]
        case .capture(let c):
            return [("kind", .string(c.kind.rawValue)), ("connection", .string(c.connection)),
                    ("direction", c.direction.map { .string($0.rawValue) } ?? .null),
                    ("byte_count", .uint(c.byteCount)), ("detail", .string(c.detail))]
        }
    }

    /// Fields for a message on a channel outside the syncreplay schema (foreign MCAP files).
    func foreignFields(data: [UInt8], messageEncoding: String) -> [(String, JSONValue)] {
        var f: [(String, JSONValue)] = [("encoding", .string(messageEncoding)), ("size", .uint(UInt64(data.count)))]
        if raw { f.append(("payload", .hex(data))) }
        return f
    }

    static func json(_ fields: [(String, JSONValue)]) -> String { JSONValue.object(JSONObject(fields)).asBuilt }

    static func text(_ fields: [(String, JSONValue)]) -> String {
        fields.map { "\($0.0)=\($0.1.text)" }.joined(separator: " ")
    }
}
