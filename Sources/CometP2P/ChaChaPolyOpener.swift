import CCryptoBoringSSL

/// ChaCha20-Poly1305 (RFC 8439) opening under one key, the AEAD of SecretConnection frames
/// (cometbft-blocksync.md §1.2 step 8): BoringSSL's AEAD context (the C library swift-crypto
/// is built on) is set up once for the key and reused for every frame, and the plaintext goes
/// into memory the caller provides. swift-crypto's `ChaChaPoly.open` sets up a context, a
/// sealed box and an output `Data` for every call.
///
/// The context is not changed by opening (BoringSSL allows concurrent opens on one context), so
/// copies of a holder may share it.
public final class ChaChaPolyOpener: @unchecked Sendable {
    public static let keySize = 32
    public static let nonceSize = 12
    public static let tagSize = 16

    private let context: UnsafeMutablePointer<EVP_AEAD_CTX>

    /// `key` must be 32 bytes (callers check the length and report it as their own error).
    public init(key: [UInt8]) {
        precondition(key.count == Self.keySize, "ChaCha20-Poly1305 key of \(key.count) bytes")
        context = .allocate(capacity: 1)
        let rc = key.withUnsafeBufferPointer { k in
            CCryptoBoringSSL_EVP_AEAD_CTX_init(context, CCryptoBoringSSL_EVP_aead_chacha20_poly1305(),
                                               k.baseAddress, k.count, 0, nil)
        }
        // Only a key of the wrong length makes BoringSSL refuse, and that was checked above.
        precondition(rc == 1, "EVP_AEAD_CTX_init failed for a 32-byte ChaCha20-Poly1305 key")
    }

    deinit {
        CCryptoBoringSSL_EVP_AEAD_CTX_cleanup(context)
        context.deallocate()
    }

    /// Authenticates `sealed` (ciphertext ‖ 16-byte tag, no associated data) under the 12-byte
    /// `nonce` and writes its plaintext (`sealed.count - 16` bytes) to the start of `out`, which
    /// may be `sealed`'s own memory (opening in place). False when the tag does not match.
    public func open(_ sealed: UnsafeRawBufferPointer, nonce: UnsafeRawBufferPointer,
                     into out: UnsafeMutableRawBufferPointer) -> Bool {
        precondition(nonce.count == Self.nonceSize && sealed.count >= Self.tagSize
                     && out.count >= sealed.count - Self.tagSize)
        var written = 0
        return CCryptoBoringSSL_EVP_AEAD_CTX_open(
            context, out.baseAddress!.assumingMemoryBound(to: UInt8.self), &written, out.count,
            nonce.baseAddress!.assumingMemoryBound(to: UInt8.self), nonce.count,
            sealed.baseAddress!.assumingMemoryBound(to: UInt8.self), sealed.count, nil, 0) == 1
    }

    /// Opens SecretConnection frame number `counter` (`sealed`: one sealed frame), whose nonce is
    /// 4 zero bytes ‖ LE64 counter (§1.2 step 7), into the start of `out` (which may be
    /// `sealed`'s own memory). The one frame-open of `FrameOpener` and the benchmarks'
    /// raw-open references. False when the tag does not match.
    public func openFrame(_ sealed: UnsafeRawBufferPointer, counter: UInt64, into out: UnsafeMutableRawBufferPointer) -> Bool {
        var nonce = (UInt64(0), UInt64(0))
        withUnsafeMutableBytes(of: &nonce) { $0.storeBytes(of: counter.littleEndian, toByteOffset: 4, as: UInt64.self) }
        return withUnsafeBytes(of: nonce) { open(sealed, nonce: UnsafeRawBufferPointer(rebasing: $0[0..<Self.nonceSize]), into: out) }
    }
}
