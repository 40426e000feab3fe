import EmoCFG
import Foundation
import XCTest
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

/// Executables built next to the tests (`swift test` builds every product).
public func builtExecutable(_ name: String) throws -> URL {
    let dirs = [Bundle.main.executableURL?.deletingLastPathComponent(),
                Bundle(for: Standin.self).bundleURL.deletingLastPathComponent()].compactMap { $0 }
    for d in dirs where FileManager.default.isExecutableFile(atPath: d.appendingPathComponent(name).path) {
        return d.appendingPathComponent(name)
    }
    throw XCTSkip("\(name) not found next to the tests in \(dirs.map(\.path))")
}

/// The provider stand-in, started on a free loopback port for one test and stopped after it.
public final class Standin: @unchecked Sendable {
    let process = Process()
    public let port: Int
    public var baseURL: String { "http://127.0.0.1:\(port)" }

    public init(arguments: [String] = []) throws {
        let portFile = FileManager.default.temporaryDirectory.appendingPathComponent("standin-\(UUID().uuidString).port")
        process.executableURL = try builtExecutable("emocfg-standin")
        process.arguments = ["--port", "0", "--port-file", portFile.path] + arguments
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
        var port: Int?
        for _ in 0..<200 where port == nil {
            if let text = try? String(contentsOf: portFile, encoding: .utf8), let p = Int(text.trimmingCharacters(in: .whitespacesAndNewlines)) {
                port = p
            } else {
                usleep(25_000)
            }
        }
        guard let port else {
            process.terminate()
            throw XCTSkip("the stand-in did not start")
        }
        self.port = port
    }

    deinit { stop() }

    public func stop() {
        if process.isRunning {
            process.terminate()
            process.waitUntilExit()
        }
    }

    /// Scripts the next answers of a model (`POST /_standin/answers`).
    public func answers(_ json: String) throws { try control("POST", "/_standin/answers", json) }

    /// POST or GET a control endpoint synchronously.
    @discardableResult
    public func control(_ method: String, _ path: String, _ body: String? = nil) throws -> JSONValue {
        var req = URLRequest(url: URL(string: baseURL + path)!)
        req.httpMethod = method
        if let body { req.httpBody = Data(body.utf8) }
        nonisolated(unsafe) var result: Data?
        let done = DispatchSemaphore(value: 0)
        URLSession.shared.dataTask(with: req) { data, _, _ in
            result = data
            done.signal()
        }.resume()
        done.wait()
        return try JSONValue.parse(result ?? Data())
    }

    public func faults(_ json: String) throws { try control("POST", "/_standin/faults", json) }

    /// Provider requests the stand-in has answered or refused so far.
    public func requests() throws -> Int { Int(try control("GET", "/_standin/stats")["requests"]?.numberValue ?? -1) }
}

public func model(_ provider: ModelConfig.Provider, _ standin: Standin, keyEnv: String? = "EMOCFG_TEST_KEY") -> ModelConfig {
    ModelConfig(alias: provider == .openai ? "vision" : "text", provider: provider,
                baseURL: provider == .openai ? standin.baseURL + "/v1" : standin.baseURL,
                model: provider == .openai ? "standin-vision" : "standin-text", keyEnv: keyEnv, maxConcurrency: 4,
                pricePerMillionInput: 1, pricePerMillionOutput: 2, maxAttempts: 4, timeoutSeconds: 5)
}

public func temporaryStorePath() throws -> String {
    let dir = FileManager.default.temporaryDirectory.appendingPathComponent("emocfg-annotate-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
    return dir.appendingPathComponent("emocfg.sqlite").path
}

/// Runs async work from a synchronous test.
public func blocking<T: Sendable>(_ body: @escaping @Sendable () async throws -> T) throws -> T {
    nonisolated(unsafe) var result: Result<T, Error>!
    let done = DispatchSemaphore(value: 0)
    Task {
        do { result = .success(try await body()) } catch { result = .failure(error) }
        done.signal()
    }
    done.wait()
    return try result.get()
}

/// Runs a built executable to its end and returns its status and output. Output goes through files,
/// not pipes: a child that fills one pipe while the test drains the other would hang both.
public func runExecutable(_ name: String, _ args: [String], in directory: URL? = nil,
                          environment: [String: String]? = nil) throws -> (status: Int32, out: String, err: String) {
    let p = Process()
    p.executableURL = try builtExecutable(name)
    p.arguments = args
    if let directory { p.currentDirectoryURL = directory }
    if let environment { p.environment = environment }
    let scratch = FileManager.default.temporaryDirectory.appendingPathComponent("emocfg-run-output-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: scratch, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(at: scratch) }
    let o = scratch.appendingPathComponent("out"), e = scratch.appendingPathComponent("err")
    FileManager.default.createFile(atPath: o.path, contents: nil)
    FileManager.default.createFile(atPath: e.path, contents: nil)
    p.standardOutput = try FileHandle(forWritingTo: o)
    p.standardError = try FileHandle(forWritingTo: e)
    try p.run()
    p.waitUntilExit()
    return (p.terminationStatus, (try? String(contentsOf: o, encoding: .utf8)) ?? "", (try? String(contentsOf: e, encoding: .utf8)) ?? "")
}
