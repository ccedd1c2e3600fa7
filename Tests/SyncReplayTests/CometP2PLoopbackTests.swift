import Testing
import Foundation
import Synchronization
import Crypto
import ProtoWire
import CometP2P

/// Two endpoints over real loopback TCP: SecretConnection handshake, NodeInfo exchange, then
/// MConnection packets carrying blocksync messages both ways (§1.1 stack).
@Suite struct CometP2PLoopbackTests {
    struct ServerOutcome: Sendable {
        var received: [MConnectionEvent] = []
        var keys: SecretConnectionKeys?
        var loggedKeys: SecretConnectionKeys?
        var remoteNodeID = ""
        var remoteNodeInfo: NodeInfo?
        var error: String?
    }

    /// Blocksync messages of §1.5, plus a large BlockResponse-shaped payload spanning many
    /// PacketMsgs and frames.
    static func blocksyncMessages(seed: UInt64) -> [[UInt8]] {
        var gen = P2PTestBytes(seed: seed)
        var block = ProtoWriter()
        block.bytes(1, gen.bytes(150_000))  // opaque to the transport
        var response = ProtoWriter()
        response.message(3) { $0.bytes(1, block.bytes) }
        return [
            [0x22, 0x00],                             // StatusRequest
            [0x2a, 0x04, 0x08, 0x64, 0x10, 0x01],     // StatusResponse{height=100, base=1}
            [0x0a, 0x02, 0x08, 0x05],                 // BlockRequest{5}
            [0x12, 0x02, 0x08, 0x05],                 // NoBlockResponse{5}
            response.bytes,
            [],                                       // an empty message is legal framing
        ]
    }

    static func nodeInfo(for key: Curve25519.Signing.PrivateKey, moniker: String) -> NodeInfo {
        NodeInfo(nodeID: SecretConnection.nodeID(fromEd25519: Array(key.publicKey.rawRepresentation)),
                 listenAddr: "tcp://127.0.0.1:0", network: "loopback-chain", version: "0.38.13",
                 channels: [0x40], moniker: moniker)
    }

    @Test func handshakeNodeInfoAndBlocksyncBothWays() throws {
        let serverKey = try Curve25519.Signing.PrivateKey(rawRepresentation: [UInt8](repeating: 0x51, count: 32))
        let clientKey = try Curve25519.Signing.PrivateKey(rawRepresentation: [UInt8](repeating: 0xc1, count: 32))
        let fromClient = Self.blocksyncMessages(seed: 1)
        let fromServer = Self.blocksyncMessages(seed: 2)
        let listener = try TCPListener.listen(host: "127.0.0.1", port: 0)
        defer { listener.close() }
        #expect(listener.port != 0)

        let outcome = Mutex(ServerOutcome())
        let done = DispatchSemaphore(value: 0)
        let serverInfo = Self.nodeInfo(for: serverKey, moniker: "server")
        Thread.detachNewThread {
            defer { done.signal() }
            do {
                let tcp = try listener.accept()
                let logged = Mutex<SecretConnectionKeys?>(nil)
                let peer = try BlockingPeerConnection(
                    connection: tcp, nodeKey: serverKey, ephemeralPrivateKey: [UInt8](repeating: 0x5e, count: 32),
                    nodeInfo: serverInfo, keyLog: { k in logged.withLock { $0 = k } })
                var received: [MConnectionEvent] = []
                while received.count < fromClient.count + 1, let e = try peer.receive() { received.append(e) }
                try peer.sendPing()
                for m in fromServer { try peer.send(channel: 0x40, message: m) }
                let snapshot = logged.withLock { $0 }
                outcome.withLock {
                    $0.received = received
                    $0.keys = peer.keys
                    $0.loggedKeys = snapshot
                    $0.remoteNodeID = peer.remoteNodeID
                    $0.remoteNodeInfo = peer.remoteNodeInfo
                }
                // Wait for the client to close so our last frames are not reset.
                _ = try? peer.receive()
                peer.close()
            } catch {
                outcome.withLock { $0.error = "\(error)" }
            }
        }

        let tcp = try TCPConnection.connect(host: "127.0.0.1", port: listener.port)
        let serverID = SecretConnection.nodeID(fromEd25519: Array(serverKey.publicKey.rawRepresentation))
        let client = try BlockingPeerConnection(
            connection: tcp, nodeKey: clientKey, ephemeralPrivateKey: [UInt8](repeating: 0xce, count: 32),
            nodeInfo: Self.nodeInfo(for: clientKey, moniker: "client"), expectedRemoteNodeID: serverID)
        #expect(client.remoteNodeID == serverID)
        #expect(client.remoteNodeInfo == serverInfo)
        for m in fromClient { try client.send(channel: 0x40, message: m) }
        try client.sendPong()
        var received: [MConnectionEvent] = []
        while received.count < fromServer.count + 1, let e = try client.receive() { received.append(e) }
        client.close()
        #expect(done.wait(timeout: .now() + 60) == .success)

        let server = outcome.withLock { $0 }
        #expect(server.error == nil)
        #expect(server.received == fromClient.map { .message(channel: 0x40, bytes: $0) } + [.pong])
        #expect(received == [.ping] + fromServer.map { .message(channel: 0x40, bytes: $0) })
        #expect(server.remoteNodeID == SecretConnection.nodeID(fromEd25519: Array(clientKey.publicKey.rawRepresentation)))
        #expect(server.remoteNodeInfo?.moniker == "client")
        // The key-log hook saw the same keys, and both ends agree on them (mirrored).
        #expect(server.loggedKeys == server.keys)
        #expect(server.keys?.swapped == client.keys)
        let line = try #require(server.keys?.keyLogLine)
        #expect(SecretConnectionKeys(keyLogLine: line) == server.keys)
    }

    /// The dialer checks the authenticated ID against the dialed one, like the transport.
    @Test func dialedNodeIDMismatchIsRefused() throws {
        let serverKey = try Curve25519.Signing.PrivateKey(rawRepresentation: [UInt8](repeating: 0x52, count: 32))
        let clientKey = try Curve25519.Signing.PrivateKey(rawRepresentation: [UInt8](repeating: 0xc2, count: 32))
        let listener = try TCPListener.listen()
        defer { listener.close() }
        let done = DispatchSemaphore(value: 0)
        let serverInfo = Self.nodeInfo(for: serverKey, moniker: "server")
        Thread.detachNewThread {
            defer { done.signal() }
            guard let tcp = try? listener.accept() else { return }
            _ = try? BlockingPeerConnection(connection: tcp, nodeKey: serverKey,
                                            ephemeralPrivateKey: [UInt8](repeating: 1, count: 32), nodeInfo: serverInfo)
            tcp.close()
        }
        let tcp = try TCPConnection.connect(port: listener.port)
        let wrongID = String(repeating: "ab", count: 20)
        let serverID = SecretConnection.nodeID(fromEd25519: Array(serverKey.publicKey.rawRepresentation))
        #expect(throws: SecretConnectionError.nodeIDMismatch(authenticated: serverID, claimed: wrongID, source: "dialed ID")) {
            _ = try BlockingPeerConnection(connection: tcp, nodeKey: clientKey,
                                           ephemeralPrivateKey: [UInt8](repeating: 2, count: 32),
                                           nodeInfo: Self.nodeInfo(for: clientKey, moniker: "client"),
                                           expectedRemoteNodeID: wrongID)
        }
        tcp.close()
        #expect(done.wait(timeout: .now() + 60) == .success)
    }
}
