extension String {
    /// This text with control characters and Unicode line/paragraph separators escaped
    /// (`\n` becomes the two characters `\` `n`). Error descriptions quote strings read from
    /// hostile input (topic names, JSON values, peer network names); escaping keeps every
    /// description on one line, as the bad-input rule requires (notes/common.md "Standards").
    public var escapingLineBreaks: String {
        guard unicodeScalars.contains(where: Self.breaksLine) else { return self }
        var out = ""
        for scalar in unicodeScalars {
            if Self.breaksLine(scalar) { out += scalar.escaped(asASCII: true) } else { out.unicodeScalars.append(scalar) }
        }
        return out
    }

    private static func breaksLine(_ s: Unicode.Scalar) -> Bool {
        switch s.properties.generalCategory {
        case .control, .lineSeparator, .paragraphSeparator: return true
        default: return false
        }
    }
}
