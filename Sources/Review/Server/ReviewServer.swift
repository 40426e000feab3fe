import EmoCFG
import Foundation
import Hummingbird

/// How `emocfg review` serves: where it listens, who decides, which samples it lists, and the
/// tokens that protect it.
public struct ReviewSettings: Sendable {
    /// The address to bind: loopback by default. Any other needs `accessToken`.
    public var host = "127.0.0.1"
    /// 0 picks a free port (the tests' choice).
    public var port = 8428
    /// The reviewer's name: decisions are verdicts by `human:<reviewer>`.
    public var reviewer = "reviewer"
    /// The samples listed (`--source`, `--task`, `--queue`); the page can narrow it further.
    public var filter = ReviewFilter()
    /// Required on every request when set: given once as `?token=` (then kept in a cookie) or as
    /// `Authorization: Bearer`. `emocfg review` sets one for any host that is not loopback.
    public var accessToken: String?
    /// Carried by every request that changes the store (a form field of the page): a page of another
    /// site cannot read it, so it cannot change a verdict.
    public var sessionToken = ReviewServer.randomToken()

    public init() {}
}

/// The human review web application: the queue, item pages, clip media, and decisions recorded
/// as verdicts by `human:<name>` (see `Store.recordHumanDecision`). Every decision is committed to
/// the store before the response is sent.
public final class ReviewServer: Sendable {
    public let store: Store
    public let settings: ReviewSettings
    let media: ClipMediaFiles
    let frames = FrameCache()

    /// Checks the settings: a reviewer name of letters, digits, `.`, `_`, `-`; an access token for
    /// any host other than loopback.
    public init(store: Store, settings: ReviewSettings) throws {
        guard !settings.reviewer.isEmpty, settings.reviewer.count <= 64,
              settings.reviewer.unicodeScalars.allSatisfy({ CharacterSet.alphanumerics.contains($0) || "._-".unicodeScalars.contains($0) }) else {
            throw HumanReviewError("the reviewer name must be 1–64 letters, digits, '.', '_' or '-', found “\(settings.reviewer)”")
        }
        if !Self.isLoopback(settings.host) && (settings.accessToken ?? "").isEmpty {
            throw HumanReviewError("serving on \(settings.host), which is not loopback, needs an access token")
        }
        self.store = store
        self.settings = settings
        self.media = ClipMediaFiles(store: store)
    }

    /// True for addresses only this machine can reach.
    public static func isLoopback(_ host: String) -> Bool {
        host == "localhost" || host == "::1" || host == "[::1]" || host.hasPrefix("127.")
    }

    /// 32 random bytes as hex, from the system's secure generator.
    public static func randomToken() -> String {
        var g = SystemRandomNumberGenerator()
        return (0..<32).map { _ in String(format: "%02x", UInt8.random(in: .min ... .max, using: &g)) }.joined()
    }

    /// Serves until the task is cancelled (or, with `handleSignals`, until SIGINT or SIGTERM);
    /// `onListening` gets the port once the server accepts connections.
    public func run(handleSignals: Bool = false, onListening: @escaping @Sendable (Int) async -> Void = { _ in }) async throws {
        let port = settings.port
        let app = Application(
            router: makeRouter(),
            configuration: .init(address: .hostname(settings.host, port: port)),
            onServerRunning: { channel in await onListening(channel.localAddress?.port ?? port) })
        if handleSignals {
            try await app.runService()
        } else {
            try await app.run()
        }
    }

    func makeRouter() -> Router<BasicRequestContext> {
        let router = Router(context: BasicRequestContext.self)
        router.add(middleware: ReviewGuard(accessToken: settings.accessToken, loopbackOnly: Self.isLoopback(settings.host)))
        router.get("/") { request, _ in try self.queuePage(request) }
        router.get("/queue.json") { request, _ in try self.queueJSON(request) }
        router.get("/item") { request, _ in
            let fields = FormFields(request.uri.query ?? "")
            return try await self.itemPage(fields, uid: fields["uid"])
        }
        router.post("/decide") { request, context in try await self.decide(request, context: context) }
        router.get("/media/video") { request, context in try await self.video(request, context: context) }
        router.get("/media/frame") { request, _ in try await self.frame(request) }
        router.get("/favicon.ico") { _, _ in Response(status: .noContent) }
        router.get("/assets/review.css") { _, _ in Self.text(Assets.css, type: "text/css; charset=utf-8", cache: true) }
        router.get("/assets/review.js") { _, _ in Self.text(Assets.js, type: "text/javascript; charset=utf-8", cache: true) }
        return router
    }

