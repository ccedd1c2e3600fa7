import HexCoding
import ProtoWire
import Foundation

/// A CometBFT RPC JSON document that cannot be read, naming the JSON path at fault.
public struct RPCJSONError: Error, Hashable, Sendable, CustomStringConvertible {
    public let path: String
    public let reason: String
    public init(path: String, reason: String) {
        self.path = path
        self.reason = reason
    }
    /// One line: JSON keys and values quoted in `path` and `reason` have their line breaks escaped.
    public var description: String { (path.isEmpty ? reason : "\(path): \(reason)").escapingLineBreaks }
}

/// `genesis.json` as CometBFT writes it (also inside a `/genesis` RPC response).
public struct Genesis: Hashable, Sendable {
    public var chainID: String
    public var genesisTime: Timestamp
    public var initialHeight: Int64
    /// In `NewValidatorSet` order (power descending, then address).
    public var validators: ValidatorSet
    public var appHash: [UInt8]
    public var consensusParams: HashedParams
    public var evidenceMaxBytes: Int64
    /// `consensus_params.version.app_version` (0 when absent; the application may raise it at handshake).
    public var appVersion: UInt64
    /// `consensus_params.feature.vote_extensions_enable_height` (CometBFT v1), else
    /// `consensus_params.abci.vote_extensions_enable_height` (v0.38); 0 when absent (disabled).
    public var voteExtensionsEnableHeight: Int64 = 0

    /// The state before the initial block.
    public var initialState: ChainState {
        var s = ChainState.genesis(chainID: chainID, initialHeight: initialHeight, genesisTime: genesisTime,
                                   validators: validators, appHash: appHash, appVersion: appVersion,
                                   consensusParams: consensusParams)
        s.evidenceMaxBytes = evidenceMaxBytes
        return s
    }
}

/// One entry of a `/blockchain` response.
public struct BlockMeta: Hashable, Sendable {
    public var blockID: BlockID
    public var header: Header
}

/// The RPC responses `block verify` and the tests read (specs/cometbft-blocksync.md §4.6).
public enum RPCDocument: Hashable, Sendable {
    /// `/block`: the block and the block ID the node reported for it.
    case block(Block, blockID: BlockID?)
    /// `/commit`: a signed header (the commit is the seen commit for that header).
    case commit(header: Header, commit: Commit)
    /// `/validators` (one page), in set order.
    case validators(height: Int64?, ValidatorSet)
    /// `/genesis` or a plain genesis.json.
    case genesis(Genesis)
    /// `/blockchain`: block metas, newest first as the node returns them.
    case blockchain([BlockMeta])

    public var kindName: String {
        switch self {
        case .block: return "block"
        case .commit: return "commit"
        case .validators: return "validators"
        case .genesis: return "genesis"
        case .blockchain: return "blockchain"
        }
    }
}

/// Reads CometBFT RPC JSON: `/block`, `/commit`, `/validators`, `/genesis`, `/blockchain`
/// responses with or without the JSON-RPC envelope, and plain genesis.json. Hashes are hex,
/// signatures, keys and transactions base64, times RFC 3339 with nanoseconds, int64s strings
/// (numbers are accepted too). Evidence in JSON form is not supported (it has one JSON shape
/// per evidence type); a block carrying evidence is rejected with a clear error.
public enum RPCJSON {
    public static func parse(_ bytes: [UInt8]) throws(RPCJSONError) -> RPCDocument {
        let root: Any
        do {
            root = try JSONSerialization.jsonObject(with: Foundation.Data(bytes), options: [.fragmentsAllowed])
        } catch {
            // Foundation's debug description says where ("Invalid value around character 5.");
            // its localized description only says that the data is "not in the correct format".
            let detail = ((error as NSError).userInfo[NSDebugDescriptionErrorKey] as? String) ?? error.localizedDescription
            throw RPCJSONError(path: "", reason: "not valid JSON: \(detail)")
        }
        var node = J(root, "$")
        if let obj = node.value as? [String: Any] {
            if let err = obj["error"], !(err is NSNull) {
                throw RPCJSONError(path: "$.error", reason: "the RPC response is an error: \(J(err, "$.error").brief)")
            }
            if obj["result"] != nil { node = try node.field("result") }
        }
        return try document(node)
    }

