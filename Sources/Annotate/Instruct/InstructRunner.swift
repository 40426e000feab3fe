import EmoCFG
import Foundation

/// A source named on the command line that the store does not hold.
public struct InstructError: Error, CustomStringConvertible, Equatable, Sendable {
    public var message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}

/// Runs the `instruct` stage over the clips in a store: builds each source's profile, makes the
/// samples and upserts them in batches. Rerunning is cheap and safe: the store rewrites a sample
/// only when its content or template hash changed.
public struct InstructRunner: Sendable {
    public var templates: InstructTemplates
    /// Samples per write transaction.
    public var batchSize = 2_000

    public init(templates: InstructTemplates) {
        self.templates = templates
    }

    /// Loads the templates from `<promptsDirectory>/instruct/`.
    public init(promptsDirectory: URL) throws {
        templates = try InstructTemplates.load(promptsDirectory: promptsDirectory)
    }

    /// Makes the samples of `sources` (all sources when nil). `limit` caps the clips taken from each
    /// source (the first in uid order, among clips whose media is usable). Returns the clips read and
    /// the samples made (new, changed or unchanged).
    @discardableResult
    public func run(store: Store, sources names: [String]? = nil, limit: Int? = nil) throws -> (clips: Int, samples: Int) {
        let known = try store.sources()
        for n in names ?? [] where !known.contains(where: { $0.name == n }) {
            throw InstructError("no source '\(n)' in the store; ingested sources: \(known.map(\.name).joined(separator: ", "))")
        }
        var clipCount = 0, sampleCount = 0
        var batch: [NewSample] = []
        for source in known where names == nil || names!.contains(source.name) {
            let all = try store.clips(source: source.name)
            let stage = InstructStage(templates: templates, datasets: [source.name: InstructDataset.make(source: source, clips: all)])
            var usable = all.filter { $0.status == .ok }
            if let limit { usable = Array(usable.prefix(max(0, limit))) }
            for clip in usable {
                clipCount += 1
                let samples = stage.samples(for: clip)
                sampleCount += samples.count
                batch += samples
                if batch.count >= batchSize {
                    try store.upsertSamples(batch)
                    batch.removeAll(keepingCapacity: true)
                }
            }
        }
        try store.upsertSamples(batch)
        return (clipCount, sampleCount)
    }
}
