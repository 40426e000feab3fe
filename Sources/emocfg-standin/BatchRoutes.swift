import Foundation
import NIOHTTP1

/// The batch lane's HTTP endpoints: OpenAI Files and Batch API, Gemini Files API and Batch Mode.
///
/// OpenAI (also without the `/v1` prefix, as the chat route is served):
///   POST /v1/files (multipart: purpose=batch, file), GET /v1/files, GET /v1/files/{id},
///   GET /v1/files/{id}/content, DELETE /v1/files/{id}, POST /v1/batches, GET /v1/batches,
///   GET /v1/batches/{id}, POST /v1/batches/{id}/cancel.
/// Gemini: POST /upload/v1beta/files (resumable start, then `upload, finalize` at the upload URL),
///   GET /v1beta/files, GET|DELETE /v1beta/files/{id}, GET /download/v1beta/files/{id}:download?alt=media,
///   POST /v1beta/models/{model}:batchGenerateContent, GET /v1beta/batches,
///   GET|DELETE /v1beta/batches/{id}, POST /v1beta/batches/{id}:cancel.
extension Standin {
    /// The batch endpoint's answer, or nil when the path is not a batch endpoint.
    func batchRoute(method: HTTPMethod, path: String, query: [String: String], headers: HTTPHeaders, body: [UInt8]) -> Reply? {
        if path.hasPrefix("/v1beta/") || path.hasPrefix("/upload/v1beta/") || path.hasPrefix("/download/v1beta/") {
            return geminiRoute(method: method, path: path, query: query, headers: headers, body: body)
        }
        var p = path
        if p.hasPrefix("/v1/") { p.removeFirst(3) }
        guard p == "/files" || p.hasPrefix("/files/") || p == "/batches" || p.hasPrefix("/batches/") else { return nil }
        return openAIRoute(method: method, path: p, query: query, headers: headers, body: body)
    }

    private func json(_ status: Int, _ value: JSON, _ provider: Provider = .openai) -> Reply {
        Reply(action: .send(status: status, headers: [("content-type", Self.contentType(provider))], body: value.bytes))
    }

    // MARK: - OpenAI

    private func openAIRoute(method: HTTPMethod, path: String, query: [String: String], headers: HTTPHeaders, body: [UInt8]) -> Reply {
        if let refusal = authorize(.openai, headers: headers, query: query).refusal { return refusal }
        let parts = path.split(separator: "/").map(String.init)
        let now = Self.nowMs()
        let answer: BatchJobs.Answerer = { [unowned self] in self.batchAnswer($0) }
        func notFound(_ what: String, _ id: String) -> Reply {
            errorReply(.openai, 404, "No such \(what): \(id)", code: nil)
        }
        switch (method, parts.count, parts.first) {
        case (.POST, 1, "files"):
            return uploadOpenAIFile(headers: headers, body: body, now: now)
        case (.GET, 1, "files"):
            var list = batch.allFiles(.openai)
            if let purpose = query["purpose"] { list = list.filter { $0.purpose == purpose } }
            if query["order"] != "asc" { list.reverse() }
            let limit = query["limit"].flatMap(Int.init) ?? 10_000
            guard (1...10_000).contains(limit) else { return errorReply(.openai, 400, "Invalid 'limit': must be between 1 and 10000.") }
            return json(200, page(list.map { openAIFileJSON($0) }, ids: list.map(\.id), after: query["after"], limit: limit))
        case (.GET, 2, "files"):
            guard let f = batch.file(parts[1], .openai) else { return notFound("File", parts[1]) }
            return json(200, openAIFileJSON(f))
        case (.GET, 3, "files") where parts[2] == "content":
            guard let f = batch.file(parts[1], .openai) else { return notFound("File", parts[1]) }
            batch.downloadStarted()
            return Reply(action: .send(status: 200, headers: [("content-type", "application/octet-stream")], body: f.bytes),
                         delayMs: batch.currentStall.downloadMs)
        case (.DELETE, 2, "files"):
            guard batch.deleteFile(parts[1], .openai) else { return notFound("File", parts[1]) }
            return json(200, object(("id", .string(parts[1])), ("object", .string("file")), ("deleted", .bool(true))))
        case (.POST, 1, "batches"):
            return createOpenAIBatch(body: body, now: now)
        case (.GET, 1, "batches"):
            let limit = query["limit"].flatMap(Int.init) ?? 20
            guard (1...100).contains(limit) else { return errorReply(.openai, 400, "Invalid 'limit': must be between 1 and 100.") }
            let list = batch.allJobs(.openai, now: now, answer: answer)
            let objects = batch.withLock { list.map { openAIBatchJSON($0, now: now) } }
            return json(200, page(objects, ids: list.map(\.id), after: query["after"], limit: limit))
        case (.GET, 2, "batches"):
            guard let job = batch.job(parts[1], .openai, now: now, answer: answer) else { return notFound("batch", parts[1]) }
            return json(200, batch.withLock { openAIBatchJSON(job, now: now) })
        case (.POST, 3, "batches") where parts[2] == "cancel":
            switch batch.cancel(parts[1], .openai, now: now, answer: answer) {
            case .notFound: return notFound("batch", parts[1])
            case .alreadyEnded(let job):
                let status = batch.withLock { job.end?.status ?? "" }
                return errorReply(.openai, 400, "Cannot cancel a batch with status '\(status)'.")
            case .cancelled(let job):
                return json(200, batch.withLock { openAIBatchJSON(job, now: now, cancelling: true) })
            }
        default:
            return errorReply(.openai, 404, "Invalid URL (\(method.rawValue) /v1\(path))", code: "unknown_url")
        }
    }

