/// One MConnection channel as a reactor declares it (`conn.ChannelDescriptor`, §1.3–§1.4).
/// Zero capacities are replaced by the MConnection defaults, as `FillDefaults` does.
public struct ChannelDescriptor: Equatable, Sendable {
    /// `defaultSendQueueCapacity`, `defaultRecvBufferCapacity`, `defaultRecvMessageCapacity` (§1.4).
    public static let defaultSendQueueCapacity = 1
    public static let defaultRecvBufferCapacity = 4096
    public static let defaultRecvMessageCapacity = 22_020_096

    public var id: UInt8
    public var priority: Int
    public var sendQueueCapacity: Int
    /// Initial capacity of the reassembly buffer (a memory hint, not a limit).
    public var recvBufferCapacity: Int
    /// Largest reassembled message; a longer one closes the connection (§1.3).
    public var recvMessageCapacity: Int

    public init(id: UInt8, priority: Int = 1, sendQueueCapacity: Int = 0, recvBufferCapacity: Int = 0,
                recvMessageCapacity: Int = 0) {
        self.id = id
        self.priority = priority
        self.sendQueueCapacity = sendQueueCapacity == 0 ? Self.defaultSendQueueCapacity : sendQueueCapacity
        self.recvBufferCapacity = recvBufferCapacity == 0 ? Self.defaultRecvBufferCapacity : recvBufferCapacity
        self.recvMessageCapacity = recvMessageCapacity == 0 ? Self.defaultRecvMessageCapacity : recvMessageCapacity
    }

    /// Blocksync channel id (§1.3).
    public static let blocksyncChannelID: UInt8 = 0x40

    /// `MaxMsgSize = MaxBlockSizeBytes + BlockResponseMessagePrefixSize + FieldKeySize` (§1.4).
    public static let blocksyncMaxMessageSize = 104_857_600 + 4 + 1

    /// The blocksync channel of tm v0.34 and cometbft v0.34–v1 (§1.4).
    public static let blocksync = ChannelDescriptor(
        id: blocksyncChannelID, priority: 5, sendQueueCapacity: 1000,
        recvBufferCapacity: 50 * 4096, recvMessageCapacity: blocksyncMaxMessageSize)

    /// The blocksync channel of tm v0.35 (§1.4): same limit, smaller initial buffer.
    public static let blocksyncV035 = ChannelDescriptor(
        id: blocksyncChannelID, priority: 5, sendQueueCapacity: 1000,
        recvBufferCapacity: 1024, recvMessageCapacity: blocksyncMaxMessageSize)
}

/// The channels an MConnection accepts, by id. A PacketMsg for any other id closes the
/// connection (§1.3). Lookup is by array index, so no hash order can reach decisions.
public struct ChannelTable: Equatable, Sendable {
    private var slots: [ChannelDescriptor?]

    /// Later descriptors with an id already present replace the earlier one.
    public init(_ descriptors: [ChannelDescriptor]) {
        slots = Array(repeating: nil, count: 256)
        for d in descriptors { slots[Int(d.id)] = d }
    }

    /// Only the blocksync channel (§1.4, tm v0.34 / cometbft v0.34–v1).
    public static let blocksyncOnly = ChannelTable([.blocksync])

    /// The channel ids a v0.34–v0.38 full node registers (§1.3 list), with blocksync's exact
    /// descriptor and MConnection defaults for the others. Use for demultiplexing captures,
    /// where only the ids and the blocksync limit matter.
    public static let fullNode = ChannelTable(
        [0x00, 0x20, 0x21, 0x22, 0x23, 0x30, 0x38, 0x60, 0x61].map { ChannelDescriptor(id: $0) } + [.blocksync])

    public subscript(id: UInt8) -> ChannelDescriptor? { slots[Int(id)] }

    /// Registered ids in ascending order (the `channels` bytes of NodeInfo, §1.2).
    public var ids: [UInt8] { slots.compactMap { $0?.id } }
}
