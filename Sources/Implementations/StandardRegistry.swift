import BlockSync
import BlockSyncV2
import SyncMachine

extension MachineRegistry {
    /// Every implementation the tools ship, in the order `--help` lists them. A new
    /// implementation is a module plus one entry here. The default profile is cometbft-v0.38,
    /// the maintained release line (README "Replay and golden files").
    public static let standard: MachineRegistry = {
        do {
            return try MachineRegistry([Reactor.implementation, Demux.implementation], defaultProfile: .cometbftV038)
        } catch {
            preconditionFailure("the standard registry is inconsistent: \(error)")
        }
    }()
}
