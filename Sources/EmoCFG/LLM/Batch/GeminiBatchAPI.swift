import Foundation

/// Gemini Batch Mode (Developer API), as published at https://ai.google.dev/api/batch-api,
/// https://ai.google.dev/gemini-api/docs/batch-api and https://ai.google.dev/api/files (read 2026-12-07):
/// - `POST /v1beta/models/{model}:batchGenerateContent {"batch": {"displayName", "inputConfig":
///   {"requests": {"requests": [{"request": GenerateContentRequest, "metadata": {…}}]}} | {"fileName"}}}`:
///   inline requests below 20 MB, else a JSONL file of `{"key", "request"}` lines uploaded through the
///   Files API's resumable upload (`POST /upload/v1beta/files`, `X-Goog-Upload-*` headers);
/// - an Operation comes back: `name` (`batches/…`), `metadata` (the GenerateContentBatch: `state`
///   BATCH_STATE_PENDING, _RUNNING, _SUCCEEDED, _FAILED, _CANCELLED, _EXPIRED; `batchStats` with int64
///   counts as strings), `done`, and when done `response` (GenerateContentBatchOutput: `inlinedResponses.
///   inlinedResponses[] {metadata, response | error}` or `responsesFile`) or `error` (a Status);
/// - `GET /v1beta/batches/{id}`, `GET /v1beta/batches` (`operations`, `nextPageToken`), `POST
///   /v1beta/batches/{id}:cancel`; results files at `GET /download/v1beta/files/{id}:download?alt=media`,
///   lines `{"key", "response" | "error"}`.
/// The job's local id is its `displayName` (and the input file's), so a job whose create answer was lost
/// is found again by listing.
struct GeminiBatchAPI: BatchAPI {
    let model: ModelConfig
    let http: BatchHTTP

    var base: String { model.baseURL }

    static func displayName(_ jobID: String) -> String { "emocfg-\(jobID)" }

    var modelPath: String { GeminiFormat.pathName(model.model) }

    /// `{"key":"<key>","request":<body>}`: an inline request is cut out of it without parsing.
    func line(key: String, body: Data) -> Data {
        var d = Data(Self.linePrefix(key).utf8)
        d.append(body)
        d.append(UInt8(ascii: "}"))
        return d
    }

    static func linePrefix(_ key: String) -> String { "{\"key\":\"\(key)\",\"request\":" }

    func findUploadedFile(jobID: String) async throws(BatchAPIError) -> String? {
        let name = Self.displayName(jobID)
        var token: String?
        for _ in 0..<50 {
            let page = try await http.json(.GET, base + "/v1beta/files?pageSize=100" + (token.map { "&pageToken=\(Self.escape($0))" } ?? ""))
            if let f = (page["files"]?.arrayValue ?? []).first(where: { $0["displayName"]?.stringValue == name }) {
                return f["name"]?.stringValue
            }
            guard let next = page["nextPageToken"]?.stringValue, !next.isEmpty else { return nil }
            token = next
        }
        return nil
    }

    func upload(jobID: String, file: URL, bytes: Int) async throws(BatchAPIError) -> String? {
        guard bytes > model.batchMaxInlineBytes else { return nil }  // sent inline with the create call
        let content: Data
        do { content = try Data(contentsOf: file) } catch {
            throw BatchAPIError(status: nil, message: "cannot read the job's input file \(file.path): \(error)", transient: false)
        }
        let start = try await http.call(.POST, base + "/upload/v1beta/files", headers: [
            ("X-Goog-Upload-Protocol", "resumable"), ("X-Goog-Upload-Command", "start"),
            ("X-Goog-Upload-Header-Content-Length", String(content.count)),
            ("X-Goog-Upload-Header-Content-Type", "application/jsonl"), ("Content-Type", "application/json"),
        ], body: JSONValue.object(["file": .object(["displayName": .string(Self.displayName(jobID))])]).canonicalData)
        guard let url = start.headers.first(name: "x-goog-upload-url") else {
            throw BatchAPIError(status: start.status, message: "the upload start answered without X-Goog-Upload-URL", transient: true)
        }
        let done = try await http.call(.POST, url, headers: [
            ("X-Goog-Upload-Command", "upload, finalize"), ("X-Goog-Upload-Offset", "0"), ("Content-Type", "application/jsonl"),
        ], body: content)
        guard let name = (try? JSONValue.parse(done.body))?["file"]?["name"]?.stringValue else {
            throw BatchAPIError(status: done.status, message: "the upload answered without a file name", transient: true)
        }
        return name
    }

    func findJob(jobID: String) async throws(BatchAPIError) -> String? {
        let name = Self.displayName(jobID)
        var token: String?
        for _ in 0..<50 {
            let page = try await http.json(.GET, base + "/v1beta/batches?pageSize=100" + (token.map { "&pageToken=\(Self.escape($0))" } ?? ""))
            if let op = (page["operations"]?.arrayValue ?? []).first(where: { $0["metadata"]?["displayName"]?.stringValue == name }) {
                return op["name"]?.stringValue ?? op["metadata"]?["name"]?.stringValue
            }
            guard let next = page["nextPageToken"]?.stringValue, !next.isEmpty else { return nil }
            token = next
        }
        return nil
    }

