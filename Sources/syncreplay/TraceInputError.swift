import CommandExit
import SyncTrace

/// Unreadable or malformed traces are bad input: exit 2 with the error's one-line message.
extension TraceError: InputError {}
