import Foundation
import WorkAhead

/// Both cores for reading (issue 19): a worker thread runs an `MCAPScanner` ahead of the
/// reader — the `pread` of each window and the CRC of each chunk's records — and hands over
/// what each step gave, in file order, with the scanner's state after it.
///
/// - The reader's scanner takes the steps as they come (`MCAPScanner.next()`), so records,
///   CRC checks, errors and the offsets in them are the ones a scan of its own gives, in the
///   same order; only where the work runs differs. The worker stops after the step that ends
///   the scan (nil or an error), and the reader's scanner then goes on by itself (a torn
///   chunk is read from its position).
/// - Bounded: at most `maxSteps` steps, and at most `maxBytes` of records, wait.
/// - A copy of the scanner (the scanner is a value) stops taking steps and scans by itself
///   from its position, so each copy reads the same records as before the copy was made.
/// - Dropping the scanner ends the worker: the handle's `deinit` cancels it.
final class MCAPScanAhead {
    /// The scanner's state after a step: what a scan of its own would hold there.
    struct Progress {
        var position: UInt64
        var dataCRC: CRC32
        var sawFooter: Bool
        var sawDataEnd: Bool
        var dataSectionCRC: UInt32?
    }

    /// One step of the worker's scan.
    struct Step {
        var result: Result<MCAPScannedRecord?, any Error>
        var progress: Progress
        /// The record's length (0 for the last step), counted against `maxBytes`.
        var bytes: Int
    }

    /// Whether `TraceReader.events()` reads ahead unless told otherwise: on when more than one
    /// core is available; the environment variable `SYNCREPLAY_READ_AHEAD` = `0` turns it off
    /// and `1` on (for measuring).
    static var isEnabledByDefault: Bool {
        WorkAhead.isEnabled(overriddenBy: "SYNCREPLAY_READ_AHEAD")
    }

    /// Files smaller than this are read without a worker (a few windows: the thread would
    /// cost more than it saves).
    static let minimumSize: UInt64 = 4 << 20

    static let maxSteps = 4
    static let maxBytes = 4 << 20

    private let queue: Queue

    /// Starts a worker that scans on from `scanner`'s state (which must have no worker).
    init(continuing scanner: MCAPScanner) {
        let queue = Queue(start: scanner)
        self.queue = queue
        let thread = Thread { queue.work() }
        thread.name = "syncreplay read-ahead"
        thread.start()
    }

    /// The worker's next step, waiting for it when it is not ready.
    func take() -> Step { queue.take() }

    deinit { queue.cancel() }

    /// What the worker and the reader share, guarded by `condition`.
    private final class Queue: @unchecked Sendable {
        private let condition = NSCondition()
        private var steps: [Step] = []
        private var bytes = 0
        private var cancelled = false
        /// The state the worker scans on from: set before its thread starts, taken (and let go
        /// of, with the window it holds) by the worker when it starts.
        private var start: MCAPScanner?

        init(start: MCAPScanner) { self.start = start }

        func take() -> Step {
            condition.lock()
            defer { condition.unlock() }
            while steps.isEmpty { condition.wait() }
            // At most `maxSteps` wait, so taking the first moves a few values.
            let step = steps.removeFirst()
            bytes -= step.bytes
            condition.signal()
            return step
        }

        func cancel() {
            condition.lock()
            cancelled = true
            condition.broadcast()
            condition.unlock()
        }

        func work() {
            guard var scanner = start else { return }
            start = nil
            while true {
                condition.lock()
                while !cancelled && (steps.count >= MCAPScanAhead.maxSteps || bytes >= MCAPScanAhead.maxBytes) {
                    condition.wait()
                }
                let stop = cancelled
                condition.unlock()
                if stop { return }
                let result: Result<MCAPScannedRecord?, any Error>
                do { result = .success(try scanner.next()) } catch { result = .failure(error) }
                var size = 0
                if case .success(let record?) = result { size = Int(clamping: record.length) }
                let step = Step(result: result, progress: scanner.progress, bytes: size)
                condition.lock()
                steps.append(step)
                bytes += size
                condition.signal()
                condition.unlock()
                guard case .success(.some) = result else { return }
            }
        }
    }
}
