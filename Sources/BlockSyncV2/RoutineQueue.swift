import DequeModule

/// A routine's input queue (§v2.1.3, DET-4): FIFO in Model A; in Model B the original's
/// unbounded binary min-heap on priority (Workiva `PriorityQueue`), whose equal priorities pop
/// in array order, not FIFO (pushed A, B, C → A, C, B).
public struct RoutineQueue: Sendable {
    public let model: V2QueueModel
    private var fifo: Deque<V2Event> = []
    private var heap: [V2Event] = []

    public init(_ model: V2QueueModel) { self.model = model }

    public var isEmpty: Bool { fifo.isEmpty && heap.isEmpty }
    public var count: Int { fifo.count + heap.count }

    public mutating func push(_ event: V2Event) {
        guard model.usesHeap else { return fifo.append(event) }
        heap.append(event)
        // Sift up while the parent ((i−1)/2, truncating toward zero: the root is its own
        // parent) has a strictly greater priority.
        var i = heap.count - 1
        while true {
            let parent = (i - 1) / 2
            guard heap[parent].priority > heap[i].priority else { break }
            heap.swapAt(parent, i)
            i = parent
        }
    }

    public mutating func pop() -> V2Event? {
        guard model.usesHeap else { return fifo.popFirst() }
        guard let top = heap.first else { return nil }
        let last = heap.removeLast()
        guard !heap.isEmpty else { return top }
        heap[0] = last
        // Sift down: the right child only when strictly lower than the left; swap only when
        // strictly lower than the item.
        var i = 0
        while true {
            let left = 2 * i + 1, right = left + 1
            guard left < heap.count else { break }
            let child = right < heap.count && heap[right].priority < heap[left].priority ? right : left
            guard heap[child].priority < heap[i].priority else { break }
            heap.swapAt(child, i)
            i = child
        }
        return top
    }

    public mutating func removeAll() {
        fifo.removeAll()
        heap.removeAll()
    }
}
