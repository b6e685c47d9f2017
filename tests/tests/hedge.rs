//! `#[hedge]` and `Hedging` in virtual time: the slow copy is overtaken and dropped,
//! `n` is never exceeded, non-fatal errors start the next copy at once, fatal ones
//! end the call, the percentile delay follows the latencies, and `#[retry]` stacks.
#![deny(warnings, clippy::all)]

use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use retry::testing::record_sleeps;
use retry::{Hedging, RetryBudget, hedge, retry};
use tokio::time::{Instant, sleep};

#[derive(Clone, Debug, PartialEq)]
enum Error {
    Busy(u32),
    Fatal(u32),
}

/// Counts copies alive and the most ever alive at once; a copy is alive from its
/// start until its future is dropped.
#[derive(Default)]
struct Copies {
    started: AtomicU32,
    alive: AtomicU32,
    peak: AtomicU32,
}

struct Alive<'a>(&'a Copies);

impl Drop for Alive<'_> {
    fn drop(&mut self) {
        self.0.alive.fetch_sub(1, Ordering::SeqCst);
    }
}

impl Copies {
    /// Starts a copy: its number (0-based) and its guard.
    fn start(&self) -> (u32, Alive<'_>) {
        let alive = self.alive.fetch_add(1, Ordering::SeqCst) + 1;
        self.peak.fetch_max(alive, Ordering::SeqCst);
        (self.started.fetch_add(1, Ordering::SeqCst), Alive(self))
    }
}

/// Copy `i` takes `took[i]` ms and then returns `outcome[i]` (past the lists: 10 ms, `Ok`).
async fn copy(copies: &Copies, took: &[u64], outcome: &[Result<u32, Error>]) -> Result<u32, Error> {
    let (i, _alive) = copies.start();
    let i = i as usize;
    sleep(Duration::from_millis(took.get(i).copied().unwrap_or(10))).await;
    outcome.get(i).cloned().unwrap_or(Ok(i as u32))
}

#[hedge(n = 3, delay = 50ms)]
async fn three(copies: &Copies, took: &[u64], outcome: &[Result<u32, Error>]) -> Result<u32, Error> {
    copy(copies, took, outcome).await
}

#[tokio::test(start_paused = true)]
async fn the_slow_copy_is_overtaken_and_dropped() {
    let copies = Copies::default();
    let start = Instant::now();
    // Copy 0 is stuck for 10 s; copy 1 starts at 50 ms and takes 20 ms.
    assert_eq!(three(&copies, &[10_000, 20], &[]).await, Ok(1));
    assert_eq!(start.elapsed(), Duration::from_millis(70));
    assert_eq!(copies.alive.load(Ordering::SeqCst), 0, "the loser was dropped");
    assert_eq!(copies.started.load(Ordering::SeqCst), 2);
}

#[tokio::test(start_paused = true)]
async fn a_fast_call_starts_no_hedge() {
    let copies = Copies::default();
    assert_eq!(three(&copies, &[30], &[]).await, Ok(0));
    assert_eq!(copies.started.load(Ordering::SeqCst), 1);
}

#[tokio::test(start_paused = true)]
async fn n_is_never_exceeded_and_all_failures_return_the_last_error() {
    let copies = Copies::default();
    let start = Instant::now();
    let outcome = [Err(Error::Busy(0)), Err(Error::Busy(1)), Err(Error::Busy(2)), Ok(3)];
    // Each copy takes 1 s: hedges at 50 and 100 ms, then no more; all fail.
    assert_eq!(three(&copies, &[1000, 1000, 1000, 1000], &outcome).await, Err(Error::Busy(2)));
    assert_eq!(copies.peak.load(Ordering::SeqCst), 3);
    assert_eq!(copies.started.load(Ordering::SeqCst), 3, "never a fourth copy");
    assert_eq!(start.elapsed(), Duration::from_millis(1100));
    assert_eq!(copies.alive.load(Ordering::SeqCst), 0);
}

#[hedge(n = 3, delay = 1s, on = [Busy(_)])]
async fn picky(copies: &Copies, took: &[u64], outcome: &[Result<u32, Error>]) -> Result<u32, Error> {
    copy(copies, took, outcome).await
}

#[tokio::test(start_paused = true)]
async fn a_non_fatal_error_starts_the_next_copy_at_once() {
    let copies = Copies::default();
    let start = Instant::now();
    // Copy 0 fails Busy at 10 ms: copy 1 starts then, not at 1 s; it takes 10 ms.
    assert_eq!(picky(&copies, &[10, 10], &[Err(Error::Busy(0))]).await, Ok(1));
    assert_eq!(start.elapsed(), Duration::from_millis(20));
}

