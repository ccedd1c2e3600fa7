import ArgumentParser
import CometWire
import Crypto

/// `syncreplay bench wire`: blocks/s for what blocksync does per block (decode the
/// BlockResponse, hash the block and its part set, VerifyCommitLight of its commit), next to
/// swift-crypto's raw ed25519 verify rate measured in the same run.
struct BenchWire: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "wire",
        abstract: "Blocks/s for decode + hash + VerifyCommitLight with 4, 32 and 150 validators.",
        discussion: """
        Builds a deterministic chain per validator count (ChainBuilder, equal powers), then repeatedly decodes each block's BlockResponse bytes, recomputes its BlockID (header hash + 65,536-byte part set) and verifies it with the next block's LastCommit, as the reactor does per applied block; the last three columns split the time per block. The physical reference is swift-crypto's raw ed25519 verification rate, measured in the same run; "bound" is that rate divided by the signatures VerifyCommitLight must check (just over 2/3 of the validators).

        Example:
          swift build -c release
          .build/release/syncreplay bench wire --seconds 2
        """
    )

    @Option(help: "Minimum measuring time per row, in seconds.")
    var seconds: Double = 1

    @Option(help: "Transactions per block (each ~30 bytes).")
    var txs: Int = 100

    @Option(parsing: .upToNextOption, help: "Validator counts to measure.")
    var validators: [Int] = [4, 32, 150]

    func run() throws {
        guard seconds > 0, txs >= 0, validators.allSatisfy({ $0 > 0 }) else {
            throw ValidationError("--seconds and --validators must be positive, --txs non-negative")
        }
        let verifyRate = BenchReference.ed25519VerifyRate(for: .seconds(seconds))
        print("raw ed25519 verify (swift-crypto, 150 distinct pre-parsed keys): \(Int(verifyRate)) verifies/s")
        print("validators  sigs/block  blocks/s  sigs verified/s  bound (blocks/s)  of bound  decode µs  BlockID µs  verify µs")
        for n in validators {
            let builder = ChainBuilder(.init(seed: Array("bench".utf8), chainID: "bench-chain",
                                             validatorPowers: Array(repeating: 10, count: n), length: 9, txsPerBlock: txs))
            let chain = builder.build()
            let wires = chain.blocks.map { BlocksyncMessage.blockResponse(block: $0, extCommit: nil).encode() }
            let state = chain.genesisState
            let sigsPerBlock = n * 2 / 3 + 1
            var done = 0
            var failures = 0
            let clock = ContinuousClock()
            let start = clock.now
            var elapsed = Duration.zero
            var decodeTime = Duration.zero, hashTime = Duration.zero, verifyTime = Duration.zero
            repeat {
                // Each block is decoded once per pass, as the reactor decodes each response once.
                var previous: Block?
                for wire in wires {
                    let t0 = clock.now
                    guard case .blockResponse(let block, _)? = try? BlocksyncMessage.decode(wire) else { failures += 1; continue }
                    let t1 = clock.now
                    decodeTime += t1 - t0
                    if let first = previous, let commit = block.lastCommit {
                        let id = first.blockID()
                        let t2 = clock.now
                        hashTime += t2 - t1
                        do {
                            try state.validators.verifyCommitLight(chainID: state.chainID, blockID: id, height: first.height, commit: commit)
                        } catch { failures += 1 }
                        verifyTime += clock.now - t2
                        done += 1
                    }
                    previous = block
                }
                elapsed = clock.now - start
            } while elapsed < .seconds(seconds)
            guard failures == 0 else { throw CleanExit.message("bench chain failed verification \(failures) times") }
            let secs = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
            let rate = Double(done) / secs
            let bound = verifyRate / Double(sigsPerBlock)
            print(pad(String(n), 10), pad(String(sigsPerBlock), 11), pad(String(Int(rate)), 9),
                  pad(String(Int(rate * Double(sigsPerBlock))), 16), pad(String(Int(bound)), 17),
                  pad(String(Int((rate / bound * 100).rounded())) + "%", 9),
                  pad(micros(decodeTime, wires.count * passes(done, wires.count)), 10),
                  pad(micros(hashTime, done), 11), pad(micros(verifyTime, done), 10))
        }
    }

    /// Complete passes over the chain, from the number of verified blocks.
    private func passes(_ done: Int, _ blocks: Int) -> Int { max(1, done / max(1, blocks - 1)) }

    /// Mean microseconds per item, one decimal.
    private func micros(_ d: Duration, _ count: Int) -> String {
        let us = (Double(d.components.seconds) * 1e6 + Double(d.components.attoseconds) / 1e12) / Double(max(count, 1))
        return String(Double(Int(us * 10)) / 10)
    }

    private func pad(_ s: String, _ width: Int) -> String {
        s.count >= width ? s : String(repeating: " ", count: width - s.count) + s
    }
}
