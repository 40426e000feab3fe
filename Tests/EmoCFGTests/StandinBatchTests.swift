import AsyncHTTPClient
import Foundation
import NIOCore
import XCTest

/// The stand-in's batch lane over real HTTP on loopback: the OpenAI Files and Batch API and Gemini
/// Batch Mode (Files API, batchGenerateContent, batches as long-running operations), with the
/// control endpoints that script each case (delays, expiry, failure, all rows failed, lost ids,
/// limits, stalls) and count the keys submitted.
///
/// Jobs are scripted with delay 0 (ended on the first read) or a delay far beyond the test, so
/// no assertion depends on timing.
final class StandinBatchTests: XCTestCase {
    var process: StandinProcess!
    var client: HTTPClient!
    var api: StandinAPI!

    override func setUp() async throws {
        client = HTTPClient(eventLoopGroupProvider: .singleton)
        process = try StandinProcess(arguments: [], testBundle: Bundle(for: Self.self))
        api = StandinAPI(baseURL: process.baseURL, client: client)
    }

    override func tearDown() async throws {
        process?.stop()
        try await client.shutdown()
    }

    // MARK: - OpenAI helpers

    static let openAIAuth = [("Authorization", "Bearer sk-test")]
    static let geminiAuth = [("x-goog-api-key", "AIza-test")]

    static func openAILine(_ key: String, _ text: String, url: String = "/v1/chat/completions", method: String = "POST") throws -> String {
        let line: [String: Any] = ["custom_id": key, "method": method, "url": url,
                                   "body": StandinServerTests.openAIBody(text, frames: [], model: "gpt-4o-mini")]
        return String(decoding: try JSONSerialization.data(withJSONObject: line, options: .sortedKeys), as: UTF8.self)
    }

    static func jsonl(_ keys: [String]) throws -> String {
        try keys.map { try openAILine($0, "Describe clip \($0)") }.joined(separator: "\n") + "\n"
    }

    func upload(_ content: String, purpose: String = "batch", filename: String = "input.jsonl") async throws -> StandinAPI.Exchange {
        let boundary = "standin-test-\(UUID().uuidString)"
        var body = ""
        body += "--\(boundary)\r\nContent-Disposition: form-data; name=\"purpose\"\r\n\r\n\(purpose)\r\n"
        body += "--\(boundary)\r\nContent-Disposition: form-data; name=\"file\"; filename=\"\(filename)\"\r\nContent-Type: application/jsonl\r\n\r\n"
        body += content
        body += "\r\n--\(boundary)--\r\n"
        return try await api.send("/v1/files", raw: Array(body.utf8),
                                  headers: Self.openAIAuth + [("Content-Type", "multipart/form-data; boundary=\(boundary)")])
    }

    func uploadedID(_ content: String) async throws -> String {
        let r = try await upload(content)
        XCTAssertEqual(r.status, 200, r.text)
        return try XCTUnwrap(r.json["id"]?.string, r.text)
    }

    func create(_ fileID: String, metadata: [String: String]? = nil) async throws -> StandinAPI.Exchange {
        var body: [String: Any] = ["input_file_id": fileID, "endpoint": "/v1/chat/completions", "completion_window": "24h"]
        if let metadata { body["metadata"] = metadata }
        return try await api.send("/v1/batches", body: body, headers: Self.openAIAuth)
    }

    /// Uploads the keys' requests, creates a job and returns its id.
    func submit(_ keys: [String], metadata: [String: String]? = nil) async throws -> String {
        let file = try await uploadedID(try Self.jsonl(keys))
        let r = try await create(file, metadata: metadata)
        XCTAssertEqual(r.status, 200, r.text)
        XCTAssertEqual(try r.json["status"]?.string, "validating", "a new batch is validating")
        return try XCTUnwrap(r.json["id"]?.string, r.text)
    }

    func batch(_ id: String) async throws -> WireJSON {
        let r = try await api.send("/v1/batches/\(id)", method: "GET", headers: Self.openAIAuth)
        XCTAssertEqual(r.status, 200, r.text)
        return try r.json
    }

    /// The lines of a file's content, by `custom_id`.
    func lines(_ fileID: WireJSON?) async throws -> [String: WireJSON] {
        let id = try XCTUnwrap(fileID?.string, "no file id")
        let r = try await api.send("/v1/files/\(id)/content", method: "GET", headers: Self.openAIAuth)
        XCTAssertEqual(r.status, 200, r.text)
        var out: [String: WireJSON] = [:]
        for line in r.text.split(separator: "\n") {
            let json = try WireJSON.decode(Array(line.utf8))
            out[try XCTUnwrap(json["custom_id"]?.string)] = json
        }
        return out
    }

    func script(_ scripts: [[String: Any]]) async throws {
        let r = try await api.send("/_standin/batch", body: scripts)
        XCTAssertEqual(r.status, 200, r.text)
    }

    func batchStats() async throws -> WireJSON {
        let stats = try await api.stats()
        return try XCTUnwrap(stats["batch"], "stats have no batch object")
    }