#[tokio::test(start_paused = true)]
async fn a_fatal_error_ends_the_call_and_drops_the_others() {
    let copies = Copies::default();
    // Copy 0 hangs; copy 1 (at 1 s) fails fatally at 1.01 s: returned at once.
    let start = Instant::now();
    let outcome = [Ok(0), Err(Error::Fatal(1))];
    assert_eq!(picky(&copies, &[60_000, 10], &outcome).await, Err(Error::Fatal(1)));
    assert_eq!(start.elapsed(), Duration::from_millis(1010));
    assert_eq!(copies.alive.load(Ordering::SeqCst), 0);
}

#[hedge(n = 2, delay = percentile(0.5, min_samples = 5, fallback = 400ms, period = 60s))]
async fn adaptive(took_ms: u64, hedge_ms: u64, copies: &Copies) -> Result<u32, Error> {
    let (i, _alive) = copies.start();
    sleep(Duration::from_millis(if i == 0 { took_ms } else { hedge_ms })).await;
    Ok(i)
}

#[tokio::test(start_paused = true)]
async fn the_percentile_delay_follows_the_latencies() {
    // Fallback first: a 1 s call is hedged at 400 ms.
    let copies = Copies::default();
    let start = Instant::now();
    assert_eq!(adaptive(1000, 10, &copies).await, Ok(1));
    assert_eq!(start.elapsed(), Duration::from_millis(410));
    // Many 20 ms calls: the median becomes ~20 ms, so a 1 s call is hedged at ~20 ms.
    for _ in 0..10 {
        adaptive(20, 20, &Copies::default()).await.unwrap();
    }
    let start = Instant::now();
    assert_eq!(adaptive(1000, 10, &Copies::default()).await, Ok(1));
    let hedged_at = start.elapsed() - Duration::from_millis(10);
    // The percentile reads as the bottom of its histogram bucket (at most 3% low).
    assert!(
        hedged_at >= Duration::from_millis(19) && hedged_at <= Duration::from_millis(20),
        "{hedged_at:?}"
    );
    // Latencies grow to 300 ms: the delay follows (it is recomputed every 64
    // latencies, and at each new period).
    for _ in 0..70 {
        adaptive(300, 300, &Copies::default()).await.unwrap();
    }
    let start = Instant::now();
    assert_eq!(adaptive(1000, 10, &Copies::default()).await, Ok(1));
    let hedged_at = start.elapsed() - Duration::from_millis(10);
    assert!(
        hedged_at >= Duration::from_millis(291) && hedged_at <= Duration::from_millis(300),
        "{hedged_at:?}"
    );
}

struct Service {
    copies: Copies,
}

impl Service {
    /// `#[retry]` around `#[hedge]`: each attempt is a hedged call.
    #[retry(stop = attempts(3), wait = fixed(1s))]
    #[hedge(n = 2, delay = 100ms)]
    async fn call(&self, label: String, fail_first: u32) -> Result<String, Error> {
        let (i, _alive) = self.copies.start();
        sleep(Duration::from_millis(200)).await;
        if i < fail_first { Err(Error::Busy(i)) } else { Ok(format!("{label}-{i}")) }
    }

    /// The other order: `#[hedge]` outside, still the hedged call retried.
    #[hedge(n = 2, delay = 100ms)]
    #[retry(stop = attempts(3), wait = fixed(1s))]
    async fn call_swapped(&self, label: String, fail_first: u32) -> Result<String, Error> {
        let (i, _alive) = self.copies.start();
        sleep(Duration::from_millis(200)).await;
        if i < fail_first { Err(Error::Busy(i)) } else { Ok(format!("{label}-{i}")) }
    }
}

#[tokio::test(start_paused = true)]
async fn retry_stacks_around_hedge_in_either_order() {
    for swapped in [false, true] {
        let service = Service { copies: Copies::default() };
        let start = Instant::now();
        // Attempt 1: copies 0 and 1 (at 100 ms) both fail (the call fails at 300 ms);
        // sleep 1 s; attempt 2: copy 2 succeeds at 1.5 s, copy 3 (at 1.4 s) dropped.
        let out = if swapped {
            service.call_swapped("a".to_string(), 2).await
        } else {
            service.call("a".to_string(), 2).await
        };
        assert_eq!(out.as_deref(), Ok("a-2"), "swapped: {swapped}");
        assert_eq!(start.elapsed(), Duration::from_millis(1500), "swapped: {swapped}");
        assert_eq!(service.copies.alive.load(Ordering::SeqCst), 0);
        assert_eq!(service.copies.started.load(Ordering::SeqCst), 4);
    }
}

