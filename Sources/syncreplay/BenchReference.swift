import CometWire
import Crypto
import Dispatch
import Synchronization

/// Physical references the benchmarks print beside their figures, measured in the same run.
enum BenchReference {
    /// Verifications per second of valid ed25519 signatures by `keys` distinct keys over
    /// 110-byte messages (a vote's sign bytes), keys parsed beforehand: the limit of the
    /// verify step. (One key verified repeatedly runs ~10% faster from cache effects, so
    /// distinct keys are used.) 0 if a signature failed to verify.
    static func ed25519VerifyRate(keys: Int = 150, for duration: Duration = .milliseconds(500)) -> Double {
        let triples = (0..<max(1, keys)).map { i -> (Curve25519.Signing.PublicKey, [UInt8], [UInt8]) in
            let key = ChainBuilder.privateKey(seed: Array("bench".utf8), index: i)
            let message = [UInt8](repeating: UInt8(truncatingIfNeeded: i), count: 110)
            let signature = Array((try? key.signature(for: message)) ?? .init())
            return (key.publicKey, message, signature)
        }
        let clock = ContinuousClock()
        let start = clock.now
        var count = 0
        var valid = 0
        var elapsed = Duration.zero
        repeat {
            for (key, message, signature) in triples where key.isValidSignature(signature, for: message) { valid += 1 }
            count += triples.count
            elapsed = clock.now - start
        } while elapsed < duration
        return valid == count ? Double(count) / seconds(elapsed) : 0
    }

    /// `ed25519VerifyRate` on `threads` threads at once, summed (issue 19 item 3: the bound of
    /// verifying on every core, measured rather than assumed).
    static func ed25519VerifyRate(threads: Int, for duration: Duration = .milliseconds(500)) -> Double {
        let rates = Mutex([Double](repeating: 0, count: threads))
        DispatchQueue.concurrentPerform(iterations: threads) { i in
            let rate = ed25519VerifyRate(for: duration)
            rates.withLock { $0[i] = rate }
        }
        return rates.withLock { $0.reduce(0, +) }
    }

    static func seconds(_ d: Duration) -> Double {
        Double(d.components.seconds) + Double(d.components.attoseconds) / 1e18
    }
}
