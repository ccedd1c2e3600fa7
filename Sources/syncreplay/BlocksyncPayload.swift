import CometWire
import SyncTrace

/// How `cat` and `doctor` read a `/blocksync` payload: the raw `tendermint.blocksync.Message`
/// decoded with CometWire (specs/cometbft-blocksync.md §1.5).
enum BlocksyncPayload {
    /// Extra `cat` fields: message kind, height, and for block responses the block hash and
    /// transaction count. An undecodable payload is shown as such, never dropped.
    static func describe(_ bytes: [UInt8]) -> [(String, JSONValue)] {
        let message: BlocksyncMessage
        do {
            message = try BlocksyncMessage.decode(bytes)
        } catch {
            return [("kind", .string("undecodable")), ("error", .string(error.description))]
        }
        var fields: [(String, JSONValue)] = [("kind", .string(message.kind))]
        switch message {
        case .blockRequest(let h), .noBlockResponse(let h):
            fields.append(("height", .int(h)))
        case .statusRequest:
            break
        case .statusResponse(let h, let base):
            fields += [("height", .int(h)), ("base", .int(base))]
        case .blockResponse(let block, let ext):
            fields += [("height", .int(block.header.height)), ("hash", .hex(block.hash())),
                       ("txs", .uint(UInt64(block.data.txs.count))), ("ext_commit", .bool(ext != nil))]
        }
        return fields
    }

    /// `doctor`'s payload check: a payload that does not decode is a problem. A message that
    /// decodes but fails ValidateMsg (e.g. base > height) is not: it is what a peer really
    /// sent, and replaying it is the point.
    static let check: TraceDoctor.PayloadCheck = { bytes in
        do {
            _ = try BlocksyncMessage.decode(bytes)
            return nil
        } catch {
            return "blocksync payload does not decode: \(error)"
        }
    }
}
