import Crypto
import Foundation

/// One stored file: an OpenAI File (`file-N`) or a Gemini File (`files/N`).
final class BatchFile {
    let provider: Provider
    let id: String
    let bytes: [UInt8]
    let createdMs: Int
    /// OpenAI `filename`; Gemini `displayName`.
    let name: String
    /// OpenAI `purpose` (`batch`, `batch_output`); Gemini `source` (`UPLOADED`, `GENERATED`).
    let purpose: String
    let mimeType: String
    /// Computed once, under the `BatchJobs` lock (`BatchJobs.sha256(of:)`).
    fileprivate var digest: [UInt8]?

    init(provider: Provider, id: String, bytes: [UInt8], createdMs: Int, name: String, purpose: String, mimeType: String) {
        (self.provider, self.id, self.bytes, self.createdMs, self.name, self.purpose, self.mimeType) =
            (provider, id, bytes, createdMs, name, purpose, mimeType)
    }
}

/// One request of a job: its key (`custom_id`, Gemini `metadata.key` or line `key`) and where its
/// request is (a line of the input file, parsed again when the job runs, or an inline request).
struct BatchRow {
    var key: String?
    var line: Range<Int>?
    var request: JSON?
    var metadata: JSON?
}

/// How one row came out.
enum RowResult {
    /// Answered by the chat path: 200 and the body, or an HTTP error and the provider's error body.
    case answered(status: Int, body: JSON)
    /// Not run: the job expired or was cancelled first.
    case notRun
}

/// A job's end: its final status and what it produced.
struct BatchEnd {
    var status: String
    var atMs: Int
    var succeeded = 0
    var failed = 0
    var outputFileID: String?
    var errorFileID: String?
    /// Gemini: the output (`inlinedResponses` or `responsesFile`), nil for a failed job.
    var output: JSON?
    /// Gemini: the operation's `error` (failed or cancelled).
    var error: JSON?
}

/// One batch job (OpenAI `batch_N`, Gemini `batches/N`).
final class BatchJob {
    let provider: Provider
    let id: String
    let createdMs: Int
    let script: BatchScript
    var rows: [BatchRow] = []
    /// The input file's bytes, for the rows given as line ranges.
    var input: [UInt8] = []
    // OpenAI
    var endpoint = "/v1/chat/completions"
    var completionWindow = "24h"
    var inputFileID = ""
    var metadata: JSON = .null
    var model: String?
    /// Problems found validating the input: the job fails with these as `errors.data`.
    var validationErrors: [JSON] = []
    // Gemini
    var displayName = ""
    var priority: JSON?
    var inputFileName: String?
    /// When a cancel was asked (OpenAI shows `cancelling` in the cancel call's answer only).
    var cancellingMs: Int?
    var end: BatchEnd?

    init(provider: Provider, id: String, createdMs: Int, script: BatchScript) {
        (self.provider, self.id, self.createdMs, self.script) = (provider, id, createdMs, script)
    }

    var delayMs: Int { script.delayMs }
    func elapsed(_ now: Int) -> Int { now - createdMs }
    /// When the job passes from validating/PENDING to in_progress/RUNNING, and to finalizing.
    var runningMs: Int { createdMs + delayMs / 10 }
    var finalizingMs: Int { createdMs + delayMs * 8 / 10 }
    var endMs: Int { createdMs + delayMs }
}

/// All batch state of the stand-in: files, jobs, scripts, limits, stalls and counts, in memory,
/// guarded by one lock. Ids count up. A job advances when it is read: with `delay_ms` 0 it has
/// ended by the first read after its creation.
///
/// Rows are answered when a job ends, by the same code as a chat request (`answer`): scripted
/// faults and answers apply to them. Lock order: this lock, then the `Standin`'s (never the other
/// way round).
final class BatchJobs: @unchecked Sendable {
    typealias Answerer = (ChatRequest) -> (status: Int, body: JSON)

    private let lock = NSLock()
    private var files: [String: BatchFile] = [:]
    private var fileOrder: [String] = []
    private var jobs: [String: BatchJob] = [:]
    private var jobOrder: [String] = []
    private var scripts: [BatchScript] = []
    private var uploads: [String: (displayName: String, mimeType: String)] = [:]
    private var nextFile = 1
    private var nextJob = 1
    private var nextUpload = 1
    private var nextRequest = 1
    var limits = BatchLimits()
    var stall = BatchStall()
    // Counts for `GET /_standin/stats` (`batch`) and `GET /_standin/batch/keys`.
    private var filesUploaded: [String: Int] = [:]
    private var jobsCreated: [String: Int] = [:]
    private var createCalls: [String: Int] = [:]
    private var downloadsStarted = 0
    private var keysSubmitted = 0
    private var keyCounts: [String: Int] = [:]