    private static func document(_ n: J) throws(RPCJSONError) -> RPCDocument {
        guard let obj = n.value as? [String: Any] else { throw n.fail("expected an object") }
        if obj["block"] != nil {
            let id: BlockID? = obj["block_id"] == nil ? nil : try blockID(n.field("block_id"))
            return .block(try block(n.field("block")), blockID: id)
        }
        if obj["signed_header"] != nil {
            let sh = try n.field("signed_header")
            return .commit(header: try header(sh.field("header")), commit: try commit(sh.field("commit")))
        }
        if obj["genesis"] != nil { return .genesis(try genesis(n.field("genesis"))) }
        if obj["genesis_time"] != nil, obj["chain_id"] != nil { return .genesis(try genesis(n)) }
        if obj["block_metas"] != nil {
            return .blockchain(try n.field("block_metas").array().map { m throws(RPCJSONError) in
                BlockMeta(blockID: try blockID(m.field("block_id")), header: try header(m.field("header")))
            })
        }
        if obj["validators"] != nil {
            let vals = try n.field("validators").array().map { v throws(RPCJSONError) in try validator(v) }
            let height: Int64? = obj["block_height"] == nil ? nil : try n.field("block_height").int64()
            return .validators(height: height, ValidatorSet(validators: vals))
        }
        throw n.fail("not a /block, /commit, /validators, /genesis or /blockchain response (keys: \(obj.keys.sorted().joined(separator: ", ")))")
    }

    static func block(_ n: J) throws(RPCJSONError) -> Block {
        let evidence = try n.field("evidence").optionalField("evidence")?.array() ?? []
        if !evidence.isEmpty {
            throw try n.field("evidence").fail("blocks with evidence are not supported in JSON form (\(evidence.count) items)")
        }
        let txs = try n.field("data").optionalField("txs")?.array().map { t throws(RPCJSONError) in try t.base64() } ?? []
        let lc = try n.optionalField("last_commit").map { c throws(RPCJSONError) in try commit(c) }
        return Block(header: try header(n.field("header")), data: BlockData(txs: txs), evidence: EvidenceList(), lastCommit: lc)
    }

    static func header(_ n: J) throws(RPCJSONError) -> Header {
        var h = Header()
        let v = try n.field("version")
        h.version = ConsensusVersion(block: try v.optionalField("block")?.uint64() ?? 0, app: try v.optionalField("app")?.uint64() ?? 0)
        h.chainID = try n.field("chain_id").string()
        h.height = try n.field("height").int64()
        h.time = try n.field("time").time()
        h.lastBlockID = try blockID(n.field("last_block_id"))
        h.lastCommitHash = try n.field("last_commit_hash").hex()
        h.dataHash = try n.field("data_hash").hex()
        h.validatorsHash = try n.field("validators_hash").hex()
        h.nextValidatorsHash = try n.field("next_validators_hash").hex()
        h.consensusHash = try n.field("consensus_hash").hex()
        h.appHash = try n.field("app_hash").hex()
        h.lastResultsHash = try n.field("last_results_hash").hex()
        h.evidenceHash = try n.field("evidence_hash").hex()
        h.proposerAddress = try n.field("proposer_address").hex()
        return h
    }

    static func blockID(_ n: J) throws(RPCJSONError) -> BlockID {
        let parts = try n.field("parts")
        return BlockID(hash: try n.field("hash").hex(),
                       partSetHeader: PartSetHeader(total: try parts.field("total").uint32(), hash: try parts.field("hash").hex()))
    }

    static func commit(_ n: J) throws(RPCJSONError) -> Commit {
        Commit(height: try n.field("height").int64(), round: try n.optionalField("round")?.int32() ?? 0,
               blockID: try blockID(n.field("block_id")),
               signatures: try n.field("signatures").array().map { s throws(RPCJSONError) in
                   CommitSig(blockIDFlag: BlockIDFlag(rawValue: try s.field("block_id_flag").int32()),
                             validatorAddress: try s.optionalField("validator_address")?.hex() ?? [],
                             timestamp: try s.optionalField("timestamp")?.time() ?? .goZero,
                             signature: try s.optionalField("signature")?.base64() ?? [])
               })
    }

    static func publicKey(_ n: J) throws(RPCJSONError) -> PublicKey {
        let type = try n.field("type").string()
        let value = try n.field("value").base64()
        switch type {
        case "tendermint/PubKeyEd25519": return .ed25519(value)
        case "tendermint/PubKeySecp256k1": return .secp256k1(value)
        default: throw try n.field("type").fail("unsupported key type \"\(type)\"")
        }
    }

    static func validator(_ n: J) throws(RPCJSONError) -> Validator {
        let key = try publicKey(n.field("pub_key"))
        var powerField = try n.optionalField("voting_power")
        if powerField == nil { powerField = try n.field("power") }
        let address = try n.optionalField("address")?.hex() ?? key.address ?? []
        return Validator(address: address, pubKey: key, votingPower: try powerField?.int64() ?? 0,
                         proposerPriority: try n.optionalField("proposer_priority")?.int64() ?? 0)
    }