    // MARK: - Pages

    func queuePage(_ request: Request) throws -> Response {
        let fields = FormFields(request.uri.query ?? "")
        let filter = PageFilter(fields)
        let queue = try ReviewQueue.make(store: store, filter: filter.applied(to: settings.filter))
        let page = QueuePage(queue: queue, filter: filter, base: settings.filter, reviewer: settings.reviewer, csrf: settings.sessionToken,
                             page: Int(fields["page"] ?? "") ?? 1)
        return Self.html(page.render())
    }

    func queueJSON(_ request: Request) throws -> Response {
        let filter = PageFilter(FormFields(request.uri.query ?? ""))
        let queue = try ReviewQueue.make(store: store, filter: filter.applied(to: settings.filter))
        let items: [JSONValue] = queue.items.map { item in
            let c = item.candidate
            return .object([
                "uid": .string(c.uid), "group": .string(item.group.label), "source": .string(c.source), "stage": .string(c.stage),
                "task": .string(c.task), "form": .string(c.form), "committee": .string(c.committee.rawValue), "status": .string(c.status.rawValue),
                "votes": .number(Double(c.votes)), "passes": .number(Double(c.passes)), "failed_by": .array(c.failedBy.map { .string($0) }),
                "human": c.human.map { .string($0.rawValue) } ?? .null,
            ])
        }
        let body: JSONValue = ["reviewed": .number(Double(queue.reviewed)), "total": .number(Double(queue.total)), "items": .array(items)]
        return Self.text(body.canonical, type: "application/json")
    }

    /// The item `uid`, with the page filters of `fields`.
    func itemPage(_ fields: FormFields, uid: String?, status: HTTPResponse.Status = .ok, flash: String? = nil) async throws -> Response {
        guard let uid, let item = try ReviewItem.load(store: store, uid: uid) else {
            return Self.notFound("no such sample in the store")
        }
        let filter = PageFilter(fields)
        let queue = try ReviewQueue.make(store: store, filter: filter.applied(to: settings.filter))
        let video = try media.video(for: item.clip)
        let frames: Result<[SampledFrame], FrameSamplingError>
        if let path = try media.mediaPath(for: item.clip) {
            frames = await self.frames.frames(of: item.clip, path: path)
        } else {
            frames = .failure(FrameSamplingError(path: item.clip.record.path, message: "the clip's media is not inside its source's root, or is missing"))
        }
        let page = ItemPage(item: item, queue: queue, filter: filter, video: video, frames: frames, reviewer: settings.reviewer,
                            csrf: settings.sessionToken, flash: flash)
        var response = Self.html(page.render())
        response.status = status
        return response
    }

    // MARK: - Decisions

    func decide(_ request: Request, context: BasicRequestContext) async throws -> Response {
        let buffer = try await request.body.collect(upTo: 1 << 20)
        let fields = FormFields(String(buffer: buffer))
        guard let given = fields["csrf"] ?? request.headers[.init("X-CSRF-Token")!], Tokens.same(given, settings.sessionToken) else {
            return Self.forbidden("this request does not carry the review page's session token; reload the page and decide again")
        }
        guard let uid = fields["uid"], let decision = fields["decision"].flatMap(HumanDecision.init(rawValue:)) else {
            return Self.badRequest("a decision needs the sample (uid) and the decision (accept, reject or edit)")
        }
        let back = fields["back"] ?? ""
        let wantsJSON = request.headers[.accept]?.contains("application/json") ?? false
        let verdict: HumanVerdict
        do {
            verdict = try store.recordHumanDecision(sample: uid, reviewer: settings.reviewer, decision: decision,
                                                    reason: fields["reason"] ?? "", editedAnswer: fields["answer"])
        } catch let e as HumanReviewError {
            if wantsJSON { return Self.text((["error": .string(e.message)] as JSONValue).canonical, type: "application/json", status: .badRequest) }
            guard try store.reviewSample(uid: uid) != nil else { return Self.notFound(e.message) }
            // The item again, with the reason the decision was not taken.
            return try await itemPage(FormFields(back), uid: uid, status: .badRequest, flash: e.message)
        }
        let filter = PageFilter(FormFields(back))
        let queue = try ReviewQueue.make(store: store, filter: filter.applied(to: settings.filter))
        let next = queue.nextUnreviewed(after: uid)
        if wantsJSON {
            let body: JSONValue = [
                "sample": .string(uid), "judge": .string(verdict.judge), "decision": .string(verdict.decision.rawValue),
                "revision": verdict.revisionUID.map { .string($0) } ?? .null, "committee": .string(verdict.committee.rawValue),
                "next": next.map { .string($0.candidate.uid) } ?? .null,
            ]
            return Self.text(body.canonical, type: "application/json")
        }
        let suffix = filter.query.isEmpty ? "" : "&" + filter.query
        let location = next.map { "/item?uid=\(HTML.q($0.candidate.uid))\(suffix)" } ?? ("/" + (filter.query.isEmpty ? "" : "?" + filter.query))
        return Response(status: .seeOther, headers: [.location: location, .cacheControl: "no-store"])
    }

