import Foundation
import Testing
import Crypto
import CometWire
import CometP2P
import PivotHint
import SyncTrace
import ProtoWire

/// Seeded mutations of real inputs for every parser (common rules, "Bad input"): whatever the
/// bytes, a parser returns a value or throws a typed error whose description is one line and,
/// where the format has offsets, names one. A crash or trap kills the test process, so these
/// tests fail loudly; iteration counts keep the whole suite to a few seconds in a debug build.
enum Mutator {
    /// One random edit: flip a bit, overwrite a byte with an interesting value, delete or
    /// insert a run, duplicate a slice, or truncate.
    static func mutate(_ input: [UInt8], _ rng: inout SplitMix64) -> [UInt8] {
        var b = input
        let edits = Int.random(in: 1...3, using: &rng)
        for _ in 0..<edits {
            guard !b.isEmpty else { b = [UInt8.random(in: 0...255, using: &rng)]; continue }
            let i = Int.random(in: 0..<b.count, using: &rng)
            switch Int.random(in: 0..<7, using: &rng) {
            case 0: b[i] ^= UInt8(1) << UInt8.random(in: 0...7, using: &rng)
            case 1: b[i] = [0x00, 0x01, 0x7f, 0x80, 0xff, 0xfe][Int.random(in: 0..<6, using: &rng)]
            case 2: b.removeSubrange(i..<min(b.count, i + Int.random(in: 1...16, using: &rng)))
            case 3: b.insert(contentsOf: (0..<Int.random(in: 1...8, using: &rng)).map { _ in UInt8.random(in: 0...255, using: &rng) }, at: i)
            case 4:  // an all-ones run: huge varints and length fields
                for k in i..<min(b.count, i + Int.random(in: 1...10, using: &rng)) { b[k] = 0xff }
            case 5:
                let j = Int.random(in: i..<min(b.count, i + 64), using: &rng)
                b.insert(contentsOf: b[i...j], at: Int.random(in: 0...b.count, using: &rng))
            default: b.removeSubrange(Int.random(in: 0..<b.count, using: &rng)...)
            }
        }
        return b
    }

    /// Text mutations for JSON: delete/flip/insert characters, swap numbers for huge ones,
    /// strings for numbers and objects, deep nesting.
    static func mutateJSON(_ input: String, _ rng: inout SplitMix64) -> [UInt8] {
        var s = Array(input.utf8)
        let tokens: [String] = ["99999999999999999999999999", "-1", "1e400", "null", "[]", "{}", "\"x\"", "true",
                                "\"\\u0000\"", "\"a\\nb\"", String(repeating: "[", count: 600), "\"\u{1F600}\"", ",", ":", "\""]
        switch Int.random(in: 0..<5, using: &rng) {
        case 0:
            return mutate(s, &rng)
        case 1, 2:
            // Replace a value after a colon with a hostile token.
            let colons = s.indices.filter { s[$0] == UInt8(ascii: ":") }
            guard let c = colons.randomElement(using: &rng) else { return s }
            var end = c + 1
            while end < s.count, ![UInt8(ascii: ","), UInt8(ascii: "}"), UInt8(ascii: "]")].contains(s[end]) { end += 1 }
            s.replaceSubrange((c + 1)..<end, with: Array(tokens.randomElement(using: &rng)!.utf8))
            return s
        case 3:
            let depth = Int.random(in: 100...5000, using: &rng)
            let i = Int.random(in: 0..<s.count, using: &rng)
            s.insert(contentsOf: Array(String(repeating: "[", count: depth).utf8) + Array(String(repeating: "]", count: depth).utf8), at: i)
            return s
        default:
            let i = Int.random(in: 0..<s.count, using: &rng)
            s.insert(contentsOf: Array(tokens.randomElement(using: &rng)!.utf8), at: i)
            return s
        }
    }

    /// Random splits of `bytes` into pieces.
    static func pieces(_ bytes: [UInt8], _ rng: inout SplitMix64) -> [ArraySlice<UInt8>] {
        var out: [ArraySlice<UInt8>] = []
        var i = 0
        while i < bytes.count {
            let n = Int.random(in: 1...max(1, min(bytes.count - i, Bool.random(using: &rng) ? 7 : 2000)), using: &rng)
            out.append(bytes[i..<(i + n)])
            i += n
        }
        return out
    }
}

