#if os(Linux)
import Glibc

/// Transparent huge pages for the malloc heap (issue 19): a capture keeps every decoded message
/// until its end (the node under test is chosen there), and first-touching that memory in 4 KiB
/// pages is the decode's largest single cost — 64 MB of messages take some 16,000 page faults.
/// glibc (2.35 and later) puts its heap on huge pages with the `glibc.malloc.hugetlb=1` tunable,
/// which it reads only at start-up, so `synccapture` re-executes itself once with it set. The
/// variable is restored before the command runs, so the processes it starts (`tcpdump` in
/// `bench`) see the environment it was given. Any failure leaves the ordinary heap: same output,
/// slower. Off when the caller's GLIBC_TUNABLES already names the tunable, on other C libraries
/// (the tunable is then ignored) and on other systems.
enum HugePageHeap {
    static let tunables = "GLIBC_TUNABLES"
    /// Huge pages, and one arena for every thread: the messages the open-ahead worker decodes
    /// (Capture's `FramesOpenedAhead`) are then allocated on the same huge-page heap as the rest.
    /// In a thread arena of their own they took 4 KiB page faults, and the SecretConnection
    /// decode ran at 800–850 or 1,050–1,100 MB/s from one process to the next, depending on that arena.
    static let setting = "glibc.malloc.hugetlb=1:glibc.malloc.arena_max=1"
    /// Set beside the tunable for the re-executed process: the caller's GLIBC_TUNABLES, or "-" for none.
    static let marker = "SYNCCAPTURE_CALLER_GLIBC_TUNABLES"

    static func enable() {
        if let caller = getenv(marker).map({ String(cString: $0) }) {
            // The re-executed process: the heap is set up; give the environment back.
            unsetenv(marker)
            if caller == "-" { unsetenv(tunables) } else { setenv(tunables, caller, 1) }
            return
        }
        let current = getenv(tunables).map { String(cString: $0) }
        if current?.contains("glibc.malloc.hugetlb") == true { return }
        setenv(marker, current ?? "-", 1)
        setenv(tunables, current.map { $0 + ":" + setting } ?? setting, 1)
        execv("/proc/self/exe", CommandLine.unsafeArgv)
        // Only reached when the exec failed: carry on with the ordinary heap.
        unsetenv(marker)
        if let current { setenv(tunables, current, 1) } else { unsetenv(tunables) }
    }
}
#else
enum HugePageHeap {
    static func enable() {}
}
#endif