#[tokio::test(start_paused = true)]
async fn hedges_draw_from_the_budget() {
    let budget = RetryBudget::new().with_min_per_sec(0).with_ratio(0.5);
    #[hedge(n = 3, delay = 50ms, budget = budget)]
    async fn slow(budget: &RetryBudget, copies: &Copies) -> Result<u32, Error> {
        let (i, _alive) = copies.start();
        sleep(Duration::from_millis(if i == 0 { 1000 } else { 10 })).await;
        Ok(i)
    }
    // The first call deposits half a token: no hedge, it waits the full second.
    let copies = Copies::default();
    let start = Instant::now();
    assert_eq!(slow(&budget, &copies).await, Ok(0));
    assert_eq!(start.elapsed(), Duration::from_secs(1));
    // The second deposits the other half: one hedge.
    let copies = Copies::default();
    let start = Instant::now();
    assert_eq!(slow(&budget, &copies).await, Ok(1));
    assert_eq!(start.elapsed(), Duration::from_millis(60));
    assert_eq!(copies.started.load(Ordering::SeqCst), 2, "no token for a third copy");
}

#[tokio::test(start_paused = true)]
async fn the_explicit_api_runs_on_its_own_timer() {
    let _sleeps = record_sleeps();
    let copies = Copies::default();
    let out: Result<u32, Error> = Hedging::new(2)
        .delay(Duration::from_millis(5))
        .sleep(|d| sleep(d))
        .call(|| copy(&copies, &[100, 1], &[]))
        .await;
    assert_eq!(out, Ok(1));
    assert_eq!(copies.alive.load(Ordering::SeqCst), 0);
}

#[derive(Debug, PartialEq)]
enum Unavailable {
    Open,
}

impl From<retry::CircuitOpen> for Unavailable {
    fn from(_: retry::CircuitOpen) -> Self {
        Unavailable::Open
    }
}

#[tokio::test(start_paused = true)]
async fn cancelled_losers_never_count_against_the_breaker() {
    let breaker = retry::CircuitBreaker::new().with_consecutive_failures(1);
    #[retry(stop = attempts(1), breaker = breaker)]
    #[hedge(n = 3, delay = 10ms)]
    async fn call(breaker: &retry::CircuitBreaker, copies: &Copies) -> Result<u32, Unavailable> {
        let (i, _alive) = copies.start();
        // Copies 0 and 1 hang (they will be cancelled); copy 2 succeeds.
        if i < 2 {
            std::future::pending::<()>().await;
        }
        Ok(i)
    }
    for _ in 0..5 {
        let copies = Copies::default();
        assert_eq!(call(&breaker, &copies).await, Ok(2));
        assert_eq!(copies.alive.load(Ordering::SeqCst), 0);
    }
    // One failure would have opened it: the ten cancelled copies counted nothing.
    assert_eq!(breaker.state(), retry::breaker::State::Closed);
    assert_eq!(breaker.stats().consecutive_failures, 0);
}

#[tokio::test(start_paused = true)]
async fn on_transient_picks_the_non_fatal_errors() {
    use std::io::{Error as IoError, ErrorKind};
    #[hedge(n = 3, delay = 1s, on = transient)]
    async fn read(copies: &Copies, kinds: &[ErrorKind]) -> Result<u32, IoError> {
        let (i, _alive) = copies.start();
        sleep(Duration::from_millis(5)).await;
        match kinds.get(i as usize) {
            Some(kind) => Err(IoError::from(*kind)),
            None => Ok(i),
        }
    }
    // A reset is transient: the next copy starts at once (not after 1 s).
    let copies = Copies::default();
    let start = Instant::now();
    assert_eq!(read(&copies, &[ErrorKind::ConnectionReset]).await.unwrap(), 1);
    assert_eq!(start.elapsed(), Duration::from_millis(10));
    // Not found is not: the call ends with it.
    let copies = Copies::default();
    let error = read(&copies, &[ErrorKind::NotFound]).await.unwrap_err();
    assert_eq!(error.kind(), ErrorKind::NotFound);
    assert_eq!(copies.started.load(Ordering::SeqCst), 1);
}
