import HexCoding
import ArgumentParser
import CometWire
import FileInput
import CommandExit
import Foundation

extension RPCJSONError: InputError {}

/// `syncreplay block`: offline checks of CometBFT blocks.
struct BlockCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "block",
        abstract: "Check CometBFT blocks offline.",
        subcommands: [BlockVerify.self]
    )
}

/// `syncreplay block verify`: recompute a block's hashes and verify its commit from RPC JSON.
struct BlockVerify: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "verify",
        abstract: "Recompute a block's hashes and verify its commit signatures from CometBFT RPC JSON.",
        discussion: """
        Reads CometBFT RPC JSON: a /block response for --block, a /commit response for --commit, and a /validators or /genesis response or a plain genesis.json for --validators (with or without the JSON-RPC envelope). Prints the recomputed header hash and part-set header next to the node's block_id, each hash the header commits to (match or mismatch), and, with a commit and validators, every signature's verdict and the tallied power. Without --commit the block's own last_commit (for the previous height) is verified instead, assuming the same validators. What cannot be checked is reported as skipped.

        Exit status: 0 valid, 1 invalid (a mismatch or a failed signature), 2 unreadable input.

        Example:
          syncreplay block verify \\
            --block ../shared/fixtures/cometbft-v0.34/block_at_height_10.json \\
            --commit ../shared/fixtures/cometbft-v0.34/commit_at_height_10.json \\
            --validators ../shared/fixtures/cometbft-v0.34/genesis.json
        """
    )

    @Option(name: .long, help: "A /block RPC response (JSON).")
    var block: String

    @Option(name: .long, help: "A /commit RPC response for the same height (JSON).")
    var commit: String?

    @Option(name: .long, help: "A /validators or /genesis RPC response, or a genesis.json.")
    var validators: String?

    @Flag(name: .long, help: "Verify as tendermint v0.34 does (no validator address check).")
    var tendermintV034 = false

    func run() throws {
        guard case .block(let b, let reportedID) = try Self.read(block, flag: "--block") else {
            throw CommandFailure.badInput("--block \(block): not a /block response")
        }
        var signed: (header: Header, commit: Commit)?
        if let commit {
            guard case .commit(let header, let c) = try Self.read(commit, flag: "--commit") else {
                throw CommandFailure.badInput("--commit \(commit): not a /commit response")
            }
            signed = (header, c)
        }
        var set: ValidatorSet?
        var genesis: Genesis?
        if let validators {
            switch try Self.read(validators, flag: "--validators") {
            case .validators(_, let v): set = v
            case .genesis(let g):
                set = g.validators
                genesis = g
            default: throw CommandFailure.badInput("--validators \(validators): not a /validators or genesis response")
            }
        }
        let check = BlockCheck(block: b, reportedBlockID: reportedID, commit: signed, validators: set, genesis: genesis,
                               options: tendermintV034 ? .tendermintV034 : .cometbft)
        print("block \(b.header.height) of chain \(b.header.chainID) (\(block))")
        for f in check.findings {
            let mark: String
            switch f.outcome {
            case .ok: mark = "ok      "
            case .failed: mark = "MISMATCH"
            case .skipped(let why): mark = "skipped " ; print("  \(mark) \(f.name): \(f.detail) (\(why))"); continue
            }
            print("  \(mark) \(f.name): \(f.detail)")
        }
        if let tally = check.tally, let height = check.commitHeight {
            print("signatures for height \(height):")
            for s in check.signatures {
                print("  #\(s.index) \(s.address.isEmpty ? "-" : Hex.upper(s.address)) \(s.flag): \(Self.describe(s.verdict, index: s.index))")
            }
            print("tallied \(tally.tallied) of \(tally.total) voting power for the block (needs more than \(tally.needed)): "
                + (tally.hasQuorum ? "+2/3" : "NOT +2/3"))
        }
        guard check.isValid else { throw CommandFailure.problems("block \(b.header.height) is INVALID") }
        let skipped = check.findings.filter { if case .skipped = $0.outcome { return true } else { return false } }.count
        print("block \(b.header.height) is valid" + (skipped == 0 ? "" : " as far as checked (\(skipped) checks skipped)"))
    }

    static func describe(_ v: SignatureVerdict, index: Int) -> String {
        switch v {
        case .absent: return "absent"
        case .validCommit(let p): return "valid (power \(p))"
        case .validNil(let p): return "valid nil vote (power \(p), not counted)"
        case .badSignature: return "BAD SIGNATURE"
        case .wrongAddress(let e): return "WRONG ADDRESS (validator #\(index) is \(Hex.upper(e)))"
        case .noValidator: return "NO VALIDATOR at this index"
        }
    }

    static func read(_ path: String, flag: String) throws -> RPCDocument {
        let data: [UInt8]
        do { data = try InputFile.read(path, what: "file") } catch { throw CommandFailure.badInput("\(flag) \(path): \(error.reason)") }
        do {
            return try RPCJSON.parse(data)
        } catch {
            throw CommandFailure.badInput("\(flag) \(path): \(error.description)")
        }
    }
}
