import SyncMachine

/// The driver's queue: a binary min-heap on (time, lane, scheduling order). The order number is
/// unique, so the order of equal-time events never depends on the heap's layout.
struct EventQueue<Event> {
    private var heap: [(item: Scheduled<Event>, order: Int)] = []
    private var scheduled = 0

    var isEmpty: Bool { heap.isEmpty }
    var first: Scheduled<Event>? { heap.first?.item }

    mutating func push(_ item: Scheduled<Event>) {
        heap.append((item, scheduled))
        scheduled += 1
        var i = heap.count - 1
        while i > 0 {
            let parent = (i - 1) / 2
            guard precedes(heap[i], heap[parent]) else { break }
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
            if l < heap.count, precedes(heap[l], heap[best]) { best = l }
            if r < heap.count, precedes(heap[r], heap[best]) { best = r }
            guard best != i else { break }
            heap.swapAt(i, best)
            i = best
        }
        return (top.item, top.order)
    }

    private func precedes(_ a: (item: Scheduled<Event>, order: Int), _ b: (item: Scheduled<Event>, order: Int)) -> Bool {
        (a.item.time, a.item.lane, a.order) < (b.item.time, b.item.lane, b.order)
    }
}
