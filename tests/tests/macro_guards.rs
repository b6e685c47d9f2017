//! `breaker` and `budget` on the attribute (and the explicit API behind them):
//! fail fast while open, probes released on cancel and panic, timeouts counted,
//! and retries throttled to the budget's share.
#![deny(warnings, clippy::all)]

use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use retry::breaker::State;
use retry::testing::{ManualClock, record_sleeps};
use retry::{CircuitBreaker, CircuitOpen, RetryBudget, Retrying, TimedOut, dsl::*, retry, retry_if_result};

#[derive(Clone, Debug, PartialEq)]
enum Error {
    Down,
    BadRequest,
    Timeout,
    Open,
}

impl From<CircuitOpen> for Error {
    fn from(_: CircuitOpen) -> Self {
        Error::Open
    }
}

impl From<TimedOut> for Error {
    fn from(_: TimedOut) -> Self {
        Error::Timeout
    }
}

static PAYMENTS: CircuitBreaker = CircuitBreaker::new().with_consecutive_failures(3);

#[retry(stop = attempts(5), wait = fixed(1s), breaker = PAYMENTS)]
fn charge(calls: &AtomicU32, outcome: Result<u32, Error>) -> Result<u32, Error> {
    calls.fetch_add(1, Ordering::SeqCst);
    outcome
}

#[test]
fn an_open_breaker_fails_fast_without_sleeping() {
    let sleeps = record_sleeps();
    let calls = AtomicU32::new(0);
    // Three failures open it: the call gives up with its own error and does not
    // sleep towards a fourth attempt the breaker would refuse.
    assert_eq!(charge(&calls, Err(Error::Down)), Err(Error::Down));
    assert_eq!(calls.load(Ordering::SeqCst), 3);
    assert_eq!(sleeps.sleeps(), [Duration::from_secs(1); 2]);
    assert_eq!(PAYMENTS.state(), State::Open);
    // Open: rejected at once, the body never runs, nothing sleeps.
    sleeps.clear();
    assert_eq!(charge(&calls, Ok(1)), Err(Error::Open));
    assert_eq!(calls.load(Ordering::SeqCst), 3);
    assert!(sleeps.sleeps().is_empty());
    assert_eq!(PAYMENTS.stats().rejected, 1);
}

#[retry(stop = attempts(3), wait = none(), breaker = breaker, fallback = |_| Ok(0))]
fn degraded(breaker: &CircuitBreaker<ManualClock>, calls: &AtomicU32) -> Result<u32, Error> {
    calls.fetch_add(1, Ordering::SeqCst);
    Err(Error::Down)
}

#[test]
fn fallback_replaces_a_rejection_and_probes_close_it_again() {
    let clock = ManualClock::new();
    let breaker = CircuitBreaker::with_clock(clock.clone())
        .with_consecutive_failures(2)
        .with_open_for(Duration::from_secs(30));
    let calls = AtomicU32::new(0);
    assert_eq!(degraded(&breaker, &calls), Ok(0));
    assert_eq!((calls.load(Ordering::SeqCst), breaker.state()), (2, State::Open));
    assert_eq!(degraded(&breaker, &calls), Ok(0), "rejected, then degraded");
    assert_eq!(calls.load(Ordering::SeqCst), 2);
    // After the open period, one probe goes through; it fails and reopens.
    clock.advance(Duration::from_secs(30));
    assert_eq!(degraded(&breaker, &calls), Ok(0));
    assert_eq!((calls.load(Ordering::SeqCst), breaker.state()), (3, State::Open));
    // A successful probe closes it.
    clock.advance(Duration::from_secs(30));
    let out: Result<u32, Error> = Retrying::new().breaker(&breaker).call(|| Ok(7));
    assert_eq!((out, breaker.state()), (Ok(7), State::Closed));
}

#[test]
fn a_panicking_probe_gives_its_slot_back() {
    let clock = ManualClock::new();
    let breaker = CircuitBreaker::with_clock(clock.clone()).with_consecutive_failures(1);
    let policy = || Retrying::<u32, Error>::new().stop(attempts(1)).breaker(&breaker);
    assert_eq!(policy().call(|| Err(Error::Down)), Err(Error::Down));
    clock.advance(Duration::from_secs(30));
    let panicked = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        let _ = policy().call(|| panic!("probe panics"));
    }));
    assert!(panicked.is_err());
    assert_eq!(breaker.state(), State::HalfOpen);
    assert_eq!(policy().call(|| Ok(1)), Ok(1), "the slot was freed");
    assert_eq!(breaker.state(), State::Closed);
}

