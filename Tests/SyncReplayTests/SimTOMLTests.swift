import Foundation
import Testing
import Sim

/// The scenario TOML reader (Sources/Sim/TOMLDocument.swift; issue 16): the subset scenarios
/// use reads as TOML 1.0 says, everything else is one `ScenarioError` with line and column.
@Suite struct SimTOMLTests {
    static let minimal = "[chain]\nseed = \"s\"\nlength = 10\n[node]\nprofile = \"tm-v0.34\"\n[[peer]]\nid = \"p1\"\n"

    func error(_ text: String) -> String? {
        do { _ = try Scenario.parse(text); return nil } catch { return error.description }
    }

    /// The annotated example of Traces/README.md uses every key and most of the syntax
    /// (comments everywhere, inline tables, arrays of tables under a dotted header, quoted keys).
    @Test func readmeExampleParses() throws {
        let readme = try String(contentsOf: SyncReplayProcess.packageDirectory.appendingPathComponent("Traces/README.md"), encoding: .utf8)
        let block = try #require(readme.components(separatedBy: "```toml\n").dropFirst().first?.components(separatedBy: "```").first)
        let s = try Scenario.parse(block)
        #expect(s.name == "example" && s.chain.validators == [10, 10, 10, 10] && s.chain.length == 40)
        #expect(s.peers.count == 1 && s.peers[0].badBlock?.0 == 12 && s.peers[0].status.count == 2)
        #expect(s.pivot?.events.count == 2 && s.pivot?.corruptPage == 3)
        #expect(s.expectations.map(\.profile) == ["cometbft-v0.38"])
        #expect(s.expectations[0].decisionsInclude.count == 1 && s.expectations[0].banned.map(\.peer) == ["p3"])
    }

    @Test func stringsIntegersAndLayout() throws {
        let text = """
        name = 'literal \\n stays'   # a comment
        description = "tab\\there \\"quoted\\" \\u00e9\\U0001F600 back\\\\slash"\r
        [chain]
        seed = ""
        length = 1_000
        validators = [
          10,   # first
          +20,
        ]
        [node]
        "profile" = "tm-v0.34"
        [[peer]]
        id = "p1"
        height = -0
        """
        let s = try Scenario.parse(text)
        #expect(s.name == "literal \\n stays")
        #expect(s.description == "tab\there \"quoted\" é😀 back\\slash")
        #expect(s.chain.length == 1000 && s.chain.validators == [10, 20] && s.peers[0].status[0].height == 0)
    }

    /// The two reproducers of issue 16 (toml++ aborted on them) and the rest of the refused
    /// syntax, each one line with its line and column.
    @Test(arguments: [
        ("[\n", "line 1: TOML syntax: expected a key, got the end of the line (column 2)"),
        ("s=[}", "line 1: TOML syntax: expected a value, got '}' (column 4)"),
        ("a = 1\na = 2\n", "line 2: TOML syntax: key \"a\" is defined twice (column 1)"),
        ("[chain]\n[chain]\n", "line 2: TOML syntax: table [chain] is defined twice (column 1)"),
        ("a = 1\n[a.b]\n", "line 2: TOML syntax: [a.b]: a is already a value, not a table (column 1)"),
        ("a = [1]\n[[a]]\n", "line 2: TOML syntax: [[a]]: a is already defined and is not an array of tables (column 1)"),
        ("a = {b = 1}\n[a.c]\n", "line 2: TOML syntax: [a.c]: a is already a value, not a table (column 1)"),
        ("a = 1.5\n", "line 1: TOML syntax: floats are not supported in scenario files (durations are strings like \"1.5s\"), got 1.5 (column 5)"),
        ("a = 1979-05-27\n", "line 1: TOML syntax: dates and times are not supported in scenario files, got 1979-05-27 (column 5)"),
        ("a = 0x1F\n", "line 1: TOML syntax: only decimal integers are supported in scenario files, got 0x1F (column 5)"),
        ("a = 012\n", "line 1: TOML syntax: invalid value 012 (column 5)"),
        ("a = 1__0\n", "line 1: TOML syntax: invalid value 1__0 (column 5)"),
        ("a = 9223372036854775808\n", "line 1: TOML syntax: integer 9223372036854775808 does not fit in 64 bits (column 5)"),
        ("a = \"\"\"x\"\"\"\n", "line 1: TOML syntax: multi-line strings are not supported in scenario files (column 5)"),
        ("a.b = 1\n", "line 1: TOML syntax: dotted keys are not supported in scenario files; write a [table] header instead (column 2)"),
        ("a = \"open\n", "line 1: TOML syntax: unterminated string (a basic string ends with \" on the same line) (column 10)"),
        ("a = \"\\q\"\n", "line 1: TOML syntax: invalid escape \\'q' in a string (column 6)"),
        ("a = \"\\uD800\"\n", "line 1: TOML syntax: invalid unicode escape (\\u takes 4 hex digits, \\U 8, of a Unicode scalar value) (column 6)"),
        ("a = {b = 1,}\n", "line 1: TOML syntax: expected a key, got '}' (column 12)"),
        ("a = {b = 1\n", "line 1: TOML syntax: expected ',' or '}' in an inline table (which must stay on one line), got the end of the line (column 11)"),
        ("a = [1 2]\n", "line 1: TOML syntax: expected ',' or ']' in an array, got '2' (column 8)"),
        ("a = [1,\n", "line 2: TOML syntax: unterminated array (expected ']') (column 1)"),
        ("a = 1 b = 2\n", "line 1: TOML syntax: expected the end of the line, got 'b' (column 7)"),
        ("[[a]\n", "line 1: TOML syntax: expected ']]' to close the table header, got the end of the line (column 5)"),
        ("a = tru\n", "line 1: TOML syntax: invalid value tru (column 5)"),
        ("# é\u{7}\n", "line 1: TOML syntax: control character 0x07 in a comment (column 4)"),
        ("a = 1\rb = 2\n", "line 1: TOML syntax: expected the end of the line, got byte 0x0D (column 6)"),
    ])
    func refusedSyntax(_ text: String, _ message: String) {
        #expect(error(text) == message)
    }

    /// Nesting is bounded (the reader recurses per level): 32 levels read, 33 are refused.
    @Test func nestingIsBounded() {
        let deep = "a = " + String(repeating: "[", count: 33) + String(repeating: "]", count: 33)
        #expect(error(deep) == "line 1: TOML syntax: arrays and inline tables nested more than 32 deep (column 37)")
        let ok = "a = " + String(repeating: "[", count: 32) + String(repeating: "]", count: 32)
        #expect(error(ok)?.contains("TOML syntax") == false)  // well-formed: only the scenario grammar objects
        #expect(error("a = " + String(repeating: "{a = ", count: 100_000))?.hasSuffix("nested more than 32 deep (column 165)") == true)
    }

    /// Semantic errors still name the line of the key (located in the text).
    @Test func semanticErrorsKeepTheirLines() {
        #expect(error(Self.minimal + "latency = \"fast\"\n")
                == "line 8, key peer[0].latency: must be a duration like \"250ms\", \"2s\" or \"1.5s\" (units ns, us, ms, s, m), got \"fast\"")
        #expect(error("# typo\nnmae = \"x\"\n" + Self.minimal)?.hasPrefix("line 2, key nmae: unknown key") == true)
    }
}
