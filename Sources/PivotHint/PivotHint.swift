/// PivotHint: Conflux's pivot-hint file and fork validator (specs/conflux-pivot-hint.md).
public enum PivotHintFormat {
    /// Size of the fixed file header (§1.1).
    public static let headerSize = 28
}