#[test]
fn only_the_errors_picked_count_against_the_breaker() {
    let breaker = CircuitBreaker::new().with_consecutive_failures(2);
    let policy = || {
        Retrying::<u32, Error>::new()
            .stop(attempts(1))
            .breaker_counting(&breaker, |e: &Error| *e != Error::BadRequest)
    };
    for _ in 0..10 {
        assert_eq!(policy().call(|| Err(Error::BadRequest)), Err(Error::BadRequest));
    }
    assert_eq!(breaker.state(), State::Closed);
    let _ = policy().call(|| Err(Error::Down));
    let _ = policy().call(|| Err(Error::Down));
    assert_eq!(breaker.state(), State::Open);
}

struct Client {
    breaker: Arc<CircuitBreaker>,
    calls: AtomicU32,
}

impl Client {
    #[retry(stop = attempts(10), wait = fixed(1s), timeout = 2s, breaker = self.breaker)]
    async fn fetch(&self, hang: bool) -> Result<u32, Error> {
        self.calls.fetch_add(1, Ordering::SeqCst);
        if hang {
            std::future::pending::<()>().await;
        }
        Ok(1)
    }
}

#[tokio::test(start_paused = true)]
async fn timeouts_count_as_failures_and_the_async_call_fails_fast() {
    let client = Client {
        breaker: Arc::new(CircuitBreaker::new().with_consecutive_failures(2)),
        calls: AtomicU32::new(0),
    };
    let start = tokio::time::Instant::now();
    assert_eq!(client.fetch(true).await, Err(Error::Timeout));
    // Two attempts of 2 s with a 1 s sleep between; then open, so no sleep.
    assert_eq!(start.elapsed(), Duration::from_secs(5));
    assert_eq!(client.calls.load(Ordering::SeqCst), 2);
    let start = tokio::time::Instant::now();
    assert_eq!(client.fetch(false).await, Err(Error::Open));
    assert_eq!((start.elapsed(), client.calls.load(Ordering::SeqCst)), (Duration::ZERO, 2));
}

#[retry(stop = attempts(1), breaker = breaker)]
async fn probe(breaker: &CircuitBreaker<ManualClock>) -> Result<u32, Error> {
    tokio::time::sleep(Duration::from_secs(1)).await;
    Ok(1)
}

#[tokio::test(start_paused = true)]
async fn a_cancelled_probe_gives_its_slot_back() {
    let clock = ManualClock::new();
    let breaker = CircuitBreaker::with_clock(clock.clone()).with_half_open_probes(1);
    // The default threshold: five failures in a row.
    for _ in 0..5 {
        let _ = Retrying::<(), Error>::new().stop(attempts(1)).breaker(&breaker).call(|| Err(Error::Down));
    }
    assert_eq!(breaker.state(), State::Open);
    clock.advance(Duration::from_secs(30));
    // The probe is dropped mid-attempt.
    let cancelled = tokio::time::timeout(Duration::from_millis(10), probe(&breaker)).await;
    assert!(cancelled.is_err());
    assert_eq!(breaker.state(), State::HalfOpen);
    assert_eq!(probe(&breaker).await, Ok(1), "a new probe is admitted");
    assert_eq!(breaker.state(), State::Closed);
}

#[test]
fn a_value_fn_can_poll_through_a_budget() {
    let budget = RetryBudget::new().with_min_per_sec(0).with_ratio(0.5);
    #[retry_if_result(|v: &u32| *v < 10, stop = attempts(100), wait = none(), budget = budget)]
    fn poll(budget: &RetryBudget, polls: &AtomicU32) -> u32 {
        polls.fetch_add(1, Ordering::SeqCst)
    }
    let polls = AtomicU32::new(0);
    // Two first attempts deposit one retry between them.
    assert_eq!(poll(&budget, &polls), 0);
    assert_eq!(poll(&budget, &polls), 2);
    assert_eq!(budget.stats().withdrawals, 1);
}

