import ArgumentParser
import Capture
import CommandExit
import Foundation
import PivotHint
import Replay

extension PivotHintError: InputError {}
extension PivotHintHeaderError: InputError {}
extension PivotHintSourceError: InputError {}
extension PivotHashListError: InputError {}
extension CaptureError: InputError {}

/// "Cannot open file: PATH: reason" names the file; header and digest errors do not.
extension PivotHintError: NamesItsFile {
    public var namesItsFile: Bool {
        if case .cannotOpen = self { return true }
        return false
    }
}

/// `syncreplay hint …`: Conflux pivot-hint files (specs/conflux-pivot-hint.md).
struct Hint: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "hint",
        abstract: "Inspect, verify, query and build Conflux pivot-hint files.",
        discussion: """
        A pivot-hint file records the canonical Conflux pivot chain below range_max: full 32-byte hashes every major_interval heights and hash prefixes every minor_interval, in pages authenticated by Keccak-256 digests. Its checksum (Keccak-256 of the digest part) is what a node is configured with as pivot_hint_checksum.

        Example:
          syncreplay hint inspect docs/examples/S.bin
        """,
        subcommands: [HintInspect.self, HintVerify.self, HintCheck.self, HintBuild.self]
    )
}

/// Parses a `--checksum` the way the node parses `pivot_hint_checksum` (§2.4).
func parseChecksum(_ text: String, option: String = "--checksum") throws -> PivotHash {
    guard let hash = PivotHash(hex: text) else {
        throw CommandFailure.badInput("\(option) \(text.debugDescription): expected 64 hex digits (optional 0x prefix)")
    }
    return hash
}

struct HintInspect: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "inspect",
        abstract: "Print a hint file's parameters, page count, sizes and checksum.",
        discussion: """
        Reads the 28-byte header and the page digests (not the pages). The file length is compared with 28 + 32·N + N·page_bytes: the node ignores trailing bytes and only notices missing pages when it needs one, so a mismatch is reported, not refused. Exit 0 when the header and digests are readable, 2 otherwise.

        Example:
          syncreplay hint inspect docs/examples/S.bin
        """
    )

    @Argument(help: "The hint file.") var file: String

    /// Errors name the hint file (header and digest errors do not know it).
    func run() throws { try FileInputError.naming(file) { try read() } }

    private func read() throws {
        let source: PivotHintFileSource
        do { source = try PivotHintFileSource(path: file) } catch { throw PivotHintError.cannotOpen(error.description) }
        let raw: [UInt8]
        do { raw = try source.read(offset: 0, count: PivotHintHeader.byteCount) } catch {
            throw PivotHintError.cannotLoadHeader(error.description)
        }
        let header: PivotHintHeader
        do { header = try PivotHintHeader(bytes: raw) } catch { throw PivotHintError.header(error) }
        print("file: \(file)")
        print("minor_interval: \(header.minorInterval)")
        print("major_interval: \(header.majorInterval)")
        print("page_interval: \(header.pageInterval)")
        print("range_max: \(header.rangeMax)")
        print("minor_hash_length: \(header.minorHashLength)")
        print("page_bytes: \(header.pageBytes) (major section \(header.majorSectionBytes) + minor section \(header.minorSectionBytes))")
        print("pages: \(header.pageCount)")
        let actual = source.size
        let expected = header.expectedFileSize
        let note: String
        if actual == expected {
            note = "matches"
        } else if actual > expected {
            note = "\(actual - expected) trailing bytes, ignored by the node"
        } else {
            let pagesStart = UInt64(PivotHintHeader.byteCount) + header.digestPartBytes
            let whole = actual <= pagesStart ? 0 : (actual - pagesStart) / UInt64(header.pageBytes)
            note = "\(expected - actual) bytes short: pages from \(whole) on are missing or incomplete"
        }
        print("expected_size: \(expected)")
        print("actual_size: \(actual) (\(note))")
        let opened = try PivotHintFile(source: source)
        print("checksum: \(opened.checksum.hex)")
    }
}

