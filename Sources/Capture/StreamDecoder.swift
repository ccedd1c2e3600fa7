import HexCoding
import CometP2P
import ProtoWire

/// What decoding one direction of a connection found, in stream order.
public enum DecodedItem: Sendable, Equatable {
    /// The sender authenticated with this ed25519 key (SecretConnection AuthSigMessage, §1.2 step 9-10).
    case authenticated(nodeID: String)
    case nodeInfo(NodeInfo)
    /// A complete channel message (per-channel reassembly done).
    case message(channel: UInt8, bytes: [UInt8])
    /// Decoding of this direction stopped; `byteCount` bytes are affected (the gap's size, or the
    /// bytes left undecoded when the decision was made; later bytes are counted separately).
    case stopped(StopReason, byteCount: UInt64, detail: String)
}

/// Why decoding of a direction stopped (the `/capture` event kinds of interfaces.md).
public enum StopReason: String, Sendable, Equatable {
    case gap
    case decodeError = "decode_error"
    case undecodable
}

/// Keys from a `--keylog` file, found by the unordered pair of a connection's ephemeral public keys.
///
/// Format (one line per connection, SSLKEYLOGFILE-style; `#` comments and blank lines ignored):
/// `SECRET_CONNECTION <ephemeral pub A, 64 hex> <ephemeral pub B, 64 hex> <DH secret, 64 hex>`,
/// where A and B are the two sides' ephemeral X25519 public keys in either order (the writer puts
/// its own first) and the DH secret is X25519(own ephemeral private, remote ephemeral public).
public struct KeyLog: Sendable {
    private var secrets: [[UInt8]: [UInt8]] = [:]

    public init() {}

    /// Parses key-log text; a line that is neither blank, a comment nor a key line is an error
    /// naming its line number.
    public init(text: String) throws {
        var lineNumber = 0
        for raw in text.split(separator: "\n", omittingEmptySubsequences: false) {
            lineNumber += 1
            let line = raw.trimmingCharacters(in: .whitespacesAndNewlines)
            if line.isEmpty || line.hasPrefix("#") { continue }
            guard let keys = SecretConnectionKeys(keyLogLine: line) else {
                throw CaptureError.badKeyLog(line: lineNumber,
                                             reason: "expected 'SECRET_CONNECTION <eph pub hex> <eph pub hex> <dh hex>' with 32-byte values")
            }
            add(keys)
        }
    }

    public mutating func add(_ keys: SecretConnectionKeys) {
        secrets[Self.pairKey(keys.localEphemeralPublicKey, keys.remoteEphemeralPublicKey)] = keys.dhSecret
    }

    public var count: Int { secrets.count }

    /// The DH secret of the connection whose ephemeral keys are `a` and `b` (either order).
    public func dhSecret(_ a: [UInt8], _ b: [UInt8]) -> [UInt8]? { secrets[Self.pairKey(a, b)] }

    private static func pairKey(_ a: [UInt8], _ b: [UInt8]) -> [UInt8] {
        let (lo, hi) = SecretConnection.sortEphemeralKeys(a, b)
        return lo + hi
    }
}

/// Decodes the byte stream of one direction after the transport (plaintext, or SecretConnection
/// plaintext after decryption): optional AuthSigMessage, optional NodeInfo, then MConnection packets.
///
/// cometbft-blocksync.md §1.2-§1.3. In a decrypted stream the AuthSigMessage is required and the
/// NodeInfo follows it. In a plaintext stream the first delimited message is taken as NodeInfo when it
/// decodes as one with a non-empty node id; otherwise the stream starts directly with packets.
struct InnerStreamDecoder: Sendable {
    enum Stage: Sendable { case authSig, nodeInfo, packets }
    private(set) var stage: Stage
    private var buffer: [UInt8] = []
    private var offset = 0  // stream offset of buffer[0]
    private var packets: MConnectionDecoder
    private let encrypted: Bool

    init(encrypted: Bool, channels: ChannelTable) {
        self.encrypted = encrypted
        self.stage = encrypted ? .authSig : .nodeInfo
        self.packets = MConnectionDecoder(channels: channels)
    }

    /// Feeds bytes; returns items, or throws a one-line reason when the stream is not what it should be.
    mutating func feed(_ bytes: [UInt8], endOfStream: Bool = false) throws -> [DecodedItem] {
        try bytes.withUnsafeBufferPointer { try feed($0, endOfStream: endOfStream) }
    }

