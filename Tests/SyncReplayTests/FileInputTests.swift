import FileInput
import Foundation
import Testing

/// Unreadable inputs say why (issue 15): `syncreplay /dev/null` and friends.
@Suite struct FileInputTests {
    @Test func eachReasonIsNamed() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("file-input-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let empty = dir.appendingPathComponent("empty.trace").path
        _ = FileManager.default.createFile(atPath: empty, contents: Data())
        let full = dir.appendingPathComponent("full.trace").path
        _ = FileManager.default.createFile(atPath: full, contents: Data([1, 2, 3]))
        #expect(InputFile.problem("/dev/null") == "not a regular file (a character device)")
        #expect(InputFile.problem(dir.path) == "it is a directory")
        #expect(InputFile.problem(empty) == "the file is empty")
        #expect(InputFile.problem(dir.appendingPathComponent("none").path) == "no such file")
        #expect(InputFile.problem(full + "/x") == "a component of the path is not a directory")
        #expect(InputFile.problem(full) == nil)
        #expect(try InputFile.read(full, what: "trace") == [1, 2, 3])
        #expect(throws: UnreadableFile(path: "/dev/null", what: "trace", reason: "not a regular file (a character device)")) {
            try InputFile.read("/dev/null", what: "trace")
        }
        if getuid() != 0 {  // root reads anything
            chmod(full, 0)
            #expect(InputFile.problem(full) == "permission denied")
        }
    }

    @Test func everyCommandSaysWhy() throws {
        let cases: [([String], String)] = [
            (["/dev/null"], "syncreplay: cannot read trace /dev/null: not a regular file (a character device)\n"),
            (["inspect", "/dev/null"], "syncreplay: /dev/null: not a regular file (a character device)\n"),
            (["suite", "merge", "/dev/null", "--junit", "/tmp/x.xml"], "syncreplay: cannot read report /dev/null: not a regular file (a character device)\n"),
        ]
        for (args, stderr) in cases {
            let r = try SyncReplayProcess.run(args)
            #expect(r.status == 2, "\(args)")
            #expect(r.stderr == stderr, "\(args)")
        }
        let sim = try SyncReplayProcess.run(["/dev/null", "-o", "/tmp/never.trace"], program: SyncReplayProcess.product("syncsim"))
        #expect(sim.status == 2)
        #expect(sim.stderr.contains("cannot read scenario /dev/null: not a regular file (a character device)"), "\(sim.stderr)")
    }
}