    // MARK: - Media

    func video(_ request: Request, context: BasicRequestContext) async throws -> Response {
        let fields = FormFields(request.uri.query ?? "")
        guard let uid = fields["clip"], let clip = try store.clip(uid: uid), let video = try media.video(for: clip) else {
            return Self.notFound("no playable video for this clip in the store")
        }
        guard let attributes = try? FileManager.default.attributesOfItem(atPath: video.path),
              let size = (attributes[.size] as? NSNumber)?.intValue else {
            return Self.notFound("the clip's video cannot be read")
        }
        var headers: HTTPFields = [.contentType: video.contentType, .acceptRanges: "bytes", .cacheControl: "private, max-age=300"]
        switch ByteRange.parse(request.headers[.range], size: size) {
        case .whole:
            headers[.contentLength] = "\(size)"
            guard size > 0 else { return Response(status: .ok, headers: headers) }
            let body = try await FileIO().loadFile(path: video.path, range: 0...(size - 1), context: context)
            return Response(status: .ok, headers: headers, body: body)
        case .partial(let range):
            headers[.contentLength] = "\(range.count)"
            headers[.contentRange] = "bytes \(range.lowerBound)-\(range.upperBound)/\(size)"
            let body = try await FileIO().loadFile(path: video.path, range: range, context: context)
            return Response(status: .partialContent, headers: headers, body: body)
        case .unsatisfiable:
            return Response(status: .rangeNotSatisfiable, headers: [.contentRange: "bytes */\(size)"])
        }
    }

    func frame(_ request: Request) async throws -> Response {
        let fields = FormFields(request.uri.query ?? "")
        guard let uid = fields["clip"], let n = Int(fields["n"] ?? ""), let clip = try store.clip(uid: uid),
              let path = try media.mediaPath(for: clip) else {
            return Self.notFound("no such clip in the store, or its media is outside its source's root")
        }
        guard case .success(let frames) = await self.frames.frames(of: clip, path: path), frames.indices.contains(n) else {
            return Self.notFound("no such frame")
        }
        return Response(status: .ok, headers: [.contentType: "image/jpeg", .cacheControl: "private, max-age=300"],
                        body: .init(byteBuffer: ByteBuffer(bytes: frames[n].jpeg)))
    }

    // MARK: - Responses

    static func html(_ text: String, status: HTTPResponse.Status = .ok) -> Response {
        Response(status: status, headers: [.contentType: "text/html; charset=utf-8", .cacheControl: "no-store"],
                 body: .init(byteBuffer: ByteBuffer(string: text)))
    }

    static func text(_ text: String, type: String, status: HTTPResponse.Status = .ok, cache: Bool = false) -> Response {
        Response(status: status, headers: [.contentType: type, .cacheControl: cache ? "private, max-age=60" : "no-store"],
                 body: .init(byteBuffer: ByteBuffer(string: text)))
    }

    static func message(_ status: HTTPResponse.Status, _ text: String) -> Response {
        html("<!doctype html><meta charset=\"utf-8\"><title>\(status.code)</title><p>\(HTML.esc(text))</p><p><a href=\"/\">the queue</a></p>",
             status: status)
    }

    static func notFound(_ text: String) -> Response { message(.notFound, text) }
    static func forbidden(_ text: String) -> Response { message(.forbidden, text) }
    static func badRequest(_ text: String) -> Response { message(.badRequest, text) }
}
