import Capture
import CometWire
import Replay
import Sim

/// Text formats, decoded as UTF-8 with repairs (the CLIs refuse non-UTF-8 files earlier).
enum TextInput {
    static func forkEvents(_ data: [UInt8]) {
        let text = String(decoding: data, as: UTF8.self)
        _ = try? ForkEvents.parseJSONLines(text, path: "fuzz.jsonl")
        // The Conflux log is read line by line (ConfluxLog.scan does this from a file).
        for line in data.split(separator: UInt8(ascii: "\n"), omittingEmptySubsequences: false) {
            _ = Array(line).withUnsafeBufferPointer { ConfluxLog.parse(line: $0) }
        }
    }

    static func scenario(_ data: [UInt8]) {
        _ = try? Scenario.parse(String(decoding: data, as: UTF8.self))
    }

    /// A golden decodes, or not; one that decodes encodes to bytes that decode to the same.
    static func golden(_ data: [UInt8]) {
        guard let golden = try? GoldenFile.decode(data) else { return }
        let encoded = golden.encoded()
        guard let again = try? GoldenFile.decode(Array(encoded.utf8)) else {
            preconditionFailure("a decoded golden re-encodes to text that does not decode")
        }
        precondition(again.encoded() == encoded, "a golden's encoding is not stable")
    }

    static func rpcJSON(_ data: [UInt8]) {
        guard let document = try? RPCJSON.parse(data) else { return }
        switch document {
        case .block(let block, _):
            try? block.validateFromProto()
            _ = block.blockID()
        case .commit(let header, let commit):
            _ = header.hash()
            try? commit.validateBasic()
        case .validators(_, let set): _ = set.hash()
        case .genesis(let genesis): _ = genesis.initialState
        case .blockchain: break
        }
    }
}
