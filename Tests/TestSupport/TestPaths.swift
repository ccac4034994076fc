import Foundation

/// Where the tests find the package, its fixtures and the shared data, and where they write.
public enum TestPaths {
    /// The package root (three levels above this file: Tests/TestSupport/TestPaths.swift).
    public static let packageRoot: URL = {
        var u = URL(fileURLWithPath: #filePath)
        for _ in 0..<3 { u.deleteLastPathComponent() }
        return u
    }()

    /// The package root as a path.
    public static var root: String { packageRoot.path }

    /// The shared data folder, `../shared/data` beside the repository.
    public static let sharedData = packageRoot.deletingLastPathComponent().appendingPathComponent("shared/data").path

    /// The trained test models and their metadata (Tests/Fixtures).
    public static let fixtures = packageRoot.appendingPathComponent("Tests/Fixtures").path

    /// A fresh, empty temporary folder whose name starts with `prefix`; the caller may remove it.
    public static func tempDir(_ prefix: String = "spikescale-test") -> String {
        let d = NSTemporaryDirectory() + "\(prefix)-\(UUID().uuidString)"
        try? FileManager.default.createDirectory(atPath: d, withIntermediateDirectories: true)
        return d
    }
}