    /// A cursor page, OpenAI style: `after` is the id the previous page ended with.
    private func page(_ items: [JSON], ids: [String], after: String?, limit: Int) -> JSON {
        var start = 0
        if let after, let i = ids.firstIndex(of: after) { start = i + 1 }
        let end = min(ids.count, start + limit)
        let slice = start < end ? Array(items[start..<end]) : []
        return object(("object", .string("list")), ("data", .array(slice)),
                      ("first_id", start < end ? .string(ids[start]) : .null),
                      ("last_id", start < end ? .string(ids[end - 1]) : .null),
                      ("has_more", .bool(end < ids.count)))
    }

    private func uploadOpenAIFile(headers: HTTPHeaders, body: [UInt8], now: Int) -> Reply {
        let contentType = headers.first(name: "content-type") ?? ""
        let fields: [Multipart.Part]
        do {
            fields = try Multipart.parse(body, contentType: contentType)
        } catch {
            return errorReply(.openai, 400, "Could not parse multipart form: \(error)")
        }
        guard let purpose = fields.first(where: { $0.name == "purpose" }).map({ String(decoding: $0.data, as: UTF8.self) }) else {
            return errorReply(.openai, 400, "Missing required parameter: 'purpose'.")
        }
        guard purpose == "batch" else {
            return errorReply(.openai, 400, "Invalid value for 'purpose': '\(purpose)'. The stand-in accepts only 'batch'.")
        }
        guard let file = fields.first(where: { $0.name == "file" && $0.filename != nil }) else {
            return errorReply(.openai, 400, "Missing required parameter: 'file'.")
        }
        let stored = batch.addFile(.openai, bytes: Array(file.data), name: file.filename ?? "file", purpose: purpose,
                                   mimeType: file.contentType ?? "application/octet-stream", uploaded: true, now: now)
        return Reply(action: .send(status: 200, headers: [("content-type", "application/json")], body: openAIFileJSON(stored).bytes),
                     delayMs: batch.currentStall.uploadMs)
    }

    private func openAIFileJSON(_ f: BatchFile) -> JSON {
        object(("id", .string(f.id)), ("object", .string("file")), ("bytes", .int(f.bytes.count)),
               ("created_at", .int(WireTime.seconds(f.createdMs))), ("filename", .string(f.name)),
               ("purpose", .string(f.purpose)), ("status", .string("processed")),
               ("expires_at", .int(WireTime.seconds(f.createdMs) + 30 * 86_400)), ("status_details", .null))
    }

