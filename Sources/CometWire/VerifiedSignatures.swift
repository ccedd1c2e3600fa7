/// A bounded memory of ed25519 signatures already found valid (issue 19 item 2): the key, the
/// exact sign bytes and the signature. The originals verify the same commit more than once
/// (cometbft #1830): block sync checks block H's `LastCommit` of H+1 with `VerifyCommitLight`
/// while authenticating the pair (H, H+1), and `ValidateBlock(H+1)` checks the same commit again
/// at the next pair. We reproduce the *outcome* of every check — the same errors, in the same
/// order, after the same early stops — but not its cost: a signature found valid before is not
/// verified again.
///
/// Only successes are remembered (a failed check ends the pair, and an invalid signature must
/// fail again). Lookups compare the whole triple, so a hit can never accept anything a verifier
/// would reject. Memory is bounded by `capacity` entries; the oldest are forgotten first. The
/// cache never influences output order: it is consulted only as "known valid" or not.
public struct VerifiedSignatures: Sendable {
    struct Entry: Hashable, Sendable {
        var key: [UInt8]
        var message: [UInt8]
        var signature: [UInt8]
    }

    /// How many signatures it remembers at most.
    public let capacity: Int
    private var known: Set<Entry> = []
    /// The remembered entries in a ring, `next` the slot of the oldest once it is full: memory
    /// is `capacity` entries however many signatures go through (issue 19).
    private var ring: [Entry] = []
    private var next = 0
    /// Verifications answered from memory / done by ed25519 (for benchmarks and tests).
    public private(set) var hits = 0
    public private(set) var verifications = 0

    /// `capacity`: the default keeps two commits of a 10,000-validator set.
    public init(capacity: Int = 20_000) {
        self.capacity = max(1, capacity)
    }

    /// `SignatureCheck.verify`, answered from memory when this exact triple verified before.
    public mutating func verify(_ signature: [UInt8], message: [UInt8], key: PublicKey) -> Bool {
        guard case .ed25519(let raw) = key else { return SignatureCheck.verify(signature, message: message, key: key) }
        let entry = Entry(key: raw, message: message, signature: signature)
        if known.contains(entry) {
            hits += 1
            return true
        }
        verifications += 1
        guard SignatureCheck.verify(signature, message: message, key: key) else { return false }
        remember(entry)
        return true
    }

    private mutating func remember(_ entry: Entry) {
        guard ring.count >= capacity else {
            known.insert(entry)
            ring.append(entry)
            return
        }
        known.remove(ring[next])
        known.insert(entry)
        ring[next] = entry
        next = (next + 1) % capacity
    }
}
