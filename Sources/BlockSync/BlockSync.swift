/// BlockSync: the v0 blocksync reactor (BlockPool + reactor) as a sans-IO state machine
/// (DESIGN.md §1, specs/cometbft-blocksync.md §2, §3).
public enum BlockSyncProfileName: String, CaseIterable, Sendable {
    case tmV034 = "tm-v0.34"
    case tmV035 = "tm-v0.35"
    case cometbftV038 = "cometbft-v0.38"
}
