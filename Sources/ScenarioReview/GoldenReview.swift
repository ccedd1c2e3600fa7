import FileInput
import Foundation
import Replay
import Sim
import SyncMachine

/// A scenario's `[expect."<profile>"]` tables checked against the goldens recorded beside it
/// (issue 7: a golden that contradicts the spec-derived expectations cannot be blessed
/// silently). `syncsim SCENARIO --review` prints it; the corpus test requires every scenario's
/// review to pass.
public struct GoldenReview: Sendable {
    /// One expectation table and its golden.
    public struct Table: Sendable {
        public var profile: String
        /// `NAME.<profile>.golden.json`, or `NAME.golden.json` for a scenario without peers (`Scenario.goldenPath`).
        public var goldenPath: String
        public var verdict: Verdict

        /// Whether the table fails the review.
        public var fails: Bool {
            switch verdict {
            case .holds, .knownDivergence: return false
            case .noGolden, .otherTrace, .otherOptions, .expectationsFail, .divergenceGone: return true
            }
        }

        /// What the review says about the table, one line each, each starting with the profile.
        public var lines: [String] {
            switch verdict {
            case .holds: return ["\(profile): ok"]
            case .noGolden: return ["\(profile): no golden at \(goldenPath)"]
            case .otherTrace: return ["\(profile): golden \(goldenPath) was recorded from another trace (sha256 differs)"]
            case .otherOptions(let table, let golden):
                return ["\(profile): golden \(goldenPath) was recorded with \(GoldenReview.spell(golden)), the table asks for \(GoldenReview.spell(table))"]
            case .expectationsFail(let failures): return failures.map { "\(profile): \($0)" }
            case .knownDivergence(let why, let failures):
                return ["\(profile): known divergence (\(why)); \(failures.count) expectation(s) fail"] + failures.map { "  \($0)" }
            case .divergenceGone(let why): return ["\(profile): known_divergence (\(why)) no longer diverges; drop the note"]
            }
        }
    }

    /// "v2-queue heap", or "the default options".
    static func spell(_ options: [String: String]) -> String {
        options.isEmpty ? "the default options" : options.sorted { $0.key < $1.key }.map { "\($0.key) \($0.value)" }.joined(separator: ", ")
    }

    public enum Verdict: Sendable, Equatable {
        /// Every expectation holds.
        case holds
        case noGolden
        /// The golden's provenance names another trace than the one beside the scenario.
        case otherTrace
        /// The golden was recorded with other implementation options than the table's
        /// (`v2_queue`): (the table's, the golden's).
        case otherOptions(table: [String: String], golden: [String: String])
        /// Expectations fail (`ExpectationCheck.failures`).
        case expectationsFail([String])
        /// The table is marked `known_divergence` and its expectations fail, as documented.
        case knownDivergence(String, failures: [String])
        /// The table is marked `known_divergence` but every expectation holds: the note is stale.
        case divergenceGone(String)
    }

    public var scenarioPath: String
    /// `NAME.trace` beside the scenario; nil when it does not exist (not recorded yet).
    public var tracePath: String?
    public var tables: [Table]

    public var failed: Int { tables.filter(\.fails).count }
    public var lines: [String] { tables.flatMap(\.lines) }

    /// Reviews `scenario` (loaded from `scenarioPath`) against the goldens beside it. A golden
    /// that cannot be read or decoded throws `CaseError` naming it.
    public static func review(_ scenario: Scenario, scenarioPath: String) throws(CaseError) -> GoldenReview {
        let trace = Scenario.tracePath(scenarioPath: scenarioPath)
        let fm = FileManager.default
        var traceSHA256: String?
        if fm.fileExists(atPath: trace) {
            do { traceSHA256 = ReplayTraceLoader.sha256(try InputFile.read(trace, what: "trace")) } catch { throw CaseError(error.description) }
        }
        var tables: [Table] = []
        for e in scenario.expectations {
            let path = scenario.goldenPath(scenarioPath: scenarioPath, profile: e.profile)
            guard fm.fileExists(atPath: path) else {
                tables.append(Table(profile: e.profile, goldenPath: path, verdict: .noGolden)); continue
            }
            let data: [UInt8]
            do { data = try InputFile.read(path, what: "golden") } catch { throw CaseError(error.description) }
            let golden: GoldenFile
            do { golden = try GoldenFile.decode(data) } catch { throw CaseError("golden \(path): \(error)") }
            let verdict: Verdict
            let failures = ExpectationCheck.failures(e, golden: golden)
            if let traceSHA256, golden.provenance.traceSHA256 != traceSHA256 {
                verdict = .otherTrace
            } else if golden.provenance.options != e.implementationOptions {
                verdict = .otherOptions(table: e.implementationOptions, golden: golden.provenance.options)
            } else if let why = e.knownDivergence {
                verdict = failures.isEmpty ? .divergenceGone(why) : .knownDivergence(why, failures: failures)
            } else {
                verdict = failures.isEmpty ? .holds : .expectationsFail(failures)
            }
            tables.append(Table(profile: e.profile, goldenPath: path, verdict: verdict))
        }
        return GoldenReview(scenarioPath: scenarioPath, tracePath: traceSHA256 == nil ? nil : trace, tables: tables)
    }
}
