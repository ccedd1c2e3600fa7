import Foundation
import SyncMachine

/// `syncreplay suite DIR --diff A,B` (issue 14 §1): the differential replay over every trace of
/// a corpus, which of them differ, and a JUnit case per trace with its first difference.
public struct SuiteDiffRun: Sendable {
    /// One trace: its differential report, or why it could not run.
    public struct Result: Sendable {
        public var tracePath: String
        public var report: DifferentialReport?
        public var error: String?
        public var seconds: Double
    }

    public var directory: String
    public var profiles: [ProfileName]
    public var results: [Result]

    public var differing: Int { results.filter { $0.report?.differs == true }.count }
    public var errors: Int { results.filter { $0.error != nil }.count }

    /// Every `NAME.trace` under `directory` (scanned like `suite`), `jobs` at a time; results
    /// keep the path order.
    public static func run(directory: String, profiles: [ProfileName], mode: ReplayMode, filter: DifferentialFilter,
                           registry: MachineRegistry, jobs: Int, tool: String,
                           load: @escaping @Sendable (String) throws -> ReplayTrace,
                           replay: @escaping @Sendable (ReplayTrace, ReplayOptions) throws -> ReplayResult) throws(CaseError) -> SuiteDiffRun {
        let layout = try SuiteLayout.scan(directory, profiles: registry.profileNames)
        let traces = Array(Set(layout.cases.map(\.tracePath) + layout.tracesWithoutGolden)).sorted()
        let slots = ResultSlots<Result>(count: traces.count)
        let next = ResultBox(largestFirst: traces)
        DispatchQueue.concurrentPerform(iterations: min(max(1, jobs), max(traces.count, 1))) { _ in
            while let i = next.nextIndex() {
                let start = DispatchTime.now()
                var result = Result(tracePath: traces[i], report: nil, error: nil, seconds: 0)
                do {
                    result.report = try DifferentialReplay.run(trace: try load(traces[i]), profiles: profiles, mode: mode, filter: filter,
                                                               registry: registry, tool: tool, replay: replay)
                } catch {
                    result.error = "\(error)"
                }
                result.seconds = Double(DispatchTime.now().uptimeNanoseconds - start.uptimeNanoseconds) / 1e9
                slots.set(i, result)
            }
        }
        return SuiteDiffRun(directory: directory, profiles: profiles, results: slots.values.compactMap { $0 })
    }

    func name(_ r: Result) -> String {
        let root = directory.hasSuffix("/") ? directory : directory + "/"
        let relative = r.tracePath.hasPrefix(root) ? String(r.tracePath.dropFirst(root.count)) : r.tracePath
        return GoldenNaming.stem(trace: relative)
    }

    /// One line per trace (`same`, `DIFF` with the first difference, `error`), then the counts.
    public var text: String {
        var out: [String] = []
        for r in results {
            if let e = r.error { out.append("error \(name(r)): \(e)") } else if let d = r.report {
                out.append((d.differs ? "DIFF  " : "same  ") + name(r) + (d.differs ? ": " + d.oneLine : ""))
            }
        }
        let names = profiles.map(\.rawValue).joined(separator: ",")
        out.append("\(results.count) traces, profiles \(names): \(results.count - differing - errors) decide the same, \(differing) differ, \(errors) errors")
        return out.joined(separator: "\n") + "\n"
    }

    /// JUnit: one case per trace; a difference is a `failure` whose message is the first
    /// difference and whose `system-out` is the full text report.
    public func junitDocument(timestamp: String) -> JUnitDocument {
        let cases = results.map { r -> JUnitCase in
            var props = [JUnitProperty("trace", r.tracePath), JUnitProperty("profiles", profiles.map(\.rawValue).joined(separator: ","))]
            let outcome: JUnitCase.Outcome
            if let e = r.error {
                outcome = .error(message: e, type: "harness")
            } else if let d = r.report {
                props.append(JUnitProperty("trace.sha256", d.traceSHA256))
                outcome = d.differs ? .failure(message: d.oneLine, type: "difference", body: d.oneLine, systemOut: d.text) : .pass
            } else {
                outcome = .pass
            }
            return JUnitCase(classname: "syncreplay.diff", name: name(r), time: String(format: "%.3f", r.seconds), properties: props, outcome: outcome)
        }
        let logs = results.flatMap { $0.report?.sides.map(\.decisions) ?? [] }
        return JUnitDocument(suiteName: directory, timestamp: timestamp, cases: cases, coverage: Coverage(decisionLogs: logs))
    }
}
