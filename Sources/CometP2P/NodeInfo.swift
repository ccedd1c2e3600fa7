import Foundation
import ProtoWire

/// `tendermint.p2p.DefaultNodeInfo` (§1.2 "NodeInfo exchange"), exchanged delimited right
/// after the SecretConnection handshake; the reader's limit is 10240 bytes.
public struct NodeInfo: Equatable, Sendable {
    /// P2PProtocol = 8 and BlockProtocol = 11 in every version of the spec (§1.2).
    public static let p2pProtocol: UInt64 = 8
    public static let blockProtocol: UInt64 = 11
    /// `maxNumChannels`.
    public static let maxChannels = 16

    public var protocolP2P: UInt64
    public var protocolBlock: UInt64
    public var protocolApp: UInt64
    /// `default_node_id`: hex node ID, must equal the authenticated key's ID.
    public var nodeID: String
    public var listenAddr: String
    /// The chain id.
    public var network: String
    public var version: String
    /// One byte per channel id.
    public var channels: [UInt8]
    public var moniker: String
    public var txIndex: String
    public var rpcAddress: String

    public init(protocolP2P: UInt64 = NodeInfo.p2pProtocol, protocolBlock: UInt64 = NodeInfo.blockProtocol,
                protocolApp: UInt64 = 0, nodeID: String, listenAddr: String, network: String,
                version: String, channels: [UInt8], moniker: String, txIndex: String = "", rpcAddress: String = "") {
        self.protocolP2P = protocolP2P
        self.protocolBlock = protocolBlock
        self.protocolApp = protocolApp
        self.nodeID = nodeID
        self.listenAddr = listenAddr
        self.network = network
        self.version = version
        self.channels = channels
        self.moniker = moniker
        self.txIndex = txIndex
        self.rpcAddress = rpcAddress
    }

    /// The message body; `protocol_version` and `other` are non-nullable (always emitted).
    public func encode() -> [UInt8] {
        var w = ProtoWriter()
        w.message(1, always: true) {
            $0.uint64(1, protocolP2P)
            $0.uint64(2, protocolBlock)
            $0.uint64(3, protocolApp)
        }
        w.string(2, nodeID)
        w.string(3, listenAddr)
        w.string(4, network)
        w.string(5, version)
        w.bytes(6, channels)
        w.string(7, moniker)
        w.message(8, always: true) {
            $0.string(1, txIndex)
            $0.string(2, rpcAddress)
        }
        return w.bytes
    }

    public func encodeDelimited() -> [UInt8] { ProtoWriter.delimited(encode()) }

    /// Decodes the message body (no length prefix). Malformed input throws
    /// `SecretConnectionError.malformedMessage`.
    public static func decode(_ bytes: ArraySlice<UInt8>) throws -> NodeInfo {
        var info = NodeInfo(protocolP2P: 0, protocolBlock: 0, nodeID: "", listenAddr: "", network: "",
                            version: "", channels: [], moniker: "")
        do {
            var r = ProtoReader(bytes)
            while let f = try r.next() {
                switch f.number {
                case 1:
                    var pv = try f.messageReader()
                    while let g = try pv.next() {
                        switch g.number {
                        case 1: info.protocolP2P = try g.uint64()
                        case 2: info.protocolBlock = try g.uint64()
                        case 3: info.protocolApp = try g.uint64()
                        default: break
                        }
                    }
                case 2: info.nodeID = try f.string()
                case 3: info.listenAddr = try f.string()
                case 4: info.network = try f.string()
                case 5: info.version = try f.string()
                case 6: info.channels = try f.bytes()
                case 7: info.moniker = try f.string()
                case 8:
                    var other = try f.messageReader()
                    while let g = try other.next() {
                        switch g.number {
                        case 1: info.txIndex = try g.string()
                        case 2: info.rpcAddress = try g.string()
                        default: break
                        }
                    }
                default: break
                }
            }
        } catch let e as ProtoError {
            throw SecretConnectionError.malformedMessage(what: "NodeInfo", e)
        }
        return info
    }

    /// `CompatibleWith` (§1.2): same Block protocol, same network, and — when we list any
    /// channels — at least one channel in common. Returns the node's error text, or nil.
    public func incompatibility(with other: NodeInfo) -> String? {
        if protocolBlock != other.protocolBlock {
            return "peer is on a different Block version. Got \(other.protocolBlock), expected \(protocolBlock)"
        }
        if network != other.network {
            return "peer is on a different network. Got \(other.network), expected \(network)"
        }
        if channels.isEmpty { return nil }
        if !channels.contains(where: { other.channels.contains($0) }) {
            return "peer has no common channels. Our channels: \(Self.goBytes(channels)) ; Peer channels: \(Self.goBytes(other.channels))"
        }
        return nil
    }

    /// `HexBytes` formatted with `%v`: uppercase hex, e.g. `4020`.
    private static func goBytes(_ b: [UInt8]) -> String { b.map { String(format: "%02X", $0) }.joined() }
}
