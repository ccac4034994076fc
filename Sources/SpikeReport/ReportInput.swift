import Foundation
import SpikeAggregate
import SpikeCore

/// One input file of a report: a run result, a sweep or a conversion report.
public struct ReportInput: Sendable {
    public var path: String
    /// Unique short name (file name without .json / .report.json), used for SVG names.
    public var name: String
    public var content: ResultFile.Content

    public init(path: String, name: String, content: ResultFile.Content) {
        self.path = path; self.name = name; self.content = content
    }

    /// The file name without .json / .report.json, as a slug.
    public static func baseName(_ path: String) -> String {
        var b = (path as NSString).lastPathComponent
        for ext in [".json", ".report"] where b.lowercased().hasSuffix(ext) { b = String(b.dropLast(ext.count)) }
        return HTMLReport.slug(b)
    }

    /// Reads each file with `ResultFile.load` and names it uniquely (NAME, NAME-2, ...). ANN results
    /// have no section in a report and are refused. Errors name the path.
    public static func load(_ paths: [String]) throws -> [ReportInput] {
        var inputs = [ReportInput]()
        var names = Set<String>()
        for path in paths {
            let content = try ResultFile.load(path)
            if case .ann = content {
                throw SpikeError("\(path): an ANN result has no place in a report (give run results, sweeps or conversion reports)")
            }
            var name = baseName(path)
            var k = 2
            while names.contains(name) { name = baseName(path) + "-\(k)"; k += 1 }
            names.insert(name)
            inputs.append(ReportInput(path: path, name: name, content: content))
        }
        return inputs
    }
}
