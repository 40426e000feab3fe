@testable import EmoCFG
import XCTest

/// The adaptive concurrency and the circuit breaker of `RateLimiter`, driven directly with outcomes
/// (no server, no clock-dependent assertions: only the order of events and the limits reached).
final class RateLimiterTests: XCTestCase {
    func limiter(max: Int = 64, adaptive: Bool = true, probeInterval: Double = 1000, cooldown: Double = 0.05,
                 onCircuit: (@Sendable (Bool) async -> Void)? = nil) -> RateLimiter {
        var s = RateLimiter.Settings()
        s.adaptive = adaptive
        s.probeInterval = probeInterval
        s.cooldown = cooldown
        s.cooldownCap = cooldown * 4
        return RateLimiter(maxConcurrency: max, requestsPerMinute: nil, tokensPerMinute: nil, settings: s, onCircuit: onCircuit)
    }

    /// `n` requests in flight at once; the last one sent (at concurrency n) ends overloaded, the
    /// others end without a signal.
    func overloadAt(_ l: RateLimiter, _ n: Int) async {
        var permits: [RateLimiter.Permit] = []
        for _ in 0..<n { permits.append(await l.acquire(tokens: 1)) }
        await l.release(permits.removeLast(), outcome: .overloaded)
        for p in permits { await l.release(p, outcome: .neutral) }
    }

    /// One request sent and ended with `outcome`.
    func round(_ l: RateLimiter, _ outcome: RateLimiter.Outcome) async {
        let p = await l.acquire(tokens: 1)
        await l.release(p, outcome: outcome)
    }

    func test_slow_start_grows_by_one_per_answer_up_to_the_configured_limit_and_never_past_it() async {
        let l = limiter(max: 10)
        let first = await l.currentLimit
        XCTAssertEqual(first, 2)
        for _ in 0..<3 { await round(l, .ok) }
        let grown = await l.currentLimit
        XCTAssertEqual(grown, 5)
        for _ in 0..<100 { await round(l, .ok) }
        let capped = await l.currentLimit
        XCTAssertEqual(capped, 10, "never above max_concurrency")
    }

    func test_an_overload_cuts_the_limit_and_the_limit_then_settles_one_below_the_ceiling() async {
        let l = limiter(max: 64)
        for _ in 0..<18 { await round(l, .ok) }           // slow start to 20
        let before = await l.currentLimit
        XCTAssertEqual(before, 20)
        await overloadAt(l, 20)
        let cut = await l.currentLimit
        let ceiling = await l.ceiling
        XCTAssertEqual(ceiling, 20)
        XCTAssertEqual(cut, 14, "20 × 0.7")
        for _ in 0..<500 { await round(l, .ok) }
        let settled = await l.currentLimit
        XCTAssertEqual(settled, 19, "additive increase stops one below the ceiling until the probe interval")
    }

    func test_after_the_probe_interval_the_ceiling_is_raised_by_one() async throws {
        let l = limiter(max: 64, probeInterval: 0.5)
        for _ in 0..<8 { await round(l, .ok) }            // 10
        await overloadAt(l, 10)                           // ceiling 10, limit 7
        for _ in 0..<100 { await round(l, .ok) }          // limit 9
        try await Task.sleep(nanoseconds: 600_000_000)
        await round(l, .ok)                               // the interval passed: ceiling 11
        let raised = await l.ceiling
        XCTAssertEqual(raised, 11)
        for _ in 0..<100 { await round(l, .ok) }
        let limit = await l.currentLimit
        XCTAssertEqual(limit, 10)
    }

    func test_the_ceiling_is_the_concurrency_the_refused_request_was_sent_at() async {
        let l = limiter(max: 64)
        for _ in 0..<18 { await round(l, .ok) }           // limit 20, but only 6 sent at once
        await overloadAt(l, 6)
        let ceiling = await l.ceiling
        XCTAssertEqual(ceiling, 6)
        for _ in 0..<500 { await round(l, .ok) }
        let settled = await l.currentLimit
        XCTAssertEqual(settled, 5)
    }

    func test_after_an_outage_the_limit_climbs_back_to_the_old_ceiling_by_slow_start() async throws {
        let l = limiter(max: 64, cooldown: 0.05)
        for _ in 0..<18 { await round(l, .ok) }
        await overloadAt(l, 20)                           // ceiling 20
        for _ in 0..<500 { await round(l, .ok) }          // settled at 19
        for _ in 0..<20 { await round(l, .overloaded) }   // the outage: cuts, then the circuit opens
        let opened = await l.openUntil
        XCTAssertNotNil(opened)
        let probe = await l.acquire(tokens: 1)
        XCTAssertTrue(probe.probe)
        await l.release(probe, outcome: .ok)
        let restored = await l.ceiling
        XCTAssertEqual(restored, 20, "the outage's failures did not lower the ceiling for good")
        for _ in 0..<17 { await round(l, .ok) }           // one per answer, not one per round trip
        let back = await l.currentLimit
        XCTAssertEqual(back, 19)
    }

    func test_overload_signals_of_requests_sent_before_a_decrease_do_not_cut_again() async {
        let l = limiter(max: 64)
        for _ in 0..<18 { await round(l, .ok) }           // 20
        // Ten requests in flight when the server starts refusing: one cut, not ten.
        var permits: [RateLimiter.Permit] = []
        for _ in 0..<10 { permits.append(await l.acquire(tokens: 1)) }
        for p in permits.reversed() { await l.release(p, outcome: .overloaded) }
        let limit = await l.currentLimit
        XCTAssertEqual(limit, 7, "10 at once × 0.7, once")
    }

