import CommandExit
import FileInput
import SyncTrace

/// Unreadable or malformed traces are bad input: exit 2 with the error's one-line message.
extension TraceError: InputError {}

/// `.io` errors carry their path (input, output or temporary file); the rest only know offsets.
extension TraceError: NamesItsFile {
    public var namesItsFile: Bool {
        if case .io = self { return true }
        return false
    }
}
extension UnreadableFile: InputError {}
