/// CometP2P: the CometBFT transport below the reactors: MConnection framing and
/// SecretConnection (specs/cometbft-blocksync.md §1.1–§1.4).
///
/// Everything here is sans-IO (values in, values out) except `BlockingPeerConnection`, a small
/// POSIX-socket driver used by tests and tools.
public enum CometP2P {
    /// Largest PacketMsg payload (`maxPacketMsgPayloadSize`, §1.3).
    public static let maxPacketMsgPayloadSize = 1024
    /// Largest encoded `Packet` for the default payload size (`_maxPacketMsgSize`, §1.3).
    public static let maxPacketSize = 1034
    /// `maxNodeInfoSize` (§1.2): the delimited reader's limit for `DefaultNodeInfo`.
    public static let maxNodeInfoSize = 10240
    /// Limit of the delimited readers used during the SecretConnection handshake (§1.2 step 2).
    public static let handshakeMessageMaxSize = 1024 * 1024
}
