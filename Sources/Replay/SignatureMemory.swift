import CometWire
import Synchronization

/// Signatures found valid by any replay of this process, for the replays after it (issue 19:
/// each signature verified once). A suite replays one trace under several profiles, `diff`
/// into several implementations and `reduce` hundreds of times: the commits are the same, so
/// their signatures are verified by the first replay and remembered for the rest.
///
/// Like `VerifiedSignatures` it remembers only triples `SignatureCheck.verify` accepted, and
/// answers by comparing the whole triple, so a replay's decisions, errors and their order are
/// the same with it or without it, whichever replay ran first and on whichever thread; only
/// who paid for a verification changes. Bounded: at most `capacity` triples, the oldest
/// forgotten first. Safe to share between threads (`suite --jobs`).
public final class SignatureMemory: SignatureOracle, Sendable {
    private let state: Mutex<(known: RecentSet<SignatureTriple>, hits: Int)>

    /// `capacity`: the default (32,768, about 12 MB of 110-byte sign bytes) holds every commit
    /// signature of a 10,000-block one-validator trace three times over.
    public init(capacity: Int = 32_768) {
        state = Mutex((RecentSet(capacity: capacity), 0))
    }

    /// How many triples it keeps at most.
    public var capacity: Int { state.withLock { $0.known.capacity } }

    /// Lookups answered so far.
    public var hits: Int { state.withLock { $0.hits } }
    /// Triples held now.
    public var count: Int { state.withLock { $0.known.count } }

    public func isKnownValid(_ triple: SignatureTriple, height: Int64) -> Bool {
        contains(triple)
    }

    public func contains(_ triple: SignatureTriple) -> Bool {
        state.withLock {
            guard $0.known.contains(triple) else { return false }
            $0.hits += 1
            return true
        }
    }

    public func didVerify(_ triple: SignatureTriple) {
        state.withLock { $0.known.insert(triple) }
    }
}
