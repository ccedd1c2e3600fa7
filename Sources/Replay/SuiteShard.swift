import Foundation

/// `suite --shard K/N`: the K-th of N deterministic slices of a corpus, for a CI's own parallel
/// jobs (a GitHub Actions matrix, GitLab `parallel:`, Buildkite parallelism).
///
/// **Rule.** A case's size class is its trace's size: `small` (< 256 KiB), `medium` (< 4 MiB)
/// or `large`. Its shard is `FNV-1a-64("<class>/<case name>") mod N` + 1. The shard depends only
/// on the case's own name and size class, so adding or removing other cases never moves it, and
/// every case runs in exactly one of the N shards. Hashing the class with the name spreads each
/// class over the shards on its own, so the few large traces do not follow the small ones'
/// distribution (with many cases per class each shard gets about 1/N of each class).
public struct SuiteShard: Equatable, Sendable, CustomStringConvertible {
    public let index: Int
    public let count: Int

    public enum SizeClass: String, Sendable, CaseIterable {
        case small, medium, large

        public init(bytes: UInt64) {
            self = bytes < 256 * 1024 ? .small : bytes < 4 * 1024 * 1024 ? .medium : .large
        }
    }

    /// Parses `K/N` with 1 ≤ K ≤ N.
    public init(parsing text: String) throws(CaseError) {
        let parts = text.split(separator: "/", omittingEmptySubsequences: false)
        guard parts.count == 2, let k = Int(parts[0]), let n = Int(parts[1]), n >= 1, (1...n).contains(k) else {
            throw CaseError("--shard must be K/N with 1 ≤ K ≤ N (e.g. 2/3), got \"\(text)\"")
        }
        index = k
        count = n
    }

    public var description: String { "\(index)/\(count)" }

    /// The shard (1…count) of a case.
    public static func shard(of name: String, sizeClass: SizeClass, count: Int) -> Int {
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in "\(sizeClass.rawValue)/\(name)".utf8 {
            hash ^= UInt64(byte)
            hash = hash &* 0x0000_0100_0000_01b3
        }
        return Int(hash % UInt64(count)) + 1
    }

    /// Whether this shard runs the case whose trace is at `tracePath` (its size read from disk;
    /// an unreadable trace counts as small and errs in whichever shard holds it).
    public func contains(_ c: SuiteCase) -> Bool {
        let size = (try? FileManager.default.attributesOfItem(atPath: c.tracePath)[.size] as? NSNumber)?.uint64Value ?? 0
        return SuiteShard.shard(of: c.name, sizeClass: SizeClass(bytes: size), count: count) == index
    }
}
