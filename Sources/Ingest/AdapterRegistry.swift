import EmoCFG
import Foundation

/// Every adapter emocfg ships, by the name `sources.yaml` uses.
public enum AdapterRegistry {
    public static let all: [any DatasetAdapter.Type] = [
        RAVDESSAdapter.self,
        MMSAAdapter.self,
        ManifestAdapter.self,
        MEADAdapter.self,
        CelebVHQAdapter.self,
        MER2023Adapter.self,
        DFEWAdapter.self,
        MAFWAdapter.self,
        MELDAdapter.self,
        AFEWAdapter.self,
        CAERAdapter.self,
        CASMEAdapter.self,
        CASME2Adapter.self,
        CASMESquaredAdapter.self,
        FERV39KAdapter.self,
        AffWild2Adapter.self,
        CelebVTextAdapter.self,
    ]

    public static var names: [String] { all.map { $0.name }.sorted() }

    public static func adapter(named name: String) -> (any DatasetAdapter.Type)? {
        all.first { $0.name == name }
    }

    /// Builds the adapter a source names, checking its options against the adapter's keys.
    public static func make(for source: SourceConfig) throws -> any DatasetAdapter {
        guard let type = adapter(named: source.adapter) else {
            throw ConfigError(file: source.options.file, line: source.line, key: "sources.\(source.name).adapter",
                              message: "unknown adapter '\(source.adapter)'; known adapters: \(names.joined(separator: ", "))")
        }
        _ = try source.options.requireMap(allowed: type.optionKeys)
        return try type.init(options: source.options)
    }
}
