//! The sync executor: hook order and arguments, stops, conditions, fallback,
//! retry_after, panics, statistics and the testing guards.

use std::cell::RefCell;
use std::io;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::time::Duration;

use retry::testing::{self, ManualClock};
use retry::{Attempt, Retrying, dsl::*};

fn secs(s: u64) -> Duration {
    Duration::from_secs(s)
}

/// An operation that fails `failures` times with its attempt number, then succeeds.
fn failing(failures: u32) -> impl FnMut() -> Result<&'static str, u32> {
    let mut calls = 0;
    move || {
        calls += 1;
        if calls <= failures { Err(calls) } else { Ok("ok") }
    }
}

fn describe(kind: &str, a: &Attempt<'_, &'static str, u32>) -> String {
    let outcome = match (a.value(), a.error()) {
        (Some(v), _) => format!(" ok={v}"),
        (_, Some(e)) => format!(" err={e}"),
        _ => String::new(),
    };
    let sleep = a.next_sleep().map(|d| format!(" sleep={}s", d.as_secs())).unwrap_or_default();
    format!("{kind}#{}{outcome}{sleep} idle={}s", a.attempt(), a.idle_for().as_secs())
}

#[test]
fn hooks_run_in_tenacity_order_with_their_arguments() {
    let _sleeps = testing::record_sleeps();
    let log = RefCell::new(Vec::new());
    let mut op = failing(2);
    let out = Retrying::new()
        .stop(attempts(5))
        .wait(expo(1))
        .before(|a| log.borrow_mut().push(describe("before", a)))
        .after(|a| log.borrow_mut().push(describe("after", a)))
        .before_sleep(|a| log.borrow_mut().push(describe("before_sleep", a)))
        .on_success(|a| log.borrow_mut().push(describe("on_success", a)))
        .on_giveup(|a| log.borrow_mut().push(describe("on_giveup", a)))
        .call(|| {
            log.borrow_mut().push(format!("op@{:?}", retry::attempt()));
            op()
        });
    assert_eq!(out, Ok("ok"));
    assert_eq!(
        log.into_inner(),
        [
            "before#1 idle=0s",
            "op@Some(1)",
            "after#1 err=1 idle=0s",
            "before_sleep#1 err=1 sleep=1s idle=0s",
            "before#2 idle=1s",
            "op@Some(2)",
            "after#2 err=2 idle=1s",
            "before_sleep#2 err=2 sleep=2s idle=1s",
            "before#3 idle=3s",
            "op@Some(3)",
            "after#3 ok=ok idle=3s",
            "on_success#3 ok=ok idle=3s",
        ]
    );
}

#[test]
fn giving_up_runs_after_then_on_giveup_then_fallback_and_returns_the_last_error() {
    let _sleeps = testing::record_sleeps();
    let log = RefCell::new(Vec::new());
    let out = Retrying::new()
        .stop(attempts(3))
        .wait(fixed(1))
        .after(|a| log.borrow_mut().push(describe("after", a)))
        .on_success(|a| log.borrow_mut().push(describe("on_success", a)))
        .on_giveup(|a| log.borrow_mut().push(describe("on_giveup", a)))
        .call(failing(10));
    assert_eq!(out, Err(3), "the caller gets the last error itself");
    let log = log.into_inner();
    assert_eq!(log[log.len() - 2..], ["after#3 err=3 idle=2s", "on_giveup#3 err=3 idle=2s"]);

    let degraded = Retrying::new()
        .stop(attempts(2))
        .wait(none())
        .fallback(|last| last.or(Ok("cached")))
        .call(failing(10));
    assert_eq!(degraded, Ok("cached"));

    let untouched = Retrying::new().wait(none()).fallback(|_| Ok("never")).call(failing(1));
    assert_eq!(untouched, Ok("ok"), "fallback only runs when the call fails");
}

