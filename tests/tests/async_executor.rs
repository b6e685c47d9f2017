//! The async executor: tokio's paused clock, cancellation, `attempt()` under
//! interleaving, other runtimes, and `Send`.

use std::cell::RefCell;
use std::rc::Rc;
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use retry::testing;
use retry::{Retrying, dsl::*};
use tokio::time::Instant;

fn secs(s: u64) -> Duration {
    Duration::from_secs(s)
}

#[tokio::test(start_paused = true)]
async fn paused_clock_makes_backoff_instant_with_virtual_time_right() {
    let real = std::time::Instant::now();
    let virtual_start = Instant::now();
    let (out, stats) = Retrying::new()
        .stop(attempts(5))
        .wait(expo(1).max(10))
        .call_async_with_stats(|| async { Err::<(), _>("down") })
        .await;
    assert_eq!(out, Err("down"));
    assert_eq!(stats.attempts(), 5);
    assert_eq!(stats.idle(), secs(1 + 2 + 4 + 8));
    assert_eq!(stats.elapsed(), secs(15), "elapsed follows tokio's clock");
    assert_eq!(virtual_start.elapsed(), secs(15));
    assert!(real.elapsed() < Duration::from_secs(1), "no real sleeping");
}

#[tokio::test(start_paused = true)]
async fn time_based_stops_follow_the_paused_clock() {
    let calls = AtomicU32::new(0);
    let out = Retrying::new()
        .stop(elapsed(10))
        .wait(fixed(3))
        .call_async(|| async {
            calls.fetch_add(1, Ordering::Relaxed);
            Err::<(), _>(())
        })
        .await;
    assert!(out.is_err());
    assert_eq!(calls.load(Ordering::Relaxed), 5, "fails at 0, 3, 6, 9, 12 s");

    // Time spent inside attempts counts too.
    let (_, stats) = Retrying::new()
        .stop(before_elapsed(10))
        .wait(fixed(1))
        .call_async_with_stats(|| async {
            tokio::time::sleep(secs(2)).await;
            Err::<(), _>(())
        })
        .await;
    // 0–2 fail, sleep 1; 3–5 fail, sleep 1; 6–8 fail; 8 + 1 < 10: sleep; 9–11 fail: 11 + 1 ≥ 10.
    assert_eq!((stats.attempts(), stats.elapsed()), (4, secs(11)));
}

#[tokio::test(start_paused = true)]
async fn dropping_the_call_mid_sleep_cancels_it() {
    let calls = Arc::new(AtomicU32::new(0));
    let counted = Arc::clone(&calls);
    let call = Retrying::new().stop(never()).wait(fixed(60)).call_async(move || {
        let counted = Arc::clone(&counted);
        async move {
            counted.fetch_add(1, Ordering::SeqCst);
            Err::<(), _>(())
        }
    });
    let timed_out = tokio::time::timeout(secs(90), call).await;
    assert!(timed_out.is_err(), "still retrying at 90 s");
    assert_eq!(calls.load(Ordering::SeqCst), 2, "attempts at 0 s and 60 s");
    tokio::time::sleep(secs(600)).await;
    assert_eq!(calls.load(Ordering::SeqCst), 2, "nothing runs after the drop");
}

#[tokio::test(start_paused = true)]
async fn attempt_numbers_stay_per_call_when_interleaved_on_one_thread() {
    let seen = Rc::new(RefCell::new(Vec::new()));
    let run = |label: &'static str, every: u64| {
        let seen = Rc::clone(&seen);
        Retrying::new().stop(attempts(3)).wait(fixed(every)).call_async(move || {
            let seen = Rc::clone(&seen);
            async move {
                let before = retry::attempt();
                tokio::time::sleep(Duration::from_millis(10)).await; // yield mid-attempt
                seen.borrow_mut().push((label, before, retry::attempt()));
                Err::<(), _>(())
            }
        })
    };
    let _ = tokio::join!(run("a", 1), run("b", 2));
    assert_eq!(retry::attempt(), None);
    let seen = seen.borrow();
    assert_eq!(seen.len(), 6);
    for label in ["a", "b"] {
        let mine: Vec<_> = seen.iter().filter(|s| s.0 == label).map(|s| (s.1, s.2)).collect();
        assert_eq!(mine, [(Some(1), Some(1)), (Some(2), Some(2)), (Some(3), Some(3))], "{label}");
    }
}

#[tokio::test]
async fn nested_async_calls_restore_the_outer_number() {
    let out = Retrying::new()
        .stop(attempts(2))
        .wait(none())
        .call_async(|| async {
            let inner = Retrying::new()
                .stop(attempts(3))
                .wait(none())
                .call_async(|| async { Err::<u32, u32>(retry::attempt().unwrap()) })
                .await;
            assert_eq!(inner, Err(3));
            Err::<(), _>(retry::attempt())
        })
        .await;
    assert_eq!(out, Err(Some(2)));
}

