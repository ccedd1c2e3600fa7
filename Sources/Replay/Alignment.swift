/// One step of an alignment between an expected and an actual sequence.
public enum AlignmentStep: Equatable, Sendable {
    /// Same key on both sides (contents may still differ).
    case pair(expected: Int, actual: Int)
    /// Only in the expected sequence.
    case missing(expected: Int)
    /// Only in the actual sequence.
    case extra(actual: Int)
}

/// Myers' O(ND) shortest edit script over keys (harness-notes.md §2.5 item 3): one extra or
/// missing decision shows as one step, not as every later entry differing.
///
/// Common prefix and suffix are trimmed first, so the usual case (a few differences in a long
/// log) costs little. When more than `maxEdits` edits would be needed, the middle is reported
/// as missing-then-extra, which keeps time and memory (O(D²) integers) bounded on unrelated logs.
public enum Alignment {
    public static let defaultMaxEdits = 2048

    public static func align<K: Equatable>(_ a: [K], _ b: [K], maxEdits: Int = defaultMaxEdits) -> [AlignmentStep] {
        var prefix = 0
        while prefix < a.count, prefix < b.count, a[prefix] == b[prefix] { prefix += 1 }
        var suffix = 0
        while suffix < a.count - prefix, suffix < b.count - prefix, a[a.count - 1 - suffix] == b[b.count - 1 - suffix] { suffix += 1 }
        var steps: [AlignmentStep] = (0..<prefix).map { .pair(expected: $0, actual: $0) }
        let aMid = Array(a[prefix..<(a.count - suffix)]), bMid = Array(b[prefix..<(b.count - suffix)])
        let middle = myers(aMid, bMid, maxEdits: maxEdits) ?? (aMid.indices.map { .missing(expected: $0) } + bMid.indices.map { .extra(actual: $0) })
        for step in middle {
            switch step {
            case let .pair(e, x): steps.append(.pair(expected: e + prefix, actual: x + prefix))
            case let .missing(e): steps.append(.missing(expected: e + prefix))
            case let .extra(x): steps.append(.extra(actual: x + prefix))
            }
        }
        for k in 0..<suffix { steps.append(.pair(expected: a.count - suffix + k, actual: b.count - suffix + k)) }
        return steps
    }

    /// Classic forward Myers with a saved frontier per edit distance; nil past `maxEdits`.
    /// Deletions (missing) are preferred to insertions at equal cost, so a replaced entry reads
    /// "missing X, extra Y" in that order.
    private static func myers<K: Equatable>(_ a: [K], _ b: [K], maxEdits: Int) -> [AlignmentStep]? {
        let n = a.count, m = b.count
        if n == 0 { return (0..<m).map { .extra(actual: $0) } }
        if m == 0 { return (0..<n).map { .missing(expected: $0) } }
        let maxD = min(n + m, maxEdits)
        let offset = maxD + 1
        var v = [Int](repeating: 0, count: 2 * maxD + 3)
        // trace[d] holds the frontier before round d for diagonals -d...d (O(D²) memory in all).
        var trace: [[Int]] = []
        var found = false
        outer: for d in 0...maxD {
            trace.append(Array(v[(offset - d)...(offset + d)]))
            var k = -d
            while k <= d {
                var x: Int
                if k == -d || (k != d && v[offset + k - 1] < v[offset + k + 1]) {
                    x = v[offset + k + 1]          // insertion (step down: extra in b)
                } else {
                    x = v[offset + k - 1] + 1      // deletion (step right: missing from a)
                }
                var y = x - k
                while x < n, y < m, a[x] == b[y] { x += 1; y += 1 }
                v[offset + k] = x
                if x >= n, y >= m { found = true; break outer }
                k += 2
            }
        }
        guard found else { return nil }
        // Backtrack through the saved frontiers.
        var steps: [AlignmentStep] = []
        var x = n, y = m
        for d in stride(from: trace.count - 1, through: 0, by: -1) {
            let vd = trace[d]
            let at = { (k: Int) in vd[k + d] }
            let k = x - y
            let prevK: Int
            if d == 0 {
                while x > 0, y > 0 { x -= 1; y -= 1; steps.append(.pair(expected: x, actual: y)) }
                break
            }
            if k == -d || (k != d && at(k - 1) < at(k + 1)) { prevK = k + 1 } else { prevK = k - 1 }
            let prevX = at(prevK)
            let prevY = prevX - prevK
            while x > prevX, y > prevY { x -= 1; y -= 1; steps.append(.pair(expected: x, actual: y)) }
            if prevK == k + 1 { steps.append(.extra(actual: prevY)) } else { steps.append(.missing(expected: prevX)) }
            x = prevX; y = prevY
        }
        return steps.reversed()
    }
}