#[test]
fn conditions_choose_what_is_retried() {
    let _sleeps = testing::record_sleeps();
    let mut calls = 0;
    let out = Retrying::new().stop(attempts(10)).when(|e: &u32| *e < 3).call(|| -> Result<(), u32> {
        calls += 1;
        Err(calls)
    });
    assert_eq!((out, calls), (Err(3), 3), "error 3 is not retried");

    let mut calls = 0;
    let out = Retrying::new()
        .stop(attempts(10))
        .when(|e: &u32| *e == 1)
        .when(|e: &u32| *e == 2)
        .unless(|e: &u32| *e == 2)
        .call(|| -> Result<(), u32> {
            calls += 1;
            Err(calls)
        });
    assert_eq!(out, Err(2), "unless wins over when");

    let mut calls = 0;
    let out = Retrying::<_, io::Error>::new().when(transient).call(|| -> io::Result<()> {
        calls += 1;
        Err(if calls == 1 { io::ErrorKind::ConnectionReset } else { io::ErrorKind::NotFound }.into())
    });
    assert_eq!(out.unwrap_err().kind(), io::ErrorKind::NotFound);
    assert_eq!(calls, 2);

    let mut polls = 0;
    let out = Retrying::new().stop(attempts(3)).wait(none()).if_result(|v: &u32| *v == 0).call(
        || -> Result<u32, ()> {
            polls += 1;
            Ok(0)
        },
    );
    assert_eq!((out, polls), (Ok(0), 3), "gives up with the last value while the predicate holds");
}

#[test]
fn retry_after_replaces_the_wait_and_stops_see_it() {
    let sleeps = testing::record_sleeps();
    let out = Retrying::new()
        .stop(attempts(4))
        .wait(fixed(1))
        .retry_after(|e: &u32| e.is_multiple_of(2).then(|| secs(7)))
        .call(failing(10));
    assert_eq!(out, Err(4));
    assert_eq!(sleeps.sleeps(), [secs(1), secs(7), secs(1)]);

    let clock = ManualClock::new();
    let mut calls = 0;
    let _ = Retrying::new()
        .stop(before_elapsed(10))
        .wait(fixed(1))
        .retry_after(|_: &()| Some(secs(60)))
        .clock(clock.clone())
        .sleep(clock.sleeper())
        .call(|| -> Result<(), ()> {
            calls += 1;
            Err(())
        });
    assert_eq!(calls, 1, "a 60 s Retry-After would end past before_elapsed(10)");
}

#[test]
fn stop_composition_on_a_manual_clock() {
    let run = |stop: &dyn Fn() -> (u32, Duration)| stop();
    let attempts_or_elapsed = || {
        let clock = ManualClock::new();
        let (out, stats) = Retrying::new()
            .stop(attempts(10) | elapsed(7))
            .wait(fixed(2))
            .clock(clock.clone())
            .sleep(clock.sleeper())
            .call_with_stats(failing(100));
        assert!(out.is_err());
        (stats.attempts(), stats.elapsed())
    };
    // Failures at 0, 2, 4, 6, 8 s: 8 ≥ 7 stops after the 5th.
    assert_eq!(run(&attempts_or_elapsed), (5, secs(8)));

    let both = || {
        let clock = ManualClock::new();
        let (_, stats) = Retrying::new()
            .stop(attempts(2) & elapsed(5))
            .wait(fixed(2))
            .clock(clock.clone())
            .sleep(clock.sleeper())
            .call_with_stats(failing(100));
        (stats.attempts(), stats.elapsed())
    };
    assert_eq!(run(&both), (4, secs(6)));
}

#[test]
fn before_elapsed_never_starts_a_sleep_past_its_limit() {
    for limit in [1u64, 5, 10, 33, 100] {
        let clock = ManualClock::new();
        let limit = secs(limit);
        let log = RefCell::new(Vec::new());
        let (_, stats) = Retrying::new()
            .stop(before_elapsed(limit))
            .wait(expo(1))
            .clock(clock.clone())
            .sleep(clock.sleeper())
            .before_sleep(|a| log.borrow_mut().push((a.elapsed(), a.next_sleep().unwrap())))
            .call_with_stats(|| {
                clock.advance(Duration::from_millis(300)); // each attempt takes 300 ms
                Err::<(), _>(())
            });
        for (elapsed, sleep) in log.borrow().iter() {
            assert!(*elapsed + *sleep < limit, "{elapsed:?} + {sleep:?} ≥ {limit:?}");
        }
        assert!(stats.elapsed() < limit + Duration::from_millis(300));
        assert!(!log.borrow().is_empty() || limit <= secs(1));
    }
}

