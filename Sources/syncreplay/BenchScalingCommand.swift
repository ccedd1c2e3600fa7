import ArgumentParser
import CommandExit
import FileInput
import Foundation
import Implementations
import Replay
import Sim
import SyncMachine

/// `syncreplay bench scaling` (issue 19 item 5): replay time and peak RSS per block of
/// generated traces of growing length, so linearity and bounded memory are visible in one run.
/// Each replay runs in a child process (peak RSS of one process only grows), next to the
/// physical reference of a raw read of the same file, interleaved.
struct BenchScaling: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "scaling",
        abstract: "Replay time and peak RSS per block across generated trace sizes (linearity, bounded memory).",
        discussion: """
        For each size N in --blocks the simulator (the generator of the corpus's long-sync-10k, syncsim) runs --scenario with its chain lengthened to N blocks and writes a temporary trace. Each trace is then replayed in each mode by a child process (this binary, re-executed) as `syncreplay TRACE --expect GOLDEN` replays it — the trace streamed, the golden compared as decisions are produced (an untimed first child records each golden) — and reports its wall time and its peak RSS (VmHWM of /proc/self/status; a child per replay, because one process's peak only grows). Before each replay the parent reads the same file raw (64 KiB read(2) calls into one buffer): the physical reference, interleaved so machine load affects both alike. The best of --iterations is reported.

        Per size and mode it prints: blocks applied, replay seconds (load + replay), µs per block, replay MB/s and its percentage of the raw read, peak RSS, and the growth of RSS per block (peak minus the RSS before loading, over blocks applied). Per mode it then says whether time per block stays within 1.3× across sizes (linear) and gives peak RSS of the largest trace over that of the smallest (1.0 = memory independent of trace length). Build in release first; a 100,000-block size takes minutes on a loaded 2-core machine (generation included).

        Example:
          swift build -c release
          .build/release/syncreplay bench scaling --blocks 10000,50000,100000
          .build/release/syncreplay bench scaling --blocks 2000,10000 --mode strict
        """
    )

    @Option(help: "Comma-separated block counts of the generated traces (each 2 … 200000, the scenario grammar's bound on chain.length).")
    var blocks: String = "10000,50000,100000"

    @Option(help: "Replay mode (strict or reactive); both when omitted.")
    var mode: ReplayMode?

    @Option(help: "Scenario whose chain is lengthened to each size.")
    var scenario: String = "Traces/long-sync-10k.scenario.toml"

    @Option(help: "Rounds; the best time and the lowest peak of each row are reported.")
    var iterations: Int = 1

    /// The child's side: replay this trace once in `--mode` against `--child-golden` (recording
    /// it when missing) and print one `child` line.
    @Option(help: .hidden)
    var childTrace: String?
    @Option(help: .hidden)
    var childGolden: String?
    /// The child only reads and decodes `--child-golden`, as a replay does before comparing, and
    /// reports what the decoded golden holds: its share of the peak, which the issue's bound
    /// leaves out.
    @Flag(help: .hidden)
    var childGoldenOnly = false

    /// Tolerated spread of time per block across sizes for the run to count as linear.
    static let linearityBound = 1.3

    func sizes() throws -> [Int] {
        let parts = blocks.split(separator: ",", omittingEmptySubsequences: false)
        let sizes = parts.compactMap { Int($0.trimmingCharacters(in: .whitespaces)) }
        guard sizes.count == parts.count, !sizes.isEmpty, sizes.allSatisfy({ $0 >= 2 }) else {
            throw ValidationError("--blocks must be a comma-separated list of counts of at least 2, got \(blocks)")
        }
        return sizes
    }

    func validate() throws {
        if iterations < 1 { throw ValidationError("--iterations must be at least 1") }
        _ = try sizes()
        if childTrace != nil && (mode == nil || childGolden == nil) { throw ValidationError("--child-trace needs --mode and --child-golden") }
    }

    func run() throws {
        if let childTrace, let mode, let childGolden {
            return try childGoldenOnly ? Self.childGolden(childGolden) : Self.child(trace: childTrace, mode: mode, golden: childGolden)
        }
        let sizes = try sizes()
        let modes = mode.map { [$0] } ?? ReplayMode.allCases
        guard let text = try? String(contentsOfFile: scenario, encoding: .utf8) else {
            throw CommandFailure(.badInput, "cannot read scenario \(scenario)")
        }
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("syncreplay-bench-scaling-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }

        var traces: [(blocks: Int, path: String, bytes: Int)] = []
        for n in sizes {
            // The scenario re-parsed with its chain length replaced, so every default derived from
            // the length (the peers' status heights) and every bound on it applies to the new size.
            let s = try Self.scenario(text, path: scenario, blocks: n)
            let path = dir.appendingPathComponent("scaling-\(n).trace").path
            let start = DispatchTime.now()
            do { _ = try Simulation(scenario: s, machines: MachineRegistry.standard).run(to: path) } catch {
                throw CommandFailure(.internalError, "generating the \(n)-block trace from \(scenario): \(error)")
            }
            let bytes = ((try? FileManager.default.attributesOfItem(atPath: path))?[.size] as? Int) ?? 0
            print(String(format: "generated %d blocks (%@ lengthened, profile %@): %.1f MB in %.1f s", n, s.name, s.node.profile,
                         Double(bytes) / 1e6, Self.elapsed(start)))
            traces.append((n, path, bytes))
        }

        var reference = [Double](repeating: .infinity, count: traces.count)
        var best = [[ChildReport?]](repeating: [ChildReport?](repeating: nil, count: modes.count), count: traces.count)
        // Each size's golden per mode, recorded by an untimed child first: the timed children
        // then do what `syncreplay TRACE --expect GOLDEN` does (stream, compare as produced).
        for trace in traces {
            for mode in modes { _ = try childReplay(trace.path, mode: mode) }
        }
        for _ in 0..<iterations {
            for (t, trace) in traces.enumerated() {
                for (m, mode) in modes.enumerated() {
                    reference[t] = min(reference[t], try Self.rawRead(trace.path))
                    let report = try childReplay(trace.path, mode: mode)
                    if let old = best[t][m] {
                        best[t][m] = ChildReport(seconds: min(old.seconds, report.seconds), peakKB: min(old.peakKB, report.peakKB),
                                                 startKB: min(old.startKB, report.startKB), blocks: report.blocks, events: report.events)
                    } else {
                        best[t][m] = report
                    }
                }
            }
        }

        // The golden's share of each peak: a child that only reads and decodes it.
        var goldenKB = [[Int]](repeating: [Int](repeating: 0, count: modes.count), count: traces.count)
        for (t, trace) in traces.enumerated() {
            for (m, mode) in modes.enumerated() {
                let alone = try childReplay(trace.path, mode: mode, goldenOnly: true)
                goldenKB[t][m] = max(0, alone.peakKB - alone.startKB)
            }
        }

        print("reference: raw read of each trace (64 KiB read(2) calls), interleaved with the replays")
        print("golden MB: what a decoded golden holds (a child that only reads and decodes it, measured once its transient memory is given back)")
        print("mode      blocks   events  trace MB  replay s  µs/block  replay MB/s  raw MB/s  % raw  peak RSS MB  start MB  KB/block above start  golden MB")
        for (m, mode) in modes.enumerated() {
            for (t, trace) in traces.enumerated() {
                let r = best[t][m]!, mb = Double(trace.bytes) / 1e6
                print(Self.pad(mode.rawValue, -8), Self.pad(String(r.blocks), 7), Self.pad(String(r.events), 8),
                      Self.pad(String(format: "%.1f", mb), 9), Self.pad(String(format: "%.3f", r.seconds), 9),
                      Self.pad(String(format: "%.1f", r.seconds * 1e6 / Double(max(1, r.blocks))), 9),
                      Self.pad(String(format: "%.1f", mb / r.seconds), 12), Self.pad(String(format: "%.0f", mb / reference[t]), 9),
                      Self.pad(String(format: "%.2f", 100 * reference[t] / r.seconds), 6),
                      Self.pad(String(format: "%.1f", Double(r.peakKB) / 1024), 12), Self.pad(String(format: "%.1f", Double(r.startKB) / 1024), 9),
                      Self.pad(String(format: "%.2f", Double(r.peakKB - r.startKB) / Double(max(1, r.blocks))), 15),
                      Self.pad(String(format: "%.1f", Double(goldenKB[t][m]) / 1024), 10))
            }
        }
        for (m, mode) in modes.enumerated() {
            let rows = traces.indices.map { best[$0][m]! }
            let perBlock = rows.map { $0.seconds / Double(max(1, $0.blocks)) }
            let spread = perBlock.max()! / perBlock.min()!
            let smallest = traces.indices.min { traces[$0].blocks < traces[$1].blocks }!
            let largest = traces.indices.max { traces[$0].blocks < traces[$1].blocks }!
            print(String(format: "%@: time per block spread %.2f× across sizes (%@ %.1f×); peak RSS %d blocks / %d blocks = %.2f, %.2f without the golden",
                         mode.rawValue, spread, spread <= Self.linearityBound ? "linear: within" : "NOT linear: beyond",
                         Self.linearityBound, traces[largest].blocks, traces[smallest].blocks,
                         Double(rows[largest].peakKB) / Double(max(1, rows[smallest].peakKB)),
                         Double(rows[largest].peakKB - goldenKB[largest][m]) / Double(max(1, rows[smallest].peakKB - goldenKB[smallest][m]))))
        }
    }

    /// `text` with its `[chain]` `length = …` line set to `blocks`, parsed; the virtual-time
    /// bound grows with the chain (the scenario's own span for its own length).
    static func scenario(_ text: String, path: String, blocks: Int) throws -> Scenario {
        var lines = text.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        guard let i = lines.firstIndex(where: { $0.range(of: #"^length\s*="#, options: .regularExpression) != nil }) else {
            throw CommandFailure(.badInput, "scenario \(path) has no 'length = N' line to lengthen")
        }
        let original = Int(lines[i].split(separator: "=")[1].split(separator: "#")[0].trimmingCharacters(in: .whitespaces)) ?? blocks
        lines[i] = "length = \(blocks)"
        var s: Scenario
        do { s = try Scenario.parse(lines.joined(separator: "\n"), defaultName: "scenario") } catch {
            throw CommandFailure(.badInput, "scenario \(path) lengthened to \(blocks) blocks: \(error)")
        }
        s.node.duration = max(s.node.duration, s.node.duration / UInt64(max(1, original)) * UInt64(blocks))
        return s
    }

    /// What a child reports: load + replay seconds, VmHWM and VmRSS before loading (KiB).
    struct ChildReport {
        var seconds: Double
        var peakKB: Int
        var startKB: Int
        var blocks: Int
        var events: Int

        static let prefix = "scaling-child"

        var line: String {
            String(format: "%@ seconds=%.6f peak_kb=%d start_kb=%d blocks=%d events=%d", Self.prefix, seconds, peakKB, startKB, blocks, events)
        }

        init(seconds: Double, peakKB: Int, startKB: Int, blocks: Int, events: Int) {
            (self.seconds, self.peakKB, self.startKB, self.blocks, self.events) = (seconds, peakKB, startKB, blocks, events)
        }

        /// Parses the child's line; nil if the output has none.
        init?(output: String) {
            guard let line = output.split(separator: "\n").first(where: { $0.hasPrefix(Self.prefix + " ") }) else { return nil }
            var fields: [Substring: Substring] = [:]
            for word in line.split(separator: " ").dropFirst() {
                let kv = word.split(separator: "=", maxSplits: 1)
                if kv.count == 2 { fields[kv[0]] = kv[1] }
            }
            guard let s = fields["seconds"].flatMap({ Double($0) }), let p = fields["peak_kb"].flatMap({ Int($0) }),
                  let st = fields["start_kb"].flatMap({ Int($0) }), let b = fields["blocks"].flatMap({ Int($0) }),
                  let e = fields["events"].flatMap({ Int($0) }) else { return nil }
            self.init(seconds: s, peakKB: p, startKB: st, blocks: b, events: e)
        }
    }

    /// The child: what `syncreplay TRACE --expect GOLDEN --mode MODE` does, with the trace's own
    /// profile (its `/node` hint): the trace streamed, the golden compared as produced; the golden
    /// is recorded when it does not exist yet.
    static func child(trace: String, mode: ReplayMode, golden: String) throws {
        let startKB = try memoryStatus("VmRSS")
        let start = DispatchTime.now()
        var goldenCase = GoldenCase(registry: .standard, tracePath: trace, goldenPath: golden, request: ReplayRequest(mode: mode),
                                    record: FileManager.default.fileExists(atPath: golden) ? nil : .missing, ci: false, tool: "bench scaling")
        goldenCase.compareAsProduced = true
        let outcome = try goldenCase.run(load: { try ReplayTraceLoader.open(path: $0) },
                                         replay: { try ReplaySession.replay($0, $1, machines: .standard) })
        let result: ReplayResult
        switch outcome {
        case .matched(_, let r), .recorded(_, let r, _, _): result = r
        case .diverged, .disagreed: throw CommandFailure(.internalError, "\(trace) does not match its golden \(golden)")
        }
        let seconds = elapsed(start)
        print(ChildReport(seconds: seconds, peakKB: try memoryStatus("VmHWM"), startKB: startKB,
                          blocks: result.blocksApplied, events: result.eventsDelivered).line)
    }

    /// The golden-only child: reads and decodes `golden` as a replay does and reports, as its
    /// peak, the resident size while it holds the decoded golden once the decoding's transient
    /// memory (the file's bytes, the JSON tree) is given back (`malloc_trim`): the replay's own
    /// peak comes after that transient, so only what the golden holds adds to it.
    static func childGolden(_ golden: String) throws {
        let startKB = try memoryStatus("VmRSS")
        let start = DispatchTime.now()
        let decoded: GoldenFile
        do { decoded = try GoldenFile.decode(try InputFile.read(golden, what: "golden")) } catch {
            throw CommandFailure(.internalError, "golden \(golden): \(error)")
        }
        let seconds = elapsed(start)
        #if os(Linux)
        _ = glibcMallocTrim(0)
        #endif
        let heldKB = try memoryStatus("VmRSS")
        withExtendedLifetime(decoded) {}
        print(ChildReport(seconds: seconds, peakKB: heldKB, startKB: startKB, blocks: 0, events: decoded.entries.count).line)
    }

    /// Runs one child replay of `path` in `mode` (or only its golden's reading).
    func childReplay(_ path: String, mode: ReplayMode, goldenOnly: Bool = false) throws -> ChildReport {
        let executable = Bundle.main.executablePath ?? CommandLine.arguments[0]
        let result = try ChildProcess.run(URL(fileURLWithPath: executable),
                                          ["bench", "scaling", "--child-trace", path, "--mode", mode.rawValue,
                                           "--child-golden", GoldenNaming.stem(trace: path) + "-\(mode.rawValue)" + GoldenNaming.goldenSuffix]
                                          + (goldenOnly ? ["--child-golden-only"] : []))
        guard result.status == 0, let report = ChildReport(output: result.stdout) else {
            throw CommandFailure(.internalError, "the \(mode.rawValue) replay child of \(path) failed (exit \(result.status)): "
                                 + result.stderr.trimmingCharacters(in: .whitespacesAndNewlines))
        }
        return report
    }

    /// A `kB` line of /proc/self/status (`VmHWM`: peak resident set; `VmRSS`: current).
    static func memoryStatus(_ key: String) throws -> Int {
        let text = try String(contentsOfFile: "/proc/self/status", encoding: .utf8)
        for line in text.split(separator: "\n") where line.hasPrefix(key + ":") {
            if let kb = line.dropFirst(key.count + 1).split(whereSeparator: { $0 == " " || $0 == "\t" }).first.flatMap({ Int($0) }) { return kb }
        }
        throw CommandFailure(.internalError, "/proc/self/status has no \(key) line (bench scaling needs Linux)")
    }

    /// Seconds to read `path` with 64 KiB `read(2)` calls into one reused buffer.
    static func rawRead(_ path: String) throws -> Double {
        let fd = open(path, O_RDONLY)
        guard fd >= 0 else { throw CommandFailure(.internalError, "cannot open \(path) for the raw-read reference") }
        defer { close(fd) }
        var buffer = [UInt8](repeating: 0, count: 1 << 16)
        let start = DispatchTime.now()
        var total = 0
        while true {
            let n = buffer.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            if n <= 0 { break }
            total += n
        }
        let seconds = elapsed(start)
        guard total > 0 else { throw CommandFailure(.internalError, "read nothing from \(path) for the raw-read reference") }
        return seconds
    }

    static func elapsed(_ start: DispatchTime) -> Double {
        Double(DispatchTime.now().uptimeNanoseconds - start.uptimeNanoseconds) / 1e9
    }

    /// Right-aligns to `width`; a negative width left-aligns.
    static func pad(_ s: String, _ width: Int) -> String {
        let w = abs(width)
        guard s.count < w else { return s }
        let fill = String(repeating: " ", count: w - s.count)
        return width < 0 ? s + fill : fill + s
    }
}

#if os(Linux)
/// glibc's `malloc_trim` (malloc.h, which the Glibc module does not export): gives freed heap
/// memory back to the system, so VmRSS shows what is still held.
@_silgen_name("malloc_trim")
private func glibcMallocTrim(_ pad: Int) -> Int32
#endif
