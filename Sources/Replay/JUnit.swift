import Foundation
#if canImport(FoundationXML)
import FoundationXML
import JSON
import SyncDriver
#endif

/// One `<testcase>` of a JUnit report (Ant/Jenkins schema).
public struct JUnitCase: Equatable, Sendable {
    public enum Outcome: Equatable, Sendable {
        case pass
        case failure(message: String, type: String, body: String, systemOut: String)
        case error(message: String, type: String)
    }

    public var classname: String
    public var name: String
    public var time: String
    public var properties: [JUnitProperty]
    public var outcome: Outcome

    public init(classname: String, name: String, time: String, properties: [JUnitProperty], outcome: Outcome) {
        self.classname = classname
        self.name = name
        self.time = time
        self.properties = properties
        self.outcome = outcome
    }
}

public struct JUnitProperty: Equatable, Sendable {
    public var name: String
    public var value: String
    public init(_ name: String, _ value: String) {
        self.name = name
        self.value = value
    }
}

/// A suite's JUnit XML: the cases, plus the corpus coverage as `<testsuite>` properties
/// (`coverage.kind.<kind>` = count, `coverage.reason.<kind>.<reason>` = count), so that
/// `suite merge` can add up the coverage of shards. `suite` writes it; `suite merge` reads
/// several and writes their union with one writer, so a merged report has the same shape.
public struct JUnitDocument: Equatable, Sendable {
    public var suiteName: String
    public var timestamp: String
    public var cases: [JUnitCase]
    public var coverage: Coverage

    public init(suiteName: String, timestamp: String, cases: [JUnitCase], coverage: Coverage) {
        self.suiteName = suiteName
        self.timestamp = timestamp
        self.cases = cases
        self.coverage = coverage
    }

    public var failures: Int { cases.filter { if case .failure = $0.outcome { return true }; return false }.count }
    public var errors: Int { cases.filter { if case .error = $0.outcome { return true }; return false }.count }

    public var xml: String {
        let total = String(format: "%.3f", cases.reduce(0.0) { $0 + (Double($1.time) ?? 0) })
        var out = ["<?xml version=\"1.0\" encoding=\"UTF-8\"?>",
                   "<testsuites name=\"syncreplay\" tests=\"\(cases.count)\" failures=\"\(failures)\" errors=\"\(errors)\" time=\"\(total)\">",
                   "  <testsuite name=\"\(Markup.xml(suiteName))\" tests=\"\(cases.count)\" failures=\"\(failures)\" errors=\"\(errors)\" skipped=\"0\" time=\"\(total)\" timestamp=\"\(Markup.xml(timestamp))\">"]
        let coverageProperties = coverage.junitProperties
        if !coverageProperties.isEmpty {
            out.append("    <properties>")
            for p in coverageProperties { out.append("      <property name=\"\(Markup.xml(p.name))\" value=\"\(Markup.xml(p.value))\"/>") }
            out.append("    </properties>")
        }
        for c in cases {
            out.append("    <testcase classname=\"\(Markup.xml(c.classname))\" name=\"\(Markup.xml(c.name))\" time=\"\(Markup.xml(c.time))\">")
            out.append("      <properties>")
            for p in c.properties { out.append("        <property name=\"\(Markup.xml(p.name))\" value=\"\(Markup.xml(p.value))\"/>") }
            out.append("      </properties>")
            switch c.outcome {
            case .pass: break
            case let .failure(message, type, body, systemOut):
                out.append("      <failure message=\"\(Markup.xml(message))\" type=\"\(Markup.xml(type))\">\(Markup.xml(body))</failure>")
                out.append("      <system-out>\(Markup.xml(systemOut))</system-out>")
            case let .error(message, type):
                out.append("      <error message=\"\(Markup.xml(message))\" type=\"\(Markup.xml(type))\"/>")
            }
            out.append("    </testcase>")
        }
        out.append("  </testsuite>")
        out.append("</testsuites>")
        return out.joined(separator: "\n") + "\n"
    }

    /// The union of shard reports: cases in the order of the files given, coverage added up.
    /// A case name that occurs twice is an error (the shards overlap).
    public static func merged(_ documents: [(path: String, document: JUnitDocument)]) throws(CaseError) -> JUnitDocument {
        var seen: [String: String] = [:]
        var cases: [JUnitCase] = []
        var coverage = Coverage(decisionLogs: [])
        for (path, doc) in documents {
            for c in doc.cases {
                if let other = seen[c.name] { throw CaseError("case \(c.name) is in both \(other) and \(path): the reports overlap") }
                seen[c.name] = path
                cases.append(c)
            }
            coverage.add(doc.coverage)
        }
        let names = documents.map(\.document.suiteName)
        return JUnitDocument(suiteName: names.allSatisfy { $0 == names.first } ? (names.first ?? "") : names.joined(separator: " + "),
                             timestamp: documents.map(\.document.timestamp).max() ?? "", cases: cases, coverage: coverage)
    }