    private func createOpenAIBatch(body: [UInt8], now: Int) -> Reply {
        batch.countCreateCall(.openai)
        guard let request = try? JSON.parse(body), case .object = request else {
            return errorReply(.openai, 400, "We could not parse the JSON body of your request.")
        }
        guard let fileID = request["input_file_id"]?.string else { return errorReply(.openai, 400, "Missing required parameter: 'input_file_id'.") }
        guard let endpoint = request["endpoint"]?.string else { return errorReply(.openai, 400, "Missing required parameter: 'endpoint'.") }
        guard ["/v1/chat/completions"].contains(endpoint) else {
            return errorReply(.openai, 400, "Invalid value for 'endpoint': '\(endpoint)'. The stand-in supports '/v1/chat/completions'.")
        }
        guard let window = request["completion_window"]?.string else { return errorReply(.openai, 400, "Missing required parameter: 'completion_window'.") }
        guard window == "24h" else { return errorReply(.openai, 400, "Invalid value for 'completion_window': '\(window)'. Supported values are: '24h'.") }
        let metadata = request["metadata"] ?? .null
        if case .object(let pairs) = metadata, pairs.count > 16 || pairs.contains(where: { $0.value.string == nil }) {
            return errorReply(.openai, 400, "Invalid 'metadata': at most 16 string values.")
        }
        guard let file = batch.file(fileID, .openai) else { return errorReply(.openai, 404, "No such File object: \(fileID)") }
        guard file.purpose == "batch" else {
            return errorReply(.openai, 400, "The input file \(fileID) must be uploaded with purpose 'batch'.")
        }
        let limits = batch.currentLimits
        let (rows, model, problems) = Self.validateOpenAIInput(file.bytes, endpoint: endpoint, limits: limits)
        let job = batch.createJob(.openai, now: now) { job in
            job.endpoint = endpoint
            job.completionWindow = window
            job.inputFileID = fileID
            job.metadata = metadata
            job.model = model
            job.input = file.bytes
            if problems.isEmpty { job.rows = rows } else { job.validationErrors = problems }
        }
        let stall = batch.currentStall.createMs
        if job.script.loseID { return Reply(action: .drop, delayMs: stall) }
        return Reply(action: .send(status: 200, headers: [("content-type", "application/json")],
                                   body: batch.withLock { openAIBatchJSON(job, now: now, creating: true) }.bytes),
                     delayMs: stall)
    }

    /// Checks an input file as OpenAI does before running it: each line a JSON object with a
    /// unique `custom_id`, `method` POST, `url` equal to the batch's endpoint and a `body`; the
    /// file within the request and byte limits. Problems go to `errors.data` (at most 10).
    static func validateOpenAIInput(_ bytes: [UInt8], endpoint: String, limits: BatchLimits) -> (rows: [BatchRow], model: String?, problems: [JSON]) {
        var problems: [JSON] = []
        func problem(_ code: String, _ message: String, param: String? = nil, line: Int? = nil) {
            if problems.count < 10 {
                problems.append(object(("code", .string(code)), ("message", .string(message)),
                                       ("param", param.map(JSON.string) ?? .null), ("line", line.map(JSON.int) ?? .null)))
            }
        }
        if bytes.count > limits.bytes {
            problem("file_too_large", "The input file is \(bytes.count) bytes; a batch input file can be at most \(limits.bytes) bytes.")
            return ([], nil, problems)
        }
        var rows: [BatchRow] = []
        var seen = Set<String>()
        var model: String?
        var lineNumber = 0
        for range in Lines.ranges(bytes) {
            lineNumber += 1
            guard let line = try? JSON.parse(Array(bytes[range])), case .object = line else {
                problem("invalid_json_line", "This line is not parseable as valid JSON.", line: lineNumber)
                continue
            }
            guard let key = line["custom_id"]?.string, !key.isEmpty else {
                problem("missing_required_parameter", "Missing required parameter: 'custom_id'.", param: "custom_id", line: lineNumber)
                continue
            }
            if !seen.insert(key).inserted {
                problem("duplicate_custom_id", "The custom_id for this request is a duplicate of another request. The custom_id parameter must be unique for each request in a batch.",
                        param: "custom_id", line: lineNumber)
            }
            if line["method"]?.string != "POST" {
                problem("invalid_method", "The method for this request must be 'POST'.", param: "method", line: lineNumber)
            }
            if line["url"]?.string != endpoint {
                problem("mismatched_url", "The url for this request does not match the batch's endpoint '\(endpoint)'.", param: "url", line: lineNumber)
            }
            guard case .object? = line["body"] else {
                problem("missing_required_parameter", "Missing required parameter: 'body'.", param: "body", line: lineNumber)
                continue
            }
            if model == nil { model = line["body"]?["model"]?.string }
            rows.append(BatchRow(key: key, line: range))
        }
        if rows.isEmpty && problems.isEmpty { problem("empty_file", "The input file has no requests.") }
        if rows.count > limits.requests {
            problem("too_many_requests", "The input file has \(rows.count) requests; a batch can have at most \(limits.requests).")
        }
        return (problems.isEmpty ? rows : [], model, problems)
    }

