import Foundation

/// The one switch for work run ahead on a second thread (issue 19: verifying signatures ahead
/// of replay, opening SecretConnection frames ahead of capture, reading a trace ahead of its
/// stream). Each worker only moves where its work runs, never what it gives, so the switch is a
/// matter of speed: on when more than one core is available, and for measuring, an environment
/// variable of the worker's own overrides it (`0` off, `1` on).
public enum WorkAhead {
    /// Whether a worker whose override is the environment variable `variable` runs by default.
    public static func isEnabled(overriddenBy variable: String) -> Bool {
        switch ProcessInfo.processInfo.environment[variable] {
        case "0": return false
        case "1": return true
        default: return ProcessInfo.processInfo.activeProcessorCount > 1
        }
    }
}
