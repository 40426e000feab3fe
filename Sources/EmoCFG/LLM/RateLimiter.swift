import Foundation

/// Keeps one model within its limits: at most `maxConcurrency` requests in flight, at most
/// `requestsPerMinute` requests and `tokensPerMinute` tokens sent in any 60-second window.
///
/// The window slides (it is the last 60 s, not the current clock minute) because that is how
/// providers count, and it is what keeps a burst at the start of a run from drawing 429s.
public actor RateLimiter {
    let maxConcurrency: Int
    let requestsPerMinute: Int?
    let tokensPerMinute: Int?
    let window: Double
    private var inFlight = 0
    private var sent: [(time: Double, tokens: Int)] = []
    private var head = 0
    private var tokensInWindow = 0
    private var waiters: [CheckedContinuation<Void, Never>] = []

    public init(maxConcurrency: Int, requestsPerMinute: Int?, tokensPerMinute: Int?, window: Double = 60.05) {
        self.maxConcurrency = max(1, maxConcurrency)
        self.requestsPerMinute = requestsPerMinute
        self.tokensPerMinute = tokensPerMinute
        self.window = window
    }

    static func now() -> Double { Double(DispatchTime.now().uptimeNanoseconds) / 1e9 }

    /// Waits until a request of `tokens` tokens may be sent, then counts it. Pair with `release()`.
    public func acquire(tokens: Int) async {
        while true {
            if inFlight >= maxConcurrency {
                await withCheckedContinuation { waiters.append($0) }
                continue
            }
            let now = Self.now()
            while head < sent.count && sent[head].time <= now - window {
                tokensInWindow -= sent[head].tokens
                head += 1
            }
            if head > 4096 { sent.removeFirst(head); head = 0 }
            let count = sent.count - head
            let overRequests = requestsPerMinute.map { count >= $0 } ?? false
            // A request larger than the whole token budget would wait forever: let it go alone.
            let overTokens = tokensPerMinute.map { tokensInWindow + tokens > $0 && count > 0 } ?? false
            if !overRequests && !overTokens {
                inFlight += 1
                sent.append((now, tokens))
                tokensInWindow += tokens
                return
            }
            // Sleep until the oldest request leaves the window.
            let wait = max(0.001, sent[head].time + window - now)
            try? await Task.sleep(nanoseconds: UInt64(wait * 1e9))
        }
    }

    /// Ends a request started with `acquire`.
    public func release() {
        inFlight -= 1
        if !waiters.isEmpty { waiters.removeFirst().resume() }
    }

    /// Records the tokens a request really used, once known, in place of its estimate.
    public func correct(estimated: Int, actual: Int) {
        tokensInWindow += actual - estimated
    }
}
