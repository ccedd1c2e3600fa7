import ArgumentParser
import Capture
import CometP2P
import CommandExit
import Dispatch
import FileInput
import Foundation
import PcapSource
import PivotHint
import Synchronization
import SyncTrace

extension CaptureError: InputError {}
extension PcapError: InputError {}

/// `synccapture`: pcap/pcapng files or a live interface → a syncreplay trace (DESIGN.md §5, §6).
@main
struct SyncCapture: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "synccapture",
        abstract: "Turn network captures of CometBFT peers, or a Conflux node's log, into syncreplay traces.",
        discussion: """
        `synccapture -r FILE -o OUT.trace` runs the default subcommand, record. Exit codes: 0 success, 2 bad input or usage, 3 internal error.
        """,
        version: "0.1.0",
        subcommands: [Record.self, Play.self, Bench.self],
        defaultSubcommand: Record.self)

    static func main() {
        HugePageHeap.enable()
        CommandRunner.main(SyncCapture.self)
    }
}

/// `synccapture record` (the default): capture → trace.
struct Record: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "record",
        abstract: "Turn a pcap/pcapng file, a live interface or Conflux fork events into a syncreplay trace.",
        discussion: """
        Reads a capture file (-r, pcap or pcapng) or a live interface (-i) through libpcap, reassembles TCP per connection and direction, decodes plaintext MConnection or SecretConnection traffic (decrypted with --keylog), and keeps the blocksync channel (0x40) as /blocksync events seen from the node under test. Gaps, undecodable connections and decode errors become /capture events with byte counts. A summary per connection goes to stderr.

        The node under test is --node ADDR:PORT or --node NODE_ID; by default the endpoint present in the most connections (ties: the one that listened more often).

        --consensus-params F puts the chain's vote-extension enable height (consensus_params.abci or .feature vote_extensions_enable_height) and block.max_bytes into the /node record, read from a genesis.json or an RPC /consensus_params response; replay then applies cometbft v0.38's extended-commit rules from that height.

        Conflux fork events come from a node's log (--conflux-log: its "Pivot hint check switch/extend result" lines) or a JSON-lines export (--fork-events); with either, -r/-i are optional and the trace holds the fork events alone, with the pivot-hint file from --hint attached. The log is streamed line by line with progress on stderr; a malformed pivot-hint line is skipped with a warning naming its line (--strict: an error, exit 2).

        Examples:
          synccapture -r Traces/capture/secret-sync.pcap \\
            --keylog Traces/capture/secret-sync.keylog -o sync.trace
          synccapture -i eth0 --filter 'tcp port 26656' --duration 60 -o live.trace
          synccapture --conflux-log Traces/conflux/agree.log \\
            --hint Traces/conflux/chain.hint -o fork.trace
        """)

    @Option(name: .customShort("r"), help: ArgumentHelp("Read a pcap or pcapng file.", valueName: "FILE"))
    var file: String?

    @Option(name: .customShort("i"), help: ArgumentHelp("Capture live on an interface (needs CAP_NET_RAW).", valueName: "IFACE"))
    var interface: String?

    @Option(help: ArgumentHelp("BPF filter (live default: 'tcp port 26656', the CometBFT P2P port; files: none).", valueName: "BPF"))
    var filter: String?

    @Option(help: ArgumentHelp("Live capture: stop after this many seconds.", valueName: "SECONDS"))
    var duration: Double?

    @Option(help: ArgumentHelp("Stop after this many packets.", valueName: "N"))
    var count: Int?

    @Option(help: ArgumentHelp("SecretConnection key log (see README: Capture).", valueName: "FILE"))
    var keylog: String?

    @Option(help: ArgumentHelp("The node under test: ADDR:PORT or a node id.", valueName: "ADDR:PORT|NODE_ID"))
    var node: String?

    @Option(help: ArgumentHelp("Genesis of the chain: the node syncs from the initial height.", valueName: "genesis.json"))
    var genesis: String?

    @Option(help: ArgumentHelp("The last block in the node's store (CometBFT /block JSON).", valueName: "B.json"))
    var startBlock: String?

    @Option(help: ArgumentHelp("The validator set after the start block (CometBFT /validators JSON).", valueName: "V.json"))
    var startValidators: String?

    @Option(help: ArgumentHelp("Start the node where this trace's /node record does (a capture of `synccapture play --trace` of it).", valueName: "TRACE"))
    var nodeFrom: String?

    @Option(help: ArgumentHelp("With --start-block: the lowest height in the node's store (default: the initial height, 1).", valueName: "HEIGHT"))
    var storeBase: Int64?

    @Option(help: ArgumentHelp("Consensus params for the /node record (vote-extension enable height, block max bytes): a genesis.json or an RPC /consensus_params response.", valueName: "F.json"))
    var consensusParams: String?

    @Option(help: ArgumentHelp("Fork events as JSON lines (see README: Capture).", valueName: "F.jsonl"))
    var forkEvents: String?

    @Option(help: ArgumentHelp("Conflux debug log: its pivot-hint switch/extend check lines.", valueName: "FILE"))
    var confluxLog: String?

    @Flag(help: "A malformed pivot-hint line in --conflux-log is an error (exit 2) instead of a skipped line with a warning.")
    var strict = false

    @Option(help: ArgumentHelp("Attach this Conflux pivot-hint file (checksum in the trace metadata).", valueName: "FILE"))
    var hint: String?

    @Option(name: .shortAndLong, help: ArgumentHelp("Output trace.", valueName: "OUT.trace"))
    var output: String

    @Flag(help: "No progress lines on stderr (the summary is still printed).")
    var quiet = false

    var forkEventSources: ForkEventSources { ForkEventSources(confluxLog: confluxLog, forkEvents: forkEvents, strict: strict) }

    func validate() throws {
        if file != nil && interface != nil { throw ArgumentParser.ValidationError("give -r FILE or -i IFACE, not both") }
        if file == nil && interface == nil {
            if forkEventSources.isEmpty {
                throw ArgumentParser.ValidationError("give -r FILE or -i IFACE, or a fork-event source (--conflux-log FILE or --fork-events FILE)")
            }
            for (given, name) in [(filter != nil, "--filter"), (duration != nil, "--duration"), (count != nil, "--count"),
                                  (keylog != nil, "--keylog"), (node != nil, "--node")] where given {
                throw ArgumentParser.ValidationError("\(name) needs a capture (-r FILE or -i IFACE)")
            }
        }
        if strict && confluxLog == nil { throw ArgumentParser.ValidationError("--strict goes with --conflux-log") }
        if let count, count <= 0 { throw ArgumentParser.ValidationError("--count must be positive") }
        if let duration, !(duration > 0) { throw ArgumentParser.ValidationError("--duration must be positive") }
        if (startBlock == nil) != (startValidators == nil) {
            throw ArgumentParser.ValidationError("--start-block and --start-validators go together")
        }
        if [genesis != nil, startBlock != nil, nodeFrom != nil].filter({ $0 }).count > 1 {
            throw ArgumentParser.ValidationError("give one of --genesis, --start-block or --node-from")
        }
    }

    func run() throws {
        var keys = KeyLog()
        if let keylog {
            guard let data = FileManager.default.contents(atPath: keylog) else {
                throw CaptureError.unreadable(path: keylog, reason: "no such file or not readable")
            }
            keys = try KeyLog(text: String(decoding: data, as: UTF8.self))
        }
        let selector = try node.map(NodeSelector.init(parsing:))
        // Inputs other than the capture are read first: a bad file fails before a long capture.
        var start: NodeRecord?
        if let genesis { start = try StartState.fromGenesis(try Self.read(genesis), path: genesis) }
        if let nodeFrom { start = try StartState.fromTrace(path: nodeFrom) }
        if let startBlock, let startValidators {
            start = try StartState.fromStore(block: try Self.read(startBlock), blockPath: startBlock,
                                             validators: try Self.read(startValidators), validatorsPath: startValidators,
                                             storeBase: storeBase)
        }
        var params: RecordedConsensusParams?
        if let consensusParams {
            do { params = try ConsensusParamsFile.parse(try Self.read(consensusParams)) } catch let error as ConsensusParamsError {
                throw CaptureError.badStartState(path: consensusParams, reason: error.description)
            }
        }
        let imported = try importForkEvents()
        var attachments: [(name: String, mediaType: String, data: [UInt8])] = []
        var metadata: [String: String] = [:]
        if let hint {
            let file: PivotHintFile
            do { file = try PivotHintFile(path: hint) } catch { throw CaptureError.unreadable(path: hint, reason: error.description) }
            attachments.append((TraceAttachmentName.pivotHint, TraceAttachmentName.pivotHintMediaType, try Self.read(hint)))
            metadata[TraceAttachmentName.pivotHintChecksumKey] = file.checksum.hex
        }
        var record = start ?? NodeRecord()
        params?.apply(to: &record)
        var captured: [TimedEvent] = []
        if file != nil || interface != nil {
            let (result, progress) = try FramesOpenedAhead.withDefault { opening in
                var session = CaptureSession(keyLog: keys, node: selector, frameOpening: opening)
                return (try capture(into: &session), session.progress)
            }
            captured = result.events
            if record.chainID.isEmpty { record.chainID = result.nodeInfo?.network ?? "" }
            record.nodeID = result.node ?? ""
            record.captureMethod = "pcap"
            metadata["source"] = file.map { "pcap file \(($0 as NSString).lastPathComponent)" } ?? "live \(interface ?? "")"
            if !quiet { Self.progressLine(progress) }
            Self.printSummary(result)
        } else {
            record.captureMethod = confluxLog != nil ? "conflux-log" : "fork-events"
            metadata["source"] = forkEventSources.sourceDescription
        }
        let written = try CaptureTrace.write(to: output, node: record, events: CaptureTrace.merge([captured, imported]),
                                             attachments: attachments, metadata: metadata)
        CommandRunner.printError("wrote \(written) events to \(output)")
    }

    /// The fork events, before any packet (a bad file fails before a long capture).
    func importForkEvents() throws -> [TimedEvent] {
        guard !forkEventSources.isEmpty else { return [] }
        let clock = ContinuousClock()
        var last = clock.now
        let size = confluxLog.flatMap { try? FileManager.default.attributesOfItem(atPath: $0)[.size] as? NSNumber }?.uint64Value ?? 0
        let imported = try forkEventSources.read { summary in
            guard !quiet, clock.now - last >= .seconds(1) else { return }
            last = clock.now
            CommandRunner.printError("synccapture: \(Self.logProgress(summary, size: size))")
        }
        if let summary = imported.logSummary, let confluxLog {
            for warning in summary.warnings(path: confluxLog) { CommandRunner.printError(warning) }
            CommandRunner.printError("synccapture: \(confluxLog): \(Self.logProgress(summary, size: summary.bytes))")
        }
        return imported.events
    }

    /// The pcap file or live interface through the capture recorder.
    func capture(into session: inout CaptureSession) throws -> CaptureResult {
        let handle: PcapHandle
        if let file {
            handle = try PcapHandle.openFile(file)
        } else {
            handle = try PcapHandle.openInterface(interface ?? "")
        }
        if let expression = filter ?? (interface != nil ? "tcp port 26656" : nil) {
            try handle.setFilter(expression)
        }
        let stop = StopFlag()
        let signalSource = stop.watchInterrupt()
        defer { signalSource.cancel() }
        let deadline = duration.map { ContinuousClock.now + .milliseconds(Int64($0 * 1000)) }
        return try CaptureRecorder.record(from: handle, into: &session, count: count, deadline: deadline, stop: { stop.isSet },
                                          progress: quiet ? nil : { Self.progressLine($0) })
    }

    static func logProgress(_ s: ConfluxLog.Summary, size: UInt64) -> String {
        let percent = size > 0 ? String(format: " (%.0f%%)", Double(s.bytes) * 100 / Double(size)) : ""
        return String(format: "%.1f MB", Double(s.bytes) / 1e6) + percent
            + ", \(s.lines) lines, \(s.pivotLines) pivot-hint lines, \(s.malformedCount) malformed"
    }

    static func read(_ path: String) throws -> [UInt8] {
        do { return try InputFile.read(path, what: "file") } catch { throw CaptureError.unreadable(path: path, reason: error.reason) }
    }

    static func progressLine(_ p: CaptureProgress) {
        CommandRunner.printError("synccapture: \(p.packets) packets, \(p.bytes) bytes, \(p.connections) connections, \(p.messages) messages")
    }

    static func printSummary(_ result: CaptureResult) {
        var lines = ["node under test: \(result.node ?? "none (no connections)")"]
        for s in result.summaries {
            let transport = s.encrypted.map { $0 ? "secret" : "plain" } ?? "-"
            lines.append("  \(s.name) peer \(s.peer) [\(transport)] bytes \(s.bytes[0])/\(s.bytes[1]) messages \(s.messages) "
                         + "blocksync \(s.blocksyncMessages) gaps \(s.gaps) (\(s.gapBytes) bytes) retransmits \(s.retransmittedSegments): \(s.status)")
        }
        for line in lines { CommandRunner.printError(line) }
    }
}

/// Set by SIGINT so the capture loop finishes the trace cleanly instead of dying mid-file.
final class StopFlag: Sendable {
    private let flag = Atomic<Bool>(false)
    var isSet: Bool { flag.load(ordering: .relaxed) }

    func watchInterrupt() -> any DispatchSourceSignal {
        signal(SIGINT, SIG_IGN)
        let source = DispatchSource.makeSignalSource(signal: SIGINT, queue: .global())
        source.setEventHandler { [self] in flag.store(true, ordering: .relaxed) }
        source.resume()
        return source
    }
}
