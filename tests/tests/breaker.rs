//! The circuit breaker's state machine, windows and manual control, on a manual clock.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use retry::breaker::{BreakerError, CircuitBreaker, State, Transition, Window};
use retry::testing::ManualClock;

fn fail(b: &CircuitBreaker<ManualClock>) -> bool {
    b.call(|| Err::<(), _>("down")).is_err_and(|e| e.is_open())
}

fn succeed(b: &CircuitBreaker<ManualClock>) -> Result<(), BreakerError<&'static str>> {
    b.call(|| Ok(()))
}

#[test]
fn opens_after_consecutive_failures_then_half_opens_and_closes() {
    let clock = ManualClock::new();
    let b = CircuitBreaker::with_clock(clock.clone())
        .with_consecutive_failures(3)
        .with_open_for(Duration::from_secs(10));
    let log = Arc::new(Mutex::new(Vec::new()));
    let sink = log.clone();
    b.on_transition(move |t| sink.lock().unwrap().push(t));

    fail(&b);
    fail(&b);
    succeed(&b).unwrap(); // a success resets the run of failures
    fail(&b);
    fail(&b);
    assert_eq!(b.state(), State::Closed);
    fail(&b);
    assert_eq!(b.state(), State::Open);

    assert!(succeed(&b).unwrap_err().is_open(), "open: rejected without calling");
    clock.advance(Duration::from_millis(9_999));
    assert!(succeed(&b).unwrap_err().is_open());
    clock.advance(Duration::from_millis(1));
    succeed(&b).unwrap(); // the probe
    assert_eq!(b.state(), State::Closed);
    assert_eq!(b.stats().rejected, 2);
    assert_eq!(
        *log.lock().unwrap(),
        [
            Transition { from: State::Closed, to: State::Open },
            Transition { from: State::Open, to: State::HalfOpen },
            Transition { from: State::HalfOpen, to: State::Closed },
        ]
    );
}

#[test]
fn a_failed_probe_reopens_with_a_growing_open_duration() {
    let clock = ManualClock::new();
    let b = CircuitBreaker::with_clock(clock.clone())
        .with_consecutive_failures(1)
        .with_open_backoff(Duration::from_secs(1), Duration::from_secs(3));
    fail(&b);
    for expected_open in [1, 2, 3, 3] {
        clock.advance(Duration::from_millis(expected_open * 1000 - 1));
        assert!(succeed(&b).unwrap_err().is_open(), "still open before {expected_open} s");
        clock.advance(Duration::from_millis(1));
        assert!(!fail(&b), "the probe is admitted after {expected_open} s");
        assert_eq!(b.state(), State::Open, "and its failure reopens");
    }
    clock.advance(Duration::from_secs(3));
    succeed(&b).unwrap();
    assert_eq!(b.state(), State::Closed);
    // Closing resets the backoff.
    fail(&b);
    clock.advance(Duration::from_secs(1));
    succeed(&b).unwrap();
}

#[test]
fn half_open_admits_exactly_the_probes_and_a_dropped_probe_frees_its_slot() {
    let clock = ManualClock::new();
    let b = CircuitBreaker::with_clock(clock.clone())
        .with_consecutive_failures(1)
        .with_open_for(Duration::from_secs(1))
        .with_half_open_probes(2);
    fail(&b);
    clock.advance(Duration::from_secs(1));
    let first = b.try_acquire().unwrap();
    let second = b.try_acquire().unwrap();
    assert!(b.try_acquire().is_err(), "a third probe is refused");
    drop(second); // cancelled: counts nothing, frees the slot
    let third = b.try_acquire().unwrap();
    first.success();
    assert_eq!(b.state(), State::HalfOpen, "one success of two");
    third.success();
    assert_eq!(b.state(), State::Closed);
}

#[test]
fn a_panicking_probe_frees_its_slot() {
    let clock = ManualClock::new();
    let b = CircuitBreaker::with_clock(clock.clone())
        .with_consecutive_failures(1)
        .with_open_for(Duration::from_secs(1));
    fail(&b);
    clock.advance(Duration::from_secs(1));
    let panicked = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        let _ = b.call(|| -> Result<(), ()> { panic!("boom") });
    }));
    assert!(panicked.is_err());
    assert_eq!(b.state(), State::HalfOpen);
    succeed(&b).unwrap();
    assert_eq!(b.state(), State::Closed);
}

