import PivotHint

/// A pivot-hint file loaded as the replayer loads an attachment; its checksum is the one the
/// file itself gives, so mutations get past the check into the pages. The last 16 bytes choose
/// the queries (they are trailing bytes to the loader, which ignores them, as the original).
enum HintInput {
    static func run(_ data: [UInt8]) {
        guard let file = try? PivotHintFile(source: PivotHintMemorySource(data)) else { return }
        _ = file.verifyPages()
        guard var hint = try? PivotHint(file: file, checksum: file.checksum) else { return }
        let tail = data.suffix(16)
        var a: UInt64 = 0, b: UInt64 = 0
        for (i, byte) in tail.enumerated() {
            if i < 8 { a |= UInt64(byte) << UInt64(8 * i) } else { b |= UInt64(byte) << UInt64(8 * (i - 8)) }
        }
        let span = hint.header.rangeMax &+ 2
        let zero = PivotHash([UInt8](repeating: 0, count: 32))!
        let page = file.digest(ofPage: a % max(hint.header.pageCount, 1)) ?? zero
        for (forkAt, meHeight) in [(a, b), (a % span, b % span), (1, b % span), (a % span, hint.header.rangeMax)] {
            _ = try? hint.allowSwitch(forkAt: forkAt, meHeight: meHeight) { $0 % 2 == 0 ? page : zero }
            _ = hint.allowExtend(height: forkAt, hash: page)
        }
    }
}
