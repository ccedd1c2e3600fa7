import Crypto
import Foundation

/// 12-byte ChaCha20-Poly1305 nonce: 4 zero bytes ‖ LE64 counter (§1.2 step 7).
func secretConnectionNonce(_ counter: UInt64) -> ChaChaPoly.Nonce {
    var bytes = [UInt8](repeating: 0, count: 12)
    for i in 0..<8 { bytes[4 + i] = UInt8(truncatingIfNeeded: counter >> (8 * UInt64(i))) }
    // 12 bytes is always a valid ChaChaPoly nonce.
    return try! ChaChaPoly.Nonce(data: bytes)
}

/// The sending half of a SecretConnection (`SecretConnection.Write`, §1.2 step 8): chops
/// data into ≤1024-byte chunks and seals each as one 1044-byte frame with the next nonce.
public struct FrameSealer: Sendable {
    private let key: SymmetricKey
    /// The nonce counter of the next frame (0 for a fresh connection).
    public private(set) var counter: UInt64

    public init(key: [UInt8], counter: UInt64 = 0) throws {
        guard key.count == 32 else { throw SecretConnectionError.invalidKeyLength(what: "send key", length: key.count) }
        self.key = SymmetricKey(data: key)
        self.counter = counter
    }

    /// Sealed frames for `data` (none for empty data, as the node writes nothing).
    /// Divergence: the node panics when the counter would wrap; this throws `.nonceExhausted`.
    public mutating func seal<C: Collection>(_ data: C) throws -> [UInt8] where C.Element == UInt8 {
        let bytes = Array(data)
        var out: [UInt8] = []
        out.reserveCapacity((bytes.count / SecretConnection.dataMaxSize + 1) * SecretConnection.sealedFrameSize)
        var start = 0
        while start < bytes.count {
            let end = min(bytes.count, start + SecretConnection.dataMaxSize)
            out.append(contentsOf: try sealFrame(bytes[start..<end]))
            start = end
        }
        return out
    }

    /// One frame for a chunk of at most 1024 bytes.
    public mutating func sealFrame(_ chunk: ArraySlice<UInt8>) throws -> [UInt8] {
        precondition(chunk.count <= SecretConnection.dataMaxSize, "chunk larger than dataMaxSize")
        guard counter != UInt64.max else { throw SecretConnectionError.nonceExhausted }
        var frame = [UInt8](repeating: 0, count: SecretConnection.totalFrameSize)
        let n = UInt32(chunk.count)
        frame[0] = UInt8(truncatingIfNeeded: n); frame[1] = UInt8(truncatingIfNeeded: n >> 8)
        frame[2] = UInt8(truncatingIfNeeded: n >> 16); frame[3] = UInt8(truncatingIfNeeded: n >> 24)
        frame.replaceSubrange(4..<(4 + chunk.count), with: chunk)
        let box = try ChaChaPoly.seal(frame, using: key, nonce: secretConnectionNonce(counter))
        counter += 1
        return Array(box.ciphertext) + Array(box.tag)
    }
}

/// The receiving half (`SecretConnection.Read`): accepts ciphertext in pieces of any size and
/// yields each frame's plaintext chunk in order. Chunks are not aligned with protocol
/// messages; treat them as a byte stream (§1.2 step 8).
public struct FrameOpener: Sendable {
    private let cipher: ChaChaPolyOpener
    /// The nonce counter of the next frame.
    public private(set) var counter: UInt64
    private var pending: [UInt8] = []
    private var readIndex = 0
    private var failure: SecretConnectionError?

    public init(key: [UInt8], counter: UInt64 = 0) throws {
        guard key.count == 32 else { throw SecretConnectionError.invalidKeyLength(what: "receive key", length: key.count) }
        self.cipher = ChaChaPolyOpener(key: key)
        self.counter = counter
    }

    public mutating func feed<C: Collection>(_ bytes: C) where C.Element == UInt8 {
        if bytes.withContiguousStorageIfAvailable({ feed($0) }) == nil { Array(bytes).withUnsafeBufferPointer { feed($0) } }
    }

    /// Appends ciphertext (not generic: callers in other modules get a specialized copy).
    public mutating func feed(_ bytes: UnsafeBufferPointer<UInt8>) {
        if readIndex > 0 && readIndex >= pending.count / 2 {
            pending.removeFirst(readIndex)
            readIndex = 0
        }
        pending.append(contentsOf: bytes)
    }

