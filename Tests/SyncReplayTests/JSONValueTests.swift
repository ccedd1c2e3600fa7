import Foundation
import JSON
import Replay
import Testing

/// The one JSON value (issue 12 item 6): ordered objects, the canonical writer (sorted keys:
/// goldens) and the as-built writer (member order: `cat --json`, `inspect --json`), both
/// byte-identical to what the two types they replaced wrote.
@Suite struct JSONValueTests {
    @Test func objectsKeepTheirOrderAndTheCanonicalWriterSortsThem() throws {
        var o: JSONObject = ["seq": .int(1), "time": .uint(2), "topic": .string("/p2p")]
        o["kind"] = .string("connected")
        o["time"] = .uint(3)
        #expect(o.keys == ["seq", "time", "topic", "kind"])
        let v = JSONValue.object(["b": .array([.object(o)]), "a": .null])
        #expect(v.asBuilt == #"{"b":[{"seq":1,"time":3,"topic":"/p2p","kind":"connected"}],"a":null}"#)
        #expect(v.canonical == #"{"a":null,"b":[{"kind":"connected","seq":1,"time":3,"topic":"/p2p"}]}"#)
        // Keys sort by UTF-8 bytes, not by locale: "Z" < "a" < "é".
        #expect(JSONValue.object(["é": .int(1), "a": .int(2), "Z": .int(3)]).canonical == #"{"Z":3,"a":2,"é":1}"#)
    }

    @Test func equalityIgnoresMemberOrderAndNumberSpelling() {
        #expect(JSONValue.object(["a": .int(3), "b": .bool(true)]) == .object(["b": .bool(true), "a": .uint(3)]))
        #expect(JSONValue.object(["a": .int(3)]) != .object(["a": .int(3), "b": .null]))
        #expect(JSONValue.int(-1) != .uint(UInt64.max))
    }

    @Test func theParserKeepsMemberOrderAndNamesWhereItFails() throws {
        let text = #"{"z":1,"a":{"y":[true,null,"x\n"],"b":-9223372036854775808},"m":18446744073709551615}"#
        let parsed = try JSONParser.parse(text)
        #expect(parsed.asBuilt == text)
        #expect(parsed["a"]?["b"] == .int(Int64.min) && parsed["m"]?.uint64 == UInt64.max)
        #expect(throws: JSONSyntaxError(line: 2, column: 8, reason: "duplicate key \"a\"")) {
            try JSONParser.parse("{\"a\":1,\n \"b\":2,\"a\":3}")
        }
    }

    @Test func aDictionaryBecomesAnObjectInKeyOrder() {
        let counts: [String: JSONValue] = ["peer_removed": .int(2), "block_applied": .int(9), "request": .int(4)]
        #expect(JSONObject(sorting: counts).keys == ["block_applied", "peer_removed", "request"])
    }

    /// Canonical writer: every committed golden decodes and encodes back to the same bytes.
    @Test func everyCommittedGoldenReencodesByteForByte() throws {
        let traces = SyncReplayProcess.packageDirectory.appendingPathComponent("Traces")
        let goldens = try #require(FileManager.default.enumerator(atPath: traces.path)).compactMap { $0 as? String }
            .filter { $0.hasSuffix(GoldenNaming.goldenSuffix) }.sorted()
        #expect(goldens.count >= 76)
        for name in goldens {
            let bytes = Array(try Data(contentsOf: traces.appendingPathComponent(name)))
            #expect(Array(try GoldenFile.decode(bytes).encoded().utf8) == bytes, "\(name)")
        }
    }

    /// As-built writer: `cat --json --raw` and `inspect --json` of the committed fixture print
    /// exactly the committed outputs (recorded before the two JSON types became one).
    @Test func catAndInspectJSONAreByteIdentical() throws {
        let package = SyncReplayProcess.packageDirectory
        for (arguments, expected) in [(["cat", "Tests/Fixtures/example-handwritten.trace", "--json", "--raw"], "example-handwritten.cat.jsonl"),
                                      (["inspect", "Tests/Fixtures/example-handwritten.trace", "--json"], "example-handwritten.inspect.json")] {
            let r = try SyncReplayProcess.run(arguments, workingDirectory: package)
            #expect(r.status == 0, "\(r.stderr)")
            let want = try String(contentsOf: package.appendingPathComponent("Tests/Fixtures/" + expected), encoding: .utf8)
            #expect(r.stdout == want, "\(arguments)")
        }
    }
}