/// Many callers against a dependency that always fails: with no reserve, retries
/// stay at the budget's ratio of the calls, however many retries each call allows.
#[test]
fn the_budget_throttles_retries_to_its_ratio() {
    let clock = ManualClock::new();
    let budget = RetryBudget::with_clock(clock.clone()).with_min_per_sec(0);
    let attempts_made = AtomicU32::new(0);
    #[retry(stop = attempts(10), wait = none(), budget = budget)]
    fn call(budget: &RetryBudget<ManualClock>, attempts_made: &AtomicU32) -> Result<(), Error> {
        attempts_made.fetch_add(1, Ordering::SeqCst);
        Err(Error::Down)
    }
    // 2,000 calls over 60 s of traffic (deposits expire along the way).
    for _ in 0..2000 {
        assert_eq!(call(&budget, &attempts_made), Err(Error::Down));
        clock.advance(Duration::from_millis(30));
    }
    let retries = attempts_made.load(Ordering::SeqCst) - 2000;
    let share = f64::from(retries) / 2000.0;
    assert!((0.19..=0.201).contains(&share), "retries were {share:.3} of the calls");
    assert!(budget.stats().exhausted >= 1900);
}

#[test]
fn the_reserve_allows_min_per_sec_when_traffic_is_low() {
    let clock = ManualClock::new();
    let budget = RetryBudget::with_clock(clock.clone()).with_min_per_sec(1).with_ratio(0.0);
    let policy = || Retrying::<(), Error>::new().stop(attempts(100)).wait(none()).budget(&budget);
    let mut attempts_made = 0;
    let _ = policy().call(|| {
        attempts_made += 1;
        Err(Error::Down)
    });
    assert_eq!(attempts_made, 1 + 10, "1/s over a 10 s ttl");
    clock.advance(Duration::from_secs(10));
    let _ = policy().call(|| {
        attempts_made += 1;
        Err(Error::Down)
    });
    assert_eq!(attempts_made, 22, "the withdrawals expired");
}

#[test]
fn concurrent_retries_never_overdraw_the_budget() {
    let budget = Arc::new(RetryBudget::new().with_min_per_sec(5).with_ratio(0.0));
    let handles: Vec<_> = (0..4)
        .map(|_| {
            let budget = budget.clone();
            std::thread::spawn(move || (0..10_000).filter(|_| budget.try_withdraw()).count())
        })
        .collect();
    let total: usize = handles.into_iter().map(|h| h.join().unwrap()).sum();
    assert_eq!(total, 50, "exactly the reserve (5/s × 10 s)");
}

#[tokio::test(start_paused = true)]
async fn explicit_timeout_and_deadline_cut_async_attempts() {
    let start = tokio::time::Instant::now();
    let mut calls = 0;
    // Each attempt hangs; the timeout cuts it at 2 s, the deadline at 5 s overall.
    let out: Result<(), Error> = Retrying::new()
        .stop(attempts(100))
        .wait(fixed(Duration::from_millis(500)))
        .timeout(Duration::from_secs(2))
        .deadline(Duration::from_secs(5))
        .call_async(async || {
            calls += 1;
            std::future::pending::<()>().await;
            Ok(())
        })
        .await;
    assert_eq!(out, Err(Error::Timeout));
    // 0–2 cut, sleep to 2.5, 2.5–4.5 cut, sleep to 5.0 would end at the deadline: stop.
    assert_eq!((calls, start.elapsed()), (2, Duration::from_millis(4500)));

    // A deadline alone cuts the running attempt at what is left of it.
    let start = tokio::time::Instant::now();
    let out: Result<(), Error> = Retrying::new()
        .deadline(Duration::from_secs(3))
        .call_async(async || std::future::pending().await)
        .await;
    assert_eq!((out, start.elapsed()), (Err(Error::Timeout), Duration::from_secs(3)));
}

#[test]
fn a_sync_deadline_stops_sleeping_past_it() {
    let clock = ManualClock::new();
    let mut calls = 0;
    let out: Result<(), Error> = Retrying::new()
        .stop(attempts(100))
        .wait(fixed(Duration::from_secs(2)))
        .deadline(Duration::from_secs(7))
        .clock(clock.clone())
        .sleep(clock.sleeper())
        .call(|| {
            calls += 1;
            Err(Error::Down)
        });
    // Attempts at 0, 2, 4; at 4 + 2 + 2 = 8 > 7 it would sleep past: stop after 4 attempts at 6.
    assert_eq!((out, calls, clock.elapsed()), (Err(Error::Down), 4, Duration::from_secs(6)));
}
