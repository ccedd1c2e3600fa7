import JSON
/// `syncreplay suite merge`: the JSON outputs of several shards (`suite --format json`) as one
/// report — cases in the order of the files given, warnings without repeats, coverage added up,
/// the summary recounted. The JUnit side is `JUnitDocument.merged`.
public enum SuiteMerge {
    public static func json(_ documents: [(path: String, value: JSONValue)]) throws(CaseError) -> JSONValue {
        var cases: [JSONValue] = [], warnings: [JSONValue] = [], directories: [String] = []
        var seen: [String: String] = [:]
        var coverage = Coverage(decisionLogs: [])
        var passed = 0, failed = 0, errors = 0
        for (path, doc) in documents {
            guard let list = doc["cases"]?.arrayValue, let cov = doc["coverage"] else {
                throw CaseError("\(path) is not the JSON of `syncreplay suite --format json` (no \"cases\" or \"coverage\")")
            }
            if let d = doc["directory"]?.stringValue, !directories.contains(d) { directories.append(d) }
            for c in list {
                guard let name = c["name"]?.stringValue, let status = c["status"]?.stringValue else {
                    throw CaseError("\(path): a case without \"name\" or \"status\"")
                }
                if let other = seen[name] { throw CaseError("case \(name) is in both \(other) and \(path): the reports overlap") }
                seen[name] = path
                switch status {
                case "pass": passed += 1
                case "fail": failed += 1
                default: errors += 1
                }
                cases.append(c)
            }
            for w in doc["warnings"]?.arrayValue ?? [] where !warnings.contains(w) { warnings.append(w) }
            coverage.add(try Coverage(json: cov))
        }
        return .object([
            "directory": .string(directories.joined(separator: " + ")),
            "cases": .array(cases), "warnings": .array(warnings), "coverage": coverage.json,
            "summary": .object(["cases": .int(Int64(cases.count)), "passed": .int(Int64(passed)),
                                "failed": .int(Int64(failed)), "errors": .int(Int64(errors))]),
        ])
    }
}
