import CometWire
import Foundation
import SyncTrace

/// The node's starting state for the `/node` record (DESIGN.md §2; issue: `--genesis` or
/// `--start-block` + `--start-validators`), from CometBFT RPC JSON.
public enum StartState {
    /// Syncing from the initial height: chain id, initial height, genesis validators, app hash and
    /// time from `genesis.json` (or a `/genesis` response). The store is empty (base = height = 0).
    public static func fromGenesis(_ bytes: [UInt8], path: String) throws -> NodeRecord {
        let document: RPCDocument
        do { document = try RPCJSON.parse(bytes) } catch { throw CaptureError.badStartState(path: path, reason: error.description) }
        guard case .genesis(let genesis) = document else {
            throw CaptureError.badStartState(path: path, reason: "expected a genesis document, found a \(document.kindName) response")
        }
        return NodeRecord(chainID: genesis.chainID, initialHeight: genesis.initialHeight, storeBase: 0, storeHeight: 0,
                          validators: genesis.validators.validators.map(record), appHash: genesis.appHash,
                          genesisTime: TraceTimestamp(seconds: genesis.genesisTime.seconds, nanos: genesis.genesisTime.nanos))
    }

    /// Resuming from a store: the last block it holds (`/block` JSON at the store height) and the
    /// validator set that follows it (`/validators` JSON at height + 1), so replay can verify the
    /// first synced block. `storeBase` is the lowest height the store holds (requests to the node
    /// for heights in base...height are served).
    public static func fromStore(block blockBytes: [UInt8], blockPath: String, validators validatorBytes: [UInt8],
                                 validatorsPath: String, storeBase: Int64?, initialHeight: Int64 = 1) throws -> NodeRecord {
        let blockDocument: RPCDocument, validatorDocument: RPCDocument
        do { blockDocument = try RPCJSON.parse(blockBytes) } catch { throw CaptureError.badStartState(path: blockPath, reason: error.description) }
        do { validatorDocument = try RPCJSON.parse(validatorBytes) } catch {
            throw CaptureError.badStartState(path: validatorsPath, reason: error.description)
        }
        guard case .block(let block, _) = blockDocument else {
            throw CaptureError.badStartState(path: blockPath, reason: "expected a /block response, found \(blockDocument.kindName)")
        }
        guard case .validators(_, let set) = validatorDocument else {
            throw CaptureError.badStartState(path: validatorsPath, reason: "expected a /validators response, found \(validatorDocument.kindName)")
        }
        let height = block.header.height
        let base = storeBase ?? initialHeight
        guard base >= 1, base <= height else {
            throw CaptureError.badStartState(path: blockPath, reason: "store base \(base) must be in 1...\(height) (the block's height)")
        }
        return NodeRecord(chainID: block.header.chainID, initialHeight: initialHeight, storeBase: base, storeHeight: height,
                          validators: set.validators.map(record), appHash: block.header.appHash,
                          startBlock: block.encoded())
    }

    /// The start state of the node in a trace's `/node` record: for a capture of a conversation
    /// played from that trace (`synccapture play --trace T`), whose node starts where T's did.
    /// Only the chain state is kept (chain id, heights, validators, app hash, start block, genesis
    /// time, local validator, consensus params); the node id, capture method and profile hint come from the capture.
    public static func fromTrace(path: String) throws -> NodeRecord {
        let entries: [TraceEntry]
        do { entries = try TraceReader(path: path).readAll() } catch {
            throw CaptureError.badStartState(path: path, reason: "\(error)")
        }
        for entry in entries {
            guard case .node(let n) = entry.event else { continue }
            return NodeRecord(chainID: n.chainID, initialHeight: n.initialHeight, storeBase: n.storeBase, storeHeight: n.storeHeight,
                              validators: n.validators, appHash: n.appHash, startBlock: n.startBlock, genesisTime: n.genesisTime,
                              localValidatorAddress: n.localValidatorAddress,
                              voteExtensionsEnableHeight: n.voteExtensionsEnableHeight, blockMaxBytes: n.blockMaxBytes)
        }
        throw CaptureError.badStartState(path: path, reason: "the trace has no /node record")
    }

    static func record(_ v: Validator) -> ValidatorRecord {
        ValidatorRecord(pubKey: v.pubKey.bytes, power: v.votingPower)
    }
}
