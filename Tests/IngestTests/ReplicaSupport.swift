import EmoCFG
import Foundation
import Ingest
import TestSupport
import XCTest

/// Where the dataset replicas live: `Tests/Fixtures/<Dataset>/`.
let fixturesRoot = URL(fileURLWithPath: #filePath)
    .deletingLastPathComponent().deletingLastPathComponent().appendingPathComponent("Fixtures")

/// One clip as the store holds it after ingest.
struct IngestedClip {
    /// The record read back from the store; `labelProblems` holds the clip's stored label problems
    /// and `faceBox` the face box in use.
    var record: ClipRecord
    var probe: ProbeResult?
    var status: String
    var error: String?
    var view: ViewClass?
}

/// The outcome of ingesting one replica: clips by native key, every recorded problem, the summary.
struct IngestedReplica {
    var clips: [String: IngestedClip]
    var problems: [IngestProblem]
    var summary: SourceSummary
    var store: Store

    subscript(key: String) -> IngestedClip? { clips[key] }

    /// The problems of one kind, for asserting that each quirk was reported.
    func problems(_ kind: IngestProblem.Kind) -> [IngestProblem] { problems.filter { $0.kind == kind } }
}

/// A fresh store file in a temporary folder.
func temporaryStore(_ name: String = "emocfg") throws -> Store {
    let dir = FileManager.default.temporaryDirectory.appendingPathComponent("emocfg-tests-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
    return try Store(path: dir.appendingPathComponent("\(name).sqlite").path)
}

/// Ingests `Tests/Fixtures/<fixture>` (or `root`) with the named adapter through the real runner
/// into a real SQLite store, and reads everything back. `options` is the YAML body of the source's
/// `options:` map, e.g. `"fold: 2"`; `extra` is more YAML for the source entry (e.g. `face_boxes: …`).
func ingestReplica(
    _ fixture: String, adapter: String, options: String = "", root: URL? = nil, extra: String = "",
    store: Store? = nil
) throws -> IngestedReplica {
    let rootURL = root ?? fixturesRoot.appendingPathComponent(fixture)
    var yaml = "sources:\n  \(fixture):\n    adapter: \(adapter)\n    root: \"\(rootURL.path)\"\n"
    if !options.isEmpty {
        yaml += "    options:\n" + options.split(separator: "\n").map { "      \($0)\n" }.joined()
    }
    if !extra.isEmpty { yaml += extra.split(separator: "\n").map { "    \($0)\n" }.joined() }
    let config = try SourcesConfig.parse(
        yaml: yaml, file: "test-sources.yaml", baseDirectory: fixturesRoot, adapters: AdapterRegistry.names)
    let store = try store ?? temporaryStore()
    let runner = IngestRunner(store: store, config: config, jobs: 2)
    let summaries = try blocking { try await runner.run() }
    let source = config.sources[0].name
    let problems = try store.problems(source: source)
    var clips: [String: IngestedClip] = [:]
    for c in try store.clips(source: source) where c.status != .gone {
        var record = c.record
        record.faceBox = c.face
        record.labelProblems = problems.filter { $0.clipUID == c.uid && $0.problem.kind == .badLabel }.map(\.problem.message)
        XCTAssertNil(clips[record.key], "duplicate clip key \(record.key)")
        clips[record.key] = IngestedClip(record: record, probe: c.probe, status: c.status.rawValue, error: c.error, view: c.view)
    }
    return IngestedReplica(clips: clips, problems: problems.map(\.problem), summary: summaries[0], store: store)
}
