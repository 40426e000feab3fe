import EmoCFG
import Foundation

/// Reads one dataset's native layout (`shared/datasets.md`) into clip records.
///
/// An adapter knows folder names, file names and label files; it knows nothing about SQLite, media
/// decoding or face detection — the ingest runner does those. A bad row or an out-of-vocabulary
/// label is reported through the `ScanContext` and never stops the scan.
public protocol DatasetAdapter: Sendable {
    /// The name used in `sources.yaml`'s `adapter:` key.
    static var name: String { get }
    /// Bumped whenever the adapter reads a dataset differently, so stored records are refreshed.
    static var version: Int { get }
    /// The keys it accepts under a source's `options:`.
    static var optionKeys: [String] { get }

    /// Reads and checks the source's `options:`; errors name the line and key.
    init(options: ConfigReader) throws

    /// Lists the source's clips. Throws only when nothing at all can be read (e.g. the label file
    /// every clip depends on is missing); every smaller problem goes to `context`.
    func scan(_ context: ScanContext) throws -> [ClipRecord]
}

// MARK: - Default implementations

extension DatasetAdapter {
    public static var version: Int { 1 }
    public static var optionKeys: [String] { [] }
}

/// Scanning failed as a whole: what was expected where.
public struct IngestError: Error, CustomStringConvertible, Sendable {
    public var source: String
    public var message: String
    public init(source: String, message: String) {
        self.source = source
        self.message = message
    }
    public var description: String { "\(source): \(message)" }
}
