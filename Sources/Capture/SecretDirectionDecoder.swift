import CometP2P

/// When the capture saw something: the step (one delivery, gap or end from the TCP tracker,
/// numbered in capture order) and its capture time. Items decoded from batches opened later keep
/// the stamp of the step that completed them, so the trace orders them as if each segment's
/// frames had been opened on arrival.
public struct CaptureStamp: Sendable, Equatable {
    public var step: UInt64
    public var timeNanos: UInt64
    public init(step: UInt64, timeNanos: UInt64) {
        self.step = step
        self.timeNanos = timeNanos
    }
}

/// One decrypting direction of a SecretConnection (§1.2 step 8): ciphertext in, in pieces of
/// any size; items out, each stamped with the step whose bytes completed its last frame. Whole
/// frames go to a `FrameBatchOpening` in batches, each with the steps that fed it, as jobs that
/// open and decode them (`SecretBatchJob`), possibly ahead on another core; the jobs are
/// collected in stream order. What a step yields is what opening its frames on arrival would
/// yield: a step with a frame that does not open, or whose chunk the inner decoder rejects,
/// yields nothing but the failure, and the bytes of later steps count as undecoded.
struct SecretDirectionDecoder {
    /// Why decoding stopped: at which step, with what error, and how many bytes later steps fed.
    struct Failure {
        var stamp: CaptureStamp
        var error: Error
        var laterBytes: UInt64
    }

    private var opener: FrameOpener
    private let reader: SecretStreamReader
    /// Sealed bytes fed so far, and those of the frames taken into batches.
    private var fed: UInt64 = 0
    private var taken: UInt64 = 0
    /// The steps since the last batch was cut: the sealed byte count after each, and its stamp.
    private var steps: [SecretBatchJob.Step] = []
    /// Jobs handed over and not collected yet, oldest first.
    private var ahead: [SecretBatchJob] = []

    init(opener: FrameOpener, inner: InnerStreamDecoder) {
        self.opener = opener
        self.reader = SecretStreamReader(inner: inner)
    }

    /// Appends ciphertext of step `stamp`; hands whole frames over once a batch is full and
    /// collects the jobs beyond those allowed ahead. `emit` gets each finished step's items, in order.
    mutating func feed(_ bytes: UnsafeBufferPointer<UInt8>, at stamp: CaptureStamp, opening: FrameBatchOpening,
                       emit: (CaptureStamp, DecodedItem) -> Void) -> Failure? {
        opener.feed(bytes)
        fed += UInt64(bytes.count)
        steps.append(SecretBatchJob.Step(end: fed, stamp: stamp))
        // Hand over a full batch; so many steps without a whole batch (tiny segments) also cut one,
        // which bounds the step list.
        if opener.bufferedByteCount >= opening.framesPerBatch * SecretConnection.sealedFrameSize
            || steps.count >= 4 * SecretConnection.sealedFrameSize {
            handOver(opening)
        }
        while ahead.count > opening.batchesAhead {
            if let failure = collectOldest(opening, emit: emit) { return failure }
        }
        return nil
    }

    /// Collects every whole frame fed so far (the direction has a gap, ended, or the capture ended).
    mutating func flush(_ opening: FrameBatchOpening, emit: (CaptureStamp, DecodedItem) -> Void) -> Failure? {
        handOver(opening)
        while !ahead.isEmpty {
            if let failure = collectOldest(opening, emit: emit) { return failure }
        }
        return nil
    }

    /// Cuts a batch of the whole frames fed so far, with the steps that fed them.
    private mutating func handOver(_ opening: FrameBatchOpening) {
        guard let batch = opener.takeFrames() else { return }
        let job = SecretBatchJob(batch: batch, start: taken, steps: steps, reader: reader)
        steps.removeAll(keepingCapacity: true)
        opening.submit(job)
        ahead.append(job)
        taken += UInt64(batch.frameCount * SecretConnection.sealedFrameSize)
    }

    private mutating func collectOldest(_ opening: FrameBatchOpening, emit: (CaptureStamp, DecodedItem) -> Void) -> Failure? {
        let job = ahead.removeFirst()
        opening.waitUntilDone(job)
        for (stamp, item) in job.items { emit(stamp, item) }
        guard let failure = job.failure else { return nil }
        ahead.removeAll()
        steps.removeAll()
        return Failure(stamp: failure.step.stamp, error: failure.error, laterBytes: fed - failure.step.end)
    }
}