    /// The Batch object at `now` (call with the batch lock held). `creating`: the create call's
    /// answer (status validating); `cancelling`: the cancel call's (status cancelling).
    func openAIBatchJSON(_ job: BatchJob, now: Int, creating: Bool = false, cancelling: Bool = false) -> JSON {
        let end = creating ? nil : job.end
        let failedEarly = !job.validationErrors.isEmpty
        let status: String
        if creating {
            status = "validating"
        } else if cancelling {
            status = "cancelling"
        } else if let end {
            status = end.status
        } else if failedEarly || now < job.runningMs {
            status = "validating"
        } else if job.script.expire || job.script.fail || now < job.finalizingMs {
            status = "in_progress"
        } else {
            status = "finalizing"
        }
        func at(_ ms: Int?) -> JSON { ms.map { .int(WireTime.seconds($0)) } ?? .null }
        let reachedMs = job.cancellingMs ?? end?.atMs ?? now
        let running = !creating && !failedEarly && reachedMs >= job.runningMs && status != "validating"
        let finalizing = !creating && (status == "finalizing" || status == "completed")
        var errors: JSON = .null
        if status == "failed" {
            let data = failedEarly ? job.validationErrors : [object(
                ("code", .string("batch_failed")), ("message", .string(job.script.failMessage ?? "The batch failed (scripted by the stand-in).")),
                ("param", .null), ("line", .null))]
            errors = object(("object", .string("list")), ("data", .array(data)))
        }
        let counts: (Int, Int) = end.map { ($0.succeeded, $0.failed) } ?? (0, 0)
        return object(
            ("id", .string(job.id)),
            ("object", .string("batch")),
            ("endpoint", .string(job.endpoint)),
            ("model", job.model.map(JSON.string) ?? .null),
            ("errors", errors),
            ("input_file_id", .string(job.inputFileID)),
            ("completion_window", .string(job.completionWindow)),
            ("status", .string(status)),
            ("output_file_id", cancelling ? .null : end?.outputFileID.map(JSON.string) ?? .null),
            ("error_file_id", cancelling ? .null : end?.errorFileID.map(JSON.string) ?? .null),
            ("created_at", at(job.createdMs)),
            ("in_progress_at", running ? at(job.runningMs) : .null),
            ("expires_at", at(job.createdMs + 86_400_000)),
            ("finalizing_at", finalizing ? at(job.finalizingMs) : .null),
            ("completed_at", status == "completed" ? at(end?.atMs) : .null),
            ("failed_at", status == "failed" ? at(end?.atMs) : .null),
            ("expired_at", status == "expired" ? at(end?.atMs) : .null),
            ("cancelling_at", at(job.cancellingMs)),
            ("cancelled_at", status == "cancelled" ? at(end?.atMs) : .null),
            ("request_counts", object(("total", .int(job.rows.count)),
                                      ("completed", .int(cancelling ? 0 : counts.0)), ("failed", .int(cancelling ? 0 : counts.1)))),
            ("metadata", job.metadata))
    }

    // MARK: - Gemini

