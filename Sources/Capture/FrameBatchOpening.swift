import CometP2P
import Foundation

/// Where a capture's SecretConnection frames are opened (issue 19: both cores). The decoder of a
/// direction gathers whole sealed frames into batches (`FrameOpener.takeFrames`), hands each to
/// this seam, and reads it later, in stream order, stamping every decoded item with the capture
/// step that completed it: where and when a batch was opened cannot show in the trace.
public protocol FrameBatchOpening: AnyObject, Sendable {
    /// Whole frames a direction gathers before it hands them over as one batch.
    var framesPerBatch: Int { get }
    /// Batches a direction may have handed over and not read yet.
    var batchesAhead: Int { get }
    /// `batch` will be read later: start opening it, if this opener works ahead.
    func submit(_ batch: SealedFrameBatch)
    /// Returns once `batch` is open; opens it on the caller's thread if no one has started it.
    func waitUntilOpen(_ batch: SealedFrameBatch)
}

/// Frames opened on the decoder's own thread as soon as they are whole: the decoder reads every
/// segment's frames before the next segment, as a capture did before batches.
public final class FramesOpenedInPlace: FrameBatchOpening {
    public init() {}
    public var framesPerBatch: Int { 1 }
    public var batchesAhead: Int { 0 }
    public func submit(_ batch: SealedFrameBatch) {}
    public func waitUntilOpen(_ batch: SealedFrameBatch) { batch.open() }
}

/// A worker thread that opens submitted batches, oldest first, while the capture goes on reading,
/// reassembling and decoding on its own thread. A batch the capture needs before the worker has
/// started it is taken back and opened by the capture itself, so neither thread waits for work
/// the other is not doing. `stop()` ends the worker and waits for its thread; call it when the
/// capture is done.
public final class FramesOpenedAhead: FrameBatchOpening, @unchecked Sendable {
    /// Whether captures open frames ahead unless told otherwise: on when more than one core is
    /// available; the environment variable `SYNCCAPTURE_OPEN_AHEAD` = `0` turns it off and `1` on
    /// (for measuring).
    public static var isEnabledByDefault: Bool {
        switch ProcessInfo.processInfo.environment["SYNCCAPTURE_OPEN_AHEAD"] {
        case "0": return false
        case "1": return true
        default: return ProcessInfo.processInfo.activeProcessorCount > 1
        }
    }

    public let framesPerBatch: Int
    public let batchesAhead: Int

    private enum State { case queued, opening, open }

    // Guarded by `condition`.
    private let condition = NSCondition()
    private var queue: [SealedFrameBatch] = []
    private var head = 0
    private var states: [ObjectIdentifier: State] = [:]
    private var stopped = false
    private var finished = false

    /// `framesPerBatch`: 256 frames (about 267 KB of ciphertext) keep the hand-over cost small
    /// beside opening them; `batchesAhead`: one batch per direction in flight while the next fills.
    public init(framesPerBatch: Int = 256, batchesAhead: Int = 1) {
        precondition(framesPerBatch > 0 && batchesAhead > 0)
        self.framesPerBatch = framesPerBatch
        self.batchesAhead = batchesAhead
        let thread = Thread { [self] in work() }
        thread.name = "synccapture open-ahead"
        thread.start()
    }

    public func submit(_ batch: SealedFrameBatch) {
        condition.lock()
        defer { condition.unlock() }
        states[ObjectIdentifier(batch)] = .queued
        queue.append(batch)
        condition.broadcast()
    }

    public func waitUntilOpen(_ batch: SealedFrameBatch) {
        let id = ObjectIdentifier(batch)
        condition.lock()
        switch states[id] {
        case .queued?:
            // Not started: open it here (the worker skips it).
            states[id] = .opening
            condition.unlock()
            batch.open()
            condition.lock()
        case .opening?:
            while states[id] == .opening { condition.wait() }
        case .open?, nil:
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
            let batch = queue[head]
            head += 1
            if head >= 64, head * 2 >= queue.count {
                queue.removeFirst(head)
                head = 0
            }
            let id = ObjectIdentifier(batch)
            guard states[id] == .queued else { continue }  // taken back by the capture
            states[id] = .opening
            condition.unlock()
            batch.open()
            condition.lock()
            states[id] = .open
            condition.broadcast()
        }
    }
}
