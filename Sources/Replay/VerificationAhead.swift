import CometWire
import Foundation
import SyncMachine
import WorkAhead

/// Both cores (issue 19 item 3): a worker thread verifies the commit signatures of the blocks a
/// trace delivers, ahead of the machine, and the machine's `VerifiedSignatures` asks it before
/// running ed25519 itself (`SignatureOracle`).
///
/// - The worker walks the inbound `BlockResponse`s in trace order, decodes the `LastCommit` of
///   each block (`BlocksyncMessage.lastCommit(inBlockResponse:)`, nothing else of it) and
///   checks every non-absent signature of its `LastCommit` — the core's sign bytes
///   (`CommitSignBytes`), the validator's key looked up by address in the start state's sets
///   (a signer it does not know is left to the core) — and publishes each valid triple.
/// - The machine consumes in its own order and never waits: a triple not published (yet) is
///   verified by the core as without the worker. Only triples the worker found valid are
///   answered, so every decision, error and early stop is the same with any core count.
/// - Bounded: at most `capacity` triples wait; the worker waits while that many do. A hit
///   removes its triple; the core's commit height says how far the checks have come, and
///   triples of commits more than one below it (blocks never applied, duplicates) are dropped, so stale
///   entries cannot stall the worker. The worker leaves alone a commit the core has reached
///   or is about to reach (`margin`) — it skips it, or abandons it midway: the core verifies
///   what it still needs there, and two threads verifying the same signatures would only
///   waste a core.
/// - `stop()` ends the worker and waits for its thread (the replay calls it on every exit).
/// - With a `SignatureMemory` (several replays in one process), the worker skips a triple the
///   memory holds (the core's lookup that misses here asks the memory), remembers what it
///   verified, and the core's own verifications go through to the memory as well.
public final class VerificationAhead: SignatureOracle, @unchecked Sendable {

    /// What the worker and the core did, for tests and benchmarks.
    public struct Statistics: Sendable, Equatable {
        /// Signatures the worker verified (valid or not).
        public var verified = 0
        /// Valid triples published.
        public var published = 0
        /// Core lookups answered / not answered.
        public var hits = 0
        public var misses = 0
        /// Published triples dropped unused (their commit was passed).
        public var dropped = 0
        /// Block commits skipped: already passed or already seen.
        public var skippedCommits = 0
        /// Triples the `SignatureMemory` already held: neither verified nor published here.
        public var remembered = 0
    }

    /// Whether replays verify ahead unless told otherwise: on when more than one core is
    /// available; the environment variable `SYNCREPLAY_VERIFY_AHEAD` = `0` turns it off and
    /// `1` on (for measuring).
    public static var isEnabledByDefault: Bool {
        WorkAhead.isEnabled(overriddenBy: "SYNCREPLAY_VERIFY_AHEAD")
    }

    /// The most triples waiting to be consumed.
    public let capacity: Int
    private let chainID: String
    /// ed25519 keys of the start state's validator sets, by address.
    private let keys: [[UInt8]: (raw: [UInt8], prepared: SignatureCheck.PreparedKey)]
    /// The trace whose inbound BlockResponses the worker reads, in a pass of its own (a
    /// streamed trace's file opened again on the worker's thread).
    private let trace: ReplayTrace
    /// Earlier replays' valid signatures (nil: this replay's only).
    private let memory: SignatureMemory?

    // Guarded by `condition`.
    private let condition = NSCondition()
    private var waiting: [SignatureTriple: Int64] = [:]
    /// Published triples with their commit heights, oldest first from `head` (for dropping).
    private var order: [(triple: SignatureTriple, height: Int64)] = []
    private var head = 0
    /// The highest commit height the core has asked about; commits below `passed - 1` are done
    /// (the pair check of (H, H+1) asks about commit H, then `ValidateBlock(H)` about H-1).
    private var passed: Int64 = 0
    private var stopped = false
    private var finished = false
    private var stats = Statistics()

    /// Starts the worker over `trace` for a node starting from `start`. `capacity`: the most
    /// triples waiting (default: 64 blocks' worth of the start set, at least 256, at most 16,384).
    public init(start: NodeStart, trace: ReplayTrace, capacity: Int? = nil, memory: SignatureMemory? = nil) {
        var keys: [[UInt8]: (raw: [UInt8], prepared: SignatureCheck.PreparedKey)] = [:]
        let sets = [start.state.lastValidators, start.state.validators, start.state.nextValidators]
            + (start.stateSync.map { [$0.state.validators, $0.state.nextValidators] } ?? [])
        for validator in sets.flatMap(\.validators) where keys[validator.address] == nil {
            if case .ed25519(let raw) = validator.pubKey, let key = SignatureCheck.PreparedKey(validator.pubKey) {
                keys[validator.address] = (raw, key)
            }
        }
        self.keys = keys
        self.chainID = start.state.chainID
        self.trace = trace
        self.memory = memory
        self.capacity = max(1, capacity ?? min(16_384, max(256, 64 * start.state.validators.validators.count)))
        let thread = Thread { [self] in work() }
        thread.name = "syncreplay verify-ahead"
        thread.start()
    }