/// Longer or different runs for crash hunting, without editing the tests:
/// `SYNCREPLAY_FUZZ_SCALE=20 SYNCREPLAY_FUZZ_SEED=7 swift test --filter HardeningFuzzTests`.
enum FuzzRun {
    static let scale = max(1, Int(ProcessInfo.processInfo.environment["SYNCREPLAY_FUZZ_SCALE"] ?? "") ?? 1)
    static let seed = UInt64(ProcessInfo.processInfo.environment["SYNCREPLAY_FUZZ_SEED"] ?? "") ?? 0
    static func rng(_ test: UInt64) -> SplitMix64 { SplitMix64(seed: test &+ seed &* 1_000_003) }
}

/// The rules every error description must follow.
func expectOneLine(_ error: any Error, mentions words: [String] = [], _ context: @autoclosure () -> String = "",
                   sourceLocation: SourceLocation = #_sourceLocation) {
    let text = String(describing: error)
    #expect(!text.isEmpty, "\(context())", sourceLocation: sourceLocation)
    #expect(!text.contains("\n") && !text.contains("\r"), "multi-line error: \(text.debugDescription) \(context())", sourceLocation: sourceLocation)
    if !words.isEmpty {
        #expect(words.contains { text.contains($0) }, "error names none of \(words): \(text) \(context())", sourceLocation: sourceLocation)
    }
}

@Suite struct HardeningFuzzTests {
    static let chain: (payload: [UInt8], block: Block, commit: Commit) = {
        let b = ChainBuilder(.init(seed: [7], validatorPowers: [10, 20, 30, 40], length: 3, txsPerBlock: 4))
        let chain = b.build()
        let block = chain.block(at: 3)!
        let commit = chain.commit(for: 3)!
        return (BlocksyncMessage.blockResponse(block: block, extCommit: b.extendedCommit(commit)).encode(), block, commit)
    }()

    // MARK: CometWire protobuf

    @Test func blocksyncMessageMutations() {
        var rng = FuzzRun.rng(1)
        let seeds: [[UInt8]] = [Self.chain.payload,
                                BlocksyncMessage.statusResponse(height: 100, base: 1).encode(),
                                BlocksyncMessage.blockRequest(height: 5).encode()]
        for n in 0..<3000 * FuzzRun.scale {
            let input = Mutator.mutate(seeds[n % seeds.count], &rng)
            do {
                let msg = try BlocksyncMessage.decode(input)
                do { try msg.validate() } catch { expectOneLine(error, "validate #\(n)") }
                if case .blockResponse(let block, _) = msg {
                    _ = block.blockID()
                    do { try block.validateBasic() } catch { expectOneLine(error, "validateBasic #\(n)") }
                }
                _ = msg.encode()
            } catch {
                expectOneLine(error, mentions: ["byte", "offset", "field", "no known"], "#\(n)")
            }
        }
    }

    @Test func blockAndCommitMutations() {
        var rng = FuzzRun.rng(2)
        let block = Self.chain.block.encoded(), commit = Self.chain.commit.encoded()
        for n in 0..<1500 * FuzzRun.scale {
            do { _ = try Block(protobuf: Mutator.mutate(block, &rng)) } catch { expectOneLine(error, mentions: ["byte"], "block #\(n)") }
            do {
                let c = try Commit(protobuf: Mutator.mutate(commit, &rng))
                do { try c.validateBasic() } catch { expectOneLine(error, "commit validateBasic #\(n)") }
            } catch { expectOneLine(error, mentions: ["byte"], "commit #\(n)") }
        }
    }

    /// Nested length-delimited fields a thousand levels deep: the decoder's depth is bounded
    /// by the schema (no recursive message types), so this is a plain error.
    @Test func deeplyNestedProtobuf() {
        var inner: [UInt8] = [0x08, 0x01]
        for _ in 0..<2000 {
            inner = [0x1a] + varint(UInt64(inner.count)) + inner
        }
        do { _ = try BlocksyncMessage.decode(inner) } catch { expectOneLine(error) }
        do { _ = try Block(protobuf: inner) } catch { expectOneLine(error) }
    }

    func varint(_ v: UInt64) -> [UInt8] {
        var out: [UInt8] = [], x = v
        while x >= 0x80 { out.append(UInt8(truncatingIfNeeded: x) | 0x80); x >>= 7 }
        out.append(UInt8(x))
        return out
    }

    // MARK: RPC JSON

    static let fixtureNames = ["block_at_height_1.json", "block_at_height_10.json", "blockchain_from_1_to_10.json",
                               "commit_at_height_10.json", "genesis.json"]