struct HintVerify: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "verify",
        abstract: "Check a hint file against its checksum and verify every page.",
        discussion: """
        Recomputes the Pivot Hint Checksum (Keccak-256 of the page digests) and the Keccak-256 digest of every page, as the node does when it loads a page. A node disables the hint at the first bad page it touches; this reports all of them. Exit 0 when everything verifies, 1 when the checksum or any page is bad, 2 when the header or digests cannot be read.

        Example:
          syncreplay hint verify docs/examples/S.bin \\
            --checksum 30fe03f52e4d111da234bfb679a4e3cfdeba2b77fc057b73a4d1b5e827b075f1
        """
    )

    @Argument(help: "The hint file.") var file: String
    @Option(help: "The expected Pivot Hint Checksum (64 hex digits, optional 0x).") var checksum: String

    /// Errors name the hint file (header and digest errors do not know it).
    func run() throws { try FileInputError.naming(file) { try read() } }

    private func read() throws {
        let expected = try parseChecksum(checksum)
        let opened = try PivotHintFile(path: file)
        var problems = 0
        if opened.checksum == expected {
            print("checksum: ok \(expected.hex)")
        } else {
            problems += 1
            print("checksum: Incorrect checksum: computed \(opened.checksum.hex), expected \(expected.hex)")
        }
        let failures = opened.verifyPages()
        for failure in failures { print("page \(failure.page): \(failure.error)") }
        problems += failures.count
        print("pages: \(opened.header.pageCount - UInt64(failures.count)) of \(opened.header.pageCount) verify")
        if problems > 0 { throw CommandFailure.problems("\(problems) problem(s) in \(file)") }
    }
}