    /// Ends the worker and waits until its thread has returned. Idempotent.
    public func stop() {
        condition.lock()
        stopped = true
        condition.broadcast()
        while !finished { condition.wait() }
        condition.unlock()
    }

    /// Waits until the worker has read every message (or was stopped); for tests.
    public func waitUntilDone() {
        condition.lock()
        while !finished { condition.wait() }
        condition.unlock()
    }

    public var statistics: Statistics {
        condition.lock()
        defer { condition.unlock() }
        return stats
    }

    // MARK: the core's side

    public func isKnownValid(_ triple: SignatureTriple, height: Int64) -> Bool {
        condition.lock()
        defer { condition.unlock() }
        if height > passed {
            passed = height
            dropPassed()
        }
        guard waiting.removeValue(forKey: triple) != nil else {
            stats.misses += 1
            return memory?.contains(triple) ?? false
        }
        stats.hits += 1
        condition.broadcast()
        return true
    }

    public func didVerify(_ triple: SignatureTriple) {
        memory?.didVerify(triple)
    }

    /// Drops published triples of commits the core has passed (lock held).
    private func dropPassed() {
        var freed = false
        while head < order.count, order[head].height < passed - 1 {
            let (triple, height) = order[head]
            if waiting[triple] == height {
                waiting[triple] = nil
                stats.dropped += 1
                freed = true
            }
            head += 1
        }
        if head >= 1024, head * 2 >= order.count {
            order.removeFirst(head)
            head = 0
        }
        if freed { condition.broadcast() }
    }

    // MARK: the worker

    private func work() {
        defer {
            condition.lock()
            finished = true
            condition.broadcast()
            condition.unlock()
        }
        var seen = Set<SeenCommit>()
        var seenFloor: Int64 = .min
        // A read error just ends the pass: the core then verifies the rest on its own.
        var stream = try? trace.eventStream()
        while let event = try? stream?.next() {
            guard case .blocksync(_, true, let bytes) = event.body,
                  let commit = BlocksyncMessage.lastCommit(inBlockResponse: bytes), !commit.signatures.isEmpty else { continue }
            let floor: Int64
            do {
                condition.lock()
                defer { condition.unlock() }
                if stopped { return }
                floor = passed - 1
                if commit.height <= leftToCore || !seen.insert(SeenCommit(height: commit.height, blockID: commit.blockID)).inserted {
                    stats.skippedCommits += 1
                    continue
                }
            }
            if floor > seenFloor &+ 1024 {
                seen = seen.filter { $0.height >= floor }
                seenFloor = floor
            }
            guard verify(commit) else { return }
        }
    }

    /// Whether the core has asked about `commit`'s height or a later one (it verifies what it
    /// still needs there itself, so verifying it here would only duplicate the work).
    private func reached(_ commit: Commit) -> Bool {
        condition.lock()
        defer { condition.unlock() }
        return commit.height <= leftToCore
    }

    /// Commits up to this height are the core's (lock held): those it asked about, and the
    /// next `margin` once it has started asking.
    private var leftToCore: Int64 { passed > 0 ? passed &+ Self.margin : passed }

    /// How far ahead of the core's latest commit the worker leaves commits to the core: the
    /// next one is about to be checked there, and racing the core on it would verify it
    /// twice. When the worker has fallen behind it thus jumps past the core, and the two
    /// verify different commits (issue 19: 465 of 7,667 verifications were wasted that way).
    static let margin: Int64 = 1

    /// A commit the worker has handled (a block delivered twice is checked once).
    private struct SeenCommit: Hashable {
        var height: Int64
        var blockID: BlockID
    }

    /// Verifies and publishes `commit`'s signatures; false once stopped.
    private func verify(_ commit: Commit) -> Bool {
        let signBytes = CommitSignBytes(commit: commit, chainID: chainID)
        for (i, sig) in commit.signatures.enumerated() where sig.blockIDFlag != .absent {
            guard let (raw, key) = keys[sig.validatorAddress] else { continue }
            if reached(commit) { return true }  // the core is checking this commit itself: do not race it
            let message = signBytes.bytes(i)
            let triple = SignatureTriple(key: raw, message: message, signature: sig.signature)
            if let memory, memory.contains(triple) {
                // The core's lookup finds it there too (`isKnownValid`): nothing to publish.
                condition.lock()
                stats.remembered += 1
                condition.unlock()
                continue
            }
            let valid = key.verify(sig.signature, message: message)
            if valid { memory?.didVerify(triple) }
            condition.lock()
            defer { condition.unlock() }
            stats.verified += 1
            guard valid else { continue }
            while waiting.count >= capacity && !stopped && commit.height > passed { condition.wait() }
            if stopped { return false }
            if commit.height <= passed { return true }  // the core reached this commit while we waited
            if waiting.updateValue(commit.height, forKey: triple) == nil {
                order.append((triple, commit.height))
                stats.published += 1
            }
        }
        return true
    }
}