    func create(jobID: String, stage: String, inputFileID: String?, file: URL) async throws(BatchAPIError) -> String {
        var body = Data("{\"batch\":{\"displayName\":\"\(Self.displayName(jobID))\",\"inputConfig\":".utf8)
        if let inputFileID {
            body.append(JSONValue.object(["fileName": .string(inputFileID)]).canonicalData)
        } else {
            // Inline: each line {"key":K,"request":B} becomes {"request":B,"metadata":{"key":K}}.
            let content: Data
            do { content = try Data(contentsOf: file) } catch {
                throw BatchAPIError(status: nil, message: "cannot read the job's input file \(file.path): \(error)", transient: false)
            }
            body.append(Data("{\"requests\":{\"requests\":[".utf8))
            var first = true
            for line in content.split(separator: UInt8(ascii: "\n"), omittingEmptySubsequences: true) {
                let bytes = Data(line)
                // The key is the 64 hex digits after {"key":" (cache keys are SHA-256 hex).
                let prefixLength = Self.linePrefix(String(repeating: "0", count: 64)).utf8.count
                guard bytes.count > prefixLength + 1 else { continue }
                let key = String(decoding: bytes[bytes.startIndex + 8 ..< bytes.startIndex + 72], as: UTF8.self)
                let request = bytes[(bytes.startIndex + prefixLength)..<(bytes.endIndex - 1)]
                if !first { body.append(UInt8(ascii: ",")) }
                first = false
                body.append(Data("{\"request\":".utf8))
                body.append(request)
                body.append(Data(",\"metadata\":{\"key\":\"\(key)\"}}".utf8))
            }
            body.append(Data("]}}".utf8))
        }
        body.append(Data("}}".utf8))
        let r = try await http.call(.POST, base + "/v1beta/models/\(modelPath):batchGenerateContent",
                                    headers: [("Content-Type", "application/json")], body: body, retry: false)
        guard let json = try? JSONValue.parse(r.body), let name = json["name"]?.stringValue ?? json["metadata"]?["name"]?.stringValue else {
            throw BatchAPIError(status: r.status, message: "batchGenerateContent answered without an operation name", transient: true)
        }
        return name
    }

    func status(of id: String) async throws(BatchAPIError) -> BatchStatus {
        let op = try await http.json(.GET, base + "/v1beta/" + id)
        let meta = op["metadata"]
        let raw = meta?["state"]?.stringValue ?? (op["done"]?.boolValue == true ? "BATCH_STATE_SUCCEEDED" : "BATCH_STATE_PENDING")
        let phase: BatchPhase
        switch raw {
        case "BATCH_STATE_PENDING", "BATCH_STATE_UNSPECIFIED": phase = .pending
        case "BATCH_STATE_RUNNING": phase = .running
        case "BATCH_STATE_SUCCEEDED": phase = .completed
        case "BATCH_STATE_FAILED": phase = .failed
        case "BATCH_STATE_CANCELLED": phase = .cancelled
        case "BATCH_STATE_EXPIRED": phase = .expired
        default:
            throw BatchAPIError(status: nil, message: "GET /v1beta/\(id): unknown state '\(raw)'", transient: true)
        }
        var s = BatchStatus(phase: phase, raw: raw)
        func count(_ k: String) -> Int? {
            guard let v = meta?["batchStats"]?[k] else { return nil }
            return v.stringValue.flatMap(Int.init) ?? v.numberValue.map { Int($0) }
        }
        s.total = count("requestCount")
        s.done = count("successfulRequestCount")
        s.failed = count("failedRequestCount")
        if let error = op["error"] {
            s.errors.append((error["status"]?.stringValue.map { "\($0): " } ?? "") + (error["message"]?.stringValue ?? "failed"))
        }
        let output = op["response"] ?? meta?["output"]
        if let file = output?["responsesFile"]?.stringValue {
            s.outputFileID = file
        } else if let inlined = output?["inlinedResponses"]?["inlinedResponses"]?.arrayValue {
            s.inlineRows = inlined.compactMap(Self.row)
        }
        return s
    }

    static func row(_ v: JSONValue) -> BatchRow? {
        guard let key = v["metadata"]?["key"]?.stringValue ?? v["key"]?.stringValue else { return nil }
        if let response = v["response"], case .object = response {
            return BatchRow(key: key, status: 200, body: response.canonicalData, error: nil)
        }
        let error = v["error"]
        let code = error?["code"]?.numberValue.map { Int($0) }
        let status = error?["status"]?.stringValue
        let message = (status.map { "\($0): " } ?? "") + (error?["message"]?.stringValue ?? "failed")
        // A request the job's end (expiry, cancel) kept from running: asked again, not counted as a failure.
        let notRun = status == "DEADLINE_EXCEEDED" || status == "CANCELLED"
        return BatchRow(key: key, status: code.map { $0 >= 100 ? $0 : 500 }, body: error.map { JSONValue.object(["error": $0]).canonicalData },
                        error: message, notRun: notRun)
    }

    func rows(of status: BatchStatus) async throws(BatchAPIError) -> [BatchRow] {
        if let inline = status.inlineRows { return inline }
        guard let file = status.outputFileID else { return [] }
        let data = try await http.call(.GET, base + "/download/v1beta/" + file + ":download?alt=media").body
        return BatchRow.lines(data, Self.row)
    }

    func cancel(_ id: String) async throws(BatchAPIError) {
        _ = try await http.call(.POST, base + "/v1beta/" + id + ":cancel", headers: [("Content-Type", "application/json")], body: Data("{}".utf8))
    }

    static func escape(_ s: String) -> String {
        s.addingPercentEncoding(withAllowedCharacters: .urlQueryAllowed.subtracting(CharacterSet(charactersIn: "&=+"))) ?? s
    }
}