    mutating func feed(_ bytes: UnsafeBufferPointer<UInt8>, endOfStream: Bool = false) throws -> [DecodedItem] {
        var items: [DecodedItem] = []
        if stage != .packets {
            buffer += bytes
            handshake: while stage != .packets {
                let what = stage == .authSig ? "AuthSigMessage" : "NodeInfo"
                let limit = stage == .authSig ? CometP2P.handshakeMessageMaxSize : CometP2P.maxNodeInfoSize
                let found: (message: ArraySlice<UInt8>, consumed: Int)?
                do {
                    found = try ProtoReader.delimited(buffer[...], maxSize: limit)
                } catch {
                    // Plaintext: a first length above the NodeInfo limit cannot be a NodeInfo.
                    if !encrypted { stage = .packets; break handshake }
                    throw CaptureError.streamDecode(offset: offset, what: what, reason: "\(error)")
                }
                guard let found else {
                    if endOfStream && !encrypted { stage = .packets }
                    break handshake
                }
                if stage == .authSig {
                    let message: AuthSigMessage
                    do { message = try AuthSigMessage.decode(found.message) } catch {
                        throw CaptureError.streamDecode(offset: offset, what: what, reason: "\(error)")
                    }
                    guard case .ed25519(let key)? = message.publicKey, key.count == 32 else {
                        throw CaptureError.streamDecode(offset: offset, what: what, reason: "public key is not a 32-byte ed25519 key")
                    }
                    items.append(.authenticated(nodeID: SecretConnection.nodeID(fromEd25519: key)))
                    stage = .nodeInfo
                } else {
                    let info = try? NodeInfo.decode(found.message)
                    if let info, !info.nodeID.isEmpty {
                        items.append(.nodeInfo(info))
                        stage = .packets
                    } else if encrypted {
                        throw CaptureError.streamDecode(offset: offset, what: what, reason: "the message after AuthSigMessage is not a NodeInfo")
                    } else {
                        stage = .packets  // a plaintext stream that starts with packets: keep its bytes
                        break handshake
                    }
                }
                buffer.removeFirst(found.consumed)
                offset += found.consumed
            }
            if stage != .packets { return items }
            let rest = buffer
            buffer = []
            return items + (try rest.withUnsafeBufferPointer { try decodePackets($0) })
        }
        return try decodePackets(bytes)
    }

    private mutating func decodePackets(_ bytes: UnsafeBufferPointer<UInt8>) throws -> [DecodedItem] {
        do {
            packets.feed(bytes)
            var items: [DecodedItem] = []
            while let event = try packets.next() {
                if case let .message(channel, data) = event { items.append(.message(channel: channel, bytes: data)) }
            }
            return items
        } catch let error as MConnectionError {
            throw CaptureError.streamDecode(offset: offset + error.offset, what: "MConnection packet", reason: error.nodeError)
        }
    }

    /// Bytes held in an unfinished handshake message, packet or channel message.
    var pendingBytes: Int { buffer.count + packets.bufferedByteCount }
}

/// One decoded item of a connection: which direction, and the step that completed it.
public struct StampedItem: Sendable {
    public var stamp: CaptureStamp
    public var direction: FlowDirection
    public var item: DecodedItem
}

/// Decodes both directions of one TCP connection: detects SecretConnection by the 35-byte
/// ephemeral-key message (`22 0a 20` + key, §1.2 step 2), decrypts with the key log, and runs the
/// inner decoder. Gaps, decode errors and missing keys stop a direction honestly: no guessing after
/// a gap, since SecretConnection nonces and MConnection lengths cannot resynchronise (harness-notes.md §5.3).
///
/// Every call is one capture step (`stamp`). Plaintext items come out at their step; decrypted
/// ones when the batch holding their frames is read (`FrameBatchOpening`), stamped with the step
/// that completed them. Within a step, items come out direction by direction, client to server first.
public struct ConnectionDecoder: Sendable {
    enum Mode: Sendable {
        case detecting
        /// Secret connection: own ephemeral key read, waiting for the other side's.
        case awaitingKeys(ephemeralKey: [UInt8])
        /// Decrypting and decoding with `secrets[d]`.
        case secret
        /// Decoding with `inners[d]`.
        case plain
        case stopped
    }

    private var modes: [Mode] = [.detecting, .detecting]
    /// Each direction's decoders, beside its mode rather than inside it: reading the mode (once
    /// or twice per TCP segment) then copies no decoder state, and the decoders are mutated in place.
    private var secrets: [SecretDirectionDecoder?] = [nil, nil]
    private var inners: [InnerStreamDecoder?] = [nil, nil]
    private var pending: [[UInt8]] = [[], []]
    private var ephemeralKeys: [[UInt8]?] = [nil, nil]
    private let keyLog: KeyLog
    private let channels: ChannelTable
    private let opening: FrameBatchOpening
    /// Bytes received per direction after decoding stopped.
    public private(set) var undecodedBytes: [UInt64] = [0, 0]
    /// Whether the connection used SecretConnection (nil until known).
    public private(set) var encrypted: Bool?

