import Foundation

/// `pipeline.yaml`: the models, which model each stage uses, frame settings, and the critic's and
/// export's settings.
///
/// ```yaml
/// models:
///   vision:
///     provider: openai              # openai (any chat-completions server) | gemini
///     base_url: https://api.openai.com/v1
///     model: gpt-4o-mini
///     key_env: OPENAI_API_KEY       # the key is read from this variable, never from a file
///     json_mode: schema             # schema | object | prompt (how the answer's JSON is asked for)
///     max_concurrency: 8              # the most at once; below it the client finds what the server takes
///     adaptive_concurrency: true      # false: always max_concurrency at once
///     requests_per_minute: 500
///     tokens_per_minute: 200000
///     price_per_million_input: 0.15
///     price_per_million_output: 0.60
/// stages:
///   caption: vision
///   qa: text
///   rationale: text
/// frames: {count: 16, pixel_budget: 100352, face_crop: false, margin: 0.25}
/// ```
public struct PipelineConfig: Sendable {
    public var file: String
    public var models: [String: ModelConfig]
    /// Stage name → model alias.
    public var stages: [String: String]
    public var frames: FrameSettings
    /// The critic's and export's sections, kept as read for the stages that use them.
    public var critic: ConfigReader?
    public var export: ConfigReader?
    /// Checks of generated content beyond the schemas (`gates:`).
    public var gates = ContentGates()
    /// The batch lane (`batch:`): which stages use it without `--batch`, and how often jobs are polled.
    public var batch = BatchSettings()

    public static let topLevelKeys = ["models", "stages", "frames", "critic", "export", "gates", "batch"]
    public static let stageNames = ["caption", "qa", "rationale", "tree", "rewrite"]

    /// `keepUnsetVariables`: a `${NAME}` the environment lacks stays as written instead of being an
    /// error, for commands that send no request and only show the models (export's dataset card).
    public static func load(_ url: URL, environment: [String: String] = ProcessInfo.processInfo.environment,
                            keepUnsetVariables: Bool = false) throws -> PipelineConfig {
        let text: String
        do { text = try String(contentsOf: url, encoding: .utf8) } catch {
            throw ConfigError(file: url.path, line: nil, key: nil, message: "cannot read the file: \(error.localizedDescription)")
        }
        return try parse(yaml: text, file: url.path, environment: environment, keepUnsetVariables: keepUnsetVariables)
    }

    public static func parse(yaml: String, file: String, environment: [String: String] = [:],
                             keepUnsetVariables: Bool = false) throws -> PipelineConfig {
        let root = ConfigReader(file: file, value: try ConfigValue.parse(yaml: yaml, file: file))
        _ = try root.requireMap(allowed: topLevelKeys)
        var models: [String: ModelConfig] = [:]
        if let m = root.child("models") {
            for e in try m.requireMap(allowed: m.value.entries?.map(\.key) ?? []) {
                models[e.key] = try ModelConfig(alias: e.key, reader: ConfigReader(file: file, path: ["models", e.key], value: e.value),
                                                 environment: environment, keepUnsetVariables: keepUnsetVariables)
            }
        }
        var stages: [String: String] = [:]
        if let s = root.child("stages") {
            for e in try s.requireMap(allowed: stageNames) {
                guard let alias = e.value.string else {
                    throw s.error("expected a model name from 'models', found \(e.value.shapeName)", key: e.key, line: e.keyLine)
                }
                guard models[alias] != nil else {
                    throw s.error("'\(alias)' is not one of the models: \(models.keys.sorted().joined(separator: ", "))", key: e.key, line: e.value.line)
                }
                stages[e.key] = alias
            }
        }
        var frames = FrameSettings()
        if let f = root.child("frames") {
            _ = try f.requireMap(allowed: ["count", "pixel_budget", "face_crop", "margin", "jpeg_quality"])
            frames.count = try f.int("count", range: 1...256) ?? frames.count
            frames.pixelBudget = try f.int("pixel_budget", range: 1024...16_777_216) ?? frames.pixelBudget
            frames.faceCrop = try f.bool("face_crop") ?? frames.faceCrop
            frames.margin = try f.double("margin") ?? frames.margin
            frames.jpegQuality = try f.int("jpeg_quality", range: 1...31) ?? frames.jpegQuality
        }
        var config = PipelineConfig(file: file, models: models, stages: stages, frames: frames,
                                    critic: root.child("critic"), export: root.child("export"))
        config.gates = try ContentGates.read(root.child("gates"))
        if let b = root.child("batch") {
            _ = try b.requireMap(allowed: ["stages", "poll_seconds", "max_poll_seconds"])
            if let items = try b.stringList("stages") {
                let known = stageNames + ["verify"]
                if let bad = items.first(where: { !known.contains($0) }) {
                    throw b.error("'\(bad)' is not a stage that calls models; expected some of: \(known.joined(separator: ", "))",
                                  key: "stages", line: b.value["stages"]?.line)
                }
                config.batch.stages = Set(items)
            }
            config.batch.pollSeconds = try b.double("poll_seconds", range: 0.01...3600) ?? config.batch.pollSeconds
            config.batch.maxPollSeconds = try b.double("max_poll_seconds", range: 0.01...86_400) ?? config.batch.maxPollSeconds
            config.batch.maxPollSeconds = max(config.batch.maxPollSeconds, config.batch.pollSeconds)
        }
        return config
    }

