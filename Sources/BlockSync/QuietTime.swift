import SyncMachine

// Issue 20: how long the v0 reactor's own timers reach, for `doctor`'s quiet-gap warning.
extension BlockSyncProfile {
    /// The longest of the reactor's and pool's timers (specs/cometbft-blocksync.md §2.3–§2.6,
    /// §2.10, §3.4): past it, a quiet node's state can no longer change by itself, only its
    /// periodic status broadcast repeats.
    public var longestTimer: Nanoseconds {
        var timers = [requestInterval, peerTimeout, trySyncInterval, statusUpdateInterval, switchToConsensusInterval]
        if let retry = requestRetry { timers.append(retry) }
        if let ban = banDuration { timers.append(ban) }
        if case .paced(let wait) = requesterCreation { timers.append(wait) }
        if case .poolHeightNearMaxOrStalled(let timeout) = caughtUp { timers.append(timeout) }
        return timers.max() ?? 0
    }

    /// `doctor` warns about a gap between consecutive events longer than this many times the
    /// longest timer (30 × 60 s: half an hour).
    public static let quietGapFactor: UInt64 = 30
}