struct HintCheck: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "check",
        abstract: "Evaluate one allow_switch or allow_extend call, or audit a Conflux node's log against the hint.",
        discussion: """
        --switch FORK_AT ME_HEIGHT asks whether the pivot chain may switch to a branch forking at FORK_AT (lca height + 1) whose tip is at ME_HEIGHT. The hint compares the branch's hash at one check height: the highest recorded height in [FORK_AT, ME_HEIGHT], a major (full-hash) height before a minor (prefix) one. Give that hash with --hash HEIGHT:HEX; without it the command exits 2 and names the height it needs. No check height means allowed without a comparison.

        --extend HEIGHT HEX asks whether block HEX at HEIGHT may extend the pivot chain.

        Prints the decision as one line of JSON. Exit 0 allowed, 1 denied, 2 bad input. A page that fails verification disables the hint and allows (reason hint_disabled), as the node does.

        --conflux-log LOG audits a node's log instead: every "Pivot hint check switch/extend result" line is put to the hint in log order, with the hash the line logged, and one line per check says whether the hint agrees with the node's logged result. Exit 1 if any check disagrees. Without --checksum the file's own checksum is used (noted on stderr). Malformed pivot-hint lines are skipped with a warning naming the line (--strict: exit 2).

        Example (first ask which height is needed, then answer):
          SUM=30fe03f52e4d111da234bfb679a4e3cfdeba2b77fc057b73a4d1b5e827b075f1
          syncreplay hint check docs/examples/S.bin --checksum $SUM --switch 91 109
          syncreplay: the check height is 100: add --hash 100:HEX (...)
          HASH=$(sed -n 101p docs/examples/S-chain.hex)
          syncreplay hint check docs/examples/S.bin --checksum $SUM \\
            --switch 91 109 --hash 100:$HASH
          {"allowed":true,"check_height":100,...,"reason":"major_match",...}

        Example (audit a node's log):
          syncreplay hint check --hint Traces/conflux/chain.hint \\
            --conflux-log Traces/conflux/agree.log
          line 6 2024-11-05T10:23:45.500+08:00 switch fork_at=3 \\
            me_height=10 check_height=10: node allowed, hint allowed
            (major_match): agree
        """
    )

    @Argument(help: "The hint file (or --hint).") var file: String?
    @Option(name: .customLong("hint"), help: ArgumentHelp("The hint file.", valueName: "FILE")) var hintFile: String?
    @Option(help: "The expected Pivot Hint Checksum (64 hex digits, optional 0x); required except with --conflux-log.") var checksum: String?
    @Option(help: ArgumentHelp("Audit every pivot-hint check line of a Conflux node's log.", valueName: "LOG")) var confluxLog: String?
    @Flag(help: "With --conflux-log: a malformed pivot-hint line is an error (exit 2).") var strict = false
    @Option(name: .customLong("switch"), parsing: .upToNextOption,
            help: ArgumentHelp("The fork point (lca height + 1) and the branch tip height.", valueName: "fork_at me_height"))
    var switchHeights: [UInt64] = []
    @Option(name: .customLong("hash"), help: ArgumentHelp("The branch's block hash at a height (repeatable).", valueName: "height:hex"))
    var hashes: [String] = []
    @Option(name: .customLong("extend"), parsing: .upToNextOption,
            help: ArgumentHelp("The height and hash of the block extending the pivot chain.", valueName: "height hex"))
    var extend: [String] = []

    var hintPath: String { file ?? hintFile ?? "" }

    func validate() throws {
        guard (file == nil) != (hintFile == nil) else { throw ValidationError("give the hint file once: HINT or --hint HINT") }
        if confluxLog != nil {
            guard switchHeights.isEmpty, extend.isEmpty, hashes.isEmpty else {
                throw ValidationError("--conflux-log audits a whole log: leave out --switch, --extend and --hash")
            }
            return
        }
        if strict { throw ValidationError("--strict goes with --conflux-log") }
        if checksum == nil { throw ValidationError("--checksum HEX is required (the file's published checksum)") }
        guard switchHeights.isEmpty != extend.isEmpty else {
            throw ValidationError("give exactly one of --switch FORK_AT ME_HEIGHT or --extend HEIGHT HEX")
        }
        if !switchHeights.isEmpty, switchHeights.count != 2 {
            throw ValidationError("--switch takes two values: FORK_AT ME_HEIGHT")
        }
        if !extend.isEmpty, extend.count != 2 { throw ValidationError("--extend takes two values: HEIGHT HEX") }
        if !extend.isEmpty, !hashes.isEmpty { throw ValidationError("--hash goes with --switch, not --extend") }
    }

    /// Errors name the hint file (header and digest errors do not know it).
    func run() throws {
        if let confluxLog { return try audit(confluxLog, hint: try FileInputError.naming(hintPath) { try openHint() }) }
        try FileInputError.naming(hintPath) { try check(try openHint()) }
    }

    private func openHint() throws -> PivotHint {
        let opened = try PivotHintFile(path: hintPath)
        guard let checksum else {
            CommandRunner.printError("note: no --checksum: using the file's own checksum \(opened.checksum.hex)")
            return try PivotHint(file: opened, checksum: opened.checksum)
        }
        return try PivotHint(file: opened, checksum: try parseChecksum(checksum))
    }

    /// `--conflux-log`: one line per logged check, exit 1 on any disagreement.
    private func audit(_ log: String, hint: PivotHint) throws {
        var audit = PivotLogAudit(validator: PivotHintValidator(hint: hint))
        let summary = try ConfluxLog.scan(path: log, strict: strict) { entry in
            let verdict = try audit.check(entry.event.event, line: entry.line, time: entry.timeText)
            print(verdict.text)
            if let disabled = verdict.disabled { CommandRunner.printError(disabled) }
        }
        for warning in summary.warnings(path: log) { CommandRunner.printError(warning) }
        print(audit.summary + " (\(summary.lines) log lines, \(summary.malformedCount) malformed pivot-hint lines skipped)")
        if audit.disagreements > 0 { throw CommandFailure.problems("") }
    }

    private func check(_ hint: PivotHint) throws {
        var hint = hint
        let decision: PivotDecision
        if switchHeights.count == 2 {
            var branch: [UInt64: PivotHash] = [:]
            for entry in hashes {
                let parts = entry.split(separator: ":", maxSplits: 1)
                guard parts.count == 2, let height = UInt64(parts[0]), let hash = PivotHash(hex: String(parts[1])) else {
                    throw CommandFailure.badInput("--hash \(entry.debugDescription): expected HEIGHT:HEX with 64 hex digits")
                }
                if let previous = branch[height], previous != hash {
                    throw CommandFailure.badInput("--hash gives two different hashes for height \(height)")
                }
                branch[height] = hash
            }
            decision = try hint.allowSwitch(forkAt: switchHeights[0], meHeight: switchHeights[1]) { height in
                guard let hash = branch[height] else {
                    throw CommandFailure.badInput("the check height is \(height): add --hash \(height):HEX (the branch's block hash there)")
                }
                return hash
            }
        } else {
            guard let height = UInt64(extend[0]) else {
                throw CommandFailure.badInput("--extend \(extend[0].debugDescription): expected a height")
            }
            decision = hint.allowExtend(height: height, hash: try parseChecksum(extend[1], option: "--extend hash"))
        }
        print(decision.canonicalJSON)
        if let disabled = decision.disabled {
            CommandRunner.printError("Failed to load pivot hint page \(disabled.page), pivot hint check disabled: \(disabled.error)")
        }
        if !decision.allowed { throw CommandFailure.problems("") }
    }
}

