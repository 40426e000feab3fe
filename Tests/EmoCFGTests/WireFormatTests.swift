import EmoCFG
import XCTest

/// Golden tests: the exact bytes and headers each provider receives.
final class WireFormatTests: XCTestCase {
    let frame1 = LLMImage(jpeg: Data([0xFF, 0xD8, 0xFF, 0xE0, 0x01]))
    let frame2 = LLMImage(jpeg: Data([0xFF, 0xD8, 0xFF, 0xE0, 0x02]))
    let schema: JSONValue = ["type": "object", "additionalProperties": false, "required": ["caption"],
                             "properties": ["caption": ["type": "string", "minLength": 1]]]

    func request() -> LLMRequest {
        LLMRequest(stage: "caption", messages: [.system("You describe clips."),
                                                .user([.image(frame1), .image(frame2), .text("Describe \"this\".")])],
                   schema: schema, schemaName: "caption_attribute", promptID: "caption/attribute", promptHash: "abc")
    }

    func model(_ provider: ModelConfig.Provider, mode: ModelConfig.JSONMode = .schema) -> ModelConfig {
        ModelConfig(alias: "m", provider: provider, baseURL: provider == .openai ? "https://api.openai.com/v1" : "https://generativelanguage.googleapis.com",
                    model: provider == .openai ? "gpt-4o-mini" : "gemini-2.0-flash", keyEnv: "K", jsonMode: mode,
                    temperature: 0.2, maxOutputTokens: 512)
    }

