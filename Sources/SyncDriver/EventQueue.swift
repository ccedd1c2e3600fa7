import SyncMachine

/// The driver's queue: a binary min-heap on (time, lane, scheduling order). The order number is
/// unique, so the order of equal-time events never depends on the heap's layout.
///
/// The heap holds only plain keys; the events wait in `slots` (reused through `free`), so
/// sifting compares and moves integers, never copies (retains) an event (issue 19: the copies
/// were a tenth of a reactive replay).
struct EventQueue<Event> {
    private struct Key {
        var time: UInt64
        var lane: Int
        var order: Int
        var slot: Int

        func precedes(_ other: Key) -> Bool {
            (time, lane, order) < (other.time, other.lane, other.order)
        }
    }

    private var heap: [Key] = []
    private var slots: [Scheduled<Event>?] = []
    private var free: [Int] = []
    private var scheduled = 0

    var isEmpty: Bool { heap.isEmpty }
    var first: Scheduled<Event>? { heap.first.flatMap { slots[$0.slot] } }

    mutating func push(_ item: Scheduled<Event>) {
        let slot: Int
        if let reused = free.popLast() {
            slot = reused
            slots[slot] = item
        } else {
            slot = slots.count
            slots.append(item)
        }
        heap.append(Key(time: item.time, lane: item.lane, order: scheduled, slot: slot))
        scheduled += 1
        var i = heap.count - 1
        while i > 0 {
            let parent = (i - 1) / 2
            guard heap[i].precedes(heap[parent]) else { break }
            heap.swapAt(i, parent)
            i = parent
        }
    }

    /// The earliest event and its scheduling order.
    mutating func pop() -> (Scheduled<Event>, Int)? {
        guard !heap.isEmpty else { return nil }
        heap.swapAt(0, heap.count - 1)
        let top = heap.removeLast()
        var i = 0
        while true {
            let l = 2 * i + 1, r = l + 1
            var best = i
            if l < heap.count, heap[l].precedes(heap[best]) { best = l }
            if r < heap.count, heap[r].precedes(heap[best]) { best = r }
            guard best != i else { break }
            heap.swapAt(i, best)
            i = best
        }
        let item = slots[top.slot].take()!
        free.append(top.slot)
        return (item, top.order)
    }
}