    /// Reads a JUnit report: `testsuite` elements (any nesting), their `testcase`s with
    /// properties, failure, error and system-out, and syncreplay's coverage properties.
    public static func parse(_ data: Data, path: String) throws(CaseError) -> JUnitDocument {
        let reader = JUnitReader()
        let parser = XMLParser(data: data)
        parser.delegate = reader
        guard parser.parse(), reader.sawTestsuites else {
            let why = parser.parserError.map { "line \(parser.lineNumber), column \(parser.columnNumber): \($0.localizedDescription)" }
                ?? "no <testsuite> element"
            throw CaseError("\(path) is not a JUnit XML report: \(why)")
        }
        if let bad = reader.problem { throw CaseError("\(path): \(bad)") }
        return JUnitDocument(suiteName: reader.suiteName, timestamp: reader.timestamp, cases: reader.cases, coverage: reader.coverage)
    }
}

/// The SAX side of `JUnitDocument.parse`.
final class JUnitReader: NSObject, XMLParserDelegate {
    var suiteName = "", timestamp = ""
    var cases: [JUnitCase] = []
    var coverage = Coverage(decisionLogs: [])
    var sawTestsuites = false
    var problem: String?
    private var current: JUnitCase?
    private var text = ""
    private var failure: (message: String, type: String, body: String)?
    private var systemOut = ""
    private var path: [String] = []

    func parser(_ parser: XMLParser, didStartElement name: String, namespaceURI: String?, qualifiedName: String?,
                attributes: [String: String] = [:]) {
        path.append(name)
        text = ""
        switch name {
        case "testsuite":
            sawTestsuites = true
            if suiteName.isEmpty { suiteName = attributes["name"] ?? "" }
            timestamp = max(timestamp, attributes["timestamp"] ?? "")
        case "testcase":
            current = JUnitCase(classname: attributes["classname"] ?? "", name: attributes["name"] ?? "", time: attributes["time"] ?? "0",
                                properties: [], outcome: .pass)
            failure = nil
            systemOut = ""
        case "property":
            let p = JUnitProperty(attributes["name"] ?? "", attributes["value"] ?? "")
            if current != nil {
                current!.properties.append(p)
            } else if !coverage.addJUnitProperty(p) {
                problem = problem ?? "unreadable coverage property \(p.name)=\(p.value)"
            }
        case "failure":
            failure = (attributes["message"] ?? "", attributes["type"] ?? "", "")
        case "error":
            current?.outcome = .error(message: attributes["message"] ?? "", type: attributes["type"] ?? "")
        default: break
        }
    }

    func parser(_ parser: XMLParser, foundCharacters string: String) { text += string }

    func parser(_ parser: XMLParser, didEndElement name: String, namespaceURI: String?, qualifiedName: String?) {
        path.removeLast()
        switch name {
        case "failure": failure?.body = text
        case "system-out": systemOut = text
        case "testcase":
            guard var c = current else { return }
            if let f = failure { c.outcome = .failure(message: f.message, type: f.type, body: f.body, systemOut: systemOut) }
            cases.append(c)
            current = nil
        default: break
        }
    }
}

extension Coverage {
    /// Coverage as JUnit properties, in taxonomy order then sorted reasons.
    var junitProperties: [JUnitProperty] {
        var out: [JUnitProperty] = []
        for kind in DecisionKind.allCases {
            guard let n = kinds[kind] else { continue }
            out.append(JUnitProperty("coverage.kind.\(kind.rawValue)", String(n)))
            for (reason, count) in (reasons[kind] ?? [:]).sorted(by: { $0.key < $1.key }) {
                out.append(JUnitProperty("coverage.reason.\(kind.rawValue).\(reason)", String(count)))
            }
        }
        return out
    }

    /// Adds one coverage property; false when it is not one.
    mutating func addJUnitProperty(_ p: JUnitProperty) -> Bool {
        guard let count = Int(p.value), count >= 0 else { return !p.name.hasPrefix("coverage.") }
        if p.name.hasPrefix("coverage.kind.") {
            guard let kind = DecisionKind(rawValue: String(p.name.dropFirst("coverage.kind.".count))) else { return false }
            kinds[kind, default: 0] += count
            return true
        }
        if p.name.hasPrefix("coverage.reason.") {
            let rest = p.name.dropFirst("coverage.reason.".count)
            guard let dot = rest.firstIndex(of: "."), let kind = DecisionKind(rawValue: String(rest[..<dot])) else { return false }
            reasons[kind, default: [:]][String(rest[rest.index(after: dot)...]), default: 0] += count
            return true
        }
        return true
    }

    /// Adds another corpus's counts.
    public mutating func add(_ other: Coverage) {
        for (kind, n) in other.kinds { kinds[kind, default: 0] += n }
        for (kind, rs) in other.reasons { for (r, n) in rs { reasons[kind, default: [:]][r, default: 0] += n } }
    }

    /// Reads the `coverage` member of `suite --format json`.
    public init(json: JSONValue) throws(CaseError) {
        self.init(decisionLogs: [])
        guard let reached = json["reached"]?.objectValue else { throw CaseError("coverage has no \"reached\" object") }
        for (name, value) in reached {
            guard let kind = DecisionKind(rawValue: name), let count = value["count"]?.int64 else {
                throw CaseError("coverage.reached.\(name) is not a decision kind with a count")
            }
            kinds[kind] = Int(count)
            for (r, n) in value["reasons"]?.objectValue ?? [:] {
                guard let n = n.int64 else { throw CaseError("coverage.reached.\(name).reasons.\(r) is not a count") }
                reasons[kind, default: [:]][r] = Int(n)
            }
        }
    }
}