    private func geminiRoute(method: HTTPMethod, path: String, query: [String: String], headers: HTTPHeaders, body: [UInt8]) -> Reply? {
        let now = Self.nowMs()
        let host = headers.first(name: "host") ?? "\(options.host):\(options.port)"
        let answer: BatchJobs.Answerer = { [unowned self] in self.batchAnswer($0) }
        func refused() -> Reply? { authorize(.gemini, headers: headers, query: query).refusal }
        func notFound(_ what: String) -> Reply { errorReply(.gemini, 404, "Requested entity was not found. (\(what))") }

        // Uploads: the start call needs the key; the upload URL itself is the credential, as Google's is.
        if path == "/upload/v1beta/files" {
            guard method == .POST else { return errorReply(.gemini, 405, "Method not allowed.") }
            if let uploadID = query["upload_id"] {
                let command = (headers.first(name: "x-goog-upload-command") ?? "").lowercased()
                guard command.contains("finalize") else {
                    return errorReply(.gemini, 400, "The stand-in takes the whole file in one 'upload, finalize' call.")
                }
                if let offset = headers.first(name: "x-goog-upload-offset"), offset != "0" {
                    return errorReply(.gemini, 400, "The stand-in takes the whole file at X-Goog-Upload-Offset 0.")
                }
                guard let file = batch.finishUpload(uploadID, bytes: body, now: now) else { return notFound("upload \(uploadID)") }
                return Reply(action: .send(status: 200, headers: [("content-type", Self.contentType(.gemini)), ("x-goog-upload-status", "final")],
                                           body: object(("file", geminiFileJSON(file, host: host))).bytes),
                             delayMs: batch.currentStall.uploadMs)
            }
            if let r = refused() { return r }
            guard headers.first(name: "x-goog-upload-protocol")?.lowercased() == "resumable",
                  headers.first(name: "x-goog-upload-command")?.lowercased() == "start" else {
                return errorReply(.gemini, 400, "The stand-in supports the resumable upload protocol only (X-Goog-Upload-Protocol: resumable, X-Goog-Upload-Command: start).")
            }
            let meta = body.isEmpty ? nil : try? JSON.parse(body)
            let displayName = meta?["file"]?[anyOf: "displayName", "display_name"]?.string ?? ""
            let mimeType = headers.first(name: "x-goog-upload-header-content-type") ?? "application/octet-stream"
            let uploadID = batch.startUpload(displayName: displayName, mimeType: mimeType)
            return Reply(action: .send(status: 200, headers: [
                ("x-goog-upload-url", "http://\(host)/upload/v1beta/files?upload_id=\(uploadID)&upload_protocol=resumable"),
                ("x-goog-upload-status", "active"), ("content-type", "text/plain; charset=utf-8"),
            ], body: []))
        }
        if path.hasPrefix("/download/v1beta/files/") {
            if let r = refused() { return r }
            let rest = String(path.dropFirst("/download/v1beta/".count))
            guard method == .GET, rest.hasSuffix(":download") else { return notFound(path) }
            let id = String(rest.dropLast(":download".count))
            guard let f = batch.file(id, .gemini) else { return notFound(id) }
            batch.downloadStarted()
            return Reply(action: .send(status: 200, headers: [("content-type", f.mimeType)], body: f.bytes), delayMs: batch.currentStall.downloadMs)
        }
        if path.hasPrefix("/v1beta/models/"), path.hasSuffix(":batchGenerateContent") {
            if let r = refused() { return r }
            guard method == .POST else { return errorReply(.gemini, 405, "Method not allowed.") }
            let model = String(path.dropFirst("/v1beta/models/".count).dropLast(":batchGenerateContent".count))
            return createGeminiBatch(model: model.removingPercentEncoding ?? model, body: body, host: host, now: now)
        }
        let rest = String(path.dropFirst("/v1beta/".count))
        if rest == "files" || rest.hasPrefix("files/") {
            if let r = refused() { return r }
            if rest == "files" {
                guard method == .GET else { return errorReply(.gemini, 405, "Method not allowed.") }
                let list = batch.allFiles(.gemini).reversed().map { geminiFileJSON($0, host: host) }
                return geminiPage(list, field: "files", query: query, defaultSize: 10, maxSize: 100)
            }
            switch method {
            case .GET:
                guard let f = batch.file(rest, .gemini) else { return notFound(rest) }
                return json(200, geminiFileJSON(f, host: host), .gemini)
            case .DELETE:
                guard batch.deleteFile(rest, .gemini) else { return notFound(rest) }
                return json(200, object(), .gemini)
            default: return errorReply(.gemini, 405, "Method not allowed.")
            }
        }
        if rest == "batches" || rest.hasPrefix("batches/") {
            if let r = refused() { return r }
            if rest == "batches" {
                guard method == .GET else { return errorReply(.gemini, 405, "Method not allowed.") }
                let jobs = batch.allJobs(.gemini, now: now, answer: answer)
                let list = batch.withLock { jobs.map { geminiOperationJSON($0, now: now) } }
                return geminiPage(list, field: "operations", query: query, defaultSize: 50, maxSize: 1000)
            }
            if rest.hasSuffix(":cancel") {
                guard method == .POST else { return errorReply(.gemini, 405, "Method not allowed.") }
                let id = String(rest.dropLast(":cancel".count))
                switch batch.cancel(id, .gemini, now: now, answer: answer) {
                case .notFound: return notFound(id)
                case .alreadyEnded: return errorReply(.gemini, 400, "The batch has already ended and cannot be cancelled.")
                case .cancelled: return json(200, object(), .gemini)
                }
            }
            switch method {
            case .GET:
                guard let job = batch.job(rest, .gemini, now: now, answer: answer) else { return notFound(rest) }
                return json(200, batch.withLock { geminiOperationJSON(job, now: now) }, .gemini)
            case .DELETE:
                guard batch.deleteJob(rest, .gemini) else { return notFound(rest) }
                return json(200, object(), .gemini)
            default: return errorReply(.gemini, 405, "Method not allowed.")
            }
        }
        return nil
    }