    func test_without_adaptation_the_limit_is_the_configured_one_throughout() async {
        let l = limiter(max: 12, adaptive: false)
        let start = await l.currentLimit
        XCTAssertEqual(start, 12)
        for _ in 0..<5 { await round(l, .overloaded) }
        let after = await l.currentLimit
        XCTAssertEqual(after, 12)
    }

    func test_the_circuit_opens_on_sustained_failures_lets_one_probe_through_and_closes_when_it_is_answered() async throws {
        let events = EventLog()
        let l = limiter(max: 8, adaptive: false, cooldown: 0.1, onCircuit: { open in await events.add(open ? "open" : "closed") })
        for _ in 0..<10 { await round(l, .ok) }
        for _ in 0..<7 { await round(l, .failed) }
        var opened = await l.openUntil
        XCTAssertNil(opened, "7 failures of the last 17 outcomes are not a sustained failure")
        for _ in 0..<9 { await round(l, .failed) }
        opened = await l.openUntil
        XCTAssertNotNil(opened, "16 failures of the last 20 open the circuit")
        let count = await l.opened
        XCTAssertEqual(count, 1)

        // While open, the first request through is the probe, and nobody else goes until it ends.
        let probe = await l.acquire(tokens: 1)
        XCTAssertTrue(probe.probe)
        let second = Task { await l.acquire(tokens: 1) }
        try await Task.sleep(nanoseconds: 150_000_000)
        await events.add("probe answered")
        await l.release(probe, outcome: .ok)
        let next = await second.value
        await events.add("second sent")
        XCTAssertFalse(next.probe)
        await l.release(next, outcome: .ok)
        let closed = await l.openUntil
        XCTAssertNil(closed)
        let log = await events.items
        XCTAssertEqual(log, ["open", "probe answered", "closed", "second sent"])
    }

    func test_a_failed_probe_keeps_the_circuit_open_longer() async {
        let l = limiter(max: 4, adaptive: false, cooldown: 0.05)
        await round(l, .ok)
        for _ in 0..<10 { await round(l, .overloaded) }
        let first = await l.openUntil!
        let probe = await l.acquire(tokens: 1)
        XCTAssertTrue(probe.probe)
        await l.release(probe, outcome: .failed)
        let second = await l.openUntil!
        XCTAssertGreaterThan(second, first)
        let opened = await l.opened
        XCTAssertEqual(opened, 1, "still the same opening")
    }

    func test_a_server_that_never_answered_is_not_paused_its_requests_fail_by_their_own_attempts() async {
        let l = limiter(max: 4, adaptive: false)
        for _ in 0..<30 { await round(l, .failed) }
        let open = await l.openUntil
        XCTAssertNil(open)
    }

    func test_after_five_failed_probes_waiting_requests_are_refused_at_once_and_an_answered_probe_resumes() async throws {
        var settings = RateLimiter.Settings()
        settings.adaptive = false
        settings.cooldown = 0.01
        settings.cooldownCap = 2                         // the fifth pause is 0.32 s: long enough to be inside it
        let l = RateLimiter(maxConcurrency: 4, requestsPerMinute: nil, tokensPerMinute: nil, settings: settings)
        await round(l, .ok)
        for _ in 0..<9 { await round(l, .failed) }      // 9 of 10 failed: open
        let open = await l.openUntil
        XCTAssertNotNil(open)
        for _ in 0..<5 {
            let probe = await l.acquire(tokens: 1)
            XCTAssertTrue(probe.probe)
            await l.release(probe, outcome: .failed)
        }
        let refused = await l.acquire(tokens: 1)
        XCTAssertTrue(refused.refused, "the server stayed down: waiting requests fail now")
        await l.release(refused, outcome: .neutral)
        // Probes go on once the pause is over; an answered one resumes sending.
        var probe = await l.acquire(tokens: 1)
        while probe.refused { try await Task.sleep(nanoseconds: 5_000_000); probe = await l.acquire(tokens: 1) }
        XCTAssertTrue(probe.probe)
        await l.release(probe, outcome: .ok)
        let next = await l.acquire(tokens: 1)
        XCTAssertFalse(next.refused)
        XCTAssertFalse(next.probe)
        await l.release(next, outcome: .ok)
    }

    func test_client_errors_say_nothing_about_capacity() async {
        let l = limiter(max: 8, adaptive: true)
        for _ in 0..<30 { await round(l, .neutral) }
        let open = await l.openUntil
        XCTAssertNil(open)
        let limit = await l.currentLimit
        XCTAssertEqual(limit, 2, "neither grown nor cut")
    }

    func test_statuses_map_to_capacity_signals() {
        func signal(_ status: Int) -> RateLimiter.Outcome { LLMClient.capacitySignal(.http(status: status, headers: [], body: Data())) }
        XCTAssertEqual(signal(200), .ok)
        XCTAssertEqual(signal(429), .overloaded)
        XCTAssertEqual(signal(503), .overloaded)
        XCTAssertEqual(signal(500), .failed)
        XCTAssertEqual(signal(400), .neutral)
        XCTAssertEqual(signal(401), .neutral)
        XCTAssertEqual(LLMClient.capacitySignal(.transport("timeout", timedOut: true)), .overloaded)
        XCTAssertEqual(LLMClient.capacitySignal(.transport("refused", timedOut: false)), .failed)
    }
}

actor EventLog {
    var items: [String] = []
    func add(_ s: String) { items.append(s) }
}