    /// Uploads the content, creates a job of it and returns the job read once.
    func createdAndRead(_ content: String) async throws -> WireJSON {
        let created = try await create(try await uploadedID(content))
        XCTAssertEqual(created.status, 200, created.text)
        return try await batch(try XCTUnwrap(try created.json["id"]?.string, created.text))
    }

    // MARK: - OpenAI

    func test_openai_upload_create_poll_and_results_matched_by_custom_id() async throws {
        try await api.scriptAnswers([["content": ["emotion": "sad"], "match": "clip b"]])
        let upload = try await upload(try Self.jsonl(["a", "b", "c"]))
        XCTAssertEqual(upload.status, 200, upload.text)
        let file = try upload.json
        XCTAssertEqual(file["object"]?.string, "file")
        XCTAssertEqual(file["purpose"]?.string, "batch")
        XCTAssertEqual(file["filename"]?.string, "input.jsonl")
        XCTAssertEqual(file["status"]?.string, "processed")
        XCTAssertEqual(file["bytes"]?.number, Double(try Self.jsonl(["a", "b", "c"]).utf8.count))
        XCTAssertNotNil(file["created_at"]?.number)
        XCTAssertTrue(file["id"]?.string?.hasPrefix("file-") == true)

        let created = try await create(try XCTUnwrap(file["id"]?.string), metadata: ["run": "r1"])
        XCTAssertEqual(created.status, 200, created.text)
        let job = try created.json
        XCTAssertTrue(job["id"]?.string?.hasPrefix("batch_") == true)
        XCTAssertEqual(job["object"]?.string, "batch")
        XCTAssertEqual(job["endpoint"]?.string, "/v1/chat/completions")
        XCTAssertEqual(job["completion_window"]?.string, "24h")
        XCTAssertEqual(job["status"]?.string, "validating")
        XCTAssertEqual(job["metadata"]?["run"]?.string, "r1")
        XCTAssertEqual(job["request_counts"]?["total"]?.number, 3)
        for field in ["output_file_id", "error_file_id", "completed_at", "failed_at", "errors", "cancelled_at"] {
            XCTAssertEqual(job[field], .null, "\(field) is null until set")
        }
        XCTAssertNotNil(job["expires_at"]?.number)

        let done = try await batch(try XCTUnwrap(job["id"]?.string))
        XCTAssertEqual(done["status"]?.string, "completed", "delay 0: ended by the first read")
        XCTAssertEqual(done["request_counts"], try WireJSON.from(["total": 3, "completed": 3, "failed": 0]))
        XCTAssertEqual(done["error_file_id"], .null, "no error file without error lines")
        for field in ["in_progress_at", "finalizing_at", "completed_at"] { XCTAssertNotNil(done[field]?.number, field) }

        let output = try await lines(done["output_file_id"])
        XCTAssertEqual(Set(output.keys), ["a", "b", "c"])
        for (key, line) in output {
            XCTAssertEqual(line["error"], .null)
            XCTAssertTrue(line["id"]?.string?.hasPrefix("batch_req_") == true)
            XCTAssertEqual(line["response"]?["status_code"]?.number, 200)
            XCTAssertNotNil(line["response"]?["request_id"]?.string)
            let body = try XCTUnwrap(line["response"]?["body"])
            XCTAssertEqual(body["object"]?.string, "chat.completion")
            let content = try XCTUnwrap(body["choices"]?[0]?["message"]?["content"]?.string)
            if key == "b" {
                XCTAssertEqual(content, #"{"emotion":"sad"}"#, "scripted answers apply to batch rows")
            } else {
                let answer = try WireJSON.decode(Array(content.utf8))
                XCTAssertEqual(answer.violations(of: try WireJSON.from(StandinServerTests.captionSchema)), [])
                XCTAssertTrue(answer["caption"]?.string?.contains("clip \(key)") == true, content)
            }
        }

        // The output file is a file of its own, purpose batch_output, listed newest first.
        let files = try await api.send("/v1/files", method: "GET", headers: Self.openAIAuth).json
        XCTAssertEqual(files["object"]?.string, "list")
        XCTAssertEqual(files["data"]?.array?.count, 2)
        XCTAssertEqual(files["data"]?[0]?["id"], done["output_file_id"])
        XCTAssertEqual(files["data"]?[0]?["purpose"]?.string, "batch_output")
        XCTAssertEqual(files["has_more"], .bool(false))
        let onlyBatch = try await api.send("/v1/files?purpose=batch", method: "GET", headers: Self.openAIAuth).json
        XCTAssertEqual(onlyBatch["data"]?.array?.count, 1)

        let s = try await batchStats()
        XCTAssertEqual(s["files_uploaded"]?["openai"]?.number, 1)
        XCTAssertEqual(s["jobs_created"]?["openai"]?.number, 1)
        XCTAssertEqual(s["job_create_calls"]?["openai"]?.number, 1)
        XCTAssertEqual(s["downloads_started"]?.number, 1)
        XCTAssertEqual(s["keys_submitted"]?.number, 3)
        XCTAssertEqual(s["keys_submitted_twice"]?.number, 0)

        let deleted = try await api.send("/v1/files/\(try XCTUnwrap(file["id"]?.string))", method: "DELETE", headers: Self.openAIAuth)
        XCTAssertEqual(try deleted.json["deleted"], .bool(true))
        let gone = try await api.send("/v1/files/\(try XCTUnwrap(file["id"]?.string))", method: "GET", headers: Self.openAIAuth)
        XCTAssertEqual(gone.status, 404)
    }

    func test_openai_job_with_a_delay_is_in_progress_until_then() async throws {
        try await script([["delay_ms": 3_600_000]])
        let id = try await submit(["a"])
        let job = try await batch(id)
        XCTAssertTrue(["validating", "in_progress"].contains(job["status"]?.string ?? ""), "\(job)")
        XCTAssertEqual(job["output_file_id"], .null)
        XCTAssertEqual(job["completed_at"], .null)
    }

    func test_openai_expired_job_keeps_its_done_rows_and_lists_the_others_as_expired() async throws {
        try await script([["expire": true, "done_fraction": 0.5]])
        let id = try await submit(["a", "b", "c", "d"])
        let job = try await batch(id)
        XCTAssertEqual(job["status"]?.string, "expired")
        XCTAssertNotNil(job["expired_at"]?.number)
        XCTAssertEqual(job["completed_at"], .null)
        XCTAssertEqual(job["request_counts"], try WireJSON.from(["total": 4, "completed": 2, "failed": 2]))
        let output = try await lines(job["output_file_id"])
        XCTAssertEqual(Set(output.keys), ["a", "b"])
        let errors = try await lines(job["error_file_id"])
        XCTAssertEqual(Set(errors.keys), ["c", "d"])
        for line in errors.values {
            XCTAssertEqual(line["response"], .null)
            XCTAssertEqual(line["error"]?["code"]?.string, "batch_expired")
            XCTAssertEqual(line["error"]?["message"]?.string, "This request could not be executed before the completion window expired.")
        }
    }

    func test_openai_whole_job_failure() async throws {
        try await script([["fail": true, "message": "The model is not available for batch."]])
        let id = try await submit(["a", "b"])
        let job = try await batch(id)
        XCTAssertEqual(job["status"]?.string, "failed")
        XCTAssertNotNil(job["failed_at"]?.number)
        XCTAssertEqual(job["errors"]?["object"]?.string, "list")
        XCTAssertEqual(job["errors"]?["data"]?[0]?["message"]?.string, "The model is not available for batch.")
        XCTAssertEqual(job["output_file_id"], .null)
        XCTAssertEqual(job["error_file_id"], .null)
    }

    func test_openai_completed_job_with_every_row_failed() async throws {
        try await script([["fail_rows": "all", "status": 500]])
        let id = try await submit(["a", "b", "c"])
        let job = try await batch(id)
        XCTAssertEqual(job["status"]?.string, "completed")
        XCTAssertEqual(job["output_file_id"], .null, "no successes, no output file")
        XCTAssertEqual(job["request_counts"], try WireJSON.from(["total": 3, "completed": 0, "failed": 3]))
        let errors = try await lines(job["error_file_id"])
        XCTAssertEqual(Set(errors.keys), ["a", "b", "c"])
        for line in errors.values {
            XCTAssertEqual(line["error"], .null)
            XCTAssertEqual(line["response"]?["status_code"]?.number, 500)
            XCTAssertNotNil(line["response"]?["body"]?["error"]?["message"]?.string)
            XCTAssertEqual(line["response"]?["body"]?["error"]?["type"]?.string, "server_error")
        }
    }

    func test_openai_scripted_faults_make_error_rows() async throws {
        try await api.script([["fault": "429", "times": 1]])
        let id = try await submit(["a", "b"])
        let job = try await batch(id)
        XCTAssertEqual(job["status"]?.string, "completed")
        XCTAssertEqual(job["request_counts"], try WireJSON.from(["total": 2, "completed": 1, "failed": 1]))
        let errors = try await lines(job["error_file_id"])
        XCTAssertEqual(errors["a"]?["response"]?["status_code"]?.number, 429)
        XCTAssertEqual(errors["a"]?["response"]?["body"]?["error"]?["code"]?.string, "rate_limit_exceeded")
        let output = try await lines(job["output_file_id"])
        XCTAssertEqual(Set(output.keys), ["b"])
    }

    func test_openai_lost_id_the_job_exists_and_is_listed_with_its_metadata() async throws {
        try await script([["lose_id": true]])
        let file = try await uploadedID(try Self.jsonl(["a", "b"]))
        do {
            let r = try await create(file, metadata: ["emocfg_job": "job-17"])
            XCTFail("the create call got an answer: \(r.status) \(r.text)")
        } catch {
            // The connection closed without an answer, as for a client killed right after submitting.
        }
        let list = try await api.send("/v1/batches", method: "GET", headers: Self.openAIAuth).json
        XCTAssertEqual(list["object"]?.string, "list")
        let jobs = try XCTUnwrap(list["data"]?.array)
        XCTAssertEqual(jobs.count, 1)
        XCTAssertEqual(jobs[0]["metadata"]?["emocfg_job"]?.string, "job-17")
        XCTAssertEqual(jobs[0]["input_file_id"]?.string, file)
        XCTAssertEqual(jobs[0]["status"]?.string, "completed")
        let s = try await batchStats()
        XCTAssertEqual(s["jobs_created"]?["openai"]?.number, 1)
        XCTAssertEqual(s["job_create_calls"]?["openai"]?.number, 1)
        XCTAssertEqual(s["keys_submitted"]?.number, 2)
    }

    func test_openai_batches_list_pages_newest_first() async throws {
        var ids: [String] = []
        for i in 0..<3 { ids.append(try await submit(["k\(i)"])) }
        let first = try await api.send("/v1/batches?limit=2", method: "GET", headers: Self.openAIAuth).json
        XCTAssertEqual(first["data"]?.array?.compactMap { $0["id"]?.string }, [ids[2], ids[1]])
        XCTAssertEqual(first["has_more"], .bool(true))
        XCTAssertEqual(first["first_id"]?.string, ids[2])
        XCTAssertEqual(first["last_id"]?.string, ids[1])
        let second = try await api.send("/v1/batches?limit=2&after=\(ids[1])", method: "GET", headers: Self.openAIAuth).json
        XCTAssertEqual(second["data"]?.array?.compactMap { $0["id"]?.string }, [ids[0]])
        XCTAssertEqual(second["has_more"], .bool(false))
        let bad = try await api.send("/v1/batches?limit=101", method: "GET", headers: Self.openAIAuth)
        XCTAssertEqual(bad.status, 400)
    }

    func test_openai_limits_fail_a_job_over_them_and_reset_with_null() async throws {
        let r = try await api.send("/_standin/batch/limits", body: ["max_requests": 2])
        XCTAssertEqual(r.status, 200, r.text)
        let tooMany = try await batch(try await submit(["a", "b", "c"]))
        XCTAssertEqual(tooMany["status"]?.string, "failed")
        XCTAssertEqual(tooMany["errors"]?["data"]?[0]?["code"]?.string, "too_many_requests")
        XCTAssertEqual(tooMany["request_counts"]?["total"]?.number, 0)
        let fits = try await batch(try await submit(["a", "b"]))
        XCTAssertEqual(fits["status"]?.string, "completed")

        let content = try Self.jsonl(["a"])
        _ = try await api.send("/_standin/batch/limits", body: ["max_bytes": content.utf8.count - 1])
        let tooBig = try await batch(try await submit(["a"]))
        XCTAssertEqual(tooBig["status"]?.string, "failed")
        XCTAssertEqual(tooBig["errors"]?["data"]?[0]?["code"]?.string, "file_too_large")

        _ = try await api.send("/_standin/batch/limits", body: ["max_requests": NSNull(), "max_bytes": NSNull()])
        let limits = try await api.send("/_standin/batch", method: "GET").json["limits"]
        XCTAssertEqual(limits?["max_requests"]?.number, 50_000)
        XCTAssertEqual(limits?["max_bytes"]?.number, 200 * 1024 * 1024)
        let again = try await batch(try await submit(["a", "b", "c"]))
        XCTAssertEqual(again["status"]?.string, "completed")
        let submitted = try await batchStats()["keys_submitted"]?.number
        XCTAssertEqual(submitted, 5, "the keys of the jobs that failed validation were never run")
    }

    func test_openai_cancel_keeps_the_rows_done_and_lists_the_others_as_cancelled() async throws {
        try await script([["delay_ms": 3_600_000, "done_fraction": 0.5]])
        let id = try await submit(["a", "b", "c", "d"])
        let cancel = try await api.send("/v1/batches/\(id)/cancel", headers: Self.openAIAuth)
        XCTAssertEqual(cancel.status, 200, cancel.text)
        XCTAssertEqual(try cancel.json["status"]?.string, "cancelling")
        XCTAssertNotNil(try cancel.json["cancelling_at"]?.number)
        let job = try await batch(id)
        XCTAssertEqual(job["status"]?.string, "cancelled")
        XCTAssertNotNil(job["cancelled_at"]?.number)
        let output = try await lines(job["output_file_id"])
        XCTAssertEqual(Set(output.keys), ["a", "b"])
        let errors = try await lines(job["error_file_id"])
        XCTAssertEqual(Set(errors.keys), ["c", "d"])
        XCTAssertEqual(errors["c"]?["error"]?["code"]?.string, "batch_cancelled")
        let again = try await api.send("/v1/batches/\(id)/cancel", headers: Self.openAIAuth)
        XCTAssertEqual(again.status, 400, "an ended batch cannot be cancelled")
    }

    func test_keys_submitted_in_more_than_one_job_are_counted() async throws {
        _ = try await batch(try await submit(["a", "b", "c"]))
        _ = try await batch(try await submit(["b", "c", "d"]))
        let s = try await batchStats()
        XCTAssertEqual(s["keys_submitted"]?.number, 6)
        XCTAssertEqual(s["keys_submitted_twice"]?.number, 2)
        let keys = try await api.send("/_standin/batch/keys", method: "GET").json
        XCTAssertEqual(keys, try WireJSON.from(["a": 1, "b": 2, "c": 2, "d": 1]))

        let reset = try await api.send("/_standin/reset")
        XCTAssertEqual(reset.status, 200)
        let cleared = try await batchStats()
        XCTAssertEqual(cleared["keys_submitted"]?.number, 0)
        let list = try await api.send("/v1/batches", method: "GET", headers: Self.openAIAuth).json
        XCTAssertEqual(list["data"]?.array?.count, 0)
    }

    func test_openai_bad_input_gets_the_providers_error_shapes() async throws {
        // A purpose other than batch: a 400 in OpenAI's error shape.
        let wrongPurpose = try await upload(try Self.jsonl(["a"]), purpose: "fine-tune")
        XCTAssertEqual(wrongPurpose.status, 400)
        let error = try XCTUnwrap(try wrongPurpose.json["error"])
        XCTAssertNotNil(error["message"]?.string)
        XCTAssertEqual(error["type"]?.string, "invalid_request_error")
        XCTAssertNotNil(error["param"])
        XCTAssertNotNil(error["code"])

        let noKey = try await api.send("/v1/batches", method: "GET")
        XCTAssertEqual(noKey.status, 401)
        let unknownFile = try await create("file-999")
        XCTAssertEqual(unknownFile.status, 404)
        XCTAssertNotNil(try unknownFile.json["error"]?["message"]?.string)
        let noWindow = try await api.send("/v1/batches", body: ["input_file_id": "file-1", "endpoint": "/v1/chat/completions", "completion_window": "1h"],
                                          headers: Self.openAIAuth)
        XCTAssertEqual(noWindow.status, 400)

        // Duplicate custom_id and a url other than the endpoint: the job fails validation.
        let duplicate = try [Self.openAILine("a", "x"), Self.openAILine("a", "y")].joined(separator: "\n")
        let created = try await create(try await uploadedID(duplicate))
        XCTAssertEqual(created.status, 200, created.text)
        let dup = try await batch(try XCTUnwrap(try created.json["id"]?.string))
        XCTAssertEqual(dup["status"]?.string, "failed")
        XCTAssertEqual(dup["in_progress_at"], .null)
        let dupError = try XCTUnwrap(dup["errors"]?["data"]?[0])
        XCTAssertEqual(dupError["code"]?.string, "duplicate_custom_id")
        XCTAssertEqual(dupError["line"]?.number, 2)
        XCTAssertEqual(dupError["param"]?.string, "custom_id")

        let wrongURL = try [Self.openAILine("a", "x"), Self.openAILine("b", "y", url: "/v1/completions")].joined(separator: "\n")
        let wrong = try await createdAndRead(wrongURL)
        XCTAssertEqual(wrong["status"]?.string, "failed")
        XCTAssertEqual(wrong["errors"]?["data"]?[0]?["code"]?.string, "mismatched_url")
        XCTAssertEqual(wrong["errors"]?["data"]?[0]?["line"]?.number, 2)

        let notJSON = try await createdAndRead("{\"custom_id\": \n")
        XCTAssertEqual(notJSON["status"]?.string, "failed")
        let submitted = try await batchStats()["keys_submitted"]?.number
        XCTAssertEqual(submitted, 0)
    }

    func test_stalls_delay_the_answer_after_the_work_is_done() async throws {
        _ = try await api.send("/_standin/batch/stall", body: ["upload_ms": 5_000, "create_ms": 5_000])
        let boundary = "b"
        let body = "--b\r\nContent-Disposition: form-data; name=\"purpose\"\r\n\r\nbatch\r\n--b\r\nContent-Disposition: form-data; name=\"file\"; filename=\"x.jsonl\"\r\n\r\n\(try Self.jsonl(["a"]))\r\n--b--\r\n"
        var request = HTTPClientRequest(url: process.baseURL + "/v1/files")
        request.method = .POST
        request.headers.add(name: "Authorization", value: "Bearer sk-test")
        request.headers.add(name: "Content-Type", value: "multipart/form-data; boundary=\(boundary)")
        request.body = .bytes(ByteBuffer(string: body))
        _ = try? await client.execute(request, timeout: .milliseconds(300))
        let files = try await api.send("/v1/files", method: "GET", headers: Self.openAIAuth).json
        XCTAssertEqual(files["data"]?.array?.count, 1, "the file was stored before the answer")
        let stall = try await api.send("/_standin/batch", method: "GET").json["stall"]
        XCTAssertEqual(stall?["upload_ms"]?.number, 5_000)
        XCTAssertEqual(stall?["create_ms"]?.number, 5_000)
    }

    // MARK: - Gemini helpers

    static func geminiRequest(_ text: String) -> [String: Any] {
        ["contents": [["role": "user", "parts": [["text": text]]]],
         "generationConfig": ["responseMimeType": "application/json", "responseSchema": StandinServerTests.geminiJudgeSchema]]
    }

    func geminiCreate(_ batchBody: [String: Any], model: String = "gemini-2.5-flash") async throws -> StandinAPI.Exchange {
        try await api.send("/v1beta/models/\(model):batchGenerateContent", body: ["batch": batchBody], headers: Self.geminiAuth)
    }

    func geminiInline(_ keys: [String], displayName: String = "emocfg-test") async throws -> String {
        let requests = keys.map { ["request": Self.geminiRequest("Judge clip \($0)"), "metadata": ["key": $0]] }
        let r = try await geminiCreate(["displayName": displayName, "inputConfig": ["requests": ["requests": requests]]])
        XCTAssertEqual(r.status, 200, r.text)
        XCTAssertEqual(try r.json["metadata"]?["state"]?.string, "BATCH_STATE_PENDING")
        return try XCTUnwrap(r.json["name"]?.string, r.text)
    }

    func operation(_ name: String) async throws -> WireJSON {
        let r = try await api.send("/v1beta/\(name)", method: "GET", headers: Self.geminiAuth)
        XCTAssertEqual(r.status, 200, r.text)
        return try r.json
    }

    func geminiUpload(_ content: String, displayName: String) async throws -> WireJSON {
        let start = try await api.send("/upload/v1beta/files", body: ["file": ["displayName": displayName]], headers: Self.geminiAuth + [
            ("X-Goog-Upload-Protocol", "resumable"), ("X-Goog-Upload-Command", "start"),
            ("X-Goog-Upload-Header-Content-Length", String(content.utf8.count)), ("X-Goog-Upload-Header-Content-Type", "application/jsonl"),
        ])
        XCTAssertEqual(start.status, 200, start.text)
        XCTAssertEqual(start.header("x-goog-upload-status"), "active")
        let url = try XCTUnwrap(start.header("x-goog-upload-url"))
        XCTAssertTrue(url.hasPrefix(process.baseURL + "/upload/v1beta/files?"), url)
        let path = String(url.dropFirst(process.baseURL.count))
        let done = try await api.send(path, raw: Array(content.utf8), headers: [
            ("X-Goog-Upload-Command", "upload, finalize"), ("X-Goog-Upload-Offset", "0"),
        ])
        XCTAssertEqual(done.status, 200, done.text)
        XCTAssertEqual(done.header("x-goog-upload-status"), "final")
        return try XCTUnwrap(try done.json["file"], done.text)
    }

    // MARK: - Gemini

    func test_gemini_inline_batch_answers_in_input_order_with_metadata() async throws {
        let name = try await geminiInline(["a", "b", "c"], displayName: "run-1")
        XCTAssertTrue(name.hasPrefix("batches/"))
        let op = try await operation(name)
        XCTAssertEqual(op["name"]?.string, name)
        XCTAssertEqual(op["done"], .bool(true))
        XCTAssertNil(op["error"])
        let meta = try XCTUnwrap(op["metadata"])
        XCTAssertEqual(meta["@type"]?.string, "type.googleapis.com/google.ai.generativelanguage.v1beta.GenerateContentBatch")
        XCTAssertEqual(meta["model"]?.string, "models/gemini-2.5-flash")
        XCTAssertEqual(meta["displayName"]?.string, "run-1")
        XCTAssertEqual(meta["state"]?.string, "BATCH_STATE_SUCCEEDED")
        XCTAssertEqual(meta["batchStats"]?["requestCount"]?.string, "3", "int64 as a string")
        XCTAssertEqual(meta["batchStats"]?["successfulRequestCount"]?.string, "3")
        for field in ["createTime", "updateTime", "endTime"] {
            XCTAssertNotNil(meta[field]?.string.flatMap { ISO8601DateFormatter.withFractions.date(from: $0) }, field)
        }
        let response = try XCTUnwrap(op["response"])
        XCTAssertEqual(response["@type"]?.string, "type.googleapis.com/google.ai.generativelanguage.v1beta.GenerateContentBatchOutput")
        let answers = try XCTUnwrap(response["inlinedResponses"]?["inlinedResponses"]?.array)
        XCTAssertEqual(answers.compactMap { $0["metadata"]?["key"]?.string }, ["a", "b", "c"])
        for (key, answer) in zip(["a", "b", "c"], answers) {
            let text = try XCTUnwrap(answer["response"]?["candidates"]?[0]?["content"]?["parts"]?[0]?["text"]?.string)
            let verdict = try WireJSON.decode(Array(text.utf8))
            XCTAssertEqual(verdict.violations(of: try WireJSON.from(StandinServerTests.geminiJudgeSchema)), [], key)
        }
        XCTAssertEqual(meta["output"]?["inlinedResponses"], response["inlinedResponses"], "the same output under metadata.output")
        let submitted = try await batchStats()["keys_submitted"]?.number
        XCTAssertEqual(submitted, 3)
    }

    func test_gemini_pending_job_is_not_done() async throws {
        try await script([["delay_ms": 3_600_000, "provider": "gemini"]])
        let name = try await geminiInline(["a"])
        let op = try await operation(name)
        XCTAssertNotEqual(op["done"], .bool(true))
        XCTAssertNil(op["response"])
        XCTAssertTrue(["BATCH_STATE_PENDING", "BATCH_STATE_RUNNING"].contains(op["metadata"]?["state"]?.string ?? ""))
        XCTAssertEqual(op["metadata"]?["batchStats"]?["pendingRequestCount"]?.string, "1")
    }

    func test_gemini_file_input_gives_a_responses_file_keyed_by_line() async throws {
        let lines = try ["a", "b"].map { key -> String in
            String(decoding: try JSONSerialization.data(withJSONObject: ["key": key, "request": Self.geminiRequest("Judge clip \(key)")], options: .sortedKeys), as: UTF8.self)
        }
        let content = lines.joined(separator: "\n") + "\n"
        let file = try await geminiUpload(content, displayName: "emocfg-input-1")
        let fileName = try XCTUnwrap(file["name"]?.string)
        XCTAssertTrue(fileName.hasPrefix("files/"))
        XCTAssertEqual(file["displayName"]?.string, "emocfg-input-1")
        XCTAssertEqual(file["mimeType"]?.string, "application/jsonl")
        XCTAssertEqual(file["sizeBytes"]?.string, String(content.utf8.count))
        XCTAssertEqual(file["state"]?.string, "ACTIVE")
        XCTAssertEqual(file["source"]?.string, "UPLOADED")
        XCTAssertEqual(file["sha256Hash"]?.string.flatMap { Data(base64Encoded: $0) }?.count, 32)
        for field in ["createTime", "updateTime", "expirationTime", "uri"] { XCTAssertNotNil(file[field]?.string, field) }

        let listed = try await api.send("/v1beta/files", method: "GET", headers: Self.geminiAuth).json
        XCTAssertEqual(listed["files"]?[0]?["name"]?.string, fileName)
        let got = try await api.send("/v1beta/\(fileName)", method: "GET", headers: Self.geminiAuth).json
        XCTAssertEqual(got["displayName"]?.string, "emocfg-input-1")

        let r = try await geminiCreate(["display_name": "run-file", "input_config": ["file_name": fileName]])
        XCTAssertEqual(r.status, 200, r.text)
        let op = try await operation(try XCTUnwrap(try r.json["name"]?.string))
        XCTAssertEqual(op["metadata"]?["state"]?.string, "BATCH_STATE_SUCCEEDED")
        let responses = try XCTUnwrap(op["response"]?["responsesFile"]?.string)
        XCTAssertEqual(op["metadata"]?["output"]?["responsesFile"]?.string, responses)
        let download = try await api.send("/download/v1beta/\(responses):download?alt=media", method: "GET", headers: Self.geminiAuth)
        XCTAssertEqual(download.status, 200)
        let out = try download.text.split(separator: "\n").map { try WireJSON.decode(Array($0.utf8)) }
        XCTAssertEqual(out.compactMap { $0["key"]?.string }, ["a", "b"])
        XCTAssertTrue(out.allSatisfy { $0["response"]?["candidates"]?[0]?["content"] != nil })
        let s = try await batchStats()
        XCTAssertEqual(s["files_uploaded"]?["gemini"]?.number, 1)
        XCTAssertEqual(s["downloads_started"]?.number, 1)
    }

    func test_gemini_expired_job_has_its_done_rows_and_error_rows_for_the_rest() async throws {
        try await script([["expire": true, "done_fraction": 0.5, "provider": "gemini"]])
        let op = try await operation(try await geminiInline(["a", "b", "c", "d"]))
        XCTAssertEqual(op["done"], .bool(true))
        XCTAssertEqual(op["metadata"]?["state"]?.string, "BATCH_STATE_EXPIRED")
        let rows = try XCTUnwrap(op["response"]?["inlinedResponses"]?["inlinedResponses"]?.array)
        XCTAssertEqual(rows.count, 4)
        XCTAssertNotNil(rows[0]["response"])
        XCTAssertNotNil(rows[1]["response"])
        XCTAssertEqual(rows[2]["error"]?["status"]?.string, "DEADLINE_EXCEEDED")
        XCTAssertEqual(rows[3]["metadata"]?["key"]?.string, "d")
        XCTAssertEqual(op["metadata"]?["batchStats"]?["successfulRequestCount"]?.string, "2")
        XCTAssertEqual(op["metadata"]?["batchStats"]?["failedRequestCount"]?.string, "2")
    }

    func test_gemini_whole_job_failure_is_done_with_an_error() async throws {
        try await script([["fail": true, "message": "Batch failed.", "provider": "gemini"]])
        let op = try await operation(try await geminiInline(["a"]))
        XCTAssertEqual(op["done"], .bool(true))
        XCTAssertEqual(op["metadata"]?["state"]?.string, "BATCH_STATE_FAILED")
        XCTAssertEqual(op["error"]?["message"]?.string, "Batch failed.")
        XCTAssertNotNil(op["error"]?["code"]?.number)
        XCTAssertNil(op["response"])
    }

    func test_gemini_succeeded_job_with_every_row_failed() async throws {
        try await script([["fail_rows": "all", "status": 503, "provider": "gemini"]])
        let op = try await operation(try await geminiInline(["a", "b"]))
        XCTAssertEqual(op["metadata"]?["state"]?.string, "BATCH_STATE_SUCCEEDED")
        XCTAssertEqual(op["metadata"]?["batchStats"]?["failedRequestCount"]?.string, "2")
        XCTAssertNil(op["metadata"]?["batchStats"]?["successfulRequestCount"], "zero counts are left out, as proto3 JSON does")
        let rows = try XCTUnwrap(op["response"]?["inlinedResponses"]?["inlinedResponses"]?.array)
        for row in rows {
            XCTAssertNil(row["response"])
            XCTAssertEqual(row["error"]?["code"]?.number, 503)
            XCTAssertEqual(row["error"]?["status"]?.string, "UNAVAILABLE")
            XCTAssertNotNil(row["error"]?["message"]?.string)
        }
    }

    func test_gemini_lost_id_the_job_is_listed_with_its_display_name() async throws {
        try await script([["lose_id": true, "provider": "gemini"]])
        do {
            let r = try await geminiCreate(["displayName": "emocfg-job-42", "inputConfig": ["requests": ["requests": [
                ["request": Self.geminiRequest("x"), "metadata": ["key": "k1"]]]]]])
            XCTFail("the create call got an answer: \(r.status) \(r.text)")
        } catch {}
        let list = try await api.send("/v1beta/batches", method: "GET", headers: Self.geminiAuth).json
        let ops = try XCTUnwrap(list["operations"]?.array)
        XCTAssertEqual(ops.count, 1)
        XCTAssertEqual(ops[0]["metadata"]?["displayName"]?.string, "emocfg-job-42")
        let keys = try await api.send("/_standin/batch/keys", method: "GET").json
        XCTAssertEqual(keys, try WireJSON.from(["k1": 1]))
    }

    func test_gemini_batches_list_pages_with_tokens() async throws {
        var names: [String] = []
        for i in 0..<3 { names.append(try await geminiInline(["k\(i)"])) }
        let first = try await api.send("/v1beta/batches?pageSize=2", method: "GET", headers: Self.geminiAuth).json
        XCTAssertEqual(first["operations"]?.array?.compactMap { $0["name"]?.string }, [names[2], names[1]])
        let token = try XCTUnwrap(first["nextPageToken"]?.string)
        let second = try await api.send("/v1beta/batches?pageSize=2&pageToken=\(token)", method: "GET", headers: Self.geminiAuth).json
        XCTAssertEqual(second["operations"]?.array?.compactMap { $0["name"]?.string }, [names[0]])
        XCTAssertNil(second["nextPageToken"])
    }

    func test_gemini_cancel_then_cancelled() async throws {
        try await script([["delay_ms": 3_600_000, "done_fraction": 0.5, "provider": "gemini"]])
        let name = try await geminiInline(["a", "b"])
        let cancel = try await api.send("/v1beta/\(name):cancel", headers: Self.geminiAuth)
        XCTAssertEqual(cancel.status, 200, cancel.text)
        XCTAssertEqual(try cancel.json, .object([:]))
        let op = try await operation(name)
        XCTAssertEqual(op["done"], .bool(true))
        XCTAssertEqual(op["metadata"]?["state"]?.string, "BATCH_STATE_CANCELLED")
        XCTAssertEqual(op["error"]?["code"]?.number, 1, "google.rpc.Code CANCELLED")
        let rows = try XCTUnwrap(op["metadata"]?["output"]?["inlinedResponses"]?["inlinedResponses"]?.array)
        XCTAssertNotNil(rows[0]["response"])
        XCTAssertEqual(rows[1]["error"]?["status"]?.string, "CANCELLED")
    }

    func test_gemini_inline_requests_over_the_limit_and_bad_input_get_400s() async throws {
        _ = try await api.send("/_standin/batch/limits", body: ["max_inline_bytes": 200])
        let big = try await geminiCreate(["displayName": "big", "inputConfig": ["requests": ["requests": [
            ["request": Self.geminiRequest(String(repeating: "x", count: 300)), "metadata": ["key": "k"]]]]]])
        XCTAssertEqual(big.status, 400)
        XCTAssertEqual(try big.json["error"]?["status"]?.string, "INVALID_ARGUMENT")
        XCTAssertEqual(try big.json["error"]?["code"]?.number, 400)
        _ = try await api.send("/_standin/batch/limits", body: ["max_inline_bytes": NSNull()])
        let noInput = try await geminiCreate(["displayName": "none"])
        XCTAssertEqual(noInput.status, 400)
        let noKey = try await api.send("/v1beta/batches", method: "GET")
        XCTAssertEqual(noKey.status, 401)
        XCTAssertEqual(try noKey.json["error"]?["status"]?.string, "UNAUTHENTICATED")
        let missing = try await api.send("/v1beta/batches/999", method: "GET", headers: Self.geminiAuth)
        XCTAssertEqual(missing.status, 404)
        let s = try await batchStats()
        XCTAssertNil(s["jobs_created"]?["gemini"], "no job for a refused create call")
    }
}

private extension ISO8601DateFormatter {
    static var withFractions: ISO8601DateFormatter {
        let f = ISO8601DateFormatter()
        f.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        return f
    }
}
