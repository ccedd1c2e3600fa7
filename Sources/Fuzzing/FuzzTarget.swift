import Capture
import CometP2P
import CometWire
import Crypto
import PivotHint
import ProtoWire
import Replay
import Sim
import SyncTrace

/// The decoder families that read input nobody vouches for (issue 16), each with one entry
/// point that feeds bytes to the public APIs the CLIs use. The libFuzzer executables in
/// Tools/fuzz call `run(_:)` from `LLVMFuzzerTestOneInput`; the unit tests replay the seed
/// corpora and every kept reproducer through the same call, without the fuzzer build.
///
/// An entry point returns normally for any input, valid or not (errors are the expected
/// answer to bad input). What it must never do is trap, hang or allocate without bound; where
/// an API promises more (a recovered trace is readable), the entry point checks the promise
/// with `precondition`, so a broken promise is a finding too.
public enum FuzzTarget: String, CaseIterable, Sendable {
    /// MCAP traces: streaming read, indexed seeks, attachments, doctor, recover.
    case trace
    /// The replay engine behind `syncreplay TRACE`, from trace bytes to decisions.
    case replay
    /// `tendermint.blocksync.Message` and the blocks inside (protobuf).
    case blocksync
    /// MConnection packets and the streaming packet decoder.
    case mconnection
    /// SecretConnection: the recorded-stream decoder and the handshake, behind real AEAD frames.
    case secretconnection
    /// Handshake messages: NodeInfo, AuthSigMessage, the ephemeral-key message.
    case handshake
    /// Conflux pivot-hint files: header, digests, pages, `allowSwitch`/`allowExtend`.
    case pivothint
    /// Captured frames through link/IP/TCP parsing, TCP reassembly and stream decoding.
    case packets
    /// Fork-event JSON lines and Conflux log lines.
    case forkevents
    /// Scenario TOML.
    case scenario
    /// Golden files (JSON).
    case golden
    /// CometBFT RPC JSON (`/block`, `/commit`, `/validators`, `/genesis`, `/blockchain`).
    case rpcjson

    /// The executable's name in Package.swift and Tools/fuzz (`FuzzTrace`, …).
    public var productName: String {
        switch self {
        case .trace: "FuzzTrace"
        case .replay: "FuzzReplay"
        case .blocksync: "FuzzBlocksync"
        case .mconnection: "FuzzMConnection"
        case .secretconnection: "FuzzSecretConnection"
        case .handshake: "FuzzHandshake"
        case .pivothint: "FuzzPivotHint"
        case .packets: "FuzzPackets"
        case .forkevents: "FuzzForkEvents"
        case .scenario: "FuzzScenario"
        case .golden: "FuzzGolden"
        case .rpcjson: "FuzzRPCJSON"
        }
    }

    /// Feeds `data` to this family's decoders.
    public func run(_ data: [UInt8]) {
        switch self {
        case .trace: TraceInput.run(data)
        case .replay: ReplayInput.run(data)
        case .blocksync: WireInput.blocksync(data)
        case .mconnection: WireInput.mconnection(data)
        case .secretconnection: SealedInput.run(data)
        case .handshake: WireInput.handshake(data)
        case .pivothint: HintInput.run(data)
        case .packets: PacketInput.run(data)
        case .forkevents: TextInput.forkEvents(data)
        case .scenario: TextInput.scenario(data)
        case .golden: TextInput.golden(data)
        case .rpcjson: TextInput.rpcJSON(data)
        }
    }
}

/// The trace readers, as `cat`, `inspect`, `doctor` and `recover` use them.
enum TraceInput {
    static func run(_ data: [UInt8]) {
        if let reader = try? TraceReader(bytes: data) {
            drain(try? reader.events())
            _ = try? reader.attachments()
            if let summary = reader.summary {
                drain(try? reader.events(fromTime: summary.statistics?.messageStartTime ?? 0))
                drain(try? reader.events(fromSequence: 2))
            }
        }
        let source = MCAPMemorySource(data)
        _ = try? TraceDoctor.examine(source: source, checkPayload: { payload in
            if case .failure(let error) = BlocksyncSummary.of(payload) { return error.description }
            return nil
        })
        let sink = MCAPMemorySink()
        guard (try? TraceRecovery.recover(source: source, into: sink)) != nil else { return }
        // `recover` promises a readable, indexed MCAP file whenever it returns.
        do {
            var walker = MCAPWalker(scanner: try MCAPScanner(source: MCAPMemorySource(sink.bytes)))
            while try walker.next() != nil {}
            _ = try MCAPSummary.load(from: MCAPMemorySource(sink.bytes))
        } catch {
            preconditionFailure("recover wrote an unreadable file: \(error)")
        }
    }

    static func drain(_ stream: TraceEventStream?) {
        guard var stream else { return }
        while (try? stream.next()) != nil {}
    }
}