#[test]
fn any_runtime_works_with_a_custom_sleeper() {
    let slept = RefCell::new(Vec::new());
    let out = futures::executor::block_on(
        Retrying::new()
            .stop(attempts(3))
            .wait(expo(1))
            .sleep(|d| {
                slept.borrow_mut().push(d);
                futures::future::ready(())
            })
            .call_async(|| async { if retry::attempt() == Some(3) { Ok("third time") } else { Err("no") } }),
    );
    assert_eq!(out, Ok("third time"));
    assert_eq!(slept.into_inner(), [secs(1), secs(2)]);
}

#[test]
fn testing_guards_apply_to_block_on_futures() {
    let sleeps = testing::record_sleeps();
    let out = futures::executor::block_on(
        Retrying::new().stop(attempts(3)).wait(fixed(30)).call_async(|| async { Err::<(), _>(()) }),
    );
    assert!(out.is_err());
    assert_eq!(sleeps.sleeps(), [secs(30), secs(30)]);

    let _off = testing::disable_retries();
    let calls = AtomicU32::new(0);
    let _ = futures::executor::block_on(Retrying::new().call_async(|| async {
        calls.fetch_add(1, Ordering::Relaxed);
        Err::<(), _>(())
    }));
    assert_eq!(calls.load(Ordering::Relaxed), 1);
}

#[test]
fn the_sleeper_never_sees_a_zero_delay_or_a_recorded_sleep() {
    let called = AtomicU32::new(0);
    let sleeper = |_: Duration| {
        called.fetch_add(1, Ordering::Relaxed);
        futures::future::ready(())
    };
    let fail = || async { Err::<(), _>(()) };
    let out = futures::executor::block_on(Retrying::new().wait(none()).sleep(sleeper).call_async(fail));
    assert!(out.is_err());
    assert_eq!(called.load(Ordering::Relaxed), 0, "zero delay");

    let sleeps = testing::record_sleeps();
    let out = futures::executor::block_on(Retrying::new().wait(fixed(5)).sleep(sleeper).call_async(fail));
    assert!(out.is_err());
    assert_eq!(called.load(Ordering::Relaxed), 0, "recorded");
    assert_eq!(sleeps.sleeps(), [secs(5), secs(5)]);
    drop(sleeps);

    let out = futures::executor::block_on(Retrying::new().wait(fixed(5)).sleep(sleeper).call_async(fail));
    assert!(out.is_err());
    assert_eq!(called.load(Ordering::Relaxed), 2, "slept");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn retried_futures_are_send_and_can_be_spawned() {
    let handle = tokio::spawn(
        Retrying::new()
            .stop(attempts(4))
            .wait(fixed(Duration::from_millis(1)))
            .on_giveup(|a| assert_eq!(a.attempt(), 4))
            .call_async(|| async { Err::<(), String>("down".to_owned()) }),
    );
    assert_eq!(handle.await.unwrap(), Err("down".to_owned()));
}

#[tokio::test(start_paused = true)]
async fn async_polling_of_plain_values() {
    let polls = AtomicU32::new(0);
    let status = Retrying::new()
        .stop(attempts(10))
        .wait(fixed(5))
        .if_result(|ready: &bool| !*ready)
        .call_value_async(|| async { polls.fetch_add(1, Ordering::Relaxed) >= 2 })
        .await;
    assert!(status);
    assert_eq!(polls.load(Ordering::Relaxed), 3);
}

/// Fails `failures` times, then succeeds.
fn failing_async(failures: u32) -> impl AsyncFnMut() -> Result<u32, &'static str> {
    let mut calls = 0;
    async move || {
        calls += 1;
        if calls <= failures { Err("down") } else { Ok(calls) }
    }
}

#[tokio::test]
async fn the_clock_is_read_only_when_something_needs_it() {
    let clock = retry_tests::CountingClock::default();

    // attempts-only stop, no hooks: no read on success, none on retries either.
    let policy = || Retrying::new().stop(attempts(3)).wait(none()).clock(&clock);
    assert_eq!(policy().call_async(failing_async(0)).await, Ok(1));
    assert_eq!(policy().call_async(failing_async(2)).await, Ok(3));
    assert_eq!(clock.reads(), 0);

    // A time-based stop reads it: once at the start, once per finished attempt.
    let timed = Retrying::new().stop(attempts(3) | elapsed(60)).wait(none()).clock(&clock);
    assert_eq!(timed.call_async(failing_async(0)).await, Ok(1));
    assert_eq!(clock.reads(), 2);
}
