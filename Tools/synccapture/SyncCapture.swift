import ArgumentParser
import Capture
import CommandExit
import PcapSource

@main
struct SyncCapture: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "synccapture",
        abstract: "Turn network captures of CometBFT peers into syncreplay traces.")

    @Option(name: .customShort("r"), help: "Read a pcap or pcapng file.")
    var file: String

    func run() throws {
        let handle = try PcapHandle.openFile(file)
        var tracker = ConnectionTracker()
        while case .frame(let frame) = try handle.next() {
            if case .success(let segment) = PacketParser.parse(frame: frame.data, linkType: handle.linkType, timestampNanos: frame.timestampNanos) {
                _ = tracker.add(segment)
            }
        }
        print(tracker.connections.count)
    }

    static func main() { CommandRunner.main(SyncCapture.self) }
}