    /// The model a stage uses; an error naming the file when the stage has none.
    public func model(forStage stage: String) throws -> ModelConfig {
        // The tree stage reads the rationale's text: a pipeline file written before it existed
        // uses the rationale's model for it.
        let named = stages[stage] ?? (stage == "tree" ? stages["rationale"] : nil)
        guard let alias = named, let m = models[alias] else {
            throw ConfigError(file: file, line: nil, key: "stages.\(stage)",
                              message: "names no model; add `\(stage): <model>` under stages (models: \(models.keys.sorted().joined(separator: ", ")))")
        }
        return m
    }
}

/// How frames are sampled for vision requests.
public struct FrameSettings: Sendable, Equatable {
    public var count = 16
    public var pixelBudget = 100_352
    public var faceCrop = false
    public var margin = 0.25
    /// libavcodec's mjpeg qscale (2 = best, 31 = worst).
    public var jpegQuality = 5
    public init() {}
}

/// One model endpoint: where it is, how to authenticate, its limits and prices.
public struct ModelConfig: Sendable, Equatable {
    public enum Provider: String, Sendable {
        /// OpenAI chat completions and every server that speaks it (vLLM, SGLang, Ollama, llama.cpp).
        case openai
        /// Google Gemini `generateContent`.
        case gemini
    }

    /// How the answer's JSON is asked for (OpenAI-compatible servers differ).
    public enum JSONMode: String, Sendable {
        /// `response_format: {type: json_schema, json_schema: {…, strict: true}}`.
        case schema
        /// `response_format: {type: json_object}` and the schema in the prompt.
        case object
        /// No `response_format`; the schema in the prompt (servers without JSON support).
        case prompt
    }

    public var alias: String
    public var provider: Provider
    public var baseURL: String
    public var model: String
    public var keyEnv: String?
    public var jsonMode: JSONMode
    public var maxConcurrency: Int
    public var requestsPerMinute: Int?
    public var tokensPerMinute: Int?
    public var pricePerMillionInput: Double
    public var pricePerMillionOutput: Double
    public var maxAttempts: Int
    public var timeoutSeconds: Double
    public var temperature: Double?
    public var maxOutputTokens: Int
    /// Tokens one image costs, for estimates when the server reports no usage.
    public var imageTokens: Int
    /// How far an answer cut off at `max_output_tokens` may be retried with a doubled limit.
    public var maxOutputTokensCeiling: Int
    /// Find the concurrency the server takes by itself, up to `maxConcurrency` (see `RateLimiter`);
    /// false sends `maxConcurrency` at once throughout.
    public var adaptiveConcurrency = true
    /// `mode: batch`: every request of this model goes through the batch lane (also without `--batch`);
    /// `mode: online`: never (a local server without a batch API), even with `--batch`; unset: as the run says.
    public var mode: Lane?
    /// Batch prices (default: half the online prices, as both providers sell batch).
    public var batchPricePerMillionInput: Double?
    public var batchPricePerMillionOutput: Double?
    /// Limits of one batch job: the providers' documented ones unless set lower.
    public var batchMaxRequests = 50_000
    public var batchMaxBytes: Int
    /// Gemini: jobs up to this size send their requests inline, larger ones as an uploaded file.
    public var batchMaxInlineBytes = 20_000_000

    /// How a model's requests are sent.
    public enum Lane: String, Sendable, Equatable { case online, batch }

    public static let allowedKeys = [
        "provider", "base_url", "model", "key_env", "json_mode", "max_concurrency", "requests_per_minute",
        "tokens_per_minute", "price_per_million_input", "price_per_million_output", "max_attempts", "timeout_seconds",
        "temperature", "max_output_tokens", "max_output_tokens_ceiling", "image_tokens", "adaptive_concurrency",
        "mode", "batch_price_per_million_input", "batch_price_per_million_output", "batch_max_requests", "batch_max_bytes",
        "batch_max_inline_bytes",
    ]