    public init(keyLog: KeyLog, channels: ChannelTable = .fullNode, midStream: Bool,
                opening: FrameBatchOpening = FramesOpenedInPlace()) {
        self.keyLog = keyLog
        self.channels = channels
        self.opening = opening
        if midStream { modes = [.stopped, .stopped] }
    }

    public func isStopped(_ direction: FlowDirection) -> Bool {
        if case .stopped = modes[direction.rawValue] { return true }
        return false
    }

    /// Feeds reassembled bytes of one direction. Items may belong to either direction (the other
    /// side's buffered bytes are decoded once the keys are known) and to earlier steps (batches read now).
    public mutating func feed(_ bytes: ArraySlice<UInt8>, direction: FlowDirection, at stamp: CaptureStamp) -> [StampedItem] {
        let d = direction.rawValue
        if case .stopped = modes[d] {
            undecodedBytes[d] &+= UInt64(bytes.count)
            return []
        }
        var items: [StampedItem] = []
        // Steady state: no staging copy.
        if pending[d].isEmpty && isDecoding(d) {
            run(direction, bytes, stamp, into: &items)
        } else {
            pending[d] += bytes
            advance(direction, stamp, into: &items)
        }
        return items
    }

    /// Whether direction `d` is past detection and key exchange (plaintext or decrypting).
    private func isDecoding(_ d: Int) -> Bool {
        switch modes[d] {
        case .plain, .secret: true
        default: false
        }
    }

    /// The direction lost `byteCount` bytes at a gap: decoding stops there (after the frames
    /// before the gap are read).
    public mutating func gap(_ byteCount: UInt64, direction: FlowDirection, at stamp: CaptureStamp) -> [StampedItem] {
        let d = direction.rawValue
        var items: [StampedItem] = []
        flush(direction, into: &items)
        if case .stopped = modes[d] { return items }
        modes[d] = .stopped
        secrets[d] = nil
        inners[d] = nil
        let held = UInt64(pending[d].count)
        pending[d] = []
        undecodedBytes[d] &+= held
        items.append(StampedItem(stamp: stamp, direction: direction, item: .stopped(.gap, byteCount: byteCount,
                     detail: "\(byteCount) bytes missing from the capture; decoding of this direction stops (stream framing cannot resynchronise)")))
        return items
    }

    /// The direction ended (FIN, RST or end of capture): its remaining frames are read. A secret
    /// connection still waiting for the other side's key, or a plaintext stream that never
    /// finished its first message, is resolved here.
    public mutating func end(direction: FlowDirection, at stamp: CaptureStamp) -> [StampedItem] {
        let d = direction.rawValue
        var items: [StampedItem] = []
        switch modes[d] {
        case .detecting where !pending[d].isEmpty:
            let bytes = pending[d]
            pending[d] = []
            startPlain(d)
            run(direction, bytes[...], stamp, into: &items)
            if case .plain = modes[d] { endPlain(direction, stamp, into: &items) }
        case .plain:
            endPlain(direction, stamp, into: &items)
        case .secret:
            flush(direction, into: &items)
        case .awaitingKeys where ephemeralKeys[direction.reversed.rawValue] == nil:
            modes[d] = .stopped
            undecodedBytes[d] &+= UInt64(pending[d].count)
            pending[d] = []
            items.append(StampedItem(stamp: stamp, direction: direction, item: .stopped(.undecodable, byteCount: 0,
                         detail: "SecretConnection ephemeral key sent, but the other side never sent its own; nothing to decrypt with")))
        default:
            break
        }
        return items
    }

    /// Reads every whole frame a decrypting direction holds.
    private mutating func flush(_ direction: FlowDirection, into items: inout [StampedItem]) {
        let d = direction.rawValue
        guard case .secret = modes[d], secrets[d] != nil else { return }
        let opening = self.opening
        let failure = secrets[d]!.flush(opening) { stamp, item in items.append(StampedItem(stamp: stamp, direction: direction, item: item)) }
        if let failure { stop(direction, failure, into: &items) }
    }

    /// The plaintext stream ended: a first message still incomplete is resolved (NodeInfo, or packets from byte 0).
    private mutating func endPlain(_ direction: FlowDirection, _ stamp: CaptureStamp, into items: inout [StampedItem]) {
        do {
            for item in try inners[direction.rawValue]!.feed([UInt8](), endOfStream: true) {
                items.append(StampedItem(stamp: stamp, direction: direction, item: item))
            }
        } catch { stop(direction, error, stamp, into: &items) }
    }

    private mutating func startPlain(_ d: Int) {
        modes[d] = .plain
        inners[d] = InnerStreamDecoder(encrypted: false, channels: channels)
    }