    /// A page of a Gemini list: `pageSize` (default and maximum per list) and an opaque
    /// `pageToken` from the previous page's `nextPageToken`.
    private func geminiPage(_ items: [JSON], field: String, query: [String: String], defaultSize: Int, maxSize: Int) -> Reply {
        var size = query["pageSize"].flatMap(Int.init) ?? defaultSize
        if size <= 0 { size = defaultSize }
        size = min(size, maxSize)
        var start = 0
        if let token = query["pageToken"], !token.isEmpty {
            guard token.hasPrefix("standin-page-"), let n = Int(token.dropFirst("standin-page-".count)), n >= 0 else {
                return errorReply(.gemini, 400, "Invalid page token.")
            }
            start = min(n, items.count)
        }
        let end = min(items.count, start + size)
        return json(200, object((field, .array(Array(items[start..<end]))),
                                ("nextPageToken", end < items.count ? .string("standin-page-\(end)") : nil)), .gemini)
    }

    private func geminiFileJSON(_ f: BatchFile, host: String) -> JSON {
        let id = f.id.dropFirst("files/".count)
        return object(
            ("name", .string(f.id)),
            ("displayName", f.name.isEmpty ? nil : .string(f.name)),
            ("mimeType", .string(f.mimeType)),
            ("sizeBytes", .string(String(f.bytes.count))),
            ("createTime", .string(WireTime.rfc3339(f.createdMs))),
            ("updateTime", .string(WireTime.rfc3339(f.createdMs))),
            ("expirationTime", .string(WireTime.rfc3339(f.createdMs + 48 * 3_600_000))),
            ("sha256Hash", .string(Data(batch.sha256(of: f)).base64EncodedString())),
            ("uri", .string("http://\(host)/v1beta/files/\(id)")),
            ("downloadUri", .string("http://\(host)/download/v1beta/files/\(id):download?alt=media")),
            ("state", .string("ACTIVE")),
            ("source", .string(f.purpose)))
    }

    private func createGeminiBatch(model: String, body: [UInt8], host: String, now: Int) -> Reply {
        batch.countCreateCall(.gemini)
        let limits = batch.currentLimits
        guard let request = try? JSON.parse(body), case .object = request else {
            return errorReply(.gemini, 400, "Invalid JSON payload received.")
        }
        guard let spec = request["batch"], case .object = spec else {
            return errorReply(.gemini, 400, "* BatchGenerateContentRequest.batch: required")
        }
        let displayName = spec[anyOf: "displayName", "display_name"]?.string ?? ""
        guard let input = spec[anyOf: "inputConfig", "input_config"] else {
            return errorReply(.gemini, 400, "* GenerateContentBatch.input_config: required")
        }
        var rows: [BatchRow] = []
        var fileName: String?
        var bytes: [UInt8] = []
        if let inline = input["requests"] {
            if body.count > limits.inlineBytes {
                return errorReply(.gemini, 400, "Request payload size exceeds the limit: \(limits.inlineBytes) bytes. Use an input file for large batches.")
            }
            guard let list = inline["requests"]?.array, !list.isEmpty else {
                return errorReply(.gemini, 400, "* GenerateContentBatch.input_config.requests.requests: required")
            }
            for (i, item) in list.enumerated() {
                guard let r = item["request"], case .object = r else {
                    return errorReply(.gemini, 400, "* GenerateContentBatch.input_config.requests.requests[\(i)].request: required")
                }
                let metadata = item["metadata"]
                rows.append(BatchRow(key: metadata?["key"]?.string, request: r, metadata: metadata))
            }
        } else if let name = input[anyOf: "fileName", "file_name"]?.string {
            guard let file = batch.file(name, .gemini) else { return errorReply(.gemini, 404, "Requested entity was not found. (\(name))") }
            if file.bytes.count > limits.bytes {
                return errorReply(.gemini, 400, "The input file is \(file.bytes.count) bytes; the limit is \(limits.bytes) bytes.")
            }
            fileName = name
            bytes = file.bytes
            for range in Lines.ranges(bytes) {
                let line = try? JSON.parse(Array(bytes[range]))
                rows.append(BatchRow(key: line?["key"]?.string, line: range))
            }
            if rows.isEmpty { return errorReply(.gemini, 400, "The input file has no requests.") }
        } else {
            return errorReply(.gemini, 400, "* GenerateContentBatch.input_config.source: one of requests or file_name is required")
        }
        if rows.count > limits.requests {
            return errorReply(.gemini, 400, "The batch has \(rows.count) requests; the limit is \(limits.requests).")
        }
        let job = batch.createJob(.gemini, now: now) { job in
            job.displayName = displayName
            job.model = model.hasPrefix("models/") ? String(model.dropFirst(7)) : model
            job.priority = spec["priority"]
            job.inputFileName = fileName
            job.input = bytes
            job.rows = rows
        }
        let stall = batch.currentStall.createMs
        if job.script.loseID { return Reply(action: .drop, delayMs: stall) }
        return Reply(action: .send(status: 200, headers: [("content-type", Self.contentType(.gemini))],
                                   body: batch.withLock { geminiOperationJSON(job, now: now, creating: true) }.bytes),
                     delayMs: stall)
    }