struct HintBuild: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "build",
        abstract: "Build a hint file from pivot hashes and print its checksum.",
        discussion: """
        --hashes holds the pivot chain with height = index: binary 32-byte records, or one 64-digit hex hash per line. It must cover every height up to range_max − minor_interval. Minor slots at major heights hold the prefix too, as in the original's files, so the output is byte-identical to theirs for the same chain. Prints the Pivot Hint Checksum: configure a node with it as pivot_hint_checksum.

        Example (the synthetic file S of the spec, §8.1):
          syncreplay hint build --hashes docs/examples/S-chain.hex \\
            --minor-interval 2 --major-interval 10 --page-interval 100 \\
            --range-max 1000 --minor-hash-length 4 -o S.bin
        """
    )

    @Option(help: "Pivot hashes, binary 32-byte records or hex lines; height = index.") var hashes: String
    @Option(help: "Heights between minor (prefix) records.") var minorInterval: UInt32
    @Option(help: "Heights between major (full-hash) records; a multiple of --minor-interval.") var majorInterval: UInt32
    @Option(help: "Heights per page; a multiple of --major-interval.") var pageInterval: UInt32
    @Option(help: "Exclusive upper bound of recorded heights; a multiple of --page-interval.") var rangeMax: UInt64
    @Option(help: "Bytes kept of each minor hash (0…32).") var minorHashLength: UInt32
    @Option(name: .short, help: "Output file.") var output: String

    func run() throws {
        let header = try PivotHintHeader(minorInterval: minorInterval, majorInterval: majorInterval,
                                         pageInterval: pageInterval, rangeMax: rangeMax,
                                         minorHashLength: minorHashLength)
        let data: Data
        do { data = try Data(contentsOf: URL(fileURLWithPath: hashes)) } catch {
            throw CommandFailure.badInput("cannot read --hashes \(hashes): \(error.localizedDescription)")
        }
        let list: PivotHashList
        do { list = try PivotHashList(bytes: [UInt8](data)) } catch {
            throw CommandFailure.badInput("--hashes \(hashes): \(error)")
        }
        let writer = PivotHintWriter(header: header)
        if let last = writer.lastRecordedHeight, UInt64(list.count) <= last {
            let have = list.count == 0 ? "no hashes" : "\(list.count) hashes (heights 0…\(list.count - 1))"
            throw CommandFailure.badInput("--hashes \(hashes) has \(have); range_max \(rangeMax) needs every height up to \(last)")
        }
        let checksum = try writer.write(toPath: output) { height in
            guard let hash = list[height] else { throw CommandFailure.badInput("no hash for height \(height)") }
            return hash
        }
        print("wrote \(output): \(header.expectedFileSize) bytes, \(header.pageCount) pages")
        print("checksum: \(checksum.hex)")
    }
}
