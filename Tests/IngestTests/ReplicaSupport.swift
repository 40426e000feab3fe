import EmoCFG
import Foundation
import Ingest
import XCTest

/// Where the dataset replicas live: `Tests/Fixtures/<Dataset>/`.
let fixturesRoot = URL(fileURLWithPath: #filePath)
    .deletingLastPathComponent().deletingLastPathComponent().appendingPathComponent("Fixtures")

/// One clip as the store holds it after ingest.
struct IngestedClip {
    var record: ClipRecord
    var probe: ProbeResult?
    var status: String
    var error: String?
}

/// The outcome of ingesting one replica: clips by native key, and every recorded problem.
struct IngestedReplica {
    var clips: [String: IngestedClip]
    var problems: [IngestProblem]

    subscript(key: String) -> IngestedClip? { clips[key] }

    /// The problems of one kind, for asserting that each quirk was reported.
    func problems(_ kind: IngestProblem.Kind) -> [IngestProblem] { problems.filter { $0.kind == kind } }
}

/// Ingests `Tests/Fixtures/<fixture>` with the named adapter. `options` is the YAML body of the
/// source's `options:` map, e.g. `"fold: 2"`.
func ingestReplica(_ fixture: String, adapter: String, options: String = "", root: URL? = nil) throws -> IngestedReplica {
    let rootURL = root ?? fixturesRoot.appendingPathComponent(fixture)
    var yaml = "sources:\n  \(fixture):\n    adapter: \(adapter)\n    root: \(rootURL.path)\n"
    if !options.isEmpty {
        yaml += "    options:\n" + options.split(separator: "\n").map { "      \($0)\n" }.joined()
    }
    let config = try SourcesConfig.parse(
        yaml: yaml, file: "test-sources.yaml", baseDirectory: fixturesRoot, adapters: AdapterRegistry.names)
    let source = config.sources[0]
    let adapterInstance = try AdapterRegistry.make(for: source)
    let context = ScanContext(sourceName: source.name, root: source.root)
    let records = try adapterInstance.scan(context)
    var clips: [String: IngestedClip] = [:]
    for r in records {
        XCTAssertNil(clips[r.key], "duplicate clip key \(r.key)")
        clips[r.key] = IngestedClip(record: r, probe: nil, status: "ok", error: nil)
    }
    return IngestedReplica(clips: clips, problems: context.problems)
}