#[test]
fn elapsed_counts_from_the_first_attempt_start_to_the_failed_attempts_end() {
    let clock = ManualClock::new();
    let mut seen = Vec::new();
    let _ = Retrying::new()
        .stop(elapsed(5))
        .wait(none())
        .clock(clock.clone())
        .after(|a| seen.push(a.elapsed()))
        .call(|| {
            clock.advance(secs(2));
            Err::<(), _>(())
        });
    assert_eq!(seen, [secs(2), secs(4), secs(6)]);
}

#[test]
fn panics_are_not_retried_and_the_attempt_marker_is_restored() {
    let mut calls = 0;
    let result = catch_unwind(AssertUnwindSafe(|| {
        Retrying::new().wait(none()).call(|| -> Result<(), ()> {
            calls += 1;
            panic!("boom");
        })
    }));
    assert!(result.is_err());
    assert_eq!(calls, 1);
    assert_eq!(retry::attempt(), None);
}

#[test]
fn nested_calls_see_their_own_attempt_numbers() {
    let mut seen = Vec::new();
    let _ = Retrying::new().stop(attempts(2)).wait(none()).call(|| -> Result<(), ()> {
        let outer = retry::attempt();
        let _ = Retrying::new().stop(attempts(3)).wait(none()).call(|| -> Result<(), ()> {
            seen.push((outer, retry::attempt()));
            Err(())
        });
        seen.push((outer, retry::attempt()));
        Err(())
    });
    let s = |o, i| (Some(o), Some(i));
    assert_eq!(seen, [s(1, 1), s(1, 2), s(1, 3), s(1, 1), s(2, 1), s(2, 2), s(2, 3), s(2, 2)]);
    assert_eq!(retry::attempt(), None);
}

