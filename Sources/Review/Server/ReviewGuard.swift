import Foundation
import Hummingbird

/// What every request passes before a route sees it:
/// - served on loopback, the `Host` must be a loopback name, so a page of another site that points
///   its own host name at 127.0.0.1 (DNS rebinding) cannot read the pages and their session token;
/// - with an access token (any other host), the request must carry it: as `?token=` once (it is then
///   kept in an HTTP-only, same-site cookie and the token leaves the address bar), as the cookie, or
///   as `Authorization: Bearer`;
/// - a request that changes something (POST) must come from this page: not from another site
///   (`Sec-Fetch-Site`, `Origin`); the route then checks the session token it carries.
/// Every response says that nothing may frame the page, run scripts or load media from elsewhere.
struct ReviewGuard<Context: RequestContext>: RouterMiddleware {
    let accessToken: String?
    let loopbackOnly: Bool
    static var cookie: String { "emocfg_review_access" }

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        var response: Response
        do {
            response = try await check(request, context: context, next: next)
        } catch let e as HTTPError {
            response = ReviewServer.message(e.status, e.body ?? (e.status == .notFound ? "not found" : e.status.reasonPhrase))
        }
        response.headers[.contentSecurityPolicy] = "default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self'; "
            + "media-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
        response.headers[.xContentTypeOptions] = "nosniff"
        // Not `no-referrer`: with it a browser sends `Origin: null` on the page's own form posts.
        response.headers[.init("Referrer-Policy")!] = "same-origin"
        response.headers[.init("X-Frame-Options")!] = "DENY"
        return response
    }

    func check(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        if loopbackOnly {
            let host = Self.hostName(request.head.authority ?? "")
            guard ReviewServer.isLoopback(host) else {
                return ReviewServer.message(.misdirectedRequest, "this review page answers only to 127.0.0.1, localhost or [::1]")
            }
        }
        if let accessToken {
            let query = FormFields(request.uri.query ?? "")
            if let given = query["token"] {
                guard Tokens.same(given, accessToken) else { return ReviewServer.message(.unauthorized, "wrong access token") }
                // Into a cookie, and out of the address bar (and of the history, and of any Referer).
                let rest = query.pairs.filter { $0.0 != "token" }.map { "\(HTML.q($0.0))=\(HTML.q($0.1))" }.joined(separator: "&")
                return Response(status: .seeOther, headers: [
                    .location: request.uri.path + (rest.isEmpty ? "" : "?" + rest),
                    .setCookie: "\(Self.cookie)=\(accessToken); Path=/; HttpOnly; SameSite=Strict",
                    .cacheControl: "no-store",
                ])
            }
            let bearer = request.headers[.authorization].flatMap { $0.hasPrefix("Bearer ") ? String($0.dropFirst(7)) : nil }
            let cookie = request.cookies[Self.cookie]?.value
            guard [bearer, cookie].contains(where: { $0.map { Tokens.same($0, accessToken) } ?? false }) else {
                return ReviewServer.message(.unauthorized, "this review page needs the access token `emocfg review` printed when it started "
                                            + "(open the address it printed, with ?token=…)")
            }
        }
        if request.method != .get && request.method != .head {
            if request.headers[.init("Sec-Fetch-Site")!] == "cross-site" {
                return ReviewServer.message(.forbidden, "a page of another site cannot change the review")
            }
            if let origin = request.headers[.origin], let authority = request.head.authority,
               origin != "http://\(authority)" && origin != "https://\(authority)" {
                return ReviewServer.message(.forbidden, "a page of another site (\(origin)) cannot change the review")
            }
        }
        return try await next(request, context)
    }

    /// The host name of a `Host` header (`127.0.0.1:8428` → `127.0.0.1`, `[::1]:8428` → `::1`).
    static func hostName(_ authority: String) -> String {
        if authority.hasPrefix("["), let close = authority.firstIndex(of: "]") {
            return String(authority[authority.index(after: authority.startIndex)..<close])
        }
        return String(authority.split(separator: ":", maxSplits: 1).first ?? "").lowercased()
    }

}

/// Token comparison.
enum Tokens {
    /// Compares two tokens in time that depends on their length only.
    static func same(_ a: String, _ b: String) -> Bool {
        let x = Array(a.utf8), y = Array(b.utf8)
        guard x.count == y.count else { return false }
        var diff: UInt8 = 0
        for i in x.indices { diff |= x[i] ^ y[i] }
        return diff == 0
    }
}
