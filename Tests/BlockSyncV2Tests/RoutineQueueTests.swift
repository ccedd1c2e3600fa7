import BlockSyncV2
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

/// §v2.6 B3's remaining trigger in Model B: the processor applied h and h+1 while the
/// scheduler did not step, with another Normal event queued before them; the heap pops
/// `pcBlockProcessed(h+1)` before `pcBlockProcessed(h)` and the scheduler panics — the text
/// of akash-network/node#969. In Model A (FIFO) the same queue is handled in order.
@Suite struct HeapOrderBugTests {
    typealias F = V2Fixtures

    static func run(_ model: V2QueueModel) -> [V2Event] {
        var sc = F.scheduler(height: 5, peers: [.r("P1", 20)], states: 5...14, received: [5: "P1", 6: "P1"])
        var q = RoutineQueue(model)
        q.push(.bcStatusResponse(peer: "P1", base: 0, height: 20))
        q.push(.pcBlockProcessed(height: 5, peer: "P1"))
        q.push(.pcBlockProcessed(height: 6, peer: "P1"))
        var out: [V2Event] = []
        while let e = q.pop() {
            out.append(sc.handle(e, now: F.t))
            if case .panic = out.last { break }
        }
        return out
    }

    @Test func heapOrderPanicsWhereFIFODoesNot() {
        #expect(Self.run(.heap) == [.noOp, .panic("processed height 6, but expected height 5")])
        #expect(Self.run(.fifo) == [.noOp, .noOp, .noOp])
    }
}