    public init(alias: String, provider: Provider, baseURL: String, model: String, keyEnv: String?,
                jsonMode: JSONMode = .schema, maxConcurrency: Int = 4, requestsPerMinute: Int? = nil,
                tokensPerMinute: Int? = nil, pricePerMillionInput: Double = 0, pricePerMillionOutput: Double = 0,
                maxAttempts: Int = 5, timeoutSeconds: Double = 120, temperature: Double? = 0.2,
                maxOutputTokens: Int = 1024, imageTokens: Int = 258, maxOutputTokensCeiling: Int? = nil) {
        self.alias = alias
        self.provider = provider
        self.baseURL = baseURL
        self.model = model
        self.keyEnv = keyEnv
        self.jsonMode = jsonMode
        self.maxConcurrency = maxConcurrency
        self.requestsPerMinute = requestsPerMinute
        self.tokensPerMinute = tokensPerMinute
        self.pricePerMillionInput = pricePerMillionInput
        self.pricePerMillionOutput = pricePerMillionOutput
        self.maxAttempts = maxAttempts
        self.timeoutSeconds = timeoutSeconds
        self.temperature = temperature
        self.maxOutputTokens = maxOutputTokens
        self.imageTokens = imageTokens
        self.maxOutputTokensCeiling = max(maxOutputTokens, maxOutputTokensCeiling ?? maxOutputTokens * 4)
        // OpenAI: 200 MB per batch input file; Gemini: 2 GB per file of the Files API.
        batchMaxBytes = provider == .openai ? 200_000_000 : 2_000_000_000
    }

    init(alias: String, reader r: ConfigReader, environment: [String: String], keepUnsetVariables: Bool = false) throws {
        _ = try r.requireMap(allowed: Self.allowedKeys)
        guard let providerName = try r.oneOf("provider", ["openai", "gemini"]), let provider = Provider(rawValue: providerName) else {
            throw r.error("is required but missing; expected openai or gemini", key: "provider")
        }
        let base = try Self.expand(try r.requiredString("base_url"), environment: environment, reader: r, keepUnset: keepUnsetVariables)
        let unexpanded = keepUnsetVariables && base.contains("${")
        guard unexpanded || URL(string: base).map({ ["http", "https"].contains($0.scheme ?? "") && $0.host != nil }) == true else {
            throw r.error("'\(base)' is not an http(s) URL", key: "base_url", line: r.value["base_url"]?.line)
        }
        if let env = try r.string("key_env"), env.range(of: "^[A-Za-z_][A-Za-z0-9_]*$", options: .regularExpression) == nil {
            throw r.error("'\(env)' is not an environment variable name (the key itself never goes in this file)",
                          key: "key_env", line: r.value["key_env"]?.line)
        }
        self.init(
            alias: alias, provider: provider, baseURL: base.hasSuffix("/") ? String(base.dropLast()) : base,
            model: try r.requiredString("model"), keyEnv: try r.string("key_env"),
            jsonMode: JSONMode(rawValue: try r.oneOf("json_mode", ["schema", "object", "prompt"]) ?? "schema")!,
            maxConcurrency: try r.int("max_concurrency", range: 1...1024) ?? 4,
            requestsPerMinute: try r.int("requests_per_minute", range: 1...10_000_000),
            tokensPerMinute: try r.int("tokens_per_minute", range: 1...1_000_000_000),
            pricePerMillionInput: try r.double("price_per_million_input", range: 0...1_000_000) ?? 0,
            pricePerMillionOutput: try r.double("price_per_million_output", range: 0...1_000_000) ?? 0,
            maxAttempts: try r.int("max_attempts", range: 1...50) ?? 5,
            timeoutSeconds: try r.double("timeout_seconds", range: 0.1...86_400) ?? 120,
            temperature: try r.double("temperature", range: 0...2) ?? 0.2,
            maxOutputTokens: try r.int("max_output_tokens", range: 1...1_000_000) ?? 1024,
            imageTokens: try r.int("image_tokens", range: 0...100_000) ?? 258,
            maxOutputTokensCeiling: try r.int("max_output_tokens_ceiling", range: 1...1_000_000))
        adaptiveConcurrency = try r.bool("adaptive_concurrency") ?? true
        mode = try r.oneOf("mode", ["online", "batch"]).flatMap(Lane.init(rawValue:))
        batchPricePerMillionInput = try r.double("batch_price_per_million_input", range: 0...1_000_000)
        batchPricePerMillionOutput = try r.double("batch_price_per_million_output", range: 0...1_000_000)
        batchMaxRequests = try r.int("batch_max_requests", range: 1...50_000) ?? batchMaxRequests
        batchMaxBytes = try r.int("batch_max_bytes", range: 1024...batchMaxBytes) ?? batchMaxBytes
        batchMaxInlineBytes = try r.int("batch_max_inline_bytes", range: 0...20_000_000) ?? batchMaxInlineBytes
    }

