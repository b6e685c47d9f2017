//! Zero heap allocations per call on the success path and per retry, sync and async,
//! counted by a global allocator. Alone in its binary: the count is process-wide.

use std::alloc::System;
use std::future::Future;
use std::pin::pin;
use std::task::{Context, Poll, Waker};
use std::time::Duration;

use retry::{Attempt, Retrying, dsl::*};
use stats_alloc::{INSTRUMENTED_SYSTEM, Region, StatsAlloc};

#[global_allocator]
static GLOBAL: &StatsAlloc<System> = &INSTRUMENTED_SYSTEM;

const CALLS: usize = 1_000;

/// Heap allocations made while running `f` `CALLS` times (after one warm-up run).
///
/// The count is process-wide, and the test harness's own thread may allocate now
/// and then (more so on a loaded machine), so the least of five runs is taken: an
/// allocation per call would show in every run as `CALLS` or more.
fn allocations(mut f: impl FnMut()) -> usize {
    f();
    (0..5)
        .map(|_| {
            let region = Region::new(GLOBAL);
            for _ in 0..CALLS {
                f();
            }
            region.change().allocations + region.change().reallocations
        })
        .min()
        .unwrap_or(usize::MAX)
}

/// Polls a future that must complete without waiting (no sleeps, no I/O).
fn ready<F: Future>(fut: F) -> F::Output {
    let mut cx = Context::from_waker(Waker::noop());
    match pin!(fut).poll(&mut cx) {
        Poll::Ready(out) => out,
        Poll::Pending => panic!("the future was expected to finish at once"),
    }
}

fn fails_twice() -> impl FnMut() -> Result<u64, u32> {
    let mut calls = 0;
    move || {
        calls += 1;
        if calls <= 2 { Err(calls) } else { Ok(7) }
    }
}

#[test]
fn no_allocation_per_call_or_per_retry() {
    // Sync, success on the first attempt, default policy.
    let n = allocations(|| {
        let out = Retrying::new().call(|| Ok::<_, ()>(std::hint::black_box(1)));
        assert_eq!(out, Ok(1));
    });
    assert_eq!(n, 0, "sync success path");

    // Sync, two retries with zero wait.
    let n = allocations(|| assert_eq!(Retrying::new().wait(none()).call(fails_twice()), Ok(7)));
    assert_eq!(n, 0, "sync retries");

    // Sync, two retries with jitter, time-based stop, every hook, and a custom sleeper.
    let n = allocations(|| {
        let hook = |a: &Attempt<'_, u64, u32>| {
            std::hint::black_box(a.attempt());
        };
        let out = Retrying::new()
            .stop(attempts(5) | elapsed(60))
            .wait(random_expo(Duration::from_millis(1)).max(1) + decorrelated(Duration::from_millis(1)))
            .when(|e: &u32| *e < 10)
            .before(hook)
            .after(hook)
            .before_sleep(hook)
            .on_success(hook)
            .on_giveup(hook)
            .sleep(|d: Duration| {
                std::hint::black_box(d);
            })
            .call_with_stats(fails_twice());
        assert_eq!(out.0, Ok(7));
    });
    assert_eq!(n, 0, "sync retries with jitter, hooks and stats");

    // Async, success on the first attempt.
    let n = allocations(|| {
        let out = ready(Retrying::new().call_async(|| async { Ok::<_, ()>(std::hint::black_box(1)) }));
        assert_eq!(out, Ok(1));
    });
    assert_eq!(n, 0, "async success path");

    // Async, two retries with zero wait.
    let n = allocations(|| {
        let mut op = fails_twice();
        let out = ready(Retrying::new().wait(none()).call_async(|| std::future::ready(op())));
        assert_eq!(out, Ok(7));
    });
    assert_eq!(n, 0, "async retries");

    // Async, two retries with real (ready) sleeps and jitter.
    let n = allocations(|| {
        let mut op = fails_twice();
        let out = ready(
            Retrying::new()
                .wait(expo_jitter(Duration::from_millis(1)))
                .sleep(|_| std::future::ready(()))
                .call_async(|| std::future::ready(op())),
        );
        assert_eq!(out, Ok(7));
    });
    assert_eq!(n, 0, "async retries with a sleeper");

    // A hedged call that finishes before its delay: no timer, no box.
    static LATENCIES: retry::Latencies = retry::Latencies::new();
    let n = allocations(|| {
        let out = ready(
            retry::Hedging::new(3)
                .delay_percentile(&LATENCIES)
                .call(|| async { Ok::<_, ()>(std::hint::black_box(1)) }),
        );
        assert_eq!(out, Ok(1));
    });
    assert_eq!(n, 0, "hedged call done before the delay");
}
