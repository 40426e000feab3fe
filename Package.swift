// swift-tools-version:6.0
import PackageDescription

// dlib's HOG face detector is compiled into the CDlibFace shim from dlib's headers, so its speed is
// set here and not by the build configuration: optimised also in debug builds (tests run debug),
// with SSE4.1 on x86-64 (every x86-64-v2 CPU; AVX2 measured only ~15% faster here and would exclude
// older machines).
#if arch(x86_64)
let dlibFlags = ["-O3", "-msse4.1", "-w"]
#else
let dlibFlags = ["-O3", "-w"]
#endif

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
        .package(url: "https://github.com/swift-server/async-http-client", from: "1.37.0"),
        .package(url: "https://github.com/apple/swift-nio", from: "2.101.2"),
        // SHA-256 (BoringSSL's, with the CPU's SHA instructions): see Sources/EmoCFG/JSON/SHA256.swift.
        .package(url: "https://github.com/apple/swift-crypto", from: "4.5.2"),
        // The human review web page (Sources/Review).
        .package(url: "https://github.com/hummingbird-project/hummingbird", from: "2.28.1"),
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

        // dlib's frontal-face detector behind a C interface (libdlib-dev; dlib links BLAS/LAPACK).
        .target(
            name: "CDlibFace",
            path: "Sources/CDlibFace",
            cxxSettings: [.unsafeFlags(dlibFlags)],
            linkerSettings: [.linkedLibrary("dlib"), .linkedLibrary("lapack"), .linkedLibrary("blas"), .linkedLibrary("pthread")]
        ),

        // The domain, the store, configuration, media and (later) the LLM client.
        .target(
            name: "EmoCFG",
            dependencies: [
                "CFFmpeg", "CZstd", "CDlibFace",
                .product(name: "GRDB", package: "GRDB.swift"),
                .product(name: "Yams", package: "Yams"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ZIPFoundation", package: "ZIPFoundation"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "Crypto", package: "swift-crypto"),
            ]
        ),
        .target(name: "Ingest", dependencies: ["EmoCFG"]),
        .target(name: "Annotate", dependencies: ["EmoCFG"]),
        .target(name: "Critic", dependencies: ["EmoCFG"]),
        .target(name: "Export", dependencies: ["EmoCFG"]),
        // The human review web application: queue, item pages, decisions as human verdicts.
        .target(name: "Review", dependencies: ["EmoCFG", .product(name: "Hummingbird", package: "hummingbird")]),
        .executableTarget(
            name: "emocfg",
            dependencies: [
                "EmoCFG", "Ingest", "Annotate", "Critic", "Export", "Review",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),

        // A local stand-in for the provider APIs (OpenAI chat completions and Gemini generateContent)
        // on loopback: the tests and the demo talk to it, since real providers cannot be reached here.
        .executableTarget(
            name: "emocfg-standin",
            dependencies: [
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "Crypto", package: "swift-crypto"),
            ],
            path: "Sources/emocfg-standin"
        ),

        // Benchmarks run on demand (`make bench`), never in CI.
        .executableTarget(
            name: "emocfg-bench",
            dependencies: ["EmoCFG", "Ingest", "Export"],
            path: "Benchmarks/emocfg-bench"
        ),

        .testTarget(name: "EmoCFGTests", dependencies: [
            "EmoCFG",
            .product(name: "AsyncHTTPClient", package: "async-http-client"),
            .product(name: "NIOCore", package: "swift-nio"),
        ]),
        .testTarget(name: "IngestTests", dependencies: ["EmoCFG", "Ingest", "TestSupport"]),
        .target(name: "TestSupport", dependencies: ["EmoCFG"], path: "Tests/TestSupport"),
        .testTarget(
            name: "AnnotateTests",
            dependencies: ["EmoCFG", "Annotate", "Ingest", "TestSupport", .product(name: "GRDB", package: "GRDB.swift")]
        ),
        .testTarget(
            name: "ExportTests",
            dependencies: ["EmoCFG", "Export", "Annotate", "Ingest", "TestSupport"]
        ),
        .testTarget(
            name: "CriticTests",
            dependencies: ["EmoCFG", "Critic", "Annotate", "Ingest", "TestSupport", .product(name: "GRDB", package: "GRDB.swift")]
        ),
        .testTarget(
            name: "ReviewTests",
            dependencies: ["EmoCFG", "Review", "Critic", "Export", "Ingest", "Annotate", "TestSupport",
                           .product(name: "AsyncHTTPClient", package: "async-http-client"),
                           .product(name: "GRDB", package: "GRDB.swift")]
        ),
    ]
)
