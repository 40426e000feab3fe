import Foundation

/// Keeps one model within its limits: at most `maxConcurrency` requests in flight, at most
/// `requestsPerMinute` requests and `tokensPerMinute` tokens sent in any 60-second window; finds
/// by itself how many requests at once the server really takes (adaptive concurrency), and stops
/// sending to a server that is failing (a circuit breaker).
///
/// The window slides (it is the last 60 s, not the current clock minute) because that is how
/// providers count, and it is what keeps a burst at the start of a run from drawing 429s.
///
/// **Adaptive concurrency** (additive increase, multiplicative decrease; never above
/// `maxConcurrency`). A self-hosted server or a provider tier whose limits the user does not know
/// says "too much" with 429, 503 or by not answering in time. The limiter starts at
/// `Settings.initialConcurrency` and, until the first such signal, adds one request per answer
/// (doubling every round trip, TCP's slow start). An overload signal from a request sent after the
/// last decrease records the concurrency it was sent at as the ceiling and multiplies the limit by
/// `Settings.decrease`; each answer then adds 1/limit (one request per round trip) up to one below
/// the ceiling, where the limit stays. Only after `Settings.probeInterval` seconds there without a
/// signal is the ceiling raised by one, to find out whether the server now takes more. So a server
/// that takes N at once is run at N with a 429 about once per probe interval, instead of sawing
/// between N/2 and N with a 429 every few round trips.
///
/// **Circuit breaker.** Of the last `Settings.breakerWindow` outcomes within
/// `Settings.breakerHorizon` seconds, when at least `Settings.breakerMinimum` are known and a share
/// of at least `Settings.breakerFailureRate` failed (429, 5xx, timeouts, refused connections), the
/// circuit opens: nothing is sent for `Settings.cooldown` seconds. Then one request goes alone (the
/// probe); if it is answered the circuit closes and sending resumes, else it stays open twice as long
/// (up to `Settings.cooldownCap`). Failures while the circuit is open say nothing about capacity: on
/// closing, the limit climbs back by slow start to the ceiling the server had before the outage.
/// The breaker engages only for a server that has answered in this run (one that never did is
/// misconfigured or down, and its requests fail by their own attempts, fast, with the reason), and
/// after `Settings.giveUpAfterProbes` failed probes in a row the requests waiting for it fail at
/// once (recorded like any failure, for the next run), so a run never waits forever. `Retry-After` is still honoured by each request's own retry.
public actor RateLimiter {
    /// How a request ended, as far as the server's capacity is concerned.
    public enum Outcome: Sendable, Equatable {
        /// The server answered (2xx), whatever the answer was worth.
        case ok
        /// The server said it is overloaded: 429, 503, 529, 504, 408, or no answer in time.
        case overloaded
        /// Another server failure: other 5xx, a dropped or refused connection.
        case failed
        /// A client mistake (other 4xx) or a request not sent: says nothing about capacity.
        case neutral
    }

    /// Tunables of the adaptive limit and the breaker (the defaults suit providers and local servers).
    public struct Settings: Sendable, Equatable {
        /// Adapt the concurrency (`adaptive_concurrency` per model in pipeline.yaml); when false the
        /// limit is `maxConcurrency` throughout (the breaker still works).
        public var adaptive = true
        public var initialConcurrency = 2
        public var decrease = 0.7
        public var probeInterval = 30.0
        public var breakerWindow = 20
        public var breakerMinimum = 10
        public var breakerFailureRate = 0.8
        public var breakerHorizon = 30.0
        public var cooldown = 2.0
        public var cooldownCap = 60.0
        /// After this many failed probes in a row (about a minute of outage with the defaults) the
        /// requests waiting for the model fail at once, so a run against a server that stays down
        /// ends with its items recorded as failed; probes go on, and an answered one resumes sending.
        public var giveUpAfterProbes = 5
        public init() {}
    }

    /// A request let through by `acquire`; give it back to `release` with its outcome.
    public struct Permit: Sendable {
        let started: Double
        /// Requests in flight when this one was sent, itself included: the concurrency an overload
        /// signal on it says was too much.
        let inFlight: Int
        /// The one request sent while the circuit is half-open.
        public let probe: Bool
        /// Not to be sent: the model's server has failed every probe for a while (see
        /// `Settings.giveUpAfterProbes`); nothing was counted, and `release` need not be called.
        public var refused = false
    }

    let maxConcurrency: Int
    let requestsPerMinute: Int?
    let tokensPerMinute: Int?
    let window: Double
    let settings: Settings
    private var inFlight = 0
    private var sent: [(time: Double, tokens: Int)] = []
    private var head = 0
    private var tokensInWindow = 0
    private var waiters: [CheckedContinuation<Void, Never>] = []

    /// The adaptive limit (fractional: additive increase adds 1/limit per answer).
    public private(set) var limit: Double
    /// The limit at which the server last said it was overloaded; nil before the first signal.
    public private(set) var ceiling: Int?
    private var ceilingSince = 0.0
    private var lastDecrease = -Double.infinity
    /// The ceiling when the server last answered: what an outage's failures do not change.
    private var ceilingAtLastAnswer: Int?
    /// After an outage: back to the old ceiling by slow start, not one request per round trip.
    private var recovering = false
    private var recent: [(time: Double, failed: Bool)] = []
    /// While open: when the next probe may go.
    public private(set) var openUntil: Double?
    private var cooldown: Double
    private var probeInFlight = false
    private var failedProbes = 0
    /// The server answered at least once: only then is a run of failures an outage (a server that
    /// never answered is misconfigured or down, and its requests fail by their own attempts, fast).
    private var answeredOnce = false
    /// How often the circuit opened.
    public private(set) var opened = 0
    private let onCircuit: (@Sendable (_ open: Bool) async -> Void)?

    public init(maxConcurrency: Int, requestsPerMinute: Int?, tokensPerMinute: Int?, window: Double = 60.05,
                settings: Settings = Settings(), onCircuit: (@Sendable (_ open: Bool) async -> Void)? = nil) {
        self.maxConcurrency = max(1, maxConcurrency)
        self.requestsPerMinute = requestsPerMinute
        self.tokensPerMinute = tokensPerMinute
        self.window = window
        self.settings = settings
        self.onCircuit = onCircuit
        cooldown = settings.cooldown
        limit = settings.adaptive ? Double(min(self.maxConcurrency, max(1, settings.initialConcurrency))) : Double(self.maxConcurrency)
    }

    static func now() -> Double { Double(DispatchTime.now().uptimeNanoseconds) / 1e9 }

    /// How many requests may be in flight now.
    public var currentLimit: Int { max(1, min(maxConcurrency, Int(limit.rounded(.down)))) }

    /// Waits until a request of `tokens` tokens may be sent, then counts it. Pair with `release`.
    public func acquire(tokens: Int) async -> Permit {
        while true {
            let now = Self.now()
            var probe = false
            if let until = openUntil {
                let givenUp = failedProbes >= settings.giveUpAfterProbes
                if now < until || probeInFlight {
                    if givenUp { return Permit(started: now, inFlight: inFlight, probe: false, refused: true) }
                    if probeInFlight {
                        await withCheckedContinuation { waiters.append($0) }
                    } else {
                        try? await Task.sleep(nanoseconds: UInt64((until - now) * 1e9) + 1_000_000)
                    }
                    continue
                }
                probe = true
            } else if inFlight >= currentLimit {
                await withCheckedContinuation { waiters.append($0) }
                continue
            }
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
                if probe { probeInFlight = true }
                return Permit(started: now, inFlight: inFlight, probe: probe)
            }
            // Sleep until the oldest request leaves the window.
            let wait = max(0.001, sent[head].time + window - now)
            try? await Task.sleep(nanoseconds: UInt64(wait * 1e9))
        }
    }

    /// Ends a request started with `acquire`, with what the server did with it.
    public func release(_ permit: Permit, outcome: Outcome) async {
        guard !permit.refused else { return }
        inFlight -= 1
        if permit.probe { probeInFlight = false }
        let now = Self.now()
        switch outcome {
        case .ok:
            remember(now, failed: false)
            answeredOnce = true
            if openUntil != nil, permit.probe {
                failedProbes = 0
                // The probe was answered: the server is back. What its failures said about capacity
                // was the outage speaking: climb back to the ceiling it had, by slow start.
                openUntil = nil
                cooldown = settings.cooldown
                recent.removeAll()
                if settings.adaptive {
                    ceiling = ceilingAtLastAnswer
                    ceilingSince = now
                    limit = Double(min(maxConcurrency, max(1, settings.initialConcurrency)))
                    recovering = true
                }
                await onCircuit?(false)
            } else if openUntil == nil {
                ceilingAtLastAnswer = ceiling
            }
            if settings.adaptive { grow(now) }
        case .overloaded:
            remember(now, failed: true)
            if settings.adaptive, openUntil == nil, permit.started >= lastDecrease {
                let used = max(1, min(permit.inFlight, Int(limit.rounded(.down))))
                ceiling = used
                ceilingSince = now
                limit = max(1, Double(used) * settings.decrease)
                lastDecrease = now
                recovering = false
            }
            await trip(now, probe: permit.probe)
        case .failed:
            remember(now, failed: true)
            await trip(now, probe: permit.probe)
        case .neutral:
            break
        }
        // Wake as many waiters as there is room for now (at least one, which re-checks).
        var room = max(1, currentLimit - inFlight)
        while room > 0, !waiters.isEmpty {
            waiters.removeFirst().resume()
            room -= 1
        }
    }

    /// Records the tokens a request really used, once known, in place of its estimate.
    public func correct(estimated: Int, actual: Int) {
        tokensInWindow += actual - estimated
    }

    /// One answer's worth of increase (see the type's comment).
    private func grow(_ now: Double) {
        let cap = Double(maxConcurrency)
        if let c = ceiling {
            let plateau = Double(max(1, c - 1))
            if limit < plateau {
                limit = min(plateau, limit + (recovering ? 1 : 1 / limit))
            } else if now - ceilingSince >= settings.probeInterval {
                recovering = false
                ceiling = c + 1
                ceilingSince = now
            }
        } else {
            limit += 1
        }
        limit = min(limit, cap)
    }

    private func remember(_ now: Double, failed: Bool) {
        recent.append((now, failed))
        if recent.count > settings.breakerWindow { recent.removeFirst(recent.count - settings.breakerWindow) }
        recent.removeAll { $0.time < now - settings.breakerHorizon }
    }

    /// Opens the circuit when the recent failure share is too high, or keeps it open (twice as long)
    /// when the probe failed.
    private func trip(_ now: Double, probe: Bool) async {
        if openUntil != nil {
            if probe {
                cooldown = min(settings.cooldownCap, cooldown * 2)
                openUntil = now + cooldown
                failedProbes += 1
                if failedProbes == settings.giveUpAfterProbes {
                    // Everyone waiting fails now instead of waiting for a server that stays down.
                    while !waiters.isEmpty { waiters.removeFirst().resume() }
                }
            }
            return
        }
        let failures = recent.filter(\.failed).count
        guard answeredOnce, recent.count >= settings.breakerMinimum,
              Double(failures) >= settings.breakerFailureRate * Double(recent.count) else { return }
        openUntil = now + cooldown
        opened += 1
        await onCircuit?(true)
    }
}
