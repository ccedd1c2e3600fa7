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
        guard counter != UInt64.max else { return try fail(.nonceExhausted) }
        let cipher = self.cipher
        let opened = pending.withUnsafeMutableBytes { p in
            let sealed = UnsafeMutableRawBufferPointer(rebasing: p[frameStart..<(frameStart + SecretConnection.sealedFrameSize)])
            return cipher.openFrame(UnsafeRawBufferPointer(sealed), counter: frame, into: sealed)
        }
        guard opened else { return try fail(.decryptFailed(frame: frame)) }
        counter += 1
        let length = pending.withUnsafeBufferPointer { p in
            UInt32(p[frameStart]) | UInt32(p[frameStart + 1]) << 8 | UInt32(p[frameStart + 2]) << 16 | UInt32(p[frameStart + 3]) << 24
        }
        guard length <= UInt32(SecretConnection.dataMaxSize) else {
            return try fail(.chunkTooLong(frame: frame, length: length))
        }
        try pending.withUnsafeBufferPointer { p in
            try body(UnsafeBufferPointer(rebasing: p[(frameStart + 4)..<(frameStart + 4 + Int(length))]))
        }
        return true
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