    /// The long-running Operation for a batch at `now` (call with the batch lock held). As in
    /// proto3 JSON, fields at their default (false, zero counts) are left out.
    func geminiOperationJSON(_ job: BatchJob, now: Int, creating: Bool = false) -> JSON {
        let end = creating ? nil : job.end
        let state = end?.status ?? (creating || now < job.runningMs ? "BATCH_STATE_PENDING" : "BATCH_STATE_RUNNING")
        let updated = end?.atMs ?? (creating || now < job.runningMs ? job.createdMs : job.runningMs)
        let n = job.rows.count
        func count(_ v: Int) -> JSON? { v == 0 ? nil : .string(String(v)) }
        let stats = object(("requestCount", count(n)),
                           ("successfulRequestCount", count(end?.succeeded ?? 0)),
                           ("failedRequestCount", count(end?.failed ?? 0)),
                           ("pendingRequestCount", count(end == nil ? n : 0)))
        var priority: JSON?
        if let p = job.priority, let v = p.integer ?? p.string.flatMap(Int.init), v != 0 { priority = .string(String(v)) }
        let metadata = object(
            ("@type", .string("type.googleapis.com/google.ai.generativelanguage.v1beta.GenerateContentBatch")),
            ("model", .string("models/\(job.model ?? "")")),
            ("name", .string(job.id)),
            ("displayName", job.displayName.isEmpty ? nil : .string(job.displayName)),
            ("inputConfig", job.inputFileName.map { object(("fileName", .string($0))) }),
            ("output", end?.output.map(Self.withoutType)),
            ("createTime", .string(WireTime.rfc3339(job.createdMs))),
            ("endTime", end.map { .string(WireTime.rfc3339($0.atMs)) }),
            ("updateTime", .string(WireTime.rfc3339(updated))),
            ("batchStats", stats),
            ("state", .string(state)),
            ("priority", priority))
        var response: JSON?
        var error: JSON?
        if let end {
            if let e = end.error { error = e } else { response = end.output }
        }
        return object(("name", .string(job.id)), ("metadata", metadata), ("done", end != nil ? .bool(true) : nil),
                      ("error", error), ("response", response))
    }

    /// `metadata.output` is a field of the batch, without the `@type` the operation's response has.
    private static func withoutType(_ output: JSON) -> JSON {
        guard case .object(let members) = output else { return output }
        return .object(members.filter { $0.key != "@type" })
    }
}

// MARK: - Lines and multipart