    /// `${NAME}` in a base URL is taken from the environment (e.g. a local server's port).
    static func expand(_ text: String, environment: [String: String], reader r: ConfigReader, keepUnset: Bool = false) throws -> String {
        var out = ""
        var rest = Substring(text)
        while let open = rest.range(of: "${"), let close = rest.range(of: "}", range: open.upperBound..<rest.endIndex) {
            let name = String(rest[open.upperBound..<close.lowerBound])
            out += rest[..<open.lowerBound]
            if let value = environment[name] {
                out += value
            } else if keepUnset {
                out += rest[open.lowerBound..<close.upperBound]
            } else {
                throw r.error("uses ${\(name)}, which is not set in the environment", key: "base_url", line: r.value["base_url"]?.line)
            }
            rest = rest[close.upperBound...]
        }
        return out + rest
    }

    /// The cost of a call with these token counts, in US dollars.
    public func cost(input: Int, output: Int) -> Double {
        (Double(input) * pricePerMillionInput + Double(output) * pricePerMillionOutput) / 1_000_000
    }

    /// The cost of a call with these token counts sent through the batch lane.
    public func batchCost(input: Int, output: Int) -> Double {
        (Double(input) * (batchPricePerMillionInput ?? pricePerMillionInput / 2)
            + Double(output) * (batchPricePerMillionOutput ?? pricePerMillionOutput / 2)) / 1_000_000
    }
}

/// The `critic:` section: the committee and its rules.
///
/// ```yaml
/// critic:
///   judges: [gpt-judge, gemini-judge, qwen-judge]   # three models, ideally on different providers
///   quorum: 2          # passes needed to accept; also the fewest answers that decide anything
///   max_rounds: 2      # votes a sample gets in all, counting the rewrites' votes
///   rewriter: vision   # the model that rewrites rejected samples (default: the stage's own model)
/// ```
public struct CriticSettings: Sendable, Equatable {
    public var judges: [ModelConfig]
    public var quorum: Int
    public var maxRounds: Int
    public var rewriter: ModelConfig?
}

extension PipelineConfig {
    public func criticSettings() throws -> CriticSettings {
        guard let c = critic else {
            throw ConfigError(file: file, line: nil, key: "critic",
                              message: "is missing; add `critic: {judges: [a, b, c], quorum: 2, max_rounds: 2}` with models from 'models'")
        }
        _ = try c.requireMap(allowed: ["judges", "quorum", "max_rounds", "rewriter"])
        let names = try c.stringList("judges") ?? []
        guard !names.isEmpty else { throw c.error("lists no judges; name models from 'models'", key: "judges") }
        let judges = try names.map { name -> ModelConfig in
            guard let m = models[name] else {
                throw c.error("'\(name)' is not one of the models: \(models.keys.sorted().joined(separator: ", "))", key: "judges", line: c.value["judges"]?.line)
            }
            return m
        }
        guard Set(names).count == names.count else { throw c.error("names a judge twice; each judge votes once", key: "judges") }
        let quorum = try c.int("quorum", range: 1...judges.count) ?? min(2, judges.count)
        let rounds = try c.int("max_rounds", range: 1...10) ?? 2
        var rewriter: ModelConfig?
        if let r = try c.string("rewriter") {
            guard let m = models[r] else {
                throw c.error("'\(r)' is not one of the models: \(models.keys.sorted().joined(separator: ", "))", key: "rewriter", line: c.value["rewriter"]?.line)
            }
            rewriter = m
        }
        return CriticSettings(judges: judges, quorum: quorum, maxRounds: rounds, rewriter: rewriter)
    }
}

/// The `batch:` section of `pipeline.yaml`.
///
/// ```yaml
/// batch:
///   stages: [caption, verify]   # these stages use the batch lane without --batch
///   poll_seconds: 30            # the first wait between polls of a job in flight
///   max_poll_seconds: 600       # waits double up to this
/// ```
public struct BatchSettings: Sendable, Equatable {
    public var stages: Set<String> = []
    public var pollSeconds = 30.0
    public var maxPollSeconds = 600.0
    public init() {}
}
