import Foundation

/// The command line of `emocfg-standin`.
struct StandinOptions: Sendable {
    static let usage = """
        usage: emocfg-standin [--port N] [--host 127.0.0.1|::1|localhost] [--port-file PATH]
                              [--key VALUE | --key-env VARIABLE] [--latency-ms N] [--rpm N] [--capacity N] [--threads N]

        A local stand-in for the OpenAI chat-completions and Gemini generateContent APIs, on loopback only.
          --port N          port to listen on; 0 (the default) takes any free port
          --port-file PATH  write the port there once listening
          --key VALUE       the only API key accepted (default: any non-empty key)
          --key-env NAME    read that key from the environment variable NAME instead
          --latency-ms N    delay every answer by N ms
          --rpm N           answer 429 once more than N requests arrive in 60 s
          --capacity N      a hidden concurrency limit: answer 429 (without Retry-After) to a request that
                            arrives while N requests of its model are being answered, as an overloaded
                            self-hosted server or an unknown provider tier does
          --text-only       refuse images as llama.cpp's server does without a vision projector (HTTP 500
                            "image input is not supported …"); GET /props says modalities.vision false
          --served-model M  report M as the model that answered (OpenAI `model`, Gemini `modelVersion`)
                            instead of the requested name, as a router or a local server does
        Control: GET /_standin/stats, POST /_standin/faults, GET /_standin/faults, POST /_standin/reset,
          GET /_standin/stats     requests, distinct_requests (by digest of path and body),
                                  repeated_requests, repeated_after_delivery, by path/model/status, …
          GET /_standin/digests   {"<digest>": {"arrived": n, "delivered": n, "arrived_at": [ms], "delivered_at":
                                  [ms]}} per distinct request (wall-clock ms since 1970)
          POST /_standin/faults   [{"fault": "429"|"500"|…|"slow"|"drop"|"truncated"|"schema_violation"|
                                  "empty"|"echo_key", "times": 1, "model": "…", "every": 1}]; every N faults
                                  only each N-th matching request; echo_key answers 200
                                  with a plain-text body that repeats the request's key
          POST /_standin/capacity {"concurrent": N} sets (or with null removes) the hidden concurrency limit
          POST /_standin/outage   {"seconds": S, "status": 503}: every provider request in the next S seconds
                                  is answered with that status (an outage); counted as outage_refused
          POST /_standin/answers  script answer texts: [{"model": "judge-a", "content": {...}, "times": 1,
                                  "match": "substring"}]; the next matching requests get content as
                                  their answer (times -1: until reset; faults come first)
          GET /_standin/answers   the scripted answers still pending
        Batch lane (OpenAI Batch API under /v1/files and /v1/batches; Gemini Batch Mode under
          /v1beta/models/{m}:batchGenerateContent, /v1beta/batches, /v1beta/files, /upload/v1beta/files
          (resumable), /download/v1beta/files/{id}:download). Rows are answered like chat requests
          (faults and scripted answers apply) when a job ends; a job advances when it is read.
          POST /_standin/batch    scripts for the next jobs created, in order: [{"delay_ms": N} |
                                  {"expire": true, "done_fraction": 0.5} | {"fail": true, "message": "…"} |
                                  {"fail_rows": "all"|0.5, "status": 500} | {"lose_id": true}, with
                                  "times": n and "provider": "openai"|"gemini"]; delay_ms (default 0) is
                                  the time from creation to the end state; done_fraction also sets the
                                  rows a cancel keeps; lose_id creates the job and closes the connection
          GET /_standin/batch     pending scripts, limits and stalls
          POST /_standin/batch/limits  {"max_requests": N, "max_bytes": N, "max_inline_bytes": N}
                                  (null: the documented 50,000 requests, 200 MB, 20 MB inline)
          POST /_standin/batch/stall   {"upload_ms": N, "create_ms": N, "download_ms": N}: delay the
                                  answer of each upload, job creation and result download after the
                                  server has done its part (0 removes)
          GET /_standin/batch/keys     {"<custom_id or key>": times submitted in created jobs}
          GET /_standin/stats     … and "batch": files_uploaded, jobs_created, job_create_calls (per
                                  provider), downloads_started, keys_submitted, keys_submitted_twice
          POST /_standin/reset    clears the batch files, jobs, scripts, limits and stalls too
        """

    var host = "127.0.0.1"
    var port = 0
    var portFile: String?
    var key: String?
    var latencyMs = 0
    var rpm: Int?
    var capacity: Int?
    var textOnly = false
    var servedModel: String?
    var threads = max(1, min(ProcessInfo.processInfo.activeProcessorCount, 4))

    struct Invalid: Error { let message: String }

    init() {}

    init(arguments: [String], environment: [String: String]) throws {
        var rest = arguments[...]
        func value(_ flag: String) throws -> String {
            guard let v = rest.popFirst() else { throw Invalid(message: "\(flag) needs a value") }
            return v
        }
        func number(_ flag: String, min low: Int) throws -> Int {
            let v = try value(flag)
            guard let n = Int(v), n >= low else { throw Invalid(message: "\(flag) '\(v)': expected a whole number ≥ \(low)") }
            return n
        }
        while let flag = rest.popFirst() {
            switch flag {
            case "--port":
                port = try number(flag, min: 0)
                guard port <= 65535 else { throw Invalid(message: "--port '\(port)': expected 0…65535") }
            case "--host": host = try value(flag)
            case "--port-file": portFile = try value(flag)
            case "--key": key = try value(flag)
            case "--key-env":
                let name = try value(flag)
                guard let k = environment[name], !k.isEmpty else { throw Invalid(message: "--key-env \(name): the variable is not set") }
                key = k
            case "--latency-ms": latencyMs = try number(flag, min: 0)
            case "--rpm": rpm = try number(flag, min: 1)
            case "--capacity": capacity = try number(flag, min: 1)
            case "--threads": threads = try number(flag, min: 1)
            case "--text-only": textOnly = true
            case "--served-model": servedModel = try value(flag)
            default: throw Invalid(message: "unknown option '\(flag)'")
            }
        }
        // The stand-in answers anyone who can connect, so it never listens beyond this machine.
        let loopback = ["127.0.0.1", "::1", "localhost"]
        let parts = host.split(separator: ".", omittingEmptySubsequences: false)
        let isLoopbackV4 = parts.count == 4 && parts[0] == "127" && parts.allSatisfy { UInt8($0) != nil }
        guard loopback.contains(host) || isLoopbackV4 else {
            throw Invalid(message: "--host '\(host)': the stand-in binds loopback only (127.0.0.1, ::1 or localhost)")
        }
        if host == "localhost" { host = "127.0.0.1" }
    }
}