    func withLock<T>(_ body: () throws -> T) rethrows -> T { try lock.withLock(body) }

    // MARK: - Control

    func reset() {
        lock.withLock {
            files = [:]; fileOrder = []; jobs = [:]; jobOrder = []; scripts = []; uploads = [:]
            nextFile = 1; nextJob = 1; nextUpload = 1; nextRequest = 1
            limits = BatchLimits(); stall = BatchStall()
            filesUploaded = [:]; jobsCreated = [:]; createCalls = [:]; downloadsStarted = 0
            keysSubmitted = 0; keyCounts = [:]
        }
    }

    func addScripts(_ list: [BatchScript]) -> Int {
        lock.withLock {
            scripts += list
            return scripts.reduce(0) { $0 + $1.remaining }
        }
    }

    var pendingScripts: JSON { lock.withLock { .array(scripts.map(\.json)) } }

    func setLimits(_ l: BatchLimits) { lock.withLock { limits = l } }
    func setStall(_ s: BatchStall) { lock.withLock { stall = s } }
    var currentStall: BatchStall { lock.withLock { stall } }
    var currentLimits: BatchLimits { lock.withLock { limits } }

    var statsJSON: JSON {
        lock.withLock {
            func table(_ d: [String: Int]) -> JSON { .object(d.sorted { $0.key < $1.key }.map { ($0.key, .int($0.value)) }) }
            return object(
                ("files_uploaded", table(filesUploaded)),
                ("jobs_created", table(jobsCreated)),
                ("job_create_calls", table(createCalls)),
                ("downloads_started", .int(downloadsStarted)),
                ("keys_submitted", .int(keysSubmitted)),
                ("keys_submitted_twice", .int(keyCounts.values.filter { $0 > 1 }.count)),
                ("scripts_pending", .int(scripts.reduce(0) { $0 + $1.remaining })))
        }
    }

    var keysJSON: JSON { lock.withLock { .object(keyCounts.sorted { $0.key < $1.key }.map { ($0.key, .int($0.value)) }) } }

    // MARK: - Files

    /// Stores an uploaded file (counted as an upload) or a job's output.
    func addFile(_ provider: Provider, bytes: [UInt8], name: String, purpose: String, mimeType: String, uploaded: Bool, now: Int) -> BatchFile {
        lock.withLock { storeFile(provider, bytes: bytes, name: name, purpose: purpose, mimeType: mimeType, uploaded: uploaded, now: now) }
    }

    private func storeFile(_ provider: Provider, bytes: [UInt8], name: String, purpose: String, mimeType: String, uploaded: Bool, now: Int) -> BatchFile {
        let n = nextFile
        nextFile += 1
        let id = provider == .openai ? "file-\(n)" : "files/\(n)"
        let file = BatchFile(provider: provider, id: id, bytes: bytes, createdMs: now, name: name, purpose: purpose, mimeType: mimeType)
        files[id] = file
        fileOrder.append(id)
        if uploaded { filesUploaded[provider.rawValue, default: 0] += 1 }
        return file
    }

    func file(_ id: String, _ provider: Provider) -> BatchFile? {
        lock.withLock { files[id].flatMap { $0.provider == provider ? $0 : nil } }
    }

    /// The provider's files, oldest first.
    func allFiles(_ provider: Provider) -> [BatchFile] {
        lock.withLock { fileOrder.compactMap { files[$0] }.filter { $0.provider == provider } }
    }

    func deleteFile(_ id: String, _ provider: Provider) -> Bool {
        lock.withLock {
            guard let f = files[id], f.provider == provider else { return false }
            files[id] = nil
            fileOrder.removeAll { $0 == id }
            return true
        }
    }

    /// The file's SHA-256, computed on first use.
    func sha256(of file: BatchFile) -> [UInt8] {
        lock.withLock {
            if let d = file.digest { return d }
            let d = Array(Crypto.SHA256.hash(data: file.bytes))
            file.digest = d
            return d
        }
    }

    func downloadStarted() { lock.withLock { downloadsStarted += 1 } }

