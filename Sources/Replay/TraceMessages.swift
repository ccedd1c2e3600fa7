import Crypto
import Foundation
import SyncTrace

/// A trace's blocksync messages read again by location (issue 19): replay keeps where a
/// message lies — its Message record's file offset for a streamed trace, its event's index for a
/// trace in memory (`ReplayEventStream.lastLocation`) — instead of its bytes, and reads it when
/// it is needed (a ghost's answer, a block the store let go of). Shared by those readers on
/// the replay's one thread; the lock makes it `Sendable`. A message that cannot be read again
/// (the file changed under the replay) is recorded as `failure`, which fails the replay.
final class TraceMessages: @unchecked Sendable {
    private enum Source {
        case file(MCAPFileSource)
        case memory([ReplayEvent])
    }

    private let source: Source
    let path: String
    private let lock = NSLock()
    private var failure_: String?

    init(trace: ReplayTrace) throws(CaseError) {
        path = trace.path
        if trace.isStreamed {
            do { source = .file(try MCAPFileSource(path: trace.path)) } catch {
                throw CaseError("trace \(trace.path) became unreadable after it was checked: \(error)")
            }
        } else {
            source = .memory(trace.events)
        }
    }

    init(events: [ReplayEvent]) {
        path = "(in memory)"
        source = .memory(events)
    }

    /// The first message that could not be read again, if any.
    var failure: String? { lock.withLock { failure_ } }

    /// Records why the replay cannot be trusted (the first reason is kept).
    func fail(_ why: String) {
        lock.withLock { if failure_ == nil { failure_ = why } }
    }

    /// The bytes of the blocksync message at `location`; nil (and `failure` set) when they
    /// cannot be read.
    func bytes(at location: UInt64, for what: @autoclosure () -> String) -> [UInt8]? {
        do {
            return try read(location)
        } catch {
            fail("trace \(path): \(what()) could not be read again: \(error)")
            return nil
        }
    }

    private func read(_ location: UInt64) throws -> [UInt8] {
        switch source {
        case .file(let file):
            let entry = try lock.withLock { try TraceReader.event(in: file, atOffset: location, topic: .blocksync) }
            guard case .blocksync(let record) = entry.event else { throw CaseError("not a /blocksync event") }
            return record.message
        case .memory(let events):
            guard location < UInt64(events.count), case .blocksync(_, _, let bytes) = events[Int(location)].body else {
                throw CaseError("event \(location) is not a /blocksync event")
            }
            return bytes
        }
    }

    /// A message's identity without its bytes: equal digests, equal messages.
    struct Digest: Hashable, Sendable {
        var words: (UInt64, UInt64, UInt64, UInt64)
        var count: Int

        init(_ bytes: [UInt8]) {
            let d = Array(SHA256.hash(data: bytes))
            func word(_ i: Int) -> UInt64 { (0..<8).reduce(0) { $0 << 8 | UInt64(d[i * 8 + $1]) } }
            words = (word(0), word(1), word(2), word(3))
            count = bytes.count
        }

        static func == (a: Digest, b: Digest) -> Bool { a.words == b.words && a.count == b.count }
        func hash(into h: inout Hasher) {
            h.combine(words.0); h.combine(words.1); h.combine(words.2); h.combine(words.3); h.combine(count)
        }
    }
}