/// `syncreplay TRACE`: load (refusing damage), then replay in both modes with the trace's
/// profile, as the CLI does without a golden.
enum ReplayInput {
    static func run(_ data: [UInt8]) {
        guard let trace = try? ReplayTraceLoader.load(bytes: data, path: "fuzz.trace") else { return }
        let profile = trace.node.flatMap { ReplayProfile(rawValue: $0.profileHint) } ?? GoldenCase.defaultProfile
        for mode in ReplayMode.allCases {
            _ = try? ReplaySession.replay(trace, options: ReplayOptions(profile: profile, mode: mode), hint: HintSelection(),
                                          machine: ReactorMachine.factory)
        }
    }
}

/// Protobuf and framing decoders of the CometBFT wire.
enum WireInput {
    /// A blocksync message as the reactor receives it: decode, `BlockFromProto`'s checks, the
    /// block ID (header hash, part set) and the summary `cat` prints.
    static func blocksync(_ data: [UInt8]) {
        _ = BlocksyncSummary.of(data)
        guard case .blockResponse(let block, let extCommit)? = try? BlocksyncMessage.decode(data) else { return }
        try? block.validateFromProto()
        try? block.validateBasic()
        _ = block.blockID()
        try? extCommit?.validateBasic()
    }

    /// The MConnection stream, fed in pieces whose size the first byte chooses (so reassembly
    /// across pieces is exercised), and one packet on its own.
    static func mconnection(_ data: [UInt8]) {
        guard let first = data.first else { return }
        _ = try? MConnectionPacket.decode(data[1...])
        var decoder = MConnectionDecoder(channels: .fullNode)
        let piece = Int(first) + 1
        var start = 1
        while start < data.count {
            decoder.feed(data[start..<min(start + piece, data.count)])
            start += piece
            do {
                while try decoder.next() != nil {}
            } catch {
                return
            }
        }
    }

    /// Handshake messages on their own: ephemeral key, AuthSigMessage (and its signature over a
    /// fixed challenge), NodeInfo (and `CompatibleWith` against a node of its network).
    static func handshake(_ data: [UInt8]) {
        _ = try? SecretConnection.ephemeralKey(fromBytesValue: data[...])
        if let auth = try? AuthSigMessage.decode(data[...]) { _ = try? auth.verify(challenge: SealedInput.keys.challenge) }
        if let info = try? NodeInfo.decode(data[...]) {
            var local = info
            local.nodeID = String(repeating: "0", count: 40)
            _ = local.incompatibility(with: info)
            _ = info.encodeDelimited()
        }
    }
}

/// SecretConnection with the AEAD in place: the harness holds fixed ephemeral and node keys and
/// seals the fuzzed plaintext itself, so mutations reach the decoders behind the frames.
/// The first byte chooses what the fuzzed bytes are:
/// 0: the sealed plaintext from the AuthSigMessage on (recorded-stream decoder);
/// 1: the sealed plaintext after a valid AuthSigMessage (NodeInfo, then the MConnection stream);
/// 2: the raw bytes after the ephemeral key (frames as they come off the wire);
/// 3: what a handshaking node receives: the peer's key message, then the sealed plaintext.
/// Public for the seed builder in the tests.
public enum SealedInput {
    static let senderEphemeral = [UInt8](repeating: 0x11, count: 32)
    static let receiverEphemeral = [UInt8](repeating: 0x22, count: 32)
    static let senderNodeKey = try! Curve25519.Signing.PrivateKey(rawRepresentation: [UInt8](repeating: 0x33, count: 32))
    static let receiverNodeKey = try! Curve25519.Signing.PrivateKey(rawRepresentation: [UInt8](repeating: 0x44, count: 32))

    /// The sender's node ID (what its NodeInfo must carry).
    public static var senderNodeID: String { SecretConnection.nodeID(fromEd25519: Array(senderNodeKey.publicKey.rawRepresentation)) }

    /// The sender's view of the connection (fixed keys: the same frames for the same input).
    public static let keys: SecretConnectionKeys = {
        let local = try! SecretConnection.ephemeralPublicKey(privateKey: senderEphemeral)
        let remote = try! SecretConnection.ephemeralPublicKey(privateKey: receiverEphemeral)
        let dh = try! SecretConnection.dhSecret(privateKey: senderEphemeral, remotePublicKey: remote)
        return SecretConnectionKeys(localEphemeralPublicKey: local, remoteEphemeralPublicKey: remote, dhSecret: dh)
    }()

    /// The sender's length-delimited AuthSigMessage, signed over the challenge.
    public static let validAuthSig = try! AuthSigMessage(signing: keys.challenge, with: senderNodeKey).encodeDelimited()

    /// `plaintext` as the sender's frames.
    public static func sealed(_ plaintext: [UInt8]) -> [UInt8] {
        var sealer = try! FrameSealer(key: keys.sendSecret)
        return try! sealer.seal(plaintext)
    }

