import ArgumentParser
import CommandExit
import Foundation
import SyncTrace
import JSON

/// `syncreplay cat TRACE [--json] [--raw]`: one line per event, in file (= replay) order.
struct Cat: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "cat",
        abstract: "Print every event of a trace, one per line.",
        discussion: """
        Events come in file order, which is replay order. Each line starts with the event's sequence number, its virtual time in nanoseconds and its topic, followed by the decoded fields: for /blocksync the peer, direction and payload size; for /p2p the peer and whether it connected or disconnected; for /pivot the fork event; for /capture what the recorder missed. With --json every line is a JSON object with at least "seq", "time" and "topic". --raw adds payload bytes as hex.

        Messages on channels outside the syncreplay schema (other MCAP files) are shown with their encoding and size. A damaged trace prints its intact events, then the error, and exits 2.

        Example:
          syncreplay cat Traces/pivot-file-s-switch.trace --json \\
            | grep '"topic":"/blocksync"'
        """
    )

    @Argument(help: "The trace (MCAP file) to print.")
    var trace: String

    @Flag(help: "One JSON object per line.")
    var json = false

    @Flag(help: "Include payload bytes as hex (the raw blocksync message, the start block).")
    var raw = false

    /// Errors name the trace (most trace errors only know the offset).
    func run() throws { try FileInputError.naming(trace) { try read() } }

    private func read() throws {
        let formatter = EventFormatter(raw: raw, describePayload: BlocksyncPayload.describe)
        let source = try MCAPFileSource(path: trace)
        var walker = MCAPWalker(scanner: try MCAPScanner(source: source))
        var channels: [UInt16: MCAPChannel] = [:]
        var out = StandardOutput()
        defer { out.flush() }
        while let item = try walker.next() {
            let offset: UInt64, record: MCAPRecord
            switch item {
            case .topLevel(let r): offset = r.offset; record = r.record
            case .inChunk(let o, _, let r): offset = o; record = r
            }
            switch record {
            case .channel(let c): channels[c.id] = c
            case .message(let m):
                guard let channel = channels[m.channelID] else { throw TraceError.unknownChannel(offset: offset, channelID: m.channelID) }
                let fields: [(String, JSONValue)]
                if let topic = TraceTopic(rawValue: channel.topic), channel.messageEncoding == TraceSchema.encoding {
                    do { fields = formatter.fields(of: try TraceEvent.decode(topic: topic, m.data)) } catch {
                        throw TraceError.eventDecode(offset: offset &+ 31, topic: topic.rawValue, reason: String(describing: error))
                    }
                } else {
                    fields = formatter.foreignFields(data: Array(m.data), messageEncoding: channel.messageEncoding)
                }
                let line = formatter.line(sequence: m.sequence, logTime: m.logTime, topic: channel.topic, fields: fields)
                out.write(json ? EventFormatter.json(line) : EventFormatter.text(line))
            default: break
            }
        }
    }
}

/// Buffered standard output (one `write` per 64 KiB instead of one per line).
struct StandardOutput {
    private var buffer: [UInt8] = []

    mutating func write(_ line: String) {
        buffer.append(contentsOf: line.utf8)
        buffer.append(0x0A)
        if buffer.count >= 1 << 16 { flush() }
    }

    mutating func flush() {
        guard !buffer.isEmpty else { return }
        FileHandle.standardOutput.write(Data(buffer))
        buffer.removeAll(keepingCapacity: true)
    }
}
