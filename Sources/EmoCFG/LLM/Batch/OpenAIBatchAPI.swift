import Foundation

/// OpenAI's Batch API, as published at https://developers.openai.com/api/reference/resources/batches and
/// https://developers.openai.com/api/reference/resources/files (read 2026-12-07):
/// - input: a JSONL file of `{"custom_id", "method": "POST", "url": "/v1/chat/completions", "body"}` lines,
///   uploaded with `POST /v1/files` (multipart, `purpose=batch`), at most 50,000 requests and 200 MB;
/// - `POST /v1/batches {input_file_id, endpoint, completion_window: "24h", metadata}`; the job's local id
///   goes in `metadata.emocfg_job` and the file's name, so a job whose create answer was lost is found
///   again with `GET /v1/batches` and a file with `GET /v1/files`;
/// - `GET /v1/batches/{id}`: `status` (validating, in_progress, finalizing, completed, failed, expired,
///   cancelling, cancelled), `request_counts {total, completed, failed}`, `output_file_id`, `error_file_id`,
///   `errors.data[] {code, message, line}`;
/// - results: `GET /v1/files/{id}/content`, lines `{"id", "custom_id", "response": {"status_code",
///   "request_id", "body"} | null, "error": {"code", "message"} | null}`;
/// - `POST /v1/batches/{id}/cancel`.
struct OpenAIBatchAPI: BatchAPI {
    let model: ModelConfig
    let http: BatchHTTP

    var base: String { model.baseURL }
    static let endpoint = "/v1/chat/completions"

    static func fileName(_ jobID: String) -> String { "emocfg-\(jobID).jsonl" }

    func line(key: String, body: Data) -> Data {
        var d = Data("{\"custom_id\":\"\(key)\",\"method\":\"POST\",\"url\":\"\(Self.endpoint)\",\"body\":".utf8)
        d.append(body)
        d.append(UInt8(ascii: "}"))
        return d
    }

    func findUploadedFile(jobID: String) async throws(BatchAPIError) -> String? {
        let name = Self.fileName(jobID)
        var after: String?
        for _ in 0..<20 {
            let page = try await http.json(.GET, base + "/files?purpose=batch&limit=10000&order=desc" + (after.map { "&after=\($0)" } ?? ""))
            let files = page["data"]?.arrayValue ?? []
            if let f = files.first(where: { $0["filename"]?.stringValue == name }) { return f["id"]?.stringValue }
            guard page["has_more"]?.boolValue == true, let last = files.last?["id"]?.stringValue else { return nil }
            after = last
        }
        return nil
    }

    func upload(jobID: String, file: URL, bytes: Int) async throws(BatchAPIError) -> String? {
        let content: Data
        do { content = try Data(contentsOf: file) } catch {
            throw BatchAPIError(status: nil, message: "cannot read the job's input file \(file.path): \(error)", transient: false)
        }
        let boundary = "emocfg-" + UUID().uuidString
        var body = Data()
        body.append(Data("--\(boundary)\r\nContent-Disposition: form-data; name=\"purpose\"\r\n\r\nbatch\r\n".utf8))
        body.append(Data("--\(boundary)\r\nContent-Disposition: form-data; name=\"file\"; filename=\"\(Self.fileName(jobID))\"\r\nContent-Type: application/jsonl\r\n\r\n".utf8))
        body.append(content)
        body.append(Data("\r\n--\(boundary)--\r\n".utf8))
        let r = try await http.call(.POST, base + "/files", headers: [("Content-Type", "multipart/form-data; boundary=\(boundary)")], body: body)
        guard let id = (try? JSONValue.parse(r.body))?["id"]?.stringValue else {
            throw BatchAPIError(status: r.status, message: "POST /files answered without a file id", transient: true)
        }
        return id
    }