    static func genesis(_ n: J) throws(RPCJSONError) -> Genesis {
        let vals = try n.optionalField("validators")?.array().map { v throws(RPCJSONError) in try validator(v) } ?? []
        var params = HashedParams.cometDefault
        var evidenceMax: Int64 = 1_048_576
        var appVersion: UInt64 = 0
        var enableHeight: Int64 = 0
        if let cp = try n.optionalField("consensus_params") {
            let abci = try cp.optionalField("abci")?.optionalField("vote_extensions_enable_height")?.int64() ?? 0
            let feature = try cp.optionalField("feature")?.optionalField("vote_extensions_enable_height")?.int64() ?? 0
            enableHeight = feature != 0 ? feature : abci
            if let b = try cp.optionalField("block") {
                params.blockMaxBytes = try b.optionalField("max_bytes")?.int64() ?? params.blockMaxBytes
                params.blockMaxGas = try b.optionalField("max_gas")?.int64() ?? params.blockMaxGas
            }
            evidenceMax = try cp.optionalField("evidence")?.optionalField("max_bytes")?.int64() ?? evidenceMax
            if let v = try cp.optionalField("version") {
                appVersion = try v.optionalField("app_version")?.uint64() ?? 0
                if appVersion == 0 { appVersion = try v.optionalField("app")?.uint64() ?? 0 }
            }
        }
        return Genesis(chainID: try n.field("chain_id").string(), genesisTime: try n.field("genesis_time").time(),
                       initialHeight: try n.optionalField("initial_height")?.int64() ?? 1,
                       validators: ValidatorSet(sorting: vals), appHash: try n.optionalField("app_hash")?.hex() ?? [],
                       consensusParams: params, evidenceMaxBytes: evidenceMax, appVersion: appVersion,
                       voteExtensionsEnableHeight: enableHeight)
    }

    /// A JSON value with its path, for error messages.
    struct J {
        let value: Any
        let path: String
        init(_ value: Any, _ path: String) {
            self.value = value
            self.path = path
        }

        func fail(_ reason: String) -> RPCJSONError { RPCJSONError(path: path, reason: reason) }

        /// Up to 120 characters of the value as compact JSON (one line, sorted keys).
        var brief: String {
            if JSONSerialization.isValidJSONObject(value),
               let data = try? JSONSerialization.data(withJSONObject: value, options: [.sortedKeys]) {
                return String(String(decoding: data, as: UTF8.self).prefix(120))
            }
            return String(String(describing: value).prefix(120))
        }

        func field(_ key: String) throws(RPCJSONError) -> J {
            guard let obj = value as? [String: Any] else { throw fail("expected an object") }
            guard let v = obj[key] else { throw RPCJSONError(path: "\(path).\(key)", reason: "missing") }
            return J(v, "\(path).\(key)")
        }

        func optionalField(_ key: String) throws(RPCJSONError) -> J? {
            guard let obj = value as? [String: Any] else { throw fail("expected an object") }
            guard let v = obj[key], !(v is NSNull) else { return nil }
            return J(v, "\(path).\(key)")
        }

        func array() throws(RPCJSONError) -> [J] {
            if value is NSNull { return [] }
            guard let a = value as? [Any] else { throw fail("expected an array") }
            return a.enumerated().map { J($0.element, "\(path)[\($0.offset)]") }
        }

        func string() throws(RPCJSONError) -> String {
            guard let s = value as? String else { throw fail("expected a string") }
            return s
        }

        /// An integer given as a JSON string (Go's int64 encoding) or a JSON number.
        private func integerText() throws(RPCJSONError) -> String {
            if let s = value as? String { return s }
            if let i = value as? Int { return String(i) }
            if let n = value as? NSNumber { return n.stringValue }
            throw fail("expected an integer")
        }

        func int64() throws(RPCJSONError) -> Int64 {
            let t = try integerText()
            guard let v = Int64(t) else { throw fail("\"\(t)\" is not a 64-bit integer") }
            return v
        }

        func uint64() throws(RPCJSONError) -> UInt64 {
            let t = try integerText()
            guard let v = UInt64(t) else { throw fail("\"\(t)\" is not an unsigned 64-bit integer") }
            return v
        }

        func int32() throws(RPCJSONError) -> Int32 {
            let t = try integerText()
            guard let v = Int32(t) else { throw fail("\"\(t)\" is not a 32-bit integer") }
            return v
        }

        func uint32() throws(RPCJSONError) -> UInt32 {
            let t = try integerText()
            guard let v = UInt32(t) else { throw fail("\"\(t)\" is not an unsigned 32-bit integer") }
            return v
        }

        func hex() throws(RPCJSONError) -> [UInt8] {
            if value is NSNull { return [] }
            let s = try string()
            guard let b = Hex.decode(s) else { throw fail("\"\(s.prefix(80))\" is not hex") }
            return b
        }

        func base64() throws(RPCJSONError) -> [UInt8] {
            if value is NSNull { return [] }
            let s = try string()
            guard let d = Foundation.Data(base64Encoded: s) else { throw fail("\"\(s.prefix(80))\" is not base64") }
            return [UInt8](d)
        }

        func time() throws(RPCJSONError) -> Timestamp {
            let s = try string()
            guard let t = RFC3339.parse(s) else { throw fail("\"\(s.prefix(80))\" is not an RFC 3339 time") }
            return t
        }
    }
}