    func test_openai_body_with_frames_and_json_schema_is_exactly_this() {
        let body = String(decoding: OpenAIChatFormat().body(for: request(), model: model(.openai)), as: UTF8.self)
        XCTAssertEqual(body, #"{"max_tokens":512,"messages":[{"content":"You describe clips.","role":"system"},{"content":[{"image_url":{"url":"data:image/jpeg;base64,/9j/4AE="},"type":"image_url"},{"image_url":{"url":"data:image/jpeg;base64,/9j/4AI="},"type":"image_url"},{"text":"Describe \"this\".","type":"text"}],"role":"user"}],"model":"gpt-4o-mini","response_format":{"json_schema":{"name":"caption_attribute","schema":{"additionalProperties":false,"properties":{"caption":{"minLength":1,"type":"string"}},"required":["caption"],"type":"object"},"strict":true},"type":"json_schema"},"temperature":0.2}"#)
    }

    func test_openai_headers_carry_the_key_as_a_bearer_token() {
        let h = OpenAIChatFormat().headers(for: model(.openai), key: "sk-test")
        XCTAssertEqual(h.map { "\($0.0): \($0.1)" }, ["Content-Type: application/json", "Accept: application/json", "Authorization: Bearer sk-test"])
        XCTAssertEqual(OpenAIChatFormat().url(for: model(.openai)), "https://api.openai.com/v1/chat/completions")
        XCTAssertFalse(OpenAIChatFormat().headers(for: model(.openai), key: nil).contains { $0.0 == "Authorization" },
                       "a local server without a key gets no Authorization header")
    }

    func test_openai_without_schema_support_gets_the_schema_in_the_prompt() {
        let body = String(decoding: OpenAIChatFormat().body(for: request(), model: model(.openai, mode: .prompt)), as: UTF8.self)
        XCTAssertFalse(body.contains("response_format"))
        XCTAssertTrue(body.contains(#"{"text":"\n\nAnswer with one JSON object that satisfies this JSON Schema, and nothing else.\nBEGIN SCHEMA\n{\"additionalProperties\":false,"#), body)
        let object = String(decoding: OpenAIChatFormat().body(for: request(), model: model(.openai, mode: .object)), as: UTF8.self)
        XCTAssertTrue(object.contains(#""response_format":{"type":"json_object"}"#))
        XCTAssertTrue(object.contains("BEGIN SCHEMA"))
    }

    func test_gemini_body_with_inline_frames_and_response_schema_is_exactly_this() {
        let body = String(decoding: GeminiFormat().body(for: request(), model: model(.gemini)), as: UTF8.self)
        XCTAssertEqual(body, #"{"contents":[{"parts":[{"inline_data":{"data":"/9j/4AE=","mime_type":"image/jpeg"}},{"inline_data":{"data":"/9j/4AI=","mime_type":"image/jpeg"}},{"text":"Describe \"this\"."}],"role":"user"}],"generationConfig":{"maxOutputTokens":512,"responseMimeType":"application/json","responseSchema":{"properties":{"caption":{"type":"STRING"}},"required":["caption"],"type":"OBJECT"},"temperature":0.2},"systemInstruction":{"parts":[{"text":"You describe clips."}]}}"#)
    }

    func test_gemini_key_goes_in_the_x_goog_api_key_header_and_the_model_in_the_path() {
        let h = GeminiFormat().headers(for: model(.gemini), key: "AIza-test")
        XCTAssertEqual(h.map { "\($0.0): \($0.1)" }, ["Content-Type: application/json", "Accept: application/json", "x-goog-api-key: AIza-test"])
        XCTAssertEqual(GeminiFormat().url(for: model(.gemini)),
                       "https://generativelanguage.googleapis.com/v1beta/models/gemini-2.0-flash:generateContent")
    }

    func test_usage_is_read_from_both_providers_answers() {
        let openai = OpenAIChatFormat().parse(Data(#"{"choices":[{"index":0,"message":{"role":"assistant","content":"{\"caption\":\"x\"}"},"finish_reason":"stop"}],"usage":{"prompt_tokens":120,"completion_tokens":9,"total_tokens":129}}"#.utf8))
        XCTAssertEqual(openai, .answer(text: #"{"caption":"x"}"#, usage: TokenUsage(input: 120, output: 9, estimated: false), served: nil, cut: false))
        let gemini = GeminiFormat().parse(Data(#"{"candidates":[{"content":{"role":"model","parts":[{"text":"{\"caption\":"},{"text":"\"y\"}"}]},"finishReason":"STOP"}],"usageMetadata":{"promptTokenCount":300,"candidatesTokenCount":7,"totalTokenCount":307}}"#.utf8))
        XCTAssertEqual(gemini, .answer(text: #"{"caption":"y"}"#, usage: TokenUsage(input: 300, output: 7, estimated: false), served: nil, cut: false))
        XCTAssertEqual(OpenAIChatFormat().parse(Data(#"{"choices":[{"message":{"content":"hi"}}]}"#.utf8)), .answer(text: "hi", usage: nil, served: nil, cut: false),
                       "a server that reports no usage (some llama.cpp builds) gives nil, and the client estimates")
        XCTAssertEqual(OpenAIChatFormat().parse(Data(#"{"choices":[{"message":"#.utf8)), .unreadable("the response body is not valid JSON"))
        // The model the server says answered, and an answer cut at the token limit.
        XCTAssertEqual(OpenAIChatFormat().parse(Data(#"{"model":"gemma-3","choices":[{"message":{"content":"{\"cap"},"finish_reason":"length"}]}"#.utf8)),
                       .answer(text: #"{"cap"#, usage: nil, served: "gemma-3", cut: true))
        XCTAssertEqual(GeminiFormat().parse(Data(#"{"modelVersion":"gemini-2.0-flash-001","candidates":[{"content":{"parts":[{"text":"{"}]},"finishReason":"MAX_TOKENS"}]}"#.utf8)),
                       .answer(text: "{", usage: nil, served: "gemini-2.0-flash-001", cut: true))
    }

    func test_cache_key_uses_image_digests_and_changes_with_prompt_model_or_frame() {
        let m = model(.openai)
        let key = request().cacheKey(for: m)
        XCTAssertEqual(key.count, 64)
        XCTAssertEqual(key, request().cacheKey(for: m), "the same request gives the same key")
        var other = request()
        other.promptHash = "abd"
        XCTAssertNotEqual(other.cacheKey(for: m), key)
        var otherModel = m
        otherModel.model = "gpt-4o"
        XCTAssertNotEqual(request().cacheKey(for: otherModel), key)
        var otherFrame = request()
        otherFrame.messages[1].parts[0] = .image(LLMImage(jpeg: Data([0xFF, 0xD8, 0x00])))
        XCTAssertNotEqual(otherFrame.cacheKey(for: m), key)
        var otherKeyEnv = m
        otherKeyEnv.keyEnv = "OTHER"
        XCTAssertEqual(request().cacheKey(for: otherKeyEnv), key, "the key (and where it comes from) is not part of the request")
    }

    func test_sha256_matches_the_standard_vectors() {
        XCTAssertEqual(SHA256Digest.hex(""), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
        XCTAssertEqual(SHA256Digest.hex("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
        XCTAssertEqual(SHA256Digest.hex("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq"),
                       "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1")
        XCTAssertEqual(SHA256Digest.hex(String(repeating: "a", count: 1_000_000)),
                       "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0")
    }

    func test_sha256_in_odd_sized_pieces_matches_one_shot_hashing() {
        // One million 'a', fed in pieces around the 64-byte block size, through every update overload.
        let million = [UInt8](repeating: UInt8(ascii: "a"), count: 1_000_000)
        let expected = "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0"
        let sizes = [1, 63, 64, 65, 1000, 0, 127, 128, 129, 4096, 55, 56, 57, 65_536, 3]
        var h = SHA256Hasher()
        var at = 0, turn = 0
        while at < million.count {
            let n = min(sizes[turn % sizes.count], million.count - at)
            let piece = Array(million[at..<at + n])
            switch turn % 4 {
            case 0: h.update(piece)
            case 1: h.update(Data(piece))
            case 2: h.update(String(decoding: piece, as: UTF8.self))
            default: piece.withUnsafeBytes { h.update($0) }
            }
            at += n
            turn += 1
        }
        var copy = h  // a copy goes on independently of the original
        XCTAssertEqual(h.finalizeHex(), expected)
        XCTAssertEqual(SHA256Digest.hex(Data(million)), expected)
        copy.update("b")
        XCTAssertNotEqual(copy.finalizeHex(), expected)

        // Varied bytes: every split of pieces gives the one-shot digest, and the three finalizers agree.
        let bytes = (0..<20_000).map { UInt8(truncatingIfNeeded: $0 &* 131 &+ $0 >> 7) }
        let oneShot = SHA256Digest.digest(Data(bytes))
        XCTAssertEqual(SHA256Digest.hex(Data(bytes)), "dfe2417c9bb1fdea32afd572e7269c5f3191ba7b50a4721902453bbbc7c0a92c")  // Python's hashlib
        for size in [1, 7, 63, 64, 65, 100, 1000, 8191] {
            var h = SHA256Hasher()
            var i = 0
            while i < bytes.count {
                let n = min(size, bytes.count - i)
                bytes[i..<i + n].withUnsafeBytes { h.update($0) }
                i += n
            }
            var lead = h, hex = h
            XCTAssertEqual(h.finalize(), oneShot, "pieces of \(size)")
            XCTAssertEqual(lead.finalizeLeading64(), oneShot.prefix(8).reduce(0) { $0 << 8 | UInt64($1) })
            XCTAssertEqual(hex.finalizeHex(), oneShot.map { String(format: "%02x", $0) }.joined())
        }
        XCTAssertEqual(SHA256Digest.digest(Data()).count, 32)
    }

    func test_zstd_round_trips_a_response_body() {
        let body = Data(String(repeating: #"{"caption":"a person smiles"}"#, count: 50).utf8)
        let packed = Zstd.compress(body)
        XCTAssertLessThan(packed.count, body.count / 5)
        XCTAssertEqual(Zstd.decompress(packed), body)
        XCTAssertNil(Zstd.decompress(Data("not zstd".utf8)))
    }

    func test_answers_are_validated_against_the_schema() {
        XCTAssertTrue(JSONSchemaValidator.violations(of: ["caption": "ok"], against: schema).isEmpty)
        XCTAssertEqual(JSONSchemaValidator.violations(of: ["caption": ""], against: schema), ["$.caption: shorter than 1 characters"])
        XCTAssertEqual(JSONSchemaValidator.violations(of: ["text": "x"], against: schema),
                       ["$: lacks the required property 'caption'", "$: has a property 'text' the schema does not allow"])
    }
}
