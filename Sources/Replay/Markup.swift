/// Escaping for markup text and double-quoted attribute values: the one home for JUnit XML
/// (`JUnitDocument`) and the HTML pages (timeline, suite report).
public enum Markup {
    /// XML 1.0: `& < > " '` as entities; characters XML 1.0 forbids (controls other than tab,
    /// line feed and carriage return, U+FFFE, U+FFFF) become U+FFFD.
    public static func xml(_ s: String) -> String { escape(s, xml: true) }

    /// HTML: `& < > "` as entities, everything else as is (the pages' attributes are double-quoted).
    public static func html(_ s: String) -> String { escape(s, xml: false) }

    private static func escape(_ s: String, xml: Bool) -> String {
        var out = ""
        for scalar in s.unicodeScalars {
            switch scalar {
            case "&": out += "&amp;"
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "\"": out += "&quot;"
            case "'" where xml: out += "&apos;"
            case "\n", "\t", "\r": out.unicodeScalars.append(scalar)
            default:
                if xml && (scalar.value < 0x20 || (0xFFFE...0xFFFF).contains(scalar.value)) {
                    out += "\u{FFFD}"
                } else {
                    out.unicodeScalars.append(scalar)
                }
            }
        }
        return out
    }
}
