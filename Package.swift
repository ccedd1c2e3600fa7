// swift-tools-version: 6.1
// syncreplay — record/replay conformance harness for blockchain block synchronisation.
// Layout and module boundaries: DESIGN.md §1 and §7 (kept in ../shared/DESIGN.md).
import Foundation
import PackageDescription

let package = Package(
    name: "syncreplay",
    platforms: [.macOS(.v14)],
    products: [
        .executable(name: "syncreplay", targets: ["syncreplay"]),
        .executable(name: "synccapture", targets: ["synccapture"]),
        .executable(name: "syncsim", targets: ["syncsim"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
        .package(url: "https://github.com/apple/swift-crypto", "3.12.3"..<"5.0.0"),
        .package(url: "https://github.com/apple/swift-collections", from: "1.1.0"),
    ],
    targets: [
        // Protobuf wire primitives (varints, tags, bounded length-delimited reads) shared by the
        // trace schema and the CometBFT codecs. Hand-written so encoding is byte-exact with gogoproto.
        .target(name: "ProtoWire"),
        // Keccak-f[1600] and Keccak-256: the pivot hint's digests and SecretConnection's STROBE.
        .target(name: "Keccak"),
        // Hex text for bytes, shared by every module that prints or parses hashes.
        .target(name: "HexCoding"),
        // The exit-code contract of DESIGN.md §6, shared by the three executables.
        .target(name: "CommandExit", dependencies: [
            .product(name: "ArgumentParser", package: "swift-argument-parser"),
        ]),
        // The one JSON value (ordered objects), its canonical (sorted keys: goldens) and as-built
        // (cat/inspect --json) writers, and the strict parser with line/column errors.
        .target(name: "JSON", dependencies: [
            .product(name: "OrderedCollections", package: "swift-collections"),
        ]),
        // Whole input files read with a reason when they cannot be (missing, empty, not a regular file, permission).
        .target(name: "FileInput"),
        // CRC-32 by carry-less multiplication on x86-64 with PCLMULQDQ (issue 19); elsewhere
        // it reports itself unavailable and SyncTrace's table CRC runs.
        .target(name: "CRC32Hardware"),
        // The one on/off switch for work run ahead on a second thread (cores, environment override).
        .target(name: "WorkAhead"),
        // The trace container: MCAP writer/readers and the syncreplay event schema.
        .target(name: "SyncTrace", dependencies: ["ProtoWire", "FileInput", "CRC32Hardware", "WorkAhead"], exclude: ["Schema"]),
        // CometBFT blocks, blocksync messages, hashing and commit verification.
        .target(name: "CometWire", dependencies: [
            "ProtoWire", "HexCoding",
            .product(name: "Crypto", package: "swift-crypto"),
        ]),
        // CometBFT transport: MConnection framing and SecretConnection.
        .target(name: "CometP2P", dependencies: [
            "ProtoWire", "Keccak", "HexCoding",
            .product(name: "Crypto", package: "swift-crypto"),
        ]),
        // Conflux's pivot-hint file and fork validator.
        .target(name: "PivotHint", dependencies: ["Keccak", "HexCoding"]),
        // The machine seam: inputs, effects, named timers, NodeStart, the implementation registry.
        .target(name: "SyncMachine", dependencies: ["CometWire"]),
        // The v0 blocksync reactor (BlockPool + reactor) as a sans-IO state machine.
        .target(name: "BlockSync", dependencies: [
            "CometWire", "SyncMachine",
            .product(name: "DequeModule", package: "swift-collections"),
            .product(name: "OrderedCollections", package: "swift-collections"),
        ]),
        // tendermint's blockchain/v2 reactor (scheduler + processor + demux) as a sans-IO state
        // machine (issue 13, specs/cometbft-blocksync-v2.md).
        .target(name: "BlockSyncV2", dependencies: [
            "CometWire", "SyncMachine", "HexCoding",
            .product(name: "DequeModule", package: "swift-collections"),
        ]),
        // The one driver core (issue 12): virtual clock, tie rule, switch and disconnect feedback,
        // invariant checks, peer sources as a protocol (loopback peers for the tests and the bench).
        .target(name: "SyncDriver", dependencies: ["SyncMachine", "CometWire"],
                // Its generic driver and queue are specialized for the replayer's peer source in
                // the Replay module, not run through type metadata on every event (issue 19).
                swiftSettings: [.unsafeFlags(["-cross-module-optimization"])]),
        // The replayer: virtual clock, ghost peers, decision log, goldens, diff, reports, suite.
        .target(name: "Replay", dependencies: [
            "HexCoding",
            "SyncTrace", "CometWire", "PivotHint", "SyncMachine", "SyncDriver",
            .product(name: "Crypto", package: "swift-crypto"),
            "FileInput", "JSON", "WorkAhead",
        ]),
        // Pictures of a sync: the timeline model, its HTML page and its Perfetto (Chrome trace-event) JSON (issue 15).
        .target(name: "Timeline", dependencies: ["Replay", "SyncMachine", "CometWire", "HexCoding", "JSON"]),
        // The registry of every shipped block-sync implementation (the CLIs and tests use it).
        .target(name: "Implementations", dependencies: ["SyncMachine", "BlockSync", "BlockSyncV2"]),
        // libpcap, for the capture tool only: `syncreplay` itself builds without it (DESIGN.md §5).
        .systemLibrary(name: "CPcap", pkgConfig: "libpcap",
                       providers: [.apt(["libpcap-dev"]), .brew(["libpcap"])]),
        // Capture: link-layer parsing, TCP reassembly, stream decoding and trace building (pcap-free).
        .target(name: "Capture", dependencies: [
            "ProtoWire", "HexCoding", "SyncTrace", "CometWire", "CometP2P", "JSON", "WorkAhead",
            .product(name: "Crypto", package: "swift-crypto"),
        ]),
        // The libpcap front end of the capture tool: files and live interfaces.
        .target(name: "PcapSource", dependencies: ["CPcap", "Capture"]),
        .executableTarget(name: "synccapture", dependencies: [
            "CommandExit", "Capture", "PcapSource", "PivotHint", "CometWire", "CometP2P", "SyncTrace",
            .product(name: "ArgumentParser", package: "swift-argument-parser"),
            .product(name: "Crypto", package: "swift-crypto"),
            "FileInput",
        ], path: "Tools/synccapture"),
        // The simulator: scenario model (TOML), scripted peers and the virtual-clock driver that
        // writes byte-reproducible traces (issue 7; Traces/README.md).
        .target(name: "Sim", dependencies: [
            "HexCoding", "SyncTrace", "CometWire", "PivotHint", "Keccak", "SyncMachine", "Implementations", "SyncDriver",
            "FileInput",
        ]),
        // A scenario's expectations checked against a recorded golden (syncsim --review, the corpus tests).
        .target(name: "ScenarioReview", dependencies: ["Sim", "Replay", "FileInput", "SyncMachine"]),
        .executableTarget(name: "syncsim", dependencies: [
            "Sim", "CommandExit", "Implementations", "ScenarioReview", "Replay",
            .product(name: "ArgumentParser", package: "swift-argument-parser"),
            "FileInput",
        ], path: "Tools/syncsim"),
        .executableTarget(name: "syncreplay", dependencies: [
            "CommandExit", "HexCoding", "SyncTrace", "CometWire", "CometP2P", "PivotHint", "BlockSync", "Replay", "Capture", "Sim",
            "SyncMachine", "Implementations",
            .product(name: "ArgumentParser", package: "swift-argument-parser"),
            .product(name: "Crypto", package: "swift-crypto"),
            "Timeline", "FileInput", "JSON", "SyncDriver",
        ]),
        // One entry point per decoder family that reads hostile input (issue 16): the fuzz
        // targets below call it, and the unit tests replay the seeds and reproducers through it.
        .target(name: "Fuzzing", dependencies: [
            "ProtoWire", "SyncTrace", "CometWire", "CometP2P", "PivotHint", "Capture", "Replay", "Sim",
            "SyncMachine", "Implementations",
            .product(name: "Crypto", package: "swift-crypto"),
        ]),
        .testTarget(name: "SyncReplayTests", dependencies: [
            "ProtoWire", "Keccak", "HexCoding", "CommandExit", "SyncTrace", "CometWire", "CometP2P", "PivotHint", "BlockSync",
            "Capture", "PcapSource", "Replay", "Sim", "Fuzzing", "SyncMachine", "Implementations",
            .product(name: "ArgumentParser", package: "swift-argument-parser"),
            "Timeline", "FileInput", "JSON", "SyncDriver", "ScenarioReview",
            .product(name: "Crypto", package: "swift-crypto"),
        ]),
        .testTarget(name: "BlockSyncV2Tests", dependencies: [
            "CometWire", "SyncMachine", "BlockSync", "BlockSyncV2", "Implementations",
        ]),
    ]
)

// libFuzzer targets (Tools/fuzz/run; README "Fuzzing"), only when SYNCREPLAY_FUZZ is set, so
// `swift build` and `swift test` never see them. In that mode the package holds the libraries
// the targets need and the fuzz executables only: one `swift build --sanitize=fuzzer` then
// builds every target, and no other executable links libFuzzer's `main`.
if ProcessInfo.processInfo.environment["SYNCREPLAY_FUZZ"] != nil {
    let fuzzTargets = ["FuzzTrace", "FuzzReplay", "FuzzBlocksync", "FuzzMConnection", "FuzzSecretConnection", "FuzzHandshake",
                       "FuzzPivotHint", "FuzzPackets", "FuzzForkEvents", "FuzzScenario", "FuzzGolden", "FuzzRPCJSON"]
    let unused: Set = ["CommandExit", "PcapSource", "CPcap"]
    package.targets.removeAll { $0.type == .executable || $0.type == .test || unused.contains($0.name) }
    package.products = fuzzTargets.map { .executable(name: $0, targets: [$0]) }
    package.targets += fuzzTargets.map {
        .executableTarget(name: $0, dependencies: ["Fuzzing"], path: "Tools/fuzz/\($0)",
                          swiftSettings: [.unsafeFlags(["-parse-as-library"])])
    }
}