    /// Gemini's resumable upload: `start` hands out an upload id, `upload, finalize` stores the bytes.
    func startUpload(displayName: String, mimeType: String) -> String {
        lock.withLock {
            let id = "standin-upload-\(nextUpload)"
            nextUpload += 1
            uploads[id] = (displayName, mimeType)
            return id
        }
    }

    func finishUpload(_ id: String, bytes: [UInt8], now: Int) -> BatchFile? {
        lock.withLock {
            guard let u = uploads.removeValue(forKey: id) else { return nil }
            return storeFile(.gemini, bytes: bytes, name: u.displayName, purpose: "UPLOADED", mimeType: u.mimeType, uploaded: true, now: now)
        }
    }

    // MARK: - Jobs

    func countCreateCall(_ provider: Provider) { lock.withLock { createCalls[provider.rawValue, default: 0] += 1 } }

    /// Creates a job: takes the next script for its provider, gives it an id and counts its keys
    /// (only of a job whose input was valid: an invalid one runs nothing).
    func createJob(_ provider: Provider, now: Int, configure: (BatchJob) -> Void) -> BatchJob {
        lock.withLock {
            var script = BatchScript()
            if let i = scripts.firstIndex(where: { $0.provider == nil || $0.provider == provider }) {
                script = scripts[i]
                scripts[i].remaining -= 1
                if scripts[i].remaining == 0 { scripts.remove(at: i) }
            }
            let n = nextJob
            nextJob += 1
            let job = BatchJob(provider: provider, id: provider == .openai ? "batch_\(n)" : "batches/\(n)", createdMs: now, script: script)
            configure(job)
            jobs[job.id] = job
            jobOrder.append(job.id)
            jobsCreated[provider.rawValue, default: 0] += 1
            if job.validationErrors.isEmpty {
                for row in job.rows {
                    guard let key = row.key else { continue }
                    keysSubmitted += 1
                    keyCounts[key, default: 0] += 1
                }
            }
            return job
        }
    }

    /// The job, advanced to `now`.
    func job(_ id: String, _ provider: Provider, now: Int, answer: Answerer) -> BatchJob? {
        lock.withLock {
            guard let job = jobs[id], job.provider == provider else { return nil }
            advance(job, now: now, answer: answer)
            return job
        }
    }

    /// The provider's jobs, newest first, each advanced to `now`.
    func allJobs(_ provider: Provider, now: Int, answer: Answerer) -> [BatchJob] {
        lock.withLock {
            let list = jobOrder.reversed().compactMap { jobs[$0] }.filter { $0.provider == provider }
            for job in list { advance(job, now: now, answer: answer) }
            return list
        }
    }

    func deleteJob(_ id: String, _ provider: Provider) -> Bool {
        lock.withLock {
            guard let j = jobs[id], j.provider == provider else { return false }
            jobs[id] = nil
            jobOrder.removeAll { $0 == id }
            return true
        }
    }

    enum CancelOutcome { case cancelled(BatchJob), notFound, alreadyEnded(BatchJob) }

    /// Cancels a job still running: the rows done by then (by its progress, or the script's
    /// `done_fraction` if larger) are answered and kept; the others become cancelled error rows.
    func cancel(_ id: String, _ provider: Provider, now: Int, answer: Answerer) -> CancelOutcome {
        lock.withLock {
            guard let job = jobs[id], job.provider == provider else { return .notFound }
            advance(job, now: now, answer: answer)
            if job.end != nil { return .alreadyEnded(job) }
            job.cancellingMs = now
            let n = job.rows.count
            let span = max(1, job.endMs - job.runningMs)
            let progress = now < job.runningMs ? 0 : min(1, Double(now - job.runningMs) / Double(span))
            let done = Int((Double(n) * max(progress, job.script.doneFraction ?? 0)).rounded(.down))
            finish(job, status: provider == .openai ? "cancelled" : "BATCH_STATE_CANCELLED", done: min(n, done), now: now, answer: answer)
            return .cancelled(job)
        }
    }

    // MARK: - The state machine

