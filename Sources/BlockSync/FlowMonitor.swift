import Foundation
import SyncMachine

/// The receive-rate monitor of a pool peer: CometBFT's `libs/flowrate` Monitor as created by
/// `bpPeer.resetMonitor` (`flow.New(1 s sample, 40 s window)` then `SetREMA(minRecvRate·e)`),
/// over the virtual clock (specs/cometbft-blocksync.md §2.1, §2.5).
///
/// Faithful details: the clock is rounded to 20 ms like flowrate's `clock()`; a sample is taken
/// when at least 1 s passed since the last one (`rEMA = r + exp(−t/40)·(rEMA − r)`); the current
/// rate reads as 0 until a first sample exists (`Status().CurRate` needs `Duration > 0`), which is
/// why a freshly (re)started peer is never "too slow".
struct FlowMonitor: Sendable, Equatable {
    static let clockRate: Int64 = 20_000_000
    static let sampleRate: Int64 = 1_000_000_000
    static let window: Double = 40

    private var start: Int64
    private var sampleStart: Int64
    private var sampleBytes: Int64 = 0
    private var samples: Int64 = 0
    private var rateEMA: Double = 0

    /// `flow.New(...)` at `now` followed by `SetREMA(initialRate)`.
    init(now: Nanoseconds, initialRate: Double) {
        let clock = Self.clock(now)
        start = clock
        sampleStart = clock
        rateEMA = initialRate
        samples = 1
    }

    /// flowrate's `clock()`: time rounded to the nearest 20 ms.
    static func clock(_ now: Nanoseconds) -> Int64 {
        let ns = Int64(clamping: now)
        return (ns / clockRate + (ns % clockRate >= clockRate / 2 ? 1 : 0)) &* clockRate
    }

    /// `Update(n)`: account `bytes` received at `now`, closing a sample once 1 s has passed.
    mutating func update(bytes: Int, now: Nanoseconds) {
        let clock = Self.clock(now)
        sampleBytes &+= Int64(bytes)
        let elapsed = clock &- sampleStart
        guard elapsed >= Self.sampleRate else { return }
        let seconds = Double(elapsed) / 1e9
        let sample = Double(sampleBytes) / seconds
        if samples > 0 {
            rateEMA = sample + exp(-seconds / Self.window) * (rateEMA - sample)
        } else {
            rateEMA = sample
        }
        samples &+= 1
        sampleBytes = 0
        sampleStart = clock
    }

    /// The earliest time at which a read or update closes the current sample (the 20 ms clock
    /// rounds half up, so 10 ms before the sample's end already counts).
    var nextSampleTime: Nanoseconds {
        let due = sampleStart &+ Self.sampleRate &- Self.clockRate / 2
        return due <= 0 ? 0 : Nanoseconds(due)
    }

    /// `Status().CurRate` at `now` (takes a zero-byte sample first, as `Status` does).
    mutating func currentRate(now: Nanoseconds) -> Int64 {
        update(bytes: 0, now: now)
        guard sampleStart - start > 0 else { return 0 }
        let rounded = rateEMA.rounded(.toNearestOrAwayFromZero)
        return rounded.isFinite ? Int64(rounded.clamped) : 0
    }
}

private extension Double {
    /// Clamps to the range an Int64 can hold exactly, so conversion never traps.
    var clamped: Double { Swift.min(Swift.max(self, -9.2e18), 9.2e18) }
}
