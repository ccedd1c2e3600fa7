import CometP2P
import Foundation
import WorkAhead

/// One batch of a direction's work, run once: opening its frames and decoding their plaintext
/// (`SecretBatchJob`), on a worker thread or on the capture's own.
public protocol FrameBatchJob: AnyObject, Sendable {
    /// A part of the job that may run on any thread before `run()` (opening some of the frames:
    /// that needs nothing of the direction's decoder); calling it again does nothing more.
    func prepare()
    /// The rest of the job, whether `prepare()` ran or not.
    func run()
}

/// Where a capture's SecretConnection frames are opened and decoded (issue 19: both cores). The
/// decoder of a direction gathers whole sealed frames into batches (`FrameOpener.takeFrames`),
/// hands each over as a job, and collects the jobs later, in stream order; every decoded item
/// carries the capture step that completed it, so where and when a job ran cannot show in the
/// trace. A direction hands over its jobs in stream order and collects each before the next, so
/// no two of its jobs run at once.
public protocol FrameBatchOpening: AnyObject, Sendable {
    /// Whole frames a direction gathers before it hands them over as one batch.
    var framesPerBatch: Int { get }
    /// Jobs a direction may have handed over and not collected yet.
    var batchesAhead: Int { get }
    /// `job` will be collected later: start it, if this opener works ahead.
    func submit(_ job: FrameBatchJob)
    /// Returns once `job` has run (on the caller's thread, if no worker runs it).
    func waitUntilDone(_ job: FrameBatchJob)
}

/// Frames opened and decoded on the capture's own thread, a batch of at most 16 frames at a time
/// (whole frames are gathered while fewer have arrived).
public final class FramesOpenedInPlace: FrameBatchOpening {
    public init() {}
    public var framesPerBatch: Int { 16 }
    public var batchesAhead: Int { 0 }
    public func submit(_ job: FrameBatchJob) {}
    public func waitUntilDone(_ job: FrameBatchJob) { job.run() }
}

/// A worker thread that runs submitted jobs (opening and decoding batches of frames), one at a
/// time, oldest first, while the capture goes on reading and reassembling on its own thread. The
/// capture waits for a job it needs; it never runs one itself while the worker lives, since the
/// worker may already be on the same direction's next job (jobs of a direction share its decoder).
/// `stop()` ends the worker and waits for its thread; call it when the capture is done.
public final class FramesOpenedAhead: FrameBatchOpening, @unchecked Sendable {
    /// Whether captures open frames ahead unless told otherwise: on when more than one core is
    /// available; the environment variable `SYNCCAPTURE_OPEN_AHEAD` = `0` turns it off and `1` on
    /// (for measuring).
    public static var isEnabledByDefault: Bool {
        WorkAhead.isEnabled(overriddenBy: "SYNCCAPTURE_OPEN_AHEAD")
    }

    public let framesPerBatch: Int
    public let batchesAhead: Int

    private enum State { case queued, running, done }

    // Guarded by `condition`.
    private let condition = NSCondition()
    private var queue: [FrameBatchJob] = []
    private var head = 0
    private var states: [ObjectIdentifier: State] = [:]
    private var stopped = false
    private var finished = false

    /// `framesPerBatch`: 256 frames (about 267 KB of ciphertext) keep the hand-over cost small
    /// beside opening and decoding them; `batchesAhead`: two jobs per direction in flight while
    /// the next batch fills, so the worker has the next one at hand.
    public init(framesPerBatch: Int = 256, batchesAhead: Int = 2) {
        precondition(framesPerBatch > 0 && batchesAhead > 0)
        self.framesPerBatch = framesPerBatch
        self.batchesAhead = batchesAhead
        let thread = Thread { [self] in work() }
        thread.name = "synccapture open-ahead"
        thread.start()
    }

    /// When the worker has not started a job handed over earlier, it is behind the capture, and
    /// the capture thread prepares this one (opens half its frames) before handing it over: the
    /// load balances between the cores without either taking a job the other may be running.
    public func submit(_ job: FrameBatchJob) {
        condition.lock()
        let behind = head < queue.count
        condition.unlock()
        if behind { job.prepare() }
        condition.lock()
        defer { condition.unlock() }
        states[ObjectIdentifier(job)] = .queued
        queue.append(job)
        condition.broadcast()
    }

    public func waitUntilDone(_ job: FrameBatchJob) {
        let id = ObjectIdentifier(job)
        condition.lock()
        while true {
            switch states[id] {
            case .queued? where finished:
                // The worker has stopped: run it here (nothing else runs now).
                states[id] = .running
                condition.unlock()
                job.run()
                condition.lock()
                states[id] = .done
            case .queued?, .running?:
                condition.wait()
                continue
            case .done?, nil:
                break
            }
            break
        }
        states[id] = nil
        condition.unlock()
    }

    /// Ends the worker and waits until its thread has returned. Idempotent.
    public func stop() {
        condition.lock()
        stopped = true
        condition.broadcast()
        while !finished { condition.wait() }
        condition.unlock()
    }

    private func work() {
        condition.lock()
        defer {
            finished = true
            condition.broadcast()
            condition.unlock()
        }
        while true {
            while head == queue.count && !stopped { condition.wait() }
            if stopped { return }
            let job = queue[head]
            head += 1
            if head >= 64, head * 2 >= queue.count {
                queue.removeFirst(head)
                head = 0
            }
            let id = ObjectIdentifier(job)
            states[id] = .running
            condition.unlock()
            job.run()
            condition.lock()
            states[id] = .done
            condition.broadcast()
        }
    }
}

extension FramesOpenedAhead {
    /// Runs `body` with the default frame opening: ahead on a second core when
    /// `isEnabledByDefault`, else in place; the worker is stopped when `body` returns or throws.
    public static func withDefault<R>(_ body: (FrameBatchOpening) throws -> R) rethrows -> R {
        guard isEnabledByDefault else { return try body(FramesOpenedInPlace()) }
        let ahead = FramesOpenedAhead()
        defer { ahead.stop() }
        return try body(ahead)
    }
}