    /// Ends a job whose time has come.
    private func advance(_ job: BatchJob, now: Int, answer: Answerer) {
        guard job.end == nil, now >= job.endMs else { return }
        let n = job.rows.count
        let openai = job.provider == .openai
        if !job.validationErrors.isEmpty || job.script.fail {
            var end = BatchEnd(status: openai ? "failed" : "BATCH_STATE_FAILED", atMs: job.endMs)
            if !openai {
                end.error = object(("code", .int(13)),
                                   ("message", .string(job.script.failMessage ?? "The batch failed (scripted by the stand-in).")),
                                   ("status", .string("INTERNAL")))
            }
            job.end = end
        } else if job.script.expire {
            let done = Int((Double(n) * (job.script.doneFraction ?? 0)).rounded(.down))
            finish(job, status: openai ? "expired" : "BATCH_STATE_EXPIRED", done: min(n, done), now: job.endMs, answer: answer)
        } else {
            finish(job, status: openai ? "completed" : "BATCH_STATE_SUCCEEDED", done: n, now: job.endMs, answer: answer)
        }
    }

    /// Answers the first `done` rows and writes the job's output.
    private func finish(_ job: BatchJob, status: String, done: Int, now: Int, answer: Answerer) {
        let n = job.rows.count
        let failing = job.script.failRows.map { Int((Double(n) * $0).rounded(.up)) } ?? 0
        var results: [RowResult] = []
        results.reserveCapacity(n)
        for (i, row) in job.rows.enumerated() {
            guard i < done else { results.append(.notRun); continue }
            if i < failing {
                results.append(.answered(status: job.script.failRowsStatus,
                                         body: ProviderReply.error(job.provider, status: job.script.failRowsStatus)))
                continue
            }
            results.append(run(row, of: job, answer: answer))
        }
        var end = BatchEnd(status: status, atMs: now)
        let cancelled = status == "cancelled" || status == "BATCH_STATE_CANCELLED"
        if job.provider == .openai {
            writeOpenAIOutput(job, results, cancelled: cancelled, into: &end, now: now)
        } else {
            writeGeminiOutput(job, results, cancelled: cancelled, into: &end, now: now)
            if cancelled {
                // Documented: a cancelled operation has `error` with google.rpc.Code 1 (CANCELLED).
                end.error = object(("code", .int(1)), ("message", .string("The batch was cancelled.")), ("status", .string("CANCELLED")))
            }
        }
        job.end = end
    }

    /// One row through the chat path; a request the chat endpoint would refuse gets its 400.
    private func run(_ row: BatchRow, of job: BatchJob, answer: Answerer) -> RowResult {
        let body: JSON
        if let request = row.request {
            body = request
        } else if let line = row.line, let parsed = try? JSON.parse(Array(job.input[line])) {
            body = (job.provider == .openai ? parsed["body"] : parsed["request"]) ?? .null
        } else {
            return .answered(status: 400, body: ProviderReply.error(job.provider, status: 400, message: "The request line is not valid JSON."))
        }
        do {
            let request = job.provider == .openai
                ? try ChatRequest(openAIBody: body)
                : try ChatRequest(geminiBody: body, model: job.model ?? "")
            let (status, reply) = answer(request)
            return .answered(status: status, body: reply)
        } catch let e as BadRequest {
            return .answered(status: 400, body: ProviderReply.error(job.provider, status: 400, message: e.message))
        } catch {
            return .answered(status: 400, body: ProviderReply.error(job.provider, status: 400, message: "\(error)"))
        }
    }

    private func requestID() -> Int {
        defer { nextRequest += 1 }
        return nextRequest
    }

    /// OpenAI: successes in the output file, HTTP errors and rows not run in the error file; each
    /// file only if it has a line.
    private func writeOpenAIOutput(_ job: BatchJob, _ results: [RowResult], cancelled: Bool, into end: inout BatchEnd, now: Int) {
        var output = "", errors = ""
        for (row, result) in zip(job.rows, results) {
            let n = requestID()
            let id = JSON.string("batch_req_\(n)")
            let key = row.key.map(JSON.string) ?? .null
            switch result {
            case .answered(200, let body):
                end.succeeded += 1
                object(("id", id), ("custom_id", key),
                       ("response", object(("status_code", .int(200)), ("request_id", .string("req_\(n)")), ("body", body))),
                       ("error", .null)).write(to: &output)
                output += "\n"
            case .answered(let status, let body):
                end.failed += 1
                object(("id", id), ("custom_id", key),
                       ("response", object(("status_code", .int(status)), ("request_id", .string("req_\(n)")), ("body", body))),
                       ("error", .null)).write(to: &errors)
                errors += "\n"
            case .notRun:
                end.failed += 1
                let error = cancelled
                    ? object(("code", .string("batch_cancelled")), ("message", .string("This request could not be executed before the batch was cancelled.")))
                    : object(("code", .string("batch_expired")), ("message", .string("This request could not be executed before the completion window expired.")))
                object(("id", id), ("custom_id", key), ("response", .null), ("error", error)).write(to: &errors)
                errors += "\n"
            }
        }
        let number = job.id.dropFirst("batch_".count)
        if !output.isEmpty {
            end.outputFileID = storeFile(.openai, bytes: Array(output.utf8), name: "batch_\(number)_output.jsonl", purpose: "batch_output",
                                         mimeType: "application/jsonl", uploaded: false, now: now).id
        }
        if !errors.isEmpty {
            end.errorFileID = storeFile(.openai, bytes: Array(errors.utf8), name: "batch_\(number)_error.jsonl", purpose: "batch_output",
                                        mimeType: "application/jsonl", uploaded: false, now: now).id
        }
    }

