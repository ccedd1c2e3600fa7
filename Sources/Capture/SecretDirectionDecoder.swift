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
/// frames go to a `FrameBatchOpening` in batches and are read back in order, so opening can run
/// ahead on another core. What a step yields is what opening its frames on arrival would yield:
/// a step with a frame that does not open, or whose chunk the inner decoder rejects, yields
/// nothing but the failure, and the bytes of later steps count as undecoded.
struct SecretDirectionDecoder {
    /// Why decoding stopped: at which step, with what error, and how many bytes later steps fed.
    struct Failure {
        var stamp: CaptureStamp
        var error: Error
        var laterBytes: UInt64
    }

    private var opener: FrameOpener
    private var inner: InnerStreamDecoder
    /// Sealed bytes fed so far, and those of the frames taken into batches.
    private var fed: UInt64 = 0
    private var taken: UInt64 = 0
    /// Steps not yet finished (their frames not all read): the sealed byte count after the step, and its stamp.
    private var steps: [(end: UInt64, stamp: CaptureStamp)] = []
    private var stepsHead = 0
    /// Handed-over batches not read yet, oldest first, each with the stream offset of its frame 0.
    private var ahead: [(batch: SealedFrameBatch, start: UInt64)] = []
    /// The first unfinished step's items so far, and the inner decoder's error for it.
    private var stepItems: [DecodedItem] = []
    private var stepError: Error?

    init(opener: FrameOpener, inner: InnerStreamDecoder) {
        self.opener = opener
        self.inner = inner
    }

    /// Appends ciphertext of step `stamp`; hands whole frames over once a batch is full and reads
    /// the batches beyond those allowed ahead. `emit` gets each finished step's items, in order.
    mutating func feed(_ bytes: UnsafeBufferPointer<UInt8>, at stamp: CaptureStamp, opening: FrameBatchOpening,
                       emit: (CaptureStamp, DecodedItem) -> Void) -> Failure? {
        opener.feed(bytes)
        fed += UInt64(bytes.count)
        steps.append((fed, stamp))
        // Hand over a full batch; so many steps without a whole batch (tiny segments) also cut one,
        // which bounds the step list.
        if opener.bufferedByteCount >= opening.framesPerBatch * SecretConnection.sealedFrameSize
            || steps.count - stepsHead >= 4 * SecretConnection.sealedFrameSize {
            handOver(opening)
        }
        while ahead.count > opening.batchesAhead {
            if let failure = readOldest(opening, emit: emit) { return failure }
        }
        return nil
    }

    /// Reads every whole frame fed so far (the direction has a gap, ended, or the capture ended).
    mutating func flush(_ opening: FrameBatchOpening, emit: (CaptureStamp, DecodedItem) -> Void) -> Failure? {
        handOver(opening)
        while !ahead.isEmpty {
            if let failure = readOldest(opening, emit: emit) { return failure }
        }
        return nil
    }

    private mutating func handOver(_ opening: FrameBatchOpening) {
        guard let batch = opener.takeFrames() else { return }
        opening.submit(batch)
        ahead.append((batch, taken))
        taken += UInt64(batch.frameCount * SecretConnection.sealedFrameSize)
    }

    /// Reads the oldest handed-over batch: each frame's chunk into the inner decoder, under the
    /// step that completed the frame.
    private mutating func readOldest(_ opening: FrameBatchOpening, emit: (CaptureStamp, DecodedItem) -> Void) -> Failure? {
        let (batch, start) = ahead.removeFirst()
        opening.waitUntilOpen(batch)
        let size = UInt64(SecretConnection.sealedFrameSize)
        var frameEnd = start + size
        for frame in 0..<batch.frameCount {
            if let failure = finishSteps(before: frameEnd, emit: emit) { return failure }
            do {
                try batch.withChunk(frame) { chunk in
                    // After the inner decoder failed, the step's later frames are still opened:
                    // a frame that does not open is the error reported, as when a segment's
                    // frames were all opened before decoding.
                    guard stepError == nil else { return }
                    do { stepItems += try inner.feed(chunk) } catch { stepError = error }
                }
            } catch {
                return fail(error)
            }
            frameEnd += size
        }
        // Steps that end before the next frame is whole complete no more frames.
        return finishSteps(before: frameEnd, emit: emit)
    }

    /// Finishes the steps ending before `frameEnd`, which complete no more frames: emits each
    /// one's items, or fails at the first whose inner decoder failed.
    private mutating func finishSteps(before frameEnd: UInt64, emit: (CaptureStamp, DecodedItem) -> Void) -> Failure? {
        while stepsHead < steps.count, steps[stepsHead].end < frameEnd {
            if let stepError { return fail(stepError) }
            let stamp = steps[stepsHead].stamp
            for item in stepItems { emit(stamp, item) }
            stepItems.removeAll(keepingCapacity: true)
            stepsHead += 1
        }
        if stepsHead >= 256, stepsHead * 2 >= steps.count {
            steps.removeFirst(stepsHead)
            stepsHead = 0
        }
        return nil
    }

    /// Stops at the first unfinished step (the one the failing frame or chunk belongs to).
    private mutating func fail(_ error: Error) -> Failure {
        let step = steps[stepsHead]
        let failure = Failure(stamp: step.stamp, error: error, laterBytes: fed - step.end)
        steps.removeAll()
        stepsHead = 0
        ahead.removeAll()
        stepItems.removeAll()
        stepError = nil
        return failure
    }
}