/// A direction's inner decoder, shared by its batch jobs; they run one at a time, in stream
/// order (`FrameBatchOpening`). After a failure, later jobs leave it alone.
final class SecretStreamReader: @unchecked Sendable {
    /// Held here between jobs; a running job has it out (`take`), so decoding its frames touches
    /// a local value, not this shared object once per frame.
    private var inner: InnerStreamDecoder?
    var failed = false

    init(inner: InnerStreamDecoder) { self.inner = inner }

    /// The decoder, out of the reader until `putBack(_:)` (uniquely referenced meanwhile).
    func take() -> InnerStreamDecoder {
        guard let taken = inner else { preconditionFailure("a direction's jobs run one at a time") }
        inner = nil
        return taken
    }

    func putBack(_ decoder: InnerStreamDecoder) { inner = decoder }
}

/// Opens one batch of a direction's frames and decodes them: each frame's chunk goes into the
/// inner decoder under the step that completed the frame. A step's items are kept once all its
/// frames are read; the first step that fails ends the job (and the direction).
final class SecretBatchJob: FrameBatchJob, @unchecked Sendable {
    struct Step {
        /// Sealed bytes fed when the step ended.
        var end: UInt64
        var stamp: CaptureStamp
    }

    private let batch: SealedFrameBatch
    /// The stream offset of the batch's frame 0.
    private let start: UInt64
    /// The steps since the previous batch, oldest first; the last one cut this batch.
    private let steps: [Step]
    private let reader: SecretStreamReader
    /// Results, read by the collector once the job has run.
    private(set) var items: [(CaptureStamp, DecodedItem)] = []
    private(set) var failure: (step: Step, error: Error)?

    init(batch: SealedFrameBatch, start: UInt64, steps: [Step], reader: SecretStreamReader) {
        self.batch = batch
        self.start = start
        self.steps = steps
        self.reader = reader
    }

    /// Opens the first half of the batch's frames: opening needs nothing of the direction's
    /// decoder, so it may run on any thread before `run()`, which opens the rest.
    func prepare() {
        batch.open(upTo: batch.frameCount / 2)
    }

    func run() {
        guard !reader.failed else { return }
        batch.open()
        var inner = reader.take()
        let (items, failure) = batch.withOpenedFrames { decode($0, with: &inner) }
        reader.putBack(inner)
        self.items = items
        self.failure = failure
        if failure != nil { reader.failed = true }
    }

    /// The items of the batch's finished steps, up to the first step that fails, and that failure.
    private func decode(_ frames: SealedFrameBatch.OpenedFrames, with inner: inout InnerStreamDecoder)
        -> (items: [(CaptureStamp, DecodedItem)], failure: (step: Step, error: Error)?) {
        let size = UInt64(SecretConnection.sealedFrameSize)
        var items: [(CaptureStamp, DecodedItem)] = []
        var frameEnd = start + size
        var next = 0  // the first unfinished step
        var stepItems: [DecodedItem] = []
        var stepError: Error?
        /// Finishes the steps that end before `frameEnd` (they complete no more frames); the
        /// first whose inner decoder failed ends the job.
        func finishSteps(before frameEnd: UInt64) -> (step: Step, error: Error)? {
            while next < steps.count, steps[next].end < frameEnd {
                if let stepError { return (steps[next], stepError) }
                for item in stepItems { items.append((steps[next].stamp, item)) }
                stepItems.removeAll(keepingCapacity: true)
                next += 1
            }
            return nil
        }
        for frame in 0..<batch.frameCount {
            if let failure = finishSteps(before: frameEnd) { return (items, failure) }
            let chunk: UnsafeBufferPointer<UInt8>
            do { chunk = try frames.chunk(frame) } catch { return (items, (steps[next], error)) }
            // After the inner decoder failed, the step's later frames are still opened: a frame
            // that does not open is the error reported, as when a segment's frames were all
            // opened before decoding.
            if stepError == nil {
                do { stepItems += try inner.feed(chunk) } catch { stepError = error }
            }
            frameEnd += size
        }
        // Every step of the batch ends before the next frame is whole.
        let failure = finishSteps(before: frameEnd)
        return (items, failure)
    }
}
