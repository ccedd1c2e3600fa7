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
