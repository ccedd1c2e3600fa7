import Foundation
import SyncMachine

/// Writes a reduction's result (issue 14 §2): `MIN.trace` and, beside it, the goldens that pin
/// its failure (`ReductionOracle` says which). Returns the goldens' paths.
public enum ReductionOutput {
    public static func write(_ result: ReductionResult, trace: ReducibleTrace, to path: String, target: ReductionTarget,
                             registry: MachineRegistry, tool: String) throws(CaseError) -> [String] {
        try trace.write(result.kept, shortenChain: result.shortenChain, to: path)
        let written = try ReplayTraceLoader.load(path: path)
        let mode: ReplayMode
        var options: [String: String] = [:]
        switch target {
        case .golden(let g, _, let m): mode = m; options = g.provenance.options
        case .diff(_, _, let m, _): mode = m
        }
        var paths: [String] = []
        for (profile, decisions) in result.observation.goldens {
            let profileFree = !written.hasBlocksync
            let provenance = Provenance(traceSHA256: written.sha256, traceEvents: written.events.count,
                                        implementation: profileFree ? nil : registry.implementation(of: profile)?.name,
                                        profile: profileFree ? nil : profile, mode: mode, tool: tool,
                                        acceptsObservedMismatch: decisions.contains { $0.kind == .observedMismatch },
                                        options: profileFree ? [:] : options,
                                        nonFaithful: profileFree ? TestOverrides() : written.testOverrides)
            let goldenPath = GoldenNaming.golden(trace: path, profile: profileFree ? nil : profile)
            do {
                try Data(GoldenFile(provenance: provenance, decisions: decisions).encoded().utf8).write(to: URL(fileURLWithPath: goldenPath), options: .atomic)
            } catch {
                throw CaseError("cannot write \(goldenPath): \(error.localizedDescription)")
            }
            paths.append(goldenPath)
        }
        return paths
    }
}
