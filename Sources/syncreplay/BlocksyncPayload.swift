import CometWire
import SyncTrace
import JSON

/// How `cat` and `doctor` read a `/blocksync` payload: CometWire's `BlocksyncSummary` of the
/// raw `tendermint.blocksync.Message` (specs/cometbft-blocksync.md §1.5).
enum BlocksyncPayload {
    /// Extra `cat` fields: message kind, heights and sizes. An undecodable payload is shown as
    /// such, never dropped.
    static func describe(_ bytes: [UInt8]) -> [(String, JSONValue)] {
        switch BlocksyncSummary.of(bytes) {
        case .failure(let error):
            return [("kind", .string("undecodable")), ("error", .string(error.description))]
        case .success(let s):
            var fields: [(String, JSONValue)] = [("kind", .string(s.kind))]
            if let h = s.height { fields.append(("height", .int(h))) }
            if let b = s.base { fields.append(("base", .int(b))) }
            if let n = s.blockBytes { fields.append(("block_bytes", .uint(UInt64(n)))) }
            if let n = s.txCount { fields.append(("txs", .uint(UInt64(n)))) }
            if let n = s.lastCommitSignatures { fields.append(("sigs", .uint(UInt64(n)))) }
            if let n = s.extCommitSignatures { fields.append(("ext_sigs", .uint(UInt64(n)))) }
            return fields
        }
    }

    /// `doctor`'s payload check: a payload that does not decode is a problem. A message that
    /// decodes but fails ValidateMsg (e.g. base > height) is not: it is what a peer really
    /// sent, and replaying it is the point.
    static let check: TraceDoctor.PayloadCheck = { bytes in
        if case .failure(let error) = BlocksyncSummary.of(bytes) {
            return "blocksync payload does not decode: \(error.description)"
        }
        return nil
    }
}
