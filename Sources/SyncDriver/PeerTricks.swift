import CometWire
import SyncMachine

/// Misbehaviours and link models shared by the peer sources that serve a chain (the
/// simulator's scripted peers, the loopback peers of the tests and the bench).
public enum PeerTricks {
    /// The block with its header's app hash changed after signing: the committed block ID no
    /// longer matches it (syncsim's `wrong_hash`).
    public static func tamperedAfterSigning(_ block: Block) -> Block {
        var tampered = block
        tampered.header.appHash = Array(repeating: 0xAB, count: 32)
        return tampered
    }
}

/// A slow serial link: answers leave one after another, each occupying the link for the
/// peer's service time.
public struct SerialLink: Sendable {
    /// When the link is free again.
    public private(set) var free: Nanoseconds = 0

    public init() {}

    /// When an answer ready at `now` leaves, occupying the link for `serviceTime`.
    public mutating func departure(at now: Nanoseconds, serviceTime: Nanoseconds) -> Nanoseconds {
        free = max(now, free) &+ serviceTime
        return free
    }
}

/// Requests lost once: the first request for each listed height is lost on the way (a
/// `TrySend` dropped on a full queue, tm #9518); later requests for it get through.
public struct LoseOnce: Sendable, Equatable {
    private var lost: Set<Int64> = []

    public init() {}

    /// Whether this request for `height`, listed as lost once or not, is the one lost.
    public mutating func loses(_ height: Int64, listed: Bool) -> Bool {
        listed && lost.insert(height).inserted
    }
}
