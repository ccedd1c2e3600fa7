import Foundation
import Testing

/// Every `--help` of the three executables (issue 15): paragraphs wrapped once, by the parser
/// (no line over 80 columns but the USAGE line, no short line followed by the rest of its
/// sentence), and every file an example names exists in the repository.
@Suite struct HelpTextTests {
    static let width = 80
    /// Options whose value an example writes rather than reads.
    static let outputOptions: Set<String> = ["-o", "--output", "--junit", "--html", "--timelines", "--json", "-w", ">"]
    static let inputExtensions = [".trace", ".json", ".toml", ".bin", ".hex", ".pcap", ".pcapng", ".keylog", ".jsonl", ".log",
                                  ".xml", ".html", ".cphb"]

    /// `[program] + path` for every command and subcommand, from each help's SUBCOMMANDS list.
    static func commands(_ program: String) throws -> [[String]] {
        var out: [[String]] = [], queue: [[String]] = [[]]
        while !queue.isEmpty {
            let path = queue.removeFirst()
            out.append(path)
            let help = try SyncReplayProcess.run(path + ["--help"], program: SyncReplayProcess.product(program)).stdout
            var inSection = false
            for line in help.split(separator: "\n", omittingEmptySubsequences: false) {
                if line == "SUBCOMMANDS:" { inSection = true; continue }
                if inSection && line.isEmpty { break }
                if inSection, line.hasPrefix("  "), !line.hasPrefix("   "), let name = line.split(separator: " ").first {
                    queue.append(path + [String(name)])
                }
            }
        }
        return out
    }

    static func problems(in help: String) -> [String] {
        var problems: [String] = []
        let lines = help.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        var inUsage = false, inExample = false
        var written: Set<String> = []  // files an earlier example line writes
        for (i, line) in lines.enumerated() {
            if line.hasPrefix("USAGE:") { inUsage = true }
            if line.isEmpty { inUsage = false; inExample = false }
            if !inUsage && line.count > width { problems.append("over \(width) columns: \(line)") }
            let trimmed = line.trimmingCharacters(in: .whitespaces)
            if trimmed.hasPrefix("Example") && trimmed.hasSuffix(":") { inExample = true; continue }
            if inExample {
                if !line.hasPrefix("  ") { problems.append("example line wrapped by the parser: \(line)") }
                problems += missingPaths(trimmed, written: &written)
                continue
            }
            guard !inUsage, i + 1 < lines.count, !trimmed.isEmpty, line.count < width / 2,
                  !".:!?".contains(trimmed.last!) else { continue }
            let next = lines[i + 1]
            let indent = line.prefix { $0 == " " }.count
            guard next.prefix(while: { $0 == " " }).count == indent, let first = next.dropFirst(indent).first,
                  first.isLowercase else { continue }
            problems.append("short line continued on the next: \"\(line)\" / \"\(next)\"")
        }
        return problems
    }

    /// The files an example line reads that neither exist (relative to the package directory)
    /// nor were written by an earlier example line. Build products (`.build/…`) are not files
    /// of the repository and `K/N` is a shard, not a path.
    static func missingPaths(_ line: String, written: inout Set<String>) -> [String] {
        let words = line.split(separator: " ").map { $0.trimmingCharacters(in: CharacterSet(charactersIn: "'\"()")) }
        var missing: [String] = []
        for (i, word) in words.enumerated() {
            if i > 0 && outputOptions.contains(words[i - 1]) { written.insert(word); continue }
            if word.hasPrefix("-") || word.hasPrefix(".build/") || written.contains(word) || word.wholeMatch(of: /[0-9]+\/[0-9]+/) != nil
                || [Character("$"), "…", "<", "=", "*", ":", "\"", "("].contains(where: word.contains) { continue }
            guard word.contains("/") || inputExtensions.contains(where: { word.hasSuffix($0) }) else { continue }
            let url = word.hasPrefix("/") ? URL(fileURLWithPath: word) : SyncReplayProcess.packageDirectory.appendingPathComponent(word)
            if !FileManager.default.fileExists(atPath: url.path) { missing.append("example names a missing file \(word): \(line)") }
        }
        return missing
    }

    @Test(arguments: ["syncreplay", "synccapture", "syncsim"])
    func everyHelpReadsWell(_ program: String) throws {
        let commands = try Self.commands(program)
        #expect(commands.count > 1 || program == "syncsim", "\(commands)")
        for path in commands {
            let r = try SyncReplayProcess.run(path + ["--help"], program: SyncReplayProcess.product(program))
            #expect(r.status == 0, "\(program) \(path) --help: \(r.stderr)")
            for problem in Self.problems(in: r.stdout) { Issue.record("\(program) \(path.joined(separator: " ")) --help: \(problem)") }
        }
    }

    /// The hint files the `hint` examples use are the synthetic file S of
    /// specs/conflux-pivot-hint.md §8.1 and its chain (`H(h)` for h = 0…998, one hex line per
    /// height). `SYNCREPLAY_WRITE_FIXTURES=1` rewrites them.
    @Test func exampleHintFilesAreTheSpecsFileS() throws {
        let dir = SyncReplayProcess.packageDirectory.appendingPathComponent("docs/examples")
        let chain = Data((0...998).map { SyntheticHint.canon(UInt64($0)).hex + "\n" }.joined().utf8)
        let file = Data(SyntheticHint.bytes)
        if ProcessInfo.processInfo.environment["SYNCREPLAY_WRITE_FIXTURES"] == "1" {
            try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
            try chain.write(to: dir.appendingPathComponent("S-chain.hex"))
            try file.write(to: dir.appendingPathComponent("S.bin"))
        }
        #expect(FileManager.default.contents(atPath: dir.appendingPathComponent("S-chain.hex").path) == chain)
        #expect(FileManager.default.contents(atPath: dir.appendingPathComponent("S.bin").path) == file)
    }

    @Test func theChecksCatchWhatTheyShould() {
        #expect(Self.problems(in: "  A paragraph wrapped by hand and then again by the parser, which leaves a\n  short\n  line behind.").count == 1)
        #expect(Self.problems(in: String(repeating: "x", count: 81)).count == 1)
        #expect(Self.problems(in: "USAGE: " + String(repeating: "x", count: 90)).isEmpty)
        #expect(Self.problems(in: "  Examples:\n    syncreplay Traces/catchup.trace -o Traces/new.trace").count == 1)
        #expect(Self.problems(in: "  Example:\n    syncreplay Traces/catchup-basic.trace -o out.html").isEmpty)
        #expect(Self.problems(in: "Examples:\n  syncreplay timeline Traces/catchup-basic.trace --golden\nTraces/x.json").count == 2)
        #expect(Self.problems(in: "  Examples:\n    cp Traces/catchup-basic.trace > a.trace\n    syncreplay a.trace").isEmpty)
    }
}