#[test]
fn count_window_really_slides() {
    let clock = ManualClock::new();
    let b = CircuitBreaker::with_clock(clock)
        .with_consecutive_failures(0)
        .with_failure_rate(0.5, Window::Calls(100))
        .with_minimum_calls(20);
    for _ in 0..10_000 {
        succeed(&b).unwrap();
    }
    // The window holds the last 100 calls: 50 failures make half of them.
    for n in 1..=50 {
        assert_eq!(b.state(), State::Closed, "closed after {n} failures");
        fail(&b);
    }
    assert_eq!(b.state(), State::Open);
}

#[test]
fn minimum_calls_gate_the_rate() {
    let b = CircuitBreaker::with_clock(ManualClock::new())
        .with_consecutive_failures(0)
        .with_failure_rate(0.5, Window::Calls(100))
        .with_minimum_calls(10);
    for _ in 0..9 {
        fail(&b);
    }
    assert_eq!(b.state(), State::Closed, "9 calls: too few to judge");
    fail(&b);
    assert_eq!(b.state(), State::Open);
}

#[test]
fn time_window_forgets_old_calls() {
    let clock = ManualClock::new();
    let b = CircuitBreaker::with_clock(clock.clone())
        .with_consecutive_failures(0)
        .with_failure_rate(0.5, Window::Time(Duration::from_secs(10)))
        .with_minimum_calls(4);
    for _ in 0..3 {
        fail(&b);
    }
    clock.advance(Duration::from_secs(11)); // those failures leave the window
    for _ in 0..3 {
        succeed(&b).unwrap();
    }
    fail(&b);
    assert_eq!(b.state(), State::Closed, "1 failure of 4 in the window");
    fail(&b);
    fail(&b);
    assert_eq!(b.state(), State::Open, "3 of 6");
    assert_eq!(b.stats().opened, 1);
}

#[test]
fn slow_calls_open_the_breaker() {
    let clock = ManualClock::new();
    let b = CircuitBreaker::with_clock(clock.clone())
        .with_consecutive_failures(0)
        .with_failure_rate(1.0, Window::Calls(10))
        .with_slow_calls(Duration::from_secs(2), 0.5)
        .with_minimum_calls(4);
    let slow = |b: &CircuitBreaker<ManualClock>| {
        b.call(|| {
            clock.advance(Duration::from_secs(3));
            Ok::<_, ()>(())
        })
    };
    succeed(&b).unwrap();
    succeed(&b).unwrap();
    slow(&b).unwrap();
    assert_eq!(b.state(), State::Closed);
    slow(&b).unwrap();
    assert_eq!(b.state(), State::Open, "2 slow calls of 4");
}

#[test]
fn only_counted_errors_are_failures() {
    let b = CircuitBreaker::with_clock(ManualClock::new()).with_consecutive_failures(2);
    for _ in 0..5 {
        let _ = b.call_counting(|| Err::<(), u16>(404), |status| *status >= 500);
    }
    assert_eq!(b.state(), State::Closed);
    let _ = b.call_counting(|| Err::<(), u16>(503), |status| *status >= 500);
    let _ = b.call_counting(|| Err::<(), u16>(503), |status| *status >= 500);
    assert_eq!(b.state(), State::Open);
}

#[test]
fn manual_control() {
    let b = CircuitBreaker::with_clock(ManualClock::new()).with_consecutive_failures(1);
    b.force_open();
    assert_eq!(b.state(), State::ForcedOpen);
    assert!(succeed(&b).unwrap_err().is_open());
    b.force_closed();
    for _ in 0..10 {
        fail(&b);
    }
    assert_eq!(b.state(), State::ForcedClosed, "forced closed counts nothing");
    b.reset();
    assert_eq!(b.state(), State::Closed);
    fail(&b);
    assert_eq!(b.state(), State::Open);
    let stats = b.stats();
    assert_eq!((stats.opened, stats.rejected), (2, 1));
}

static SHARED: CircuitBreaker = CircuitBreaker::new().with_consecutive_failures(2);

#[test]
fn a_static_breaker() {
    let _ = SHARED.call(|| Err::<(), _>(()));
    let _ = SHARED.call(|| Err::<(), _>(()));
    assert_eq!(SHARED.state(), State::Open);
}
