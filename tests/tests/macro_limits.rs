//! `timeout` and `deadline` on the attribute, in virtual time.
#![deny(warnings, clippy::all)]

use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use retry::testing::ManualClock;
use retry::{TimedOut, retry};
use tokio::time::{Instant, sleep};

#[derive(Debug, PartialEq)]
enum CallError {
    Timeout,
    Refused,
}

impl From<TimedOut> for CallError {
    fn from(_: TimedOut) -> Self {
        CallError::Timeout
    }
}

/// Each attempt takes `took[n]` seconds, then fails with `Refused` (or succeeds after the list).
async fn slow(calls: &AtomicU32, took: &[u64]) -> Result<u32, CallError> {
    let n = calls.fetch_add(1, Ordering::SeqCst) as usize;
    match took.get(n) {
        Some(secs) => {
            sleep(Duration::from_secs(*secs)).await;
            Err(CallError::Refused)
        }
        None => Ok(n as u32 + 1),
    }
}

#[retry(stop = attempts(4), wait = fixed(1s), timeout = 2s)]
async fn with_timeout(calls: &AtomicU32, took: &[u64]) -> Result<u32, CallError> {
    slow(calls, took).await
}

#[tokio::test(start_paused = true)]
async fn timeout_cuts_each_slow_attempt_and_retries() {
    let calls = AtomicU32::new(0);
    let start = Instant::now();
    // Attempt 1 hangs 60 s: cut at 2 s. Attempt 2 fails fast at 1 s. Attempt 3 succeeds.
    assert_eq!(with_timeout(&calls, &[60, 1]).await, Ok(3));
    assert_eq!(start.elapsed(), Duration::from_secs(2 + 1 + 1 + 1));
}

#[tokio::test(start_paused = true)]
async fn the_last_timeout_reaches_the_caller() {
    let calls = AtomicU32::new(0);
    let start = Instant::now();
    assert_eq!(with_timeout(&calls, &[60, 60, 60, 60]).await, Err(CallError::Timeout));
    assert_eq!(start.elapsed(), Duration::from_secs(4 * 2 + 3));
}

#[retry(stop = attempts(100), wait = fixed(3s), deadline = 10s, on = [Refused, Timeout])]
async fn with_deadline(calls: &AtomicU32, took: &[u64]) -> Result<u32, CallError> {
    slow(calls, took).await
}

#[tokio::test(start_paused = true)]
async fn deadline_cuts_the_running_attempt() {
    let calls = AtomicU32::new(0);
    let start = Instant::now();
    // 4 s attempt + 3 s sleep = 7 s; the second attempt would hang: cut at 10 s.
    assert_eq!(with_deadline(&calls, &[4, 600]).await, Err(CallError::Timeout));
    assert_eq!(start.elapsed(), Duration::from_secs(10));
    assert_eq!(calls.load(Ordering::SeqCst), 2);
}

#[tokio::test(start_paused = true)]
async fn deadline_starts_no_sleep_past_it() {
    let calls = AtomicU32::new(0);
    let start = Instant::now();
    // Fails at 1, (sleep 3) 5, (sleep 3) 9: a 3 s sleep would end at 12 > 10, so it gives up at 9 s.
    assert_eq!(with_deadline(&calls, &[1, 1, 1, 1, 1]).await, Err(CallError::Refused));
    assert_eq!(start.elapsed(), Duration::from_secs(9));
    assert_eq!(calls.load(Ordering::SeqCst), 3);
}

#[retry(wait = fixed(3s), deadline = 10s, clock = clock.clone(), sleep = clock.sleeper())]
fn sync_deadline(clock: &ManualClock, calls: &AtomicU32) -> Result<(), CallError> {
    calls.fetch_add(1, Ordering::SeqCst);
    clock.advance(Duration::from_secs(1));
    Err(CallError::Refused)
}

#[test]
fn deadline_on_a_sync_fn_bounds_the_sleeps() {
    let clock = ManualClock::new();
    let calls = AtomicU32::new(0);
    assert_eq!(sync_deadline(&clock, &calls), Err(CallError::Refused));
    // The default stop, attempts(3), and the deadline: 3 attempts end at 1, 5 and 9 s.
    assert_eq!(calls.load(Ordering::SeqCst), 3);
    assert_eq!(clock.elapsed(), Duration::from_secs(9));
}

#[retry(stop = attempts(6), wait = fixed(1s), deadline = 5s)]
fn sync_deadline_default_clock() -> Result<(), CallError> {
    Err(CallError::Refused)
}

#[test]
fn deadline_with_recorded_sleeps() {
    // Recorded sleeps take no real time, so elapsed time stays ~0 and only the
    // `attempts(6)` stop ends the call: the deadline never cuts short by mistake.
    let sleeps = retry::testing::record_sleeps();
    assert_eq!(sync_deadline_default_clock(), Err(CallError::Refused));
    assert_eq!(sleeps.sleeps().len(), 5);
}