    /// Ciphertext bytes waiting for the rest of their frame.
    public var bufferedByteCount: Int { pending.count - readIndex }

    /// The next frame's plaintext chunk, or nil until a whole sealed frame has arrived. After
    /// a failure every call throws the same error (the node closes the connection).
    public mutating func next() throws -> [UInt8]? {
        var chunk: [UInt8]?
        guard try openNext({ chunk = Array($0) }) else { return nil }
        return chunk
    }

    /// Opens the next frame, if a whole sealed frame has arrived, and hands its plaintext chunk
    /// to `body` (the buffer is valid during the call only); false until then. After a failure
    /// every call throws the same error. No per-frame copies or allocations: the frame is opened
    /// in place where it was buffered (it is consumed either way), with the connection's one
    /// AEAD context, and the chunk is read from there.
    public mutating func openNext(_ body: (UnsafeBufferPointer<UInt8>) throws -> Void) throws -> Bool {
        if let failure { throw failure }
        guard pending.count - readIndex >= SecretConnection.sealedFrameSize else { return false }
        let frameStart = readIndex
        readIndex = frameStart + SecretConnection.sealedFrameSize
        let frame = counter
        let cipher = self.cipher
        let chunk = pending.withUnsafeMutableBytes { p in
            Self.open(cipher, p, frameAt: frameStart, counter: frame)
        }
        switch chunk {
        case .failure(let error): return try fail(error)
        case .success(let range):
            counter += 1
            try pending.withUnsafeBufferPointer { p in try body(UnsafeBufferPointer(rebasing: p[range])) }
            return true
        }
    }

    /// Moves every whole sealed frame buffered so far into a batch, to be opened together
    /// (possibly on another thread), and advances the counter past them; nil when no whole frame
    /// is buffered. A partial frame stays for the next `feed`. After a failure `openNext` reports,
    /// nothing more is taken.
    /// The batch takes the buffer itself (no copy of the frames); the partial frame left over is
    /// copied into a new one.
    public mutating func takeFrames() -> SealedFrameBatch? {
        let frames = (pending.count - readIndex) / SecretConnection.sealedFrameSize
        guard failure == nil, frames > 0 else { return nil }
        let end = readIndex + frames * SecretConnection.sealedFrameSize
        var tail: [UInt8] = []
        tail.reserveCapacity(pending.capacity)  // the next batch grows as this one did
        tail.append(contentsOf: pending[end...])
        let batch = SealedFrameBatch(cipher: cipher, firstCounter: counter, buffer: pending, start: readIndex, frameCount: frames)
        pending = tail
        readIndex = 0
        counter = counter > UInt64.max - UInt64(frames) ? UInt64.max : counter + UInt64(frames)
        return batch
    }

    /// Opens, in place, the sealed frame at `start` of `buffer` under nonce counter `counter` and
    /// checks its length field: the range of its plaintext chunk, or the error the node reports
    /// (§1.2 step 8; the node panics where the counter would wrap, see `SecretConnectionError`).
    /// The one frame-open of `openNext` and of `SealedFrameBatch`.
    static func open(_ cipher: ChaChaPolyOpener, _ buffer: UnsafeMutableRawBufferPointer, frameAt start: Int,
                     counter: UInt64) -> Result<Range<Int>, SecretConnectionError> {
        guard counter != UInt64.max else { return .failure(.nonceExhausted) }
        let sealed = UnsafeMutableRawBufferPointer(rebasing: buffer[start..<(start + SecretConnection.sealedFrameSize)])
        guard cipher.openFrame(UnsafeRawBufferPointer(sealed), counter: counter, into: sealed) else {
            return .failure(.decryptFailed(frame: counter))
        }
        let length = UInt32(sealed[0]) | UInt32(sealed[1]) << 8 | UInt32(sealed[2]) << 16 | UInt32(sealed[3]) << 24
        guard length <= UInt32(SecretConnection.dataMaxSize) else {
            return .failure(.chunkTooLong(frame: counter, length: length))
        }
        return .success((start + 4)..<(start + 4 + Int(length)))
    }

    /// Convenience: feeds `bytes` and returns the concatenated plaintext of all complete frames.
    public mutating func open<C: Collection>(_ bytes: C) throws -> [UInt8] where C.Element == UInt8 {
        feed(bytes)
        var out: [UInt8] = []
        while try openNext({ out.append(contentsOf: $0) }) {}
        return out
    }

