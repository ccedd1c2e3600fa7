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
///
/// Issue 19 item 3: an optional `oracle` (a shell's worker that verified signatures ahead, on
/// another core) is asked before ed25519 runs; it answers true only for a triple it verified
/// itself, so outcomes cannot change, only who paid for the verification.
public struct VerifiedSignatures: Sendable {
    /// How many signatures it remembers at most.
    public var capacity: Int { known.capacity }
    /// Memory is `capacity` entries however many signatures go through (issue 19).
    private var known: RecentSet<SignatureTriple>
    /// Verifications answered from memory / done by ed25519 (for benchmarks and tests).
    public private(set) var hits = 0
    public private(set) var verifications = 0
    /// Verifications answered by `oracle` (then remembered like a verification of our own).
    public private(set) var oracleHits = 0
    /// Asked before verifying a triple not in memory; nil: every miss runs ed25519 here.
    public var oracle: (any SignatureOracle)?

    /// `capacity`: the default keeps two commits of a 10,000-validator set.
    public init(capacity: Int = 20_000, oracle: (any SignatureOracle)? = nil) {
        known = RecentSet(capacity: capacity)
        self.oracle = oracle
    }

    /// `SignatureCheck.verify`, answered from memory when this exact triple verified before,
    /// else by `oracle` when it verified it; `height` is the commit's (it tells the oracle how
    /// far the checks have come).
    public mutating func verify(_ signature: [UInt8], message: [UInt8], key: PublicKey, height: Int64 = 0) -> Bool {
        guard case .ed25519(let raw) = key else { return SignatureCheck.verify(signature, message: message, key: key) }
        let entry = SignatureTriple(key: raw, message: message, signature: signature)
        if known.contains(entry) {
            hits += 1
            return true
        }
        if let oracle, oracle.isKnownValid(entry, height: height) {
            oracleHits += 1
            known.insert(entry)
            return true
        }
        verifications += 1
        guard SignatureCheck.verify(signature, message: message, key: key) else { return false }
        known.insert(entry)
        oracle?.didVerify(entry)
        return true
    }

}

/// A set of at most `capacity` members, the oldest forgotten first: the signature caches'
/// memory (`VerifiedSignatures`, `Replay.SignatureMemory`) stays bounded however many
/// signatures go through (issue 19).
public struct RecentSet<Member: Hashable & Sendable>: Sendable {
    public let capacity: Int
    private var members: Set<Member> = []
    /// The members in a ring, `next` the slot of the oldest once it is full.
    private var ring: [Member] = []
    private var next = 0

    public init(capacity: Int) { self.capacity = max(1, capacity) }

    public var count: Int { members.count }

    public func contains(_ member: Member) -> Bool { members.contains(member) }

    /// Adds `member` (one already held keeps its place); when full, the oldest goes.
    public mutating func insert(_ member: Member) {
        guard !members.contains(member) else { return }
        if ring.count < capacity {
            ring.append(member)
        } else {
            members.remove(ring[next])
            ring[next] = member
            next = (next + 1) % capacity
        }
        members.insert(member)
    }
}

/// Issue 19 item 3: who may have verified a signature already — a shell's worker that checks
/// the signatures of blocks ahead of the core, on another thread. The core never waits for it:
/// a triple it has not (yet) verified is simply verified by the core.
///
/// Contract: answer true only for the exact (ed25519 key, sign bytes, signature) triple the
/// oracle itself found valid with `SignatureCheck.verify`; then a hit can never accept
/// anything the core would reject, and decisions, errors and their order cannot change.
public protocol SignatureOracle: Sendable, AnyObject {
    /// Whether this triple was verified as valid; `height` is the height of the commit the core
    /// is checking (checks come in roughly increasing height, so the oracle may forget below it).
    func isKnownValid(_ triple: SignatureTriple, height: Int64) -> Bool
    /// The core verified `triple` as valid with ed25519 itself (an oracle shared by several
    /// replays remembers it for the others; the default ignores it).
    func didVerify(_ triple: SignatureTriple)
}

extension SignatureOracle {
    public func didVerify(_ triple: SignatureTriple) {}
}

/// An ed25519 public key, the exact sign bytes and a signature: what a verification cache
/// remembers as valid. Equality compares all three in full (a hit can never accept anything a
/// verifier would reject). The hash covers all three byte strings — a hostile trace may carry
/// many valid triples with one signature (small-order keys) and must not make lookups slow —
/// and is computed once, when the triple is made: one triple goes through up to five tables
/// (the machine's cache, the verifier ahead, the process memory; lookups and inserts), and
/// hashing its ~200 bytes each time was a tenth of the core's own work on a 100-validator
/// chain (issue 19).
public struct SignatureTriple: Hashable, Sendable {
    public let key: [UInt8]
    public let message: [UInt8]
    public let signature: [UInt8]
    /// The bytes' hash under this process's seed (`Hasher`), taken at `init`.
    private let digest: Int

    public init(key: [UInt8], message: [UInt8], signature: [UInt8]) {
        self.key = key
        self.message = message
        self.signature = signature
        var hasher = Hasher()
        hasher.combine(message.count)
        signature.withUnsafeBytes { hasher.combine(bytes: $0) }
        message.withUnsafeBytes { hasher.combine(bytes: $0) }
        key.withUnsafeBytes { hasher.combine(bytes: $0) }
        digest = hasher.finalize()
    }

    public func hash(into hasher: inout Hasher) {
        hasher.combine(digest)
    }

    public static func == (a: SignatureTriple, b: SignatureTriple) -> Bool {
        a.digest == b.digest && a.signature == b.signature && a.message == b.message && a.key == b.key
    }
}
