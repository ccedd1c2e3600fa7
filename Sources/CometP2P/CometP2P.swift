/// CometP2P: the CometBFT transport below the reactors: MConnection framing and
/// SecretConnection (specs/cometbft-blocksync.md §1.2, §1.3).
public enum CometP2P {
    /// Largest PacketMsg payload (`maxPacketMsgPayloadSize`, §1.3).
    public static let maxPacketMsgPayloadSize = 1024
}