    @Test func rpcJSONMutations() throws {
        let dir = SyncReplayProcess.sharedDirectory.appendingPathComponent("fixtures/cometbft-v0.34")
        let texts = try Self.fixtureNames.map { try String(contentsOf: dir.appendingPathComponent($0), encoding: .utf8) }
        var rng = FuzzRun.rng(3)
        var failures = 0
        for n in 0..<400 * FuzzRun.scale {
            let input = Mutator.mutateJSON(texts[n % texts.count], &rng)
            do { _ = try RPCJSON.parse(input) } catch {
                failures += 1
                expectOneLine(error, "#\(n) \(Self.fixtureNames[n % texts.count])")
                #expect(error.path.isEmpty || error.path.hasPrefix("$"), "#\(n)")
            }
        }
        #expect(failures > 100)
    }

    @Test func rpcJSONHostileValues() {
        // Newlines and control characters inside values the error quotes stay on one line.
        let cases = [#"{"result":{"block_height":"1\n2","validators":[]}}"#,
                     #"{"result":{"a\nb":1}}"#,
                     #"{"error":{"message":"line1\nline2"}}"#,
                     #"{"chain_id":"c","genesis_time":"2020\r\n"}"#,
                     String(repeating: "[", count: 100_000),
                     String(repeating: "{\"a\":", count: 50_000) + "1" + String(repeating: "}", count: 50_000),
                     #"{"result":{"block_height":99999999999999999999999,"validators":[]}}"#,
                     #"{"result":{"block_height":1e300,"validators":[]}}"#]
        for text in cases {
            do { _ = try RPCJSON.parse(Array(text.utf8)); Issue.record("accepted \(text.prefix(40))") } catch {
                expectOneLine(error, "\(text.prefix(40))")
            }
        }
    }

    /// `block verify`'s checks over mutated documents that still parse: hostile powers,
    /// heights, signature counts and part totals give findings, never a trap.
    @Test func blockCheckOverMutatedDocuments() throws {
        let dir = SyncReplayProcess.sharedDirectory.appendingPathComponent("fixtures/cometbft-v0.34")
        func text(_ name: String) throws -> String { try String(contentsOf: dir.appendingPathComponent(name), encoding: .utf8) }
        let blockText = try text("block_at_height_10.json"), commitText = try text("commit_at_height_10.json"), genesisText = try text("genesis.json")
        guard case .block(let block, let id) = try RPCJSON.parse(Array(blockText.utf8)),
              case .commit(let header, let commit) = try RPCJSON.parse(Array(commitText.utf8)),
              case .genesis(let genesis) = try RPCJSON.parse(Array(genesisText.utf8)) else { Issue.record("fixtures"); return }
        var rng = FuzzRun.rng(10)
        var checked = 0
        /// Replaces one quoted integer (Go's int64-as-string) with an extreme value, so most
        /// mutants still parse and reach the checks.
        func hostileNumber(_ text: String) -> [UInt8] {
            guard Bool.random(using: &rng) else { return Mutator.mutateJSON(text, &rng) }
            var b = Array(text.utf8)
            let starts = b.indices.dropLast().filter { b[$0] == UInt8(ascii: "\"") && (0x30...0x39).contains(b[$0 + 1]) }
            guard let start = starts.randomElement(using: &rng) else { return b }
            var end = start + 1
            while end < b.count, (0x30...0x39).contains(b[end]) { end += 1 }
            guard end < b.count, b[end] == UInt8(ascii: "\"") else { return b }
            let values = ["9223372036854775807", "-9223372036854775808", "-1", "0", "4294967295", "2147483647", "-2147483648"]
            b.replaceSubrange((start + 1)..<end, with: Array(values.randomElement(using: &rng)!.utf8))
            return b
        }
        for n in 0..<600 * FuzzRun.scale {
            var b = block, bid = id, signed = (header: header, commit: commit), g = genesis
            switch n % 3 {
            case 0:
                guard case .block(let mb, let mid)? = try? RPCJSON.parse(hostileNumber(blockText)) else { continue }
                b = mb; bid = mid
            case 1:
                guard case .commit(let h, let c)? = try? RPCJSON.parse(hostileNumber(commitText)) else { continue }
                signed = (h, c)
            default:
                guard case .genesis(let mg)? = try? RPCJSON.parse(hostileNumber(genesisText)) else { continue }
                g = mg
            }
            for options in [CommitVerificationOptions.cometbft, .tendermintV034] {
                let check = BlockCheck(block: b, reportedBlockID: bid, commit: signed, validators: g.validators, genesis: g, options: options)
                _ = check.isValid
                let lastCommit = BlockCheck(block: b, reportedBlockID: nil, commit: nil, validators: g.validators, genesis: nil, options: options)
                _ = lastCommit.isValid
            }
            _ = g.initialState
            checked += 1
        }
        #expect(checked > 200)
    }

    /// Syntax errors say where: Foundation's position, not just "not in the correct format".
    @Test func rpcJSONSyntaxErrorsSayWhere() {
        for (text, position) in [(#"{"a" 1}"#, "character 5"), ("", "end of file"), (String(repeating: "[", count: 2000), "character")] {
            do { _ = try RPCJSON.parse(Array(text.utf8)); Issue.record("accepted \(text.prefix(20))") } catch {
                #expect(error.description.hasPrefix("not valid JSON: "), "\(error)")
                #expect(error.description.contains(position), "\(error)")
            }
        }
    }

    // MARK: CometP2P

    @Test func mconnectionDecoderRandomSplitsAndBytes() {
        var rng = FuzzRun.rng(4)
        let enc = MConnectionEncoder()
        let stream = enc.encode(channel: 0x40, message: Self.chain.payload) + MConnectionEncoder.ping
            + enc.encode(channel: 0x40, message: BlocksyncMessage.statusRequest.encode())
        for n in 0..<600 * FuzzRun.scale {
            let input = n % 4 == 0 ? stream : Mutator.mutate(stream, &rng)
            var d = MConnectionDecoder()
            var events = 0
            do {
                for piece in Mutator.pieces(input, &rng) {
                    d.feed(piece)
                    while try d.next() != nil { events += 1 }
                }
                if n % 4 == 0 { #expect(events == 3) }
            } catch {
                #expect(n % 4 != 0)
                expectOneLine(error, mentions: ["offset", "byte"], "#\(n)")
            }
        }
    }

    @Test func frameOpenerAndHandshakeMessages() throws {
        var rng = FuzzRun.rng(5)
        let key = [UInt8](repeating: 3, count: 32)
        var sealer = try FrameSealer(key: key)
        let sealed = try sealer.seal([UInt8](repeating: 0x55, count: 2500))
        for n in 0..<200 * FuzzRun.scale {
            var opener = try FrameOpener(key: key)
            let input = Mutator.mutate(sealed, &rng)
            do {
                for piece in Mutator.pieces(input, &rng) {
                    opener.feed(piece)
                    while try opener.next() != nil {}
                }
            } catch { expectOneLine(error, mentions: ["frame"], "#\(n)") }
        }
        let info = NodeInfo(nodeID: String(repeating: "ab", count: 20), listenAddr: "tcp://1.2.3.4:26656", network: "n",
                            version: "0.38.0", channels: [0x40], moniker: "m").encode()
        let auth = try AuthSigMessage(signing: [1, 2, 3], with: Curve25519.Signing.PrivateKey(rawRepresentation: [UInt8](repeating: 9, count: 32))).encode()
        for n in 0..<2000 * FuzzRun.scale {
            do { _ = try NodeInfo.decode(Mutator.mutate(info, &rng)[...]) } catch { expectOneLine(error, mentions: ["byte"], "NodeInfo #\(n)") }
            do {
                let a = try AuthSigMessage.decode(Mutator.mutate(auth, &rng)[...])
                do { _ = try a.verify(challenge: [1, 2, 3]) } catch { expectOneLine(error) }
            } catch { expectOneLine(error, mentions: ["byte"], "AuthSig #\(n)") }
        }
    }

    @Test func recordedStreamMutations() throws {
        let msgs = [Self.chain.payload, BlocksyncMessage.statusRequest.encode()]
        let rec = try CometP2PRecordedStreamTests.record(messagesFromA: msgs, messagesFromB: msgs)
        let keys = try #require(SecretConnectionKeys(keyLogLine: rec.keyLogOfA))
        var rng = FuzzRun.rng(6)
        for n in 0..<150 * FuzzRun.scale {
            var d = try RecordedStreamDecoder(senderKeys: keys)
            let input = n == 0 ? rec.aToB : Mutator.mutate(rec.aToB, &rng)
            var events = 0
            do {
                for piece in Mutator.pieces(input, &rng) {
                    d.feed(piece)
                    while try d.next() != nil { events += 1 }
                }
            } catch { expectOneLine(error, "#\(n)") }
            if n == 0 { #expect(events == 6) }
        }
    }

    // MARK: Pivot hint

    @Test func pivotHintMutations() {
        var rng = FuzzRun.rng(7)
        let good = SyntheticHint.bytes
        var loaded = 0
        for n in 0..<800 * FuzzRun.scale {
            var input = good
            if n % 2 == 0 {
                // Damage the header: the only part not covered by the checksum.
                let i = Int.random(in: 0..<PivotHintHeader.byteCount, using: &rng)
                input[i] = UInt8.random(in: 0...255, using: &rng)
                if Bool.random(using: &rng) { input[Int.random(in: 0..<PivotHintHeader.byteCount, using: &rng)] = 0xff }
            } else {
                input = Mutator.mutate(good, &rng)
            }
            do {
                let file = try PivotHintFile(source: PivotHintMemorySource(input))
                loaded += 1
                for (_, e) in file.verifyPages().prefix(3) { expectOneLine(e, "#\(n)") }
                if var hint = try? PivotHint(file: file, checksum: file.checksum) {
                    _ = hint.allowExtend(height: UInt64.random(in: 0...1200, using: &rng), hash: SyntheticHint.canon(5))
                    _ = try? hint.allowSwitch(forkAt: UInt64.random(in: 0...1200, using: &rng), meHeight: UInt64.random(in: 0...1200, using: &rng),
                                              ancestorHashAt: { SyntheticHint.canon($0) })
                }
            } catch { expectOneLine(error, "#\(n)") }
            do { _ = try SyntheticHint.hint(input) } catch { expectOneLine(error, "hint #\(n)") }
        }
        #expect(loaded > 0)
    }

    // MARK: Traces

    static let traceBytes: [UInt8] = {
        let url = TraceFixtures.committedHandwrittenPath
        return (try? [UInt8](Data(contentsOf: url))) ?? []
    }()

    /// The committed trace with every chunk, DataEnd and summary CRC set to 0 ("not
    /// computed"), so mutations inside chunks reach the record and event decoders instead of
    /// stopping at a CRC mismatch.
    static let traceWithoutCRCs: [UInt8] = {
        var b = traceBytes
        guard var scanner = try? MCAPScanner(source: MCAPMemorySource(b)) else { return b }
        while let r = try? scanner.next() {
            let content = Int(r.offset) + 9
            switch r.opcode {
            case 0x06: for k in 24..<28 { b[content + k] = 0 }   // Chunk uncompressed_crc
            case 0x0F: for k in 0..<4 { b[content + k] = 0 }     // DataEnd data_section_crc
            case 0x02: for k in 16..<20 { b[content + k] = 0 }   // Footer summary_crc
            default: break
            }
        }
        return b
    }()

    @Test func traceEventDecoderMutations() throws {
        let entries = try TraceReader(bytes: Self.traceBytes).readAll()
        #expect(!entries.isEmpty)
        var rng = FuzzRun.rng(11)
        for n in 0..<3000 * FuzzRun.scale {
            let event = entries[n % entries.count].event
            do { _ = try TraceEvent.decode(topic: event.topic, Mutator.mutate(event.encode(), &rng)) } catch {
                expectOneLine(error, mentions: ["byte"], "#\(n)")
            }
        }
    }

    @Test func traceReaderMutations() throws {
        #expect(try TraceReader(bytes: Self.traceWithoutCRCs).readAll().count == TraceReader(bytes: Self.traceBytes).readAll().count)
        for good in [Self.traceBytes, Self.traceWithoutCRCs] {
            try readMutatedTraces(good)
        }
    }

    func readMutatedTraces(_ good: [UInt8]) throws {
        #expect(good.count > 100)
        var rng = FuzzRun.rng(8)
        for n in 0..<500 * FuzzRun.scale {
            let input = Mutator.mutate(good, &rng)
            let reader: TraceReader
            do { reader = try TraceReader(bytes: input) } catch {
                expectOneLine(error, mentions: ["offset"], "open #\(n)")
                continue
            }
            if let e = reader.summaryError { expectOneLine(e, mentions: ["offset"], "summary #\(n)") }
            do { try reader.forEach { _ in } } catch { expectOneLine(error, mentions: ["offset"], "stream #\(n)") }
            do {
                var s = try reader.events(fromSequence: UInt32.random(in: 0...20, using: &rng))
                while try s.next() != nil {}
            } catch { expectOneLine(error, mentions: ["offset"], "fromSequence #\(n)") }
            do {
                var s = try reader.events(fromTime: UInt64.random(in: 0...UInt64.max, using: &rng) >> UInt64.random(in: 0...63, using: &rng))
                while try s.next() != nil {}
            } catch { expectOneLine(error, mentions: ["offset"], "fromTime #\(n)") }
            do { _ = try reader.attachments() } catch { expectOneLine(error, mentions: ["offset"], "attachments #\(n)") }
        }
    }

    @Test func traceDoctorAndRecoveryMutations() throws {
        var rng = FuzzRun.rng(9)
        for n in 0..<300 * FuzzRun.scale {
            let input = Mutator.mutate(n % 2 == 0 ? Self.traceBytes : Self.traceWithoutCRCs, &rng)
            do {
                let d = try TraceDoctor.examine(source: MCAPMemorySource(input), checkPayload: { bytes in
                    do { _ = try BlocksyncMessage.decode(bytes); return nil } catch { return String(describing: error) }
                })
                for p in d.problems { #expect(!p.description.contains("\n"), "doctor problem #\(n)") }
            } catch { expectOneLine(error, mentions: ["offset"], "doctor #\(n)") }
            let sink = MCAPMemorySink()
            do {
                let report = try TraceRecovery.recover(source: MCAPMemorySource(input), into: sink)
                if let damage = report.damage { #expect(!damage.contains("\n")) }
                // What recovery writes is a valid trace.
                let reader = try TraceReader(bytes: sink.bytes)
                #expect(reader.summaryError == nil, "#\(n)")
                _ = try? reader.readAll()
            } catch { expectOneLine(error, mentions: ["offset"], "recover #\(n)") }
        }
    }

    /// A Footer whose summary_start points 300 MiB back (a sparse file) is refused before
    /// anything is read; the reader falls back to a linear scan.
    @Test func hugeSummaryIsRefusedNotRead() throws {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("syncreplay-sparse-\(UUID().uuidString).trace")
        defer { try? FileManager.default.removeItem(at: url) }
        let footerAt: UInt64 = 300 << 20
        // The committed trace up to its Footer, then a hole, then a Footer with summary_start 8.
        try Data(Self.traceBytes.prefix(Self.traceBytes.count - 37)).write(to: url)
        let handle = try FileHandle(forWritingTo: url)
        try handle.seek(toOffset: footerAt)
        handle.write(Data(HandMCAP.record(0x02, HandMCAP.le(8, 8) + HandMCAP.le(0, 8) + HandMCAP.le(0, 4))
                          + [0x89, 0x4D, 0x43, 0x41, 0x50, 0x30, 0x0D, 0x0A]))
        try handle.close()
        let reader = try TraceReader(path: url.path)
        #expect(reader.summary == nil)
        let error = try #require(reader.summaryError)
        #expect(error.description.contains("above the 256 MiB limit"), "\(error)")
        expectOneLine(error, mentions: ["offset \(footerAt + 9)"])
    }

    /// Strings from the file that errors quote (topic, compression, format version) cannot
    /// break the one-line rule.
    @Test func quotedFileStringsStayOnOneLine() throws {
        var f = HandMCAP()
        f.append(HandMCAP.header("syncreplay", "hand"))
        f.append(HandMCAP.chunk(HandMCAP.channel(1, 0, "/bad\ntopic") + HandMCAP.message(1, 1, 1, []), start: 1, end: 1))
        f.finishWithoutSummary()
        let reader = try TraceReader(bytes: f.bytes)
        do { _ = try reader.readAll(); Issue.record("unknown topic accepted") } catch {
            expectOneLine(error, mentions: ["offset"])
        }
        var g = HandMCAP()
        g.append(HandMCAP.header("syncreplay", "hand"))
        g.append(HandMCAP.chunk([], start: 0, end: 0, compression: "zs\ntd"))
        g.finishWithoutSummary()
        do { _ = try TraceReader(bytes: g.bytes).readAll(); Issue.record("compressed chunk accepted") } catch {
            expectOneLine(error, mentions: ["offset"])
        }
        // A peer's network name is quoted the same way.
        expectOneLine(PeerConnectionError.incompatible("peer is on a different network. Got a\nb\u{2028}c, expected n"))
        #expect("tab\there\r\n".escapingLineBreaks == #"tab\there\r\n"#)
        do {
            let d = try TraceDoctor.examine(source: MCAPMemorySource(f.bytes))
            for p in d.problems { #expect(!p.description.contains("\n")) }
        } catch { expectOneLine(error) }
    }
}
