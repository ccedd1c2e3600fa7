import OrderedCollections

/// A JSON object's members in the order they were built or parsed, with lookup by key.
///
/// The order is what the as-built writer (`JSONValue.asBuilt`) prints; the canonical writer
/// (`JSONValue.canonical`) sorts the keys instead, so for goldens the order never matters. Two
/// objects are equal when they have the same members, in any order (RFC 8259 §4: names are
/// unordered).
public struct JSONObject: Sendable, Equatable, ExpressibleByDictionaryLiteral, Sequence {
    private var members: OrderedDictionary<String, JSONValue>

    public init() { members = [:] }

    /// The members in the order given; a repeated key is a programming error.
    public init(_ members: [(String, JSONValue)]) {
        self.members = OrderedDictionary(uniqueKeysWithValues: members)
    }

    public init(dictionaryLiteral elements: (String, JSONValue)...) { self.init(elements) }

    /// The members of a `Dictionary`, in key order (UTF-8 bytes), so its iteration order never
    /// reaches the as-built output.
    public init(sorting dictionary: [String: JSONValue]) {
        self.init(dictionary.sorted { JSONObject.precedes($0.key, $1.key) }.map { ($0.key, $0.value) })
    }

    /// UTF-8 byte order of keys (`JSONValue.canonical`'s order), compared without copying.
    static func precedes(_ a: String, _ b: String) -> Bool {
        a.utf8.lexicographicallyPrecedes(b.utf8)
    }

    /// The members in key order (UTF-8 bytes).
    var sortedByKey: [(key: String, value: JSONValue)] {
        members.map { (key: $0.key, value: $0.value) }.sorted { JSONObject.precedes($0.key, $1.key) }
    }

    /// The member named `key`; setting nil removes it, setting a new key appends it.
    public subscript(key: String) -> JSONValue? {
        get { members[key] }
        set { members[key] = newValue }
    }

    /// The keys in member order.
    public var keys: [String] { Array(members.keys) }
    public var count: Int { members.count }
    public var isEmpty: Bool { members.isEmpty }

    public func makeIterator() -> some IteratorProtocol<(key: String, value: JSONValue)> {
        members.lazy.map { (key: $0.key, value: $0.value) }.makeIterator()
    }

    public static func == (lhs: JSONObject, rhs: JSONObject) -> Bool {
        lhs.count == rhs.count && lhs.members.allSatisfy { rhs.members[$0.key] == $0.value }
    }
}
