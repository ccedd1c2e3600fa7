@testable import BlockSyncV2
import Testing

/// §v2.1.3: the routine queue's exact order (Model B's heap) against the spec's examples, and
/// Model A's FIFO.
@Suite struct RoutineQueueTests {
    static func drain(_ q: inout RoutineQueue) -> [V2Event] {
        var out: [V2Event] = []
        while let e = q.pop() { out.append(e) }
        return out
    }

    @Test func equalPrioritiesPopInHeapOrderNotFIFO() {
        var q = RoutineQueue(.heap)
        for p in ["A", "B", "C"] { q.push(.bcAddNewPeer(peer: p)) }
        #expect(Self.drain(&q) == ["A", "C", "B"].map { .bcAddNewPeer(peer: $0) })
        for p in ["A", "B", "C", "D", "E"] { q.push(.bcAddNewPeer(peer: p)) }
        #expect(Self.drain(&q) == ["A", "E", "D", "C", "B"].map { .bcAddNewPeer(peer: $0) })
    }

    @Test func highWaitsBehindNormal() {
        var q = RoutineQueue(.heap)
        let events: [V2Event] = [.rTrySchedule(time: 1), .bcAddNewPeer(peer: "P1"),
                                 .pcBlockProcessed(height: 5, peer: "P1"), .pcBlockProcessed(height: 6, peer: "P1")]
        for e in events { q.push(e) }
        #expect(Self.drain(&q) == [.bcAddNewPeer(peer: "P1"), .pcBlockProcessed(height: 6, peer: "P1"),
                                   .pcBlockProcessed(height: 5, peer: "P1"), .rTrySchedule(time: 1)])
    }

    @Test func lowPopsFirstAndFIFOKeepsOrder() {
        var heap = RoutineQueue(.heap), fifo = RoutineQueue(.fifo)
        let events: [V2Event] = [.rTryPrunePeer(time: 1), .noOp, .rProcessBlock]
        for e in events { heap.push(e); fifo.push(e) }
        #expect(Self.drain(&heap) == [.noOp, .rProcessBlock, .rTryPrunePeer(time: 1)])
        #expect(Self.drain(&fifo) == events)
    }
}