enum Lines {
    /// The ranges of the non-blank lines of a JSONL file (a final newline or CRLF is not a line).
    static func ranges(_ bytes: [UInt8]) -> [Range<Int>] {
        var out: [Range<Int>] = []
        bytes.withUnsafeBufferPointer { buffer in
            guard let base = buffer.baseAddress else { return }
            var start = 0
            while start < buffer.count {
                var end = buffer.count
                if let nl = memchr(base + start, 0x0A, buffer.count - start) {
                    end = base.distance(to: nl.assumingMemoryBound(to: UInt8.self))
                }
                var stop = end
                if stop > start, buffer[stop - 1] == 0x0D { stop -= 1 }
                var blank = true
                for i in start..<stop where buffer[i] != 0x20 && buffer[i] != 0x09 { blank = false; break }
                if !blank { out.append(start..<stop) }
                start = end + 1
            }
        }
        return out
    }
}

/// A `multipart/form-data` body (RFC 7578): its parts, split at the boundary of the Content-Type.
enum Multipart {
    struct Part {
        var name: String
        var filename: String?
        var contentType: String?
        var data: ArraySlice<UInt8>
    }

    struct Malformed: Error, CustomStringConvertible { let description: String }

    static func parse(_ body: [UInt8], contentType: String) throws -> [Part] {
        guard contentType.lowercased().hasPrefix("multipart/form-data") else {
            throw Malformed(description: "Content-Type must be multipart/form-data, not '\(contentType)'")
        }
        guard let boundary = parameter("boundary", in: contentType), !boundary.isEmpty else {
            throw Malformed(description: "the Content-Type has no boundary")
        }
        let delimiter = Array("--\(boundary)".utf8)
        let nextDelimiter = Array("\r\n--\(boundary)".utf8)
        guard var at = find(delimiter, in: body, from: 0) else { throw Malformed(description: "no boundary in the body") }
        at += delimiter.count
        var parts: [Part] = []
        while true {
            if at + 2 <= body.count, body[at] == UInt8(ascii: "-"), body[at + 1] == UInt8(ascii: "-") { break }
            guard at + 2 <= body.count, body[at] == 0x0D, body[at + 1] == 0x0A else { throw Malformed(description: "no CRLF after a boundary") }
            at += 2
            guard let headersEnd = find(Array("\r\n\r\n".utf8), in: body, from: at) else { throw Malformed(description: "a part without a blank line after its headers") }
            let headerText = String(decoding: body[at..<headersEnd], as: UTF8.self)
            let contentStart = headersEnd + 4
            guard let contentEnd = find(nextDelimiter, in: body, from: contentStart) else { throw Malformed(description: "a part without a closing boundary") }
            var part = Part(name: "", data: body[contentStart..<contentEnd])
            for line in headerText.components(separatedBy: "\r\n") {
                guard let colon = line.firstIndex(of: ":") else { continue }
                let name = line[..<colon].trimmingCharacters(in: .whitespaces).lowercased()
                let value = line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
                if name == "content-disposition" {
                    part.name = parameter("name", in: value) ?? ""
                    part.filename = parameter("filename", in: value)
                } else if name == "content-type" {
                    part.contentType = value
                }
            }
            parts.append(part)
            at = contentEnd + nextDelimiter.count
        }
        return parts
    }

    /// `name=value` or `name="value"` among the `;`-separated parameters of a header value.
    static func parameter(_ name: String, in header: String) -> String? {
        for piece in header.split(separator: ";").dropFirst() {
            let kv = piece.split(separator: "=", maxSplits: 1)
            guard kv.count == 2, kv[0].trimmingCharacters(in: .whitespaces).lowercased() == name else { continue }
            var v = kv[1].trimmingCharacters(in: .whitespaces)
            if v.hasPrefix("\""), v.hasSuffix("\""), v.count >= 2 { v = String(v.dropFirst().dropLast()) }
            return v
        }
        return nil
    }

    static func find(_ needle: [UInt8], in haystack: [UInt8], from: Int) -> Int? {
        guard from <= haystack.count else { return nil }
        return haystack.withUnsafeBufferPointer { h in
            needle.withUnsafeBufferPointer { n in
                // memchr for the first byte, memcmp for the rest (memmem is not in Glibc's module).
                guard let hb = h.baseAddress, let nb = n.baseAddress, n.count > 0 else { return nil }
                var at = from
                while at + n.count <= h.count {
                    guard let hit = memchr(hb + at, Int32(n[0]), h.count - at - n.count + 1) else { return nil }
                    let i = hb.distance(to: hit.assumingMemoryBound(to: UInt8.self))
                    if memcmp(hb + i, nb, n.count) == 0 { return i }
                    at = i + 1
                }
                return nil
            }
        }
    }
}
