import CometWire
import Implementations
import Replay
import SyncMachine
import SyncTrace

/// The trace readers, as `cat`, `inspect`, `doctor` and `recover` use them.
enum TraceInput {
    static func run(_ data: [UInt8]) {
        if let reader = try? TraceReader(bytes: data) {
            drain(try? reader.events())
            _ = try? reader.attachments()
            if let summary = reader.summary {
                drain(try? reader.events(fromTime: summary.statistics?.messageStartTime ?? 0))
                drain(try? reader.events(fromSequence: 2))
            }
        }
        let source = MCAPMemorySource(data)
        _ = try? TraceDoctor.examine(source: source, checkPayload: { payload in
            if case .failure(let error) = BlocksyncSummary.of(payload) { return error.description }
            return nil
        })
        let sink = MCAPMemorySink()
        guard (try? TraceRecovery.recover(source: source, into: sink)) != nil else { return }
        // `recover` promises a readable, indexed MCAP file whenever it returns.
        do {
            var walker = MCAPWalker(scanner: try MCAPScanner(source: MCAPMemorySource(sink.bytes)))
            while try walker.next() != nil {}
            _ = try MCAPSummary.load(from: MCAPMemorySource(sink.bytes))
        } catch {
            preconditionFailure("recover wrote an unreadable file: \(error)")
        }
    }

    static func drain(_ stream: TraceEventStream?) {
        guard var stream else { return }
        while (try? stream.next()) != nil {}
    }
}

/// `syncreplay TRACE`: load (refusing damage), then replay in both modes with the trace's
/// profile, as the CLI does without a golden.
enum ReplayInput {
    static func run(_ data: [UInt8]) {
        guard let trace = try? ReplayTraceLoader.load(bytes: data, path: "fuzz.trace") else { return }
        let registry = MachineRegistry.standard
        for mode in ReplayMode.allCases {
            // Single-threaded: a fuzz input's run must not depend on a worker's timing.
            guard let resolved = try? ReplayRequest(mode: mode, verifyAhead: false).resolve(trace: trace, golden: nil, registry: registry) else { return }
            _ = try? ReplaySession.replay(trace, resolved, machines: registry)
        }
    }
}
