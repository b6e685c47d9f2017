//! `retry::with_stats` / `with_stats_async`: what a caller of a `#[retry]` fn can
//! learn of its call, without a `static` of its own.
#![deny(warnings, clippy::all)]

use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use retry::{retry, with_stats, with_stats_async};

#[retry(stop = attempts(5), wait = fixed(1s))]
fn lookup(calls: &AtomicU32, fails: u32) -> Result<u32, &'static str> {
    let n = calls.fetch_add(1, Ordering::SeqCst);
    if n < fails { Err("busy") } else { Ok(n) }
}

#[retry(stop = attempts(5), wait = fixed(1s))]
async fn fetch(calls: &AtomicU32, fails: u32) -> Result<u32, &'static str> {
    let n = calls.fetch_add(1, Ordering::SeqCst);
    tokio::time::sleep(Duration::from_millis(10)).await;
    if n < fails { Err("busy") } else { Ok(n) }
}

#[retry(stop = attempts(2), wait = none())]
fn outer(calls: &AtomicU32) -> Result<u32, &'static str> {
    let inner = lookup(&AtomicU32::new(0), 3)?;
    if calls.fetch_add(1, Ordering::SeqCst) == 0 { Err("again") } else { Ok(inner) }
}

#[test]
fn a_sync_caller_sees_attempts_and_sleeps() {
    let _sleeps = retry::testing::record_sleeps();
    let (outcome, stats) = with_stats(|| lookup(&AtomicU32::new(0), 2));
    assert_eq!(outcome, Ok(2));
    assert_eq!((stats.attempts(), stats.idle(), stats.retried()), (3, Duration::from_secs(2), true));
    let (outcome, stats) = with_stats(|| lookup(&AtomicU32::new(0), 0));
    assert_eq!(outcome, Ok(0));
    assert_eq!((stats.attempts(), stats.idle(), stats.retried()), (1, Duration::ZERO, false));
    let (outcome, stats) = with_stats(|| lookup(&AtomicU32::new(0), 100));
    assert_eq!(outcome, Err("busy"));
    assert_eq!((stats.attempts(), stats.idle()), (5, Duration::from_secs(4)));
}

#[test]
fn the_outermost_retried_call_is_the_one_reported() {
    let _sleeps = retry::testing::record_sleeps();
    let (outcome, stats) = with_stats(|| outer(&AtomicU32::new(0)));
    assert_eq!(outcome, Ok(3));
    assert_eq!(stats.attempts(), 2, "outer's two attempts, not lookup's four");
    // Nested scopes: the inner one sees the call, and so does the outer one.
    let ((inner, inner_stats), outer_stats) = with_stats(|| with_stats(|| lookup(&AtomicU32::new(0), 1)));
    assert_eq!(inner, Ok(1));
    assert_eq!((inner_stats.attempts(), outer_stats.attempts()), (2, 2));
    // Outside any scope nothing is collected, and a panic leaves no scope behind.
    assert!(std::panic::catch_unwind(|| with_stats(|| panic!("in the scope"))).is_err());
    let _ = lookup(&AtomicU32::new(0), 3);
    let (_, stats) = with_stats(|| 7);
    assert_eq!(stats.attempts(), 1);
}

#[tokio::test(start_paused = true)]
async fn an_async_caller_sees_attempts_sleeps_and_time() {
    let (outcome, stats) = with_stats_async(fetch(&AtomicU32::new(0), 1)).await;
    assert_eq!(outcome, Ok(1));
    assert_eq!((stats.attempts(), stats.idle()), (2, Duration::from_secs(1)));
    assert_eq!(stats.elapsed(), Duration::from_millis(1020), "two attempts of 10 ms and a 1 s sleep");
    // Two futures interleaved on one thread each see their own call.
    let (first, second) = (AtomicU32::new(0), AtomicU32::new(0));
    let (a, b) = tokio::join!(with_stats_async(fetch(&first, 2)), with_stats_async(fetch(&second, 0)));
    assert_eq!((a.1.attempts(), b.1.attempts()), (3, 1));
}
