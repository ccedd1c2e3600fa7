import Foundation
import Replay

/// `suite --html report.html [--timelines DIR]`: one self-contained page for a suite run —
/// pass/fail per case with profile and mode, the first divergence of each failing case, the
/// coverage of decision kinds and reasons, and a link to each case's timeline.
public enum SuiteReportHTML {
    /// `links[i]` is the href of case i's timeline (relative to the page), nil when none.
    public static func render(_ run: SuiteRun, links: [String?]) -> String {
        let esc = Markup.html
        var rows = ""
        for (i, r) in run.results.enumerated() {
            let link = i < links.count ? links[i] : nil
            rows += "<tr class=\"case \(r.status.rawValue)\" data-case=\"\(esc(r.suiteCase.name))\">"
                + "<td class=\"status\">\(r.status.rawValue.uppercased())</td><td>\(esc(r.suiteCase.name))</td>"
                + "<td>\(esc(r.profile?.rawValue ?? "-"))</td><td>\(esc(r.mode?.rawValue ?? "-"))</td><td class=\"num\">\(r.decisions.count)</td>"
                + "<td>\(esc(r.message ?? ""))</td>"
                + "<td>\(link.map { "<a href=\"\(esc($0))\">timeline</a>" } ?? "")</td></tr>\n"
        }
        let coverage = run.coverage
        var reached = ""
        for kind in DecisionKind.allCases {
            guard let n = coverage.kinds[kind] else { continue }
            let reasons = (coverage.reasons[kind] ?? [:]).sorted { $0.key < $1.key }
                .map { "<li>\(esc($0.key)) <span class=\"num\">×\($0.value)</span></li>" }.joined()
            reached += "<tr><td>\(kind.rawValue)</td><td class=\"num\">\(n)</td><td>\(reasons.isEmpty ? "" : "<ul>\(reasons)</ul>")</td></tr>\n"
        }
        let never = coverage.kindsNeverReached.map(\.rawValue).joined(separator: ", ")
        let neverReasons = coverage.pivotReasonsNeverReached.filter { !$0.reasons.isEmpty }
            .map { "<li>\($0.kind.rawValue): \($0.reasons.joined(separator: ", "))</li>" }.joined()
        let warnings = run.warnings.map { "<li>\(esc($0))</li>" }.joined()
        return """
        <!DOCTYPE html>
        <html lang="en">
        <head>
        <meta charset="utf-8">
        <meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'">
        <title>syncreplay suite: \(esc(run.directory))</title>
        <style>
        body{font:13px/1.4 system-ui,sans-serif;margin:12px 16px;color:#1d2330}
        table{border-collapse:collapse;margin:6px 0 14px}td,th{border-bottom:1px solid #e1e4ea;padding:3px 8px;text-align:left;vertical-align:top}
        .num{text-align:right;font-variant-numeric:tabular-nums}.pass .status{color:#2e7d32;font-weight:600}
        .fail .status,.error .status{color:#c62828;font-weight:700}tr.fail,tr.error{background:#fdecea}
        ul{margin:0;padding-left:16px}h2{font-size:15px;margin:14px 0 4px}
        </style>
        </head>
        <body>
        <h1>syncreplay suite: \(esc(run.directory))</h1>
        <p id="summary">\(run.results.count) cases: \(run.passed) passed, \(run.failed) failed, \(run.errors) errors</p>
        <table id="cases">
        <thead><tr><th>status</th><th>case</th><th>profile</th><th>mode</th><th>decisions</th><th>first divergence / error</th><th></th></tr></thead>
        <tbody>
        \(rows)</tbody>
        </table>
        <h2>Coverage: \(coverage.kinds.count) of \(DecisionKind.allCases.count) decision kinds reached</h2>
        <table id="coverage"><thead><tr><th>kind</th><th>decisions</th><th>reasons</th></tr></thead><tbody>
        \(reached)</tbody></table>
        <p>Never reached: \(never.isEmpty ? "none" : esc(never))</p>
        \(neverReasons.isEmpty ? "" : "<p>Pivot reasons never reached:</p><ul>\(neverReasons)</ul>")
        \(warnings.isEmpty ? "" : "<h2>Warnings</h2><ul id=\"warnings\">\(warnings)</ul>")
        </body>
        </html>

        """
    }
}

/// Writes the timeline of every case of a suite run into one directory (`suite --timelines`),
/// from the run's own decision logs (no second replay); errored cases get none.
public enum SuiteTimelines {
    /// The file name of a case's timeline: its name with `/` as `__`, then `.html`.
    public static func fileName(case name: String) -> String {
        name.replacingOccurrences(of: "/", with: "__") + ".html"
    }

    /// Writes the pages; returns each case's path (nil for errored cases) in result order.
    public static func write(_ run: SuiteRun, to directory: String) throws(CaseError) -> [String?] {
        do {
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        } catch {
            throw CaseError("cannot create the timeline directory \(directory): \(error.localizedDescription)")
        }
        var paths: [String?] = []
        for r in run.results {
            guard r.status != .error, let profile = r.profile, let mode = r.mode else { paths.append(nil); continue }
            let trace = try ReplayTraceLoader.load(path: r.suiteCase.tracePath)
            let timeline = TimelineBuilder.replayed(trace: trace, name: r.suiteCase.name, decisions: r.decisions, profile: profile,
                                                    mode: mode, divergence: r.report.flatMap(DivergenceMark.init(report:)))
            let path = (directory as NSString).appendingPathComponent(fileName(case: r.suiteCase.name))
            do {
                try Data(TimelineHTML.render(timeline).utf8).write(to: URL(fileURLWithPath: path), options: .atomic)
            } catch {
                throw CaseError("cannot write \(path): \(error.localizedDescription)")
            }
            paths.append(path)
        }
        return paths
    }

    /// `target` relative to the directory holding `page` (both made absolute first).
    public static func relativeLink(to target: String, fromPage page: String) -> String {
        func components(_ p: String) -> [String] {
            let absolute = p.hasPrefix("/") ? p : FileManager.default.currentDirectoryPath + "/" + p
            return URL(fileURLWithPath: absolute).standardizedFileURL.pathComponents
        }
        let from = Array(components(page).dropLast()), to = components(target)
        var common = 0
        while common < from.count, common < to.count, from[common] == to[common] { common += 1 }
        let ups = Array(repeating: "..", count: from.count - common)
        let link = (ups + to[common...]).joined(separator: "/")
        return link.addingPercentEncoding(withAllowedCharacters: .urlPathAllowed) ?? link
    }
}