    private mutating func fail(_ e: SecretConnectionError) throws -> Bool {
        failure = e
        throw e
    }
}

/// Whole sealed frames of one direction, taken from a `FrameOpener` (`takeFrames`) to be opened
/// together: on the thread that needs them, or ahead of that on another core (the capture's
/// `FrameBatchOpening`). Opening is a pure function of the key, the counters and the bytes, so
/// where it ran cannot show in what is read from the batch.
///
/// `open()` opens the frames in order, in place, and stops at the first that fails; a part may
/// be opened first (`open(upTo:)`) and the rest later, on another thread. Every frame must be
/// opened before `withOpenedFrames(_:)`, and the caller that hands the batch to another thread
/// provides the ordering between them.
public final class SealedFrameBatch: @unchecked Sendable {
    private let cipher: ChaChaPolyOpener
    /// The nonce counter of frame 0.
    public let firstCounter: UInt64
    /// Whole frames in the batch.
    public let frameCount: Int
    /// The frames are `bytes[start...]`, `frameCount` of them.
    private var bytes: [UInt8]
    private let start: Int
    /// Per frame opened so far: its plaintext chunk's range in `bytes`.
    private var chunks: [Range<Int>] = []
    /// Why frame `chunks.count` did not open, if one did not.
    private var failure: SecretConnectionError?
    /// Frames tried so far: opened, or the one that failed.
    private var tried = 0

    init(cipher: ChaChaPolyOpener, firstCounter: UInt64, buffer: [UInt8], start: Int, frameCount: Int) {
        precondition(frameCount > 0 && start + frameCount * SecretConnection.sealedFrameSize <= buffer.count,
                     "a batch holds whole frames")
        self.cipher = cipher
        self.firstCounter = firstCounter
        self.frameCount = frameCount
        self.bytes = buffer
        self.start = start
    }

    /// Whether every frame has been opened, or opening stopped at one that failed.
    public var isOpened: Bool { tried == frameCount || failure != nil }

    /// Opens every frame not opened yet, in place, up to the first that fails.
    public func open() { open(upTo: frameCount) }

    /// Opens the frames before `end` not opened yet, in order, in place, up to the first that
    /// fails: a batch may be opened in parts (on two threads, one after the other).
    public func open(upTo end: Int) {
        let end = min(end, frameCount)
        guard failure == nil, tried < end else { return }
        chunks.reserveCapacity(frameCount)
        let cipher = self.cipher, start = self.start
        var counter = firstCounter &+ UInt64(tried)
        bytes.withUnsafeMutableBytes { p in
            while tried < end {
                let frame = tried
                tried += 1
                switch FrameOpener.open(cipher, p, frameAt: start + frame * SecretConnection.sealedFrameSize, counter: counter) {
                case .success(let range): chunks.append(range)
                case .failure(let error): failure = error; return
                }
                counter &+= 1
            }
        }
    }

    /// The opened frames, handed to `body` (valid during the call): one access to the batch for
    /// all its chunks, not one per chunk. Only after `open()`.
    public func withOpenedFrames<R>(_ body: (OpenedFrames) throws -> R) rethrows -> R {
        precondition(isOpened, "chunks of a batch that is not open")
        let chunks = self.chunks, failure = self.failure, firstCounter = self.firstCounter
        return try bytes.withUnsafeBufferPointer { p in
            try body(OpenedFrames(bytes: p, chunks: chunks, failure: failure, firstCounter: firstCounter))
        }
    }

    /// A batch's opened frames, valid while `withOpenedFrames(_:)` runs.
    public struct OpenedFrames {
        fileprivate let bytes: UnsafeBufferPointer<UInt8>
        fileprivate let chunks: [Range<Int>]
        fileprivate let failure: SecretConnectionError?
        fileprivate let firstCounter: UInt64

        /// Frame `frame`'s plaintext chunk, or the error the node reports for that frame; frames
        /// after a failed one report the same error.
        public func chunk(_ frame: Int) throws -> UnsafeBufferPointer<UInt8> {
            guard frame < chunks.count else {
                // A frame past the first failure: the connection was closed at that frame.
                throw failure ?? SecretConnectionError.decryptFailed(frame: firstCounter &+ UInt64(frame))
            }
            return UnsafeBufferPointer(rebasing: bytes[chunks[frame]])
        }
    }
}