    /// Gemini: inline input gets `inlinedResponses` in input order; file input a responses file,
    /// a line per request in input order. Rows not run are error rows (DEADLINE_EXCEEDED for
    /// an expired job, CANCELLED for a cancelled one).
    private func writeGeminiOutput(_ job: BatchJob, _ results: [RowResult], cancelled: Bool, into end: inout BatchEnd, now: Int) {
        func error(_ result: RowResult) -> JSON? {
            switch result {
            case .answered(200, _): return nil
            case .answered(let status, let body):
                let e = body["error"]
                return object(("code", .int(status)), ("message", e?["message"] ?? .string("HTTP \(status)")),
                              ("status", .string(ProviderReply.geminiStatus(status))))
            case .notRun:
                return cancelled
                    ? object(("code", .int(499)), ("message", .string("The request was not run: the batch was cancelled.")), ("status", .string("CANCELLED")))
                    : object(("code", .int(504)), ("message", .string("The request was not run before the batch expired.")), ("status", .string("DEADLINE_EXCEEDED")))
            }
        }
        if job.inputFileName == nil {
            var list: [JSON] = []
            list.reserveCapacity(results.count)
            for (row, result) in zip(job.rows, results) {
                if let e = error(result) {
                    end.failed += 1
                    list.append(object(("metadata", row.metadata), ("error", e)))
                } else if case .answered(_, let body) = result {
                    end.succeeded += 1
                    list.append(object(("metadata", row.metadata), ("response", body)))
                }
            }
            end.output = object(("@type", .string("type.googleapis.com/google.ai.generativelanguage.v1beta.GenerateContentBatchOutput")),
                                ("inlinedResponses", object(("inlinedResponses", .array(list)))))
        } else {
            var text = ""
            for (row, result) in zip(job.rows, results) {
                let key = row.key.map(JSON.string)
                if let e = error(result) {
                    end.failed += 1
                    object(("key", key), ("error", e)).write(to: &text)
                } else if case .answered(_, let body) = result {
                    end.succeeded += 1
                    object(("key", key), ("response", body)).write(to: &text)
                }
                text += "\n"
            }
            let file = storeFile(.gemini, bytes: Array(text.utf8), name: "\(job.id)-responses", purpose: "GENERATED",
                                 mimeType: "application/jsonl", uploaded: false, now: now)
            end.output = object(("@type", .string("type.googleapis.com/google.ai.generativelanguage.v1beta.GenerateContentBatchOutput")),
                                ("responsesFile", .string(file.id)))
        }
    }
}

// MARK: - Times

enum WireTime {
    /// Unix seconds.
    static func seconds(_ ms: Int) -> Int { ms / 1000 }

    /// RFC 3339, Z-normalised, with 3 fractional digits: `2025-07-01T12:00:00.123Z`.
    static func rfc3339(_ ms: Int) -> String {
        var t = time_t(ms / 1000)
        var tm = tm()
        gmtime_r(&t, &tm)
        func pad(_ v: Int32, _ width: Int) -> String {
            let s = String(v)
            return String(repeating: "0", count: max(0, width - s.count)) + s
        }
        return "\(pad(tm.tm_year + 1900, 4))-\(pad(tm.tm_mon + 1, 2))-\(pad(tm.tm_mday, 2))T\(pad(tm.tm_hour, 2)):\(pad(tm.tm_min, 2)):\(pad(tm.tm_sec, 2)).\(pad(Int32(ms % 1000), 3))Z"
    }
}