    private mutating func advance(_ direction: FlowDirection, _ stamp: CaptureStamp, into items: inout [StampedItem]) {
        let d = direction.rawValue
        if isDecoding(d) {
            let bytes = pending[d]
            pending[d] = []
            run(direction, bytes[...], stamp, into: &items)
            return
        }
        switch modes[d] {
        case .detecting:
            let buffer = pending[d]
            let prefix: [UInt8] = [0x22, 0x0a, 0x20]
            let checked = min(3, buffer.count)
            if !buffer.prefix(checked).elementsEqual(prefix.prefix(checked)) {
                encrypted = encrypted ?? false
                startPlain(d)
                pending[d] = []
                run(direction, buffer[...], stamp, into: &items)
                return
            }
            guard buffer.count >= SecretConnection.ephemeralKeyMessageSize else { return }
            encrypted = true
            let key = Array(buffer[3..<35])
            ephemeralKeys[d] = key
            pending[d] = Array(buffer[35...])
            modes[d] = .awaitingKeys(ephemeralKey: key)
            tryKeys(stamp, into: &items)
        case .awaitingKeys:
            tryKeys(stamp, into: &items)
        case .secret, .plain, .stopped:
            return  // .secret and .plain ran above
        }
    }

    /// Once both ephemeral keys are known, looks the connection up in the key log and starts decrypting.
    private mutating func tryKeys(_ stamp: CaptureStamp, into items: inout [StampedItem]) {
        guard let clientKey = ephemeralKeys[0], let serverKey = ephemeralKeys[1] else { return }
        guard case .awaitingKeys = modes[0], case .awaitingKeys = modes[1] else {
            // The other side did not open with an ephemeral key: not a SecretConnection after all.
            return
        }
        guard let dh = keyLog.dhSecret(clientKey, serverKey) else {
            let detail = "SecretConnection without a key: no key-log line for ephemeral keys \(Hex.lower(clientKey)) and \(Hex.lower(serverKey)) (pass --keylog FILE)"
            for direction in FlowDirection.allCases {
                let held = UInt64(pending[direction.rawValue].count)
                pending[direction.rawValue] = []
                modes[direction.rawValue] = .stopped
                undecodedBytes[direction.rawValue] &+= held
                items.append(StampedItem(stamp: stamp, direction: direction, item: .stopped(.undecodable, byteCount: 0, detail: detail)))
            }
            return
        }
        let keys = SecretConnectionKeys(localEphemeralPublicKey: clientKey, remoteEphemeralPublicKey: serverKey, dhSecret: dh)
        for direction in FlowDirection.allCases {
            let key = direction == .clientToServer ? keys.sendSecret : keys.recvSecret
            do {
                secrets[direction.rawValue] = SecretDirectionDecoder(
                    opener: try FrameOpener(key: key), inner: InnerStreamDecoder(encrypted: true, channels: channels))
                modes[direction.rawValue] = .secret
            } catch {
                stop(direction, error, stamp, into: &items)
                continue
            }
            let bytes = pending[direction.rawValue]
            pending[direction.rawValue] = []
            run(direction, bytes[...], stamp, into: &items)
        }
    }

    private mutating func run(_ direction: FlowDirection, _ bytes: ArraySlice<UInt8>, _ stamp: CaptureStamp, into items: inout [StampedItem]) {
        let d = direction.rawValue
        switch modes[d] {
        case .plain:
            do {
                for item in try bytes.withUnsafeBufferPointer({ try inners[d]!.feed($0) }) { items.append(StampedItem(stamp: stamp, direction: direction, item: item)) }
            } catch { stop(direction, error, stamp, into: &items) }
        case .secret:
            guard secrets[d] != nil else { return }
            let opening = self.opening
            // Mutated in place (a copy out and back would retain every buffer it holds).
            let failure = bytes.withUnsafeBufferPointer { p in
                secrets[d]!.feed(p, at: stamp, opening: opening) { stamp, item in
                    items.append(StampedItem(stamp: stamp, direction: direction, item: item))
                }
            }
            if let failure { stop(direction, failure, into: &items) }
        default:
            return
        }
    }

    /// A decrypting direction failed at an earlier (or this) step.
    private mutating func stop(_ direction: FlowDirection, _ failure: SecretDirectionDecoder.Failure, into items: inout [StampedItem]) {
        stop(direction, failure.error, failure.stamp, into: &items)
        undecodedBytes[direction.rawValue] &+= failure.laterBytes
    }

    private mutating func stop(_ direction: FlowDirection, _ error: Error, _ stamp: CaptureStamp, into items: inout [StampedItem]) {
        modes[direction.rawValue] = .stopped
        secrets[direction.rawValue] = nil
        inners[direction.rawValue] = nil
        pending[direction.rawValue] = []
        let detail: String
        if let e = error as? SecretConnectionError {
            detail = "SecretConnection: \(e.nodeError) (wrong key-log entry, or the capture missed bytes)"
        } else {
            detail = "\(error)"
        }
        items.append(StampedItem(stamp: stamp, direction: direction, item: .stopped(.decodeError, byteCount: 0, detail: detail)))
    }
}