#[test]
fn testing_guards_are_scoped() {
    let mut calls = 0;
    {
        let _off = testing::disable_retries();
        let out = Retrying::new().on_giveup(|_: &Attempt<'_, (), ()>| calls += 100).call(|| Err(()));
        assert!(out.is_err());
    }
    assert_eq!(calls, 100, "one attempt, and on_giveup still ran");
    {
        // A policy with no hook takes the other path: its first attempt inline,
        // the rest out of line.
        let _off = testing::disable_retries();
        let mut attempts = 0;
        let out = Retrying::new().wait(none()).call(|| {
            attempts += 1;
            Err::<(), _>(attempts)
        });
        assert_eq!((out, attempts), (Err(1), 1), "one attempt, its error returned");
    }

    let sleeps = testing::record_sleeps();
    let _ = Retrying::new().stop(attempts(3)).wait(fixed(9)).call(failing(5));
    assert_eq!(sleeps.sleeps(), [secs(9), secs(9)]);
    assert_eq!(sleeps.total(), secs(18));
    sleeps.clear();
    assert!(sleeps.sleeps().is_empty());

    // Another thread sees none of this thread's guards.
    let handle = std::thread::spawn(|| {
        let (_, stats) = Retrying::new()
            .stop(attempts(2))
            .wait(fixed(Duration::from_millis(5)))
            .call_with_stats(failing(5));
        stats
    });
    let stats = handle.join().unwrap();
    assert_eq!(stats.attempts(), 2);
    assert!(stats.elapsed() >= Duration::from_millis(5), "the other thread really slept");
    assert!(sleeps.sleeps().is_empty());
}

#[test]
fn zero_delays_skip_the_sleeper() {
    let mut slept = Vec::new();
    let _ = Retrying::new()
        .stop(attempts(3))
        .wait(chain((none(), fixed(1))))
        .sleep(|d| slept.push(d))
        .call(failing(5));
    assert_eq!(slept, [secs(1)]);
}

#[test]
fn check_rejects_invalid_policies_and_unchecked_ones_do_not_panic() {
    let err = Retrying::<(), ()>::new().stop(attempts(0)).check().unwrap_err();
    assert_eq!(err.policy(), "attempts");
    assert!(Retrying::<(), ()>::new().wait(random(3, 1)).check().is_err());
    assert!(Retrying::<(), ()>::new().stop(attempts(2) | elapsed(1)).wait(expo(1).max(3)).check().is_ok());

    let mut calls = 0;
    let _ = Retrying::new().stop(attempts(0)).wait(expo(-1)).call(|| -> Result<(), ()> {
        calls += 1;
        Err(())
    });
    assert_eq!(calls, 1, "attempts(0) used anyway makes the one attempt");
}

#[test]
fn stats_count_attempts_and_idle_time() {
    let _sleeps = testing::record_sleeps();
    let (out, stats) = Retrying::new().stop(attempts(4)).wait(linear(1)).call_with_stats(failing(2));
    assert_eq!(out, Ok("ok"));
    assert_eq!((stats.attempts(), stats.idle()), (3, secs(3)));
}

#[test]
fn the_name_reaches_hooks() {
    let mut names = Vec::new();
    let _ = Retrying::new()
        .name("billing::charge")
        .stop(attempts(1))
        .on_giveup(|a| names.push(a.name()))
        .call(failing(1));
    assert_eq!(names, ["billing::charge"]);
}

#[test]
fn the_clock_is_read_only_when_something_needs_it() {
    let _sleeps = testing::record_sleeps();
    let clock = retry_tests::CountingClock::default();

    // attempts-only stop, no hooks: no read on success, none on retries either.
    let _ = Retrying::new().stop(attempts(3)).clock(&clock).call(failing(0));
    let _ = Retrying::new().stop(attempts(3)).clock(&clock).call(failing(2));
    assert_eq!(clock.reads(), 0);

    // A time-based stop reads it: once at the start, once per finished attempt.
    let _ = Retrying::new().stop(attempts(3) | elapsed(60)).clock(&clock).call(failing(0));
    assert_eq!(clock.reads(), 2);

    // Statistics need it too.
    clock.reset();
    let _ = Retrying::new().clock(&clock).call_with_stats(failing(0));
    assert!(clock.reads() > 0);
}

#[test]
fn the_default_policy_is_three_attempts_with_full_jitter_from_100ms() {
    for _ in 0..50 {
        let sleeps = testing::record_sleeps();
        let mut calls = 0;
        let out = Retrying::new().call(|| -> Result<(), ()> {
            calls += 1;
            Err(())
        });
        assert_eq!((out, calls), (Err(()), 3));
        let recorded = sleeps.sleeps();
        assert_eq!(recorded.len(), 2);
        assert!(recorded[0] <= Duration::from_millis(100), "{recorded:?}");
        assert!(recorded[1] <= Duration::from_millis(200), "{recorded:?}");
    }
}

#[test]
fn on_transient_retries_what_the_error_calls_transient_after_the_delay_it_asks() {
    #[derive(Debug, PartialEq)]
    enum Busy {
        Later(u64),
        Never,
    }
    impl retry::Transient for Busy {
        fn is_transient(&self) -> bool {
            matches!(self, Busy::Later(_))
        }
        fn retry_after(&self) -> Option<std::time::Duration> {
            match self {
                Busy::Later(secs) => Some(std::time::Duration::from_secs(*secs)),
                Busy::Never => None,
            }
        }
    }
    let sleeps = retry::testing::record_sleeps();
    let mut calls = 0;
    let out = retry::Retrying::<(), Busy>::new().stop(retry::dsl::attempts(5)).on_transient().call(|| {
        calls += 1;
        Err(if calls < 3 { Busy::Later(calls) } else { Busy::Never })
    });
    assert_eq!((out, calls), (Err(Busy::Never), 3));
    assert_eq!(sleeps.sleeps(), [1, 2].map(std::time::Duration::from_secs));
}

#[test]
fn statistics_end_with_the_last_attempt_not_the_fallback() {
    let clock = retry::testing::ManualClock::new();
    let (out, stats) = Retrying::new()
        .stop(attempts(2))
        .wait(none())
        .clock(clock.clone())
        .fallback(|_| {
            clock.advance(secs(200));
            Ok("cached")
        })
        .call_with_stats(|| {
            clock.advance(secs(1));
            Err("down")
        });
    assert_eq!(out, Ok("cached"));
    assert_eq!((stats.attempts(), stats.elapsed()), (2, secs(2)));
}