    func findJob(jobID: String) async throws(BatchAPIError) -> String? {
        var after: String?
        for _ in 0..<50 {
            let page = try await http.json(.GET, base + "/batches?limit=100" + (after.map { "&after=\($0)" } ?? ""))
            let jobs = page["data"]?.arrayValue ?? []
            if let j = jobs.first(where: { $0["metadata"]?["emocfg_job"]?.stringValue == jobID }) { return j["id"]?.stringValue }
            guard page["has_more"]?.boolValue == true, let last = jobs.last?["id"]?.stringValue else { return nil }
            after = last
        }
        return nil
    }

    func create(jobID: String, stage: String, inputFileID: String?, file: URL) async throws(BatchAPIError) -> String {
        guard let inputFileID else { throw BatchAPIError(status: nil, message: "no input file uploaded", transient: false) }
        let body: JSONValue = .object([
            "input_file_id": .string(inputFileID), "endpoint": .string(Self.endpoint), "completion_window": "24h",
            "metadata": .object(["emocfg_job": .string(jobID), "emocfg_stage": .string(stage)]),
        ])
        // Never retried blindly: a create whose answer was lost may have made the job (the lane looks first).
        let r = try await http.json(.POST, base + "/batches", body: body, retry: false)
        guard let id = r["id"]?.stringValue else {
            throw BatchAPIError(status: nil, message: "POST /batches answered without a batch id", transient: true)
        }
        return id
    }

    func status(of id: String) async throws(BatchAPIError) -> BatchStatus {
        let j = try await http.json(.GET, base + "/batches/" + id)
        let raw = j["status"]?.stringValue ?? "unknown"
        let phase: BatchPhase
        switch raw {
        case "validating": phase = .pending
        case "in_progress": phase = .running
        case "finalizing": phase = .finalizing
        case "completed": phase = .completed
        case "failed": phase = .failed
        case "expired": phase = .expired
        case "cancelling": phase = .cancelling
        case "cancelled": phase = .cancelled
        default:
            throw BatchAPIError(status: nil, message: "GET /batches/\(id): unknown status '\(raw)'", transient: true)
        }
        var s = BatchStatus(phase: phase, raw: raw)
        let counts = j["request_counts"]
        s.total = counts?["total"]?.numberValue.map { Int($0) }
        s.done = counts?["completed"]?.numberValue.map { Int($0) }
        s.failed = counts?["failed"]?.numberValue.map { Int($0) }
        s.outputFileID = j["output_file_id"]?.stringValue
        s.errorFileID = j["error_file_id"]?.stringValue
        s.errors = (j["errors"]?["data"]?.arrayValue ?? []).map { e in
            var m = (e["code"]?.stringValue.map { "\($0): " } ?? "") + (e["message"]?.stringValue ?? "error")
            if let line = e["line"]?.numberValue { m += " (line \(Int(line)))" }
            return m
        }
        return s
    }

    func rows(of status: BatchStatus) async throws(BatchAPIError) -> [BatchRow] {
        var rows: [BatchRow] = []
        for id in [status.outputFileID, status.errorFileID].compactMap({ $0 }) {
            let data = try await http.call(.GET, base + "/files/" + id + "/content").body
            rows += BatchRow.lines(data) { v in
                guard let key = v["custom_id"]?.stringValue else { return nil }
                if let response = v["response"], case .object = response {
                    let code = response["status_code"]?.numberValue.map { Int($0) }
                    let body = response["body"].map { $0.canonicalData }
                    var error: String?
                    if let code, !(200..<300).contains(code) {
                        error = response["body"]?["error"]?["message"]?.stringValue ?? "HTTP \(code)"
                    }
                    return BatchRow(key: key, status: code, body: body, error: error)
                }
                let code = v["error"]?["code"]?.stringValue
                let message = v["error"]?["message"]?.stringValue ?? "failed"
                return BatchRow(key: key, status: nil, body: nil, error: (code.map { "\($0): " } ?? "") + message,
                                notRun: code == "batch_expired" || code == "batch_cancelled")
            }
        }
        return rows
    }

    func cancel(_ id: String) async throws(BatchAPIError) {
        _ = try await http.json(.POST, base + "/batches/" + id + "/cancel")
    }
}
