import EmoCFG
import Foundation
import Ingest
import TestSupport
import XCTest

/// The bundled sample (`samples/sources.yaml`) points at every replica: one ingest reads them all.
final class SampleReplicasTests: XCTestCase {
    static let datasets = ["DFEW", "MAFW", "FERV39K", "AFEW", "CAER", "RAVDESS", "MEAD", "MELD", "MER2023", "MOSI",
                           "MOSEI", "CH-SIMS", "AffWild2", "CASME", "CASME2", "CAS(ME)^2", "CelebV-HQ", "CelebV-Text", "PERR"]

    func test_one_ingest_reads_every_replica_and_the_summary_counts_each() throws {
        let url = fixturesRoot.deletingLastPathComponent().deletingLastPathComponent().appendingPathComponent("samples/sources.yaml")
        let config = try SourcesConfig.load(url, adapters: AdapterRegistry.names)
        let names = Set(config.sources.map(\.name))
        let missing = Self.datasets.filter { !names.contains($0) }
        XCTAssertEqual(missing, [], "samples/sources.yaml lacks these datasets")

        let store = try temporaryStore()
        let summaries = try blocking { try await IngestRunner(store: store, config: config, jobs: 2).run() }
        let counts = try store.sourceCounts()
        for s in summaries {
            XCTAssertEqual(s.outcome, .done, "\(s.name): \(s.note ?? "")")
            XCTAssertGreaterThan(s.found, 0, s.name)
            XCTAssertGreaterThan(s.probed, 0, s.name)
            if s.name == "CelebV-Text" {
                // Its ground truth is text (emotion, action, appearance, light descriptions), not classes.
                let clips = try store.clips(source: s.name)
                XCTAssertTrue(clips.contains { $0.record.texts["emotion"] != nil }, "CelebV-Text keeps its texts")
            } else {
                XCTAssertGreaterThan(s.labelled, 0, s.name)
            }
            XCTAssertEqual(counts[s.name]?.clips, s.found, s.name)
        }
        // A second run over all of them writes and probes nothing.
        let again = try blocking { try await IngestRunner(store: store, config: config, jobs: 2).run() }
        XCTAssertEqual(again.map(\.written), Array(repeating: 0, count: again.count))
        XCTAssertEqual(again.map(\.probed), Array(repeating: 0, count: again.count))
    }

    func test_the_shipped_sources_yaml_passes_every_adapters_option_check() throws {
        let url = fixturesRoot.deletingLastPathComponent().deletingLastPathComponent().appendingPathComponent("sources.yaml")
        let config = try SourcesConfig.load(url, adapters: AdapterRegistry.names)
        let plan = try IngestRunner.plan(config, sources: nil)
        XCTAssertEqual(plan.count, 19)
        XCTAssertEqual(Set(plan.map { $0.0.name }), Set(Self.datasets))
    }
}
