/// CometWire: CometBFT block and blocksync protobuf codecs (byte-exact with gogoproto),
/// hashing and commit verification (specs/cometbft-blocksync.md §1.5, §1.6, §4).
public enum CometWire {
    /// The blocksync channel id (specs/cometbft-blocksync.md §1.4).
    public static let blocksyncChannel: UInt8 = 0x40
}
