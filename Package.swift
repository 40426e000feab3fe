// swift-tools-version:6.0
import PackageDescription

let package = Package(
    name: "emocfg",
    platforms: [.macOS(.v13)],
    products: [
        .executable(name: "emocfg", targets: ["emocfg"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
        .package(url: "https://github.com/groue/GRDB.swift", from: "7.10.0"),
        .package(url: "https://github.com/jpsim/Yams", from: "6.2.2"),
        .package(url: "https://github.com/weichsel/ZIPFoundation", from: "0.9.20"),
    ],
    targets: [
        // System-library shims.
        .systemLibrary(
            name: "CFFmpeg",
            path: "Sources/CFFmpeg",
            pkgConfig: "libavformat",
            providers: [.apt(["libavformat-dev", "libavcodec-dev", "libswscale-dev", "libavutil-dev"])]
        ),
        .systemLibrary(
            name: "CZstd",
            path: "Sources/CZstd",
            pkgConfig: "libzstd",
            providers: [.apt(["libzstd-dev"])]
        ),

        // The domain, the store, configuration, media and (later) the LLM client.
        .target(
            name: "EmoCFG",
            dependencies: [
                "CFFmpeg", "CZstd",
                .product(name: "GRDB", package: "GRDB.swift"),
                .product(name: "Yams", package: "Yams"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ZIPFoundation", package: "ZIPFoundation"),
            ]
        ),
        .target(name: "Ingest", dependencies: ["EmoCFG"]),
        .target(name: "Annotate", dependencies: ["EmoCFG"]),
        .target(name: "Critic", dependencies: ["EmoCFG"]),
        .target(name: "Export", dependencies: ["EmoCFG"]),
        .executableTarget(
            name: "emocfg",
            dependencies: [
                "EmoCFG", "Ingest", "Annotate", "Critic", "Export",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),

        // Benchmarks run on demand (`make bench`), never in CI.
        .executableTarget(
            name: "emocfg-bench",
            dependencies: ["EmoCFG", "Ingest"],
            path: "Benchmarks/emocfg-bench"
        ),

        .testTarget(name: "EmoCFGTests", dependencies: ["EmoCFG"]),
        .testTarget(name: "IngestTests", dependencies: ["EmoCFG", "Ingest"]),
    ]
)