    static func run(_ data: [UInt8]) {
        guard let mode = data.first else { return }
        let fuzzed = Array(data.dropFirst())
        let keyMessage = SecretConnection.ephemeralKeyMessage(keys.localEphemeralPublicKey)
        switch mode % 4 {
        case 0: decodeRecorded(keyMessage + sealed(fuzzed))
        case 1: decodeRecorded(keyMessage + sealed(validAuthSig + fuzzed))
        case 2: decodeRecorded(keyMessage + fuzzed)
        default:
            guard var handshake = try? SecretConnectionHandshake(nodeKey: receiverNodeKey, ephemeralPrivateKey: receiverEphemeral)
            else { preconditionFailure("fixed handshake keys rejected") }
            _ = try? handshake.receive(keyMessage + sealed(fuzzed))
        }
    }

    static func decodeRecorded(_ stream: [UInt8]) {
        guard var decoder = try? RecordedStreamDecoder(senderKeys: keys) else { preconditionFailure("fixed keys rejected") }
        decoder.feed(stream)
        while (try? decoder.next()).flatMap({ $0 }) != nil {}
    }
}

/// A pivot-hint file loaded as the replayer loads an attachment; its checksum is the one the
/// file itself gives, so mutations get past the check into the pages. The last 16 bytes choose
/// the queries (they are trailing bytes to the loader, which ignores them, as the original).
enum HintInput {
    static func run(_ data: [UInt8]) {
        guard let file = try? PivotHintFile(source: PivotHintMemorySource(data)) else { return }
        _ = file.verifyPages()
        guard var hint = try? PivotHint(file: file, checksum: file.checksum) else { return }
        let tail = data.suffix(16)
        var a: UInt64 = 0, b: UInt64 = 0
        for (i, byte) in tail.enumerated() {
            if i < 8 { a |= UInt64(byte) << UInt64(8 * i) } else { b |= UInt64(byte) << UInt64(8 * (i - 8)) }
        }
        let span = hint.header.rangeMax &+ 2
        let zero = PivotHash([UInt8](repeating: 0, count: 32))!
        let page = file.digest(ofPage: a % max(hint.header.pageCount, 1)) ?? zero
        for (forkAt, meHeight) in [(a, b), (a % span, b % span), (1, b % span), (a % span, hint.header.rangeMax)] {
            _ = try? hint.allowSwitch(forkAt: forkAt, meHeight: meHeight) { $0 % 2 == 0 ? page : zero }
            _ = hint.allowExtend(height: forkAt, hash: page)
        }
    }
}

/// A capture as `synccapture -r` reads it: the first byte picks the link type, then frames
/// follow, each as a 2-byte big-endian length and its bytes; the session parses, tracks
/// connections, reassembles TCP and decodes the streams.
enum PacketInput {
    static func run(_ data: [UInt8]) {
        guard let first = data.first else { return }
        let linkType = LinkType.allCases[Int(first) % LinkType.allCases.count].rawValue
        var session = CaptureSession(maxBufferedBytes: 1 << 16)
        var i = 1
        var time: UInt64 = 1_000_000_000
        while data.count - i >= 2 {
            let length = Int(data[i]) << 8 | Int(data[i + 1])
            i += 2
            let frame = Array(data[i..<min(i + length, data.count)])
            i += frame.count
            time += 1_000
            session.add(frame: frame, linkType: linkType, timestampNanos: time)
        }
        _ = session.finish()
    }
}

/// Text formats, decoded as UTF-8 with repairs (the CLIs refuse non-UTF-8 files earlier).
enum TextInput {
    static func forkEvents(_ data: [UInt8]) {
        let text = String(decoding: data, as: UTF8.self)
        _ = try? ForkEvents.parseJSONLines(text, path: "fuzz.jsonl")
        // The Conflux log is read line by line (ConfluxLog.scan does this from a file).
        for line in data.split(separator: UInt8(ascii: "\n"), omittingEmptySubsequences: false) {
            _ = Array(line).withUnsafeBufferPointer { ConfluxLog.parse(line: $0) }
        }
    }

    static func scenario(_ data: [UInt8]) {
        _ = try? Scenario.parse(String(decoding: data, as: UTF8.self))
    }

    /// A golden decodes, or not; one that decodes encodes to bytes that decode to the same.
    static func golden(_ data: [UInt8]) {
        guard let golden = try? GoldenFile.decode(data) else { return }
        let encoded = golden.encoded()
        guard let again = try? GoldenFile.decode(Array(encoded.utf8)) else {
            preconditionFailure("a decoded golden re-encodes to text that does not decode")
        }
        precondition(again.encoded() == encoded, "a golden's encoding is not stable")
    }

    static func rpcJSON(_ data: [UInt8]) {
        guard let document = try? RPCJSON.parse(data) else { return }
        switch document {
        case .block(let block, _):
            try? block.validateFromProto()
            _ = block.blockID()
        case .commit(let header, let commit):
            _ = header.hash()
            try? commit.validateBasic()
        case .validators(_, let set): _ = set.hash()
        case .genesis(let genesis): _ = genesis.initialState
        case .blockchain: break
        }
    }
}
