/// SyncTrace: the trace container (DESIGN.md §2). A trace is an MCAP file (specs/mcap.md) with
/// profile `syncreplay` whose channels carry protobuf events with their schemas embedded.
public enum SyncTraceFormat {
    /// MCAP profile written into the Header record.
    public static let profile = "syncreplay"
}
