import JSON
import SyncTrace

/// The consensus params a `/node` record carries (issue 18 §2): what changes blocksync's
/// decisions. 0 means "not recorded" for both.
public struct RecordedConsensusParams: Sendable, Equatable {
    /// `VoteExtensionsEnableHeight` (0: vote extensions disabled).
    public var voteExtensionsEnableHeight: Int64
    /// `Block.MaxBytes` (enters the header's consensus hash, specs/cometbft-blocksync.md §4.2;
    /// -1 is CometBFT v1's "no limit beyond MaxBlockSizeBytes").
    public var blockMaxBytes: Int64

    public init(voteExtensionsEnableHeight: Int64 = 0, blockMaxBytes: Int64 = 0) {
        self.voteExtensionsEnableHeight = voteExtensionsEnableHeight
        self.blockMaxBytes = blockMaxBytes
    }

    /// Sets these params in a `/node` record (`synccapture --consensus-params`).
    public func apply(to record: inout NodeRecord) {
        record.voteExtensionsEnableHeight = voteExtensionsEnableHeight
        record.blockMaxBytes = blockMaxBytes
    }
}

/// Reads the consensus params from a file CometBFT writes (`synccapture --consensus-params F`):
/// - `genesis.json`: `consensus_params` (https://docs.cometbft.com/v0.38/core/genesis,
///   https://docs.cometbft.com/v1.0/references/config/genesis.json);
/// - an RPC `/consensus_params` response: `result.consensus_params`
///   (https://docs.cometbft.com/v0.38/rpc/#/Info/consensus_params).
/// The enable height is `abci.vote_extensions_enable_height` (v0.38) or
/// `feature.vote_extensions_enable_height` (v1.0, which deprecates the `abci` one); integers may
/// be JSON numbers or, as CometBFT writes int64, decimal strings. Every error names the key.
public enum ConsensusParamsFile {
    public static func parse(_ bytes: [UInt8]) throws(ConsensusParamsError) -> RecordedConsensusParams {
        let root: JSONValue
        do { root = try JSONParser.parse(bytes) } catch { throw ConsensusParamsError(key: nil, reason: "not JSON: \(error)") }
        let params: JSONValue, path: String
        if let result = root["result"] {
            guard let p = result["consensus_params"] else {
                throw ConsensusParamsError(key: "result.consensus_params", reason: "missing (not a /consensus_params response)")
            }
            params = p
            path = "result.consensus_params"
        } else if let p = root["consensus_params"] {
            params = p
            path = "consensus_params"
        } else {
            throw ConsensusParamsError(key: nil, reason: "neither a genesis.json (consensus_params) nor a /consensus_params response (result.consensus_params)")
        }
        guard params.objectValue != nil else { throw ConsensusParamsError(key: path, reason: "must be an object") }

        var out = RecordedConsensusParams()
        if let maxBytes = try integer(params, path, "block", "max_bytes") {
            guard maxBytes > 0 || maxBytes == -1 else {
                throw ConsensusParamsError(key: "\(path).block.max_bytes", reason: "must be positive or -1, got \(maxBytes)")
            }
            out.blockMaxBytes = maxBytes
        }
        let abci = try integer(params, path, "abci", "vote_extensions_enable_height")
        let feature = try integer(params, path, "feature", "vote_extensions_enable_height")
        for (section, value) in [("abci", abci), ("feature", feature)] {
            if let value, value < 0 {
                throw ConsensusParamsError(key: "\(path).\(section).vote_extensions_enable_height", reason: "must be 0 or more, got \(value)")
            }
        }
        if let a = abci, let f = feature, a != 0, f != 0, a != f {
            throw ConsensusParamsError(key: "\(path).feature.vote_extensions_enable_height",
                                       reason: "\(f) contradicts \(path).abci.vote_extensions_enable_height \(a)")
        }
        out.voteExtensionsEnableHeight = (feature ?? 0) != 0 ? feature! : (abci ?? 0)
        return out
    }

    /// `params.section.key` as an int64 (number or decimal string); nil when the section or key is absent.
    static func integer(_ params: JSONValue, _ path: String, _ section: String, _ key: String) throws(ConsensusParamsError) -> Int64? {
        guard let s = params[section], s != .null else { return nil }
        guard s.objectValue != nil else { throw ConsensusParamsError(key: "\(path).\(section)", reason: "must be an object") }
        guard let v = s[key], v != .null else { return nil }
        let name = "\(path).\(section).\(key)"
        if let i = v.int64 { return i }
        if let text = v.stringValue {
            guard let i = Int64(text) else { throw ConsensusParamsError(key: name, reason: "\(String(text.prefix(40)).debugDescription) is not an int64") }
            return i
        }
        throw ConsensusParamsError(key: name, reason: "must be an integer or a decimal string")
    }
}

/// A consensus-params file that cannot be read: the key at fault (nil: the whole document).
public struct ConsensusParamsError: Error, Equatable, Sendable, CustomStringConvertible {
    public let key: String?
    public let reason: String
    public var description: String { key.map { "key \($0): \(reason)" } ?? reason }
}
