//! The breaker, the budget and the executor under the uses a benchmark does not
//! make: breakers replaced in place, several per thread, a budget idle for hours,
//! outcomes reported late, the op closure itself inside an attempt, rejections.
#![deny(warnings, clippy::all)]

use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use retry::breaker::{CircuitBreaker, State, Window};
use retry::testing::ManualClock;
use retry::{CircuitOpen, RetryBudget, Retrying, TimedOut, dsl::*};

#[derive(Debug, PartialEq)]
enum Error {
    Down,
    Open,
    TimedOut,
}

impl From<CircuitOpen> for Error {
    fn from(_: CircuitOpen) -> Self {
        Error::Open
    }
}

impl From<TimedOut> for Error {
    fn from(_: TimedOut) -> Self {
        Error::TimedOut
    }
}

impl std::fmt::Display for Error {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{self:?}")
    }
}

#[test]
fn a_breaker_replaced_at_the_same_address_works() {
    let make = |n| CircuitBreaker::new().with_failure_rate(0.5, Window::Calls(n));
    let mut breaker = Box::new(make(1000));
    for _ in 0..751 {
        let _ = breaker.call(|| Ok::<_, ()>(()));
    }
    // A field reassigned on a configuration reload: same address, smaller window.
    *breaker = make(10);
    for _ in 0..100 {
        assert!(breaker.call(|| Ok::<_, ()>(())).is_ok());
    }
    assert_eq!(breaker.stats().window_calls, 10);
}

static DEPENDENCIES: [CircuitBreaker; 5] = [const {
    CircuitBreaker::new()
        .with_consecutive_failures(0)
        .with_failure_rate(0.5, Window::Calls(100))
        .with_minimum_calls(20)
}; 5];

#[test]
fn several_rate_window_breakers_used_from_one_thread_each_trip() {
    for round in 0..20 {
        for breaker in &DEPENDENCIES {
            if breaker.state() == State::Closed {
                let _ = breaker.call(|| Err::<(), _>("down"));
            }
        }
        if round < 19 {
            assert!(DEPENDENCIES.iter().all(|b| b.state() == State::Closed), "round {round}");
        }
    }
    for (i, breaker) in DEPENDENCIES.iter().enumerate() {
        assert_eq!(breaker.state(), State::Open, "breaker {i} after 20 failures of 20 calls");
    }
}

#[test]
fn two_rate_window_breakers_under_many_tasks_on_two_workers_both_trip() {
    let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(2).build().unwrap();
    let make = || {
        Arc::new(
            CircuitBreaker::new()
                .with_consecutive_failures(0)
                .with_failure_rate(0.5, Window::Calls(100))
                .with_minimum_calls(20),
        )
    };
    let (a, b) = (make(), make());
    let (calls_a, calls_b) = (Arc::new(AtomicU32::new(0)), Arc::new(AtomicU32::new(0)));
    runtime.block_on(async {
        let tasks: Vec<_> = (0..400)
            .map(|_| {
                let (a, b, calls_a, calls_b) = (a.clone(), b.clone(), calls_a.clone(), calls_b.clone());
                tokio::spawn(async move {
                    let _ = a.call(|| Err::<(), _>(calls_a.fetch_add(1, Ordering::SeqCst)));
                    tokio::task::yield_now().await;
                    let _ = b.call(|| Err::<(), _>(calls_b.fetch_add(1, Ordering::SeqCst)));
                })
            })
            .collect();
        for task in tasks {
            task.await.unwrap();
        }
    });
    assert_eq!((a.state(), b.state()), (State::Open, State::Open));
    // Both opened at their 20th failure, give or take the calls in flight on the other worker.
    assert!(calls_a.load(Ordering::SeqCst) <= 22 && calls_b.load(Ordering::SeqCst) <= 22);
}

#[test]
fn the_budget_expires_after_a_night_of_quiet() {
    let clock = ManualClock::new();
    let budget = RetryBudget::with_clock(clock.clone());
    for _ in 0..100 {
        assert!(budget.try_withdraw());
    }
    assert_eq!(budget.available(), 0);
    clock.advance(Duration::from_secs(10 * 3600));
    assert_eq!(budget.available(), 100, "the withdrawals expired long ago");
    for _ in 0..100_000 {
        budget.deposit();
    }
    assert_eq!(budget.available(), 100 + 20_000);
    clock.advance(Duration::from_secs(60));
    assert_eq!(budget.available(), 100, "the deposits expired too: only the reserve is left");
}

#[test]
fn an_outcome_from_before_an_opening_counts_nothing_after_it() {
    let clock = ManualClock::new();
    let breaker = CircuitBreaker::with_clock(clock.clone())
        .with_consecutive_failures(2)
        .with_open_for(Duration::from_secs(1));
    let late = breaker.try_acquire().unwrap();
    for _ in 0..2 {
        let _ = breaker.call(|| Err::<(), _>("down"));
    }
    assert_eq!(breaker.state(), State::Open);
    clock.advance(Duration::from_secs(1));
    assert!(breaker.call(|| Ok::<_, ()>(())).is_ok(), "the probe");
    assert_eq!(breaker.state(), State::Closed);
    // Admitted before the opening, failing only now.
    late.failure();
    assert_eq!(breaker.stats().consecutive_failures, 0);
    let _ = breaker.call(|| Err::<(), _>("down"));
    assert_eq!(breaker.state(), State::Closed, "one failure of this closed period, not two");
}

#[test]
fn an_outcome_from_before_a_reset_counts_nothing_after_it() {
    let breaker = CircuitBreaker::new().with_consecutive_failures(2);
    let late = breaker.try_acquire().unwrap();
    breaker.reset();
    late.failure();
    let _ = breaker.call(|| Err::<(), _>("down"));
    assert_eq!(breaker.state(), State::Closed);
}

#[tokio::test(start_paused = true)]
async fn attempt_is_known_while_the_op_closure_makes_its_future() {
    // Lean (attempts only) and guarded (a breaker) policies.
    let seen = Mutex::new(Vec::new());
    let _ = Retrying::<(), Error>::new()
        .stop(attempts(3))
        .wait(none())
        .call_async(|| {
            seen.lock().unwrap().push(retry::attempt());
            async { Err(Error::Down) }
        })
        .await;
    assert_eq!(*seen.lock().unwrap(), [Some(1), Some(2), Some(3)]);

    let breaker = CircuitBreaker::new().with_consecutive_failures(100);
    seen.lock().unwrap().clear();
    let _ = Retrying::<(), Error>::new()
        .stop(attempts(3))
        .wait(fixed(Duration::from_millis(5)))
        .breaker(&breaker)
        .call_async(|| {
            seen.lock().unwrap().push(retry::attempt());
            async { Err(Error::Down) }
        })
        .await;
    assert_eq!(*seen.lock().unwrap(), [Some(1), Some(2), Some(3)]);
    assert_eq!(retry::attempt(), None);
}

#[tokio::test(start_paused = true)]
async fn an_open_breaker_does_not_call_the_async_op() {
    let breaker = CircuitBreaker::new();
    breaker.force_open();
    let calls = AtomicU32::new(0);
    let outcome = Retrying::<(), Error>::new()
        .breaker(&breaker)
        .call_async(|| {
            calls.fetch_add(1, Ordering::SeqCst);
            async { Ok(()) }
        })
        .await;
    assert_eq!(outcome, Err(Error::Open));
    assert_eq!(calls.load(Ordering::SeqCst), 0, "building the request is skipped too");
}

#[test]
fn a_call_lasting_exactly_the_slow_threshold_is_slow_from_the_clocks_origin() {
    let clock = ManualClock::new();
    let breaker = CircuitBreaker::with_clock(clock.clone())
        .with_consecutive_failures(0)
        .with_failure_rate(1.0, Window::Calls(10))
        .with_slow_calls(Duration::from_millis(100), 1.0)
        .with_minimum_calls(1);
    // The very first reading of the clock is its origin.
    let permit = breaker.try_acquire().unwrap();
    clock.advance(Duration::from_millis(100));
    permit.success();
    assert_eq!(breaker.state(), State::Open, "100 ms is slow at a 100 ms threshold");
}

#[tokio::test(start_paused = true)]
async fn the_tower_layer_cuts_attempts_at_the_policys_timeout() {
    use tower::{Service, ServiceBuilder, ServiceExt};
    let calls = Arc::new(AtomicU32::new(0));
    let counted = calls.clone();
    let mut service = ServiceBuilder::new()
        .layer(retry::tower::RetryLayer::new(|| {
            Retrying::<u32, Error>::new().stop(attempts(2)).wait(none()).timeout(Duration::from_millis(200))
        }))
        .service_fn(move |x: u32| {
            counted.fetch_add(1, Ordering::SeqCst);
            async move {
                tokio::time::sleep(Duration::from_secs(3)).await;
                Ok::<_, Error>(x)
            }
        });
    let start = tokio::time::Instant::now();
    let outcome = service.ready().await.unwrap().call(7).await;
    assert_eq!(outcome, Err(Error::TimedOut));
    assert_eq!(start.elapsed(), Duration::from_millis(400), "two attempts of 200 ms");
    assert_eq!(calls.load(Ordering::SeqCst), 2);
}

#[tokio::test(start_paused = true)]
async fn the_tower_layer_does_not_clone_a_request_an_open_breaker_rejects() {
    use tower::{Service, ServiceBuilder, ServiceExt};
    #[derive(Debug)]
    struct Request;
    static CLONES: AtomicU32 = AtomicU32::new(0);
    impl Clone for Request {
        fn clone(&self) -> Self {
            CLONES.fetch_add(1, Ordering::SeqCst);
            Request
        }
    }
    static BREAKER: CircuitBreaker = CircuitBreaker::new();
    BREAKER.force_open();
    let mut service = ServiceBuilder::new()
        .layer(retry::tower::RetryLayer::new(|| Retrying::<(), Error>::new().breaker(&BREAKER)))
        .service_fn(|_: Request| async { Ok::<_, Error>(()) });
    let outcome = service.ready().await.unwrap().call(Request).await;
    assert_eq!(outcome, Err(Error::Open));
    assert_eq!(CLONES.load(Ordering::SeqCst), 0);
}

use retry_tests::capture;

static PAYMENTS: CircuitBreaker = CircuitBreaker::new().with_consecutive_failures(1);

#[retry::retry(stop = attempts(3), wait = none(), breaker = &PAYMENTS, observe = warn)]
fn charge() -> Result<(), Error> {
    Err(Error::Down)
}

#[test]
fn a_rejection_is_logged_as_a_rejection_not_a_give_up() {
    let warnings = capture(tracing::Level::WARN, || {
        // Fails once (and gives up: the breaker will not admit a retry), then is rejected.
        assert_eq!(charge(), Err(Error::Down));
        assert_eq!(charge(), Err(Error::Open));
        assert_eq!(charge(), Err(Error::Open));
    });
    let give_ups = warnings.iter().filter(|line| line.contains("giving up")).count();
    assert_eq!(give_ups, 1, "{warnings:#?}");
    assert!(warnings.iter().all(|line| !line.contains("rejected")), "{warnings:#?}");
    PAYMENTS.force_open();
    let all = capture(tracing::Level::TRACE, || assert_eq!(charge(), Err(Error::Open)));
    let rejected: Vec<_> =
        all.iter().filter(|line| line.contains("rejected by the circuit breaker")).collect();
    assert_eq!(rejected.len(), 1, "{all:#?}");
    assert!(rejected[0].contains("DEBUG") && rejected[0].contains("charge"), "{all:#?}");
}

type Hook = Box<dyn FnOnce() + Send>;

/// A manual clock that runs a closure the next time it is read: a race made to
/// happen at one exact point, every time.
#[derive(Clone, Default)]
struct HookClock {
    inner: ManualClock,
    hook: Arc<Mutex<Option<Hook>>>,
}

impl HookClock {
    fn arm(&self, f: impl FnOnce() + Send + 'static) {
        *self.hook.lock().unwrap() = Some(Box::new(f));
    }
}

impl retry::clock::Clock for HookClock {
    fn now(&self) -> std::time::Instant {
        let now = self.inner.now();
        let hook = self.hook.lock().unwrap().take();
        if let Some(hook) = hook {
            hook();
        }
        now
    }
}

fn leak<T>(value: T) -> &'static T {
    Box::leak(Box::new(value))
}

#[test]
fn a_failure_reported_while_a_reset_runs_counts_nothing() {
    let clock = HookClock::default();
    let breaker = leak(CircuitBreaker::with_clock(clock.clone()).with_consecutive_failures(3));
    let late = breaker.try_acquire().unwrap();
    // `reset` reads the clock; the late failure lands right then.
    clock.arm(move || late.failure());
    breaker.reset();
    assert_eq!(breaker.stats().consecutive_failures, 0);
    let _ = breaker.call(|| Err::<(), _>("down"));
    let _ = breaker.call(|| Err::<(), _>("down"));
    assert_eq!(breaker.state(), State::Closed, "two failures of three");
}

#[test]
fn a_reset_between_a_late_outcome_and_its_time_bucket_leaves_the_window_empty() {
    let clock = HookClock::default();
    let breaker = leak(
        CircuitBreaker::with_clock(clock.clone())
            .with_consecutive_failures(0)
            .with_failure_rate(0.5, Window::Time(Duration::from_secs(10)))
            .with_minimum_calls(2),
    );
    let late = breaker.try_acquire().unwrap();
    clock.arm(move || breaker.reset());
    late.failure();
    assert_eq!(breaker.stats().window_calls, 0);
}

#[tokio::test(start_paused = true)]
async fn a_breaker_follows_tokios_paused_clock() {
    static BREAKER: CircuitBreaker =
        CircuitBreaker::new().with_consecutive_failures(1).with_open_for(Duration::from_secs(1));
    let calls = AtomicU32::new(0);
    let outcome = Retrying::<(), Error>::new()
        .stop(attempts(3))
        .wait(fixed(Duration::from_secs(2)))
        .breaker(&BREAKER)
        .call_async(|| async {
            if calls.fetch_add(1, Ordering::SeqCst) == 0 { Err(Error::Down) } else { Ok(()) }
        })
        .await;
    assert_eq!(outcome, Ok(()), "open for 1 s of paused time; the retry 2 s later is its probe");
}

#[test]
fn the_open_backoff_doubles_up_to_its_maximum() {
    let clock = ManualClock::new();
    let breaker = CircuitBreaker::with_clock(clock.clone())
        .with_consecutive_failures(1)
        .with_open_backoff(Duration::from_millis(1), Duration::MAX);
    let _ = breaker.call(|| Err::<(), _>("down"));
    let mut open_for = Duration::from_millis(1);
    for _ in 2..=40 {
        assert!(!breaker.may_admit_after(open_for - Duration::from_millis(1)));
        assert!(breaker.may_admit_after(open_for));
        clock.advance(open_for);
        // The probe fails: open again, for twice as long.
        assert!(breaker.call(|| Err::<(), _>("down")).is_err_and(|e| !e.is_open()));
        open_for *= 2;
    }
    assert_eq!(open_for, Duration::from_millis(1 << 39));
}

#[test]
fn a_count_window_smaller_than_minimum_calls_is_judged_once_full() {
    let breaker = CircuitBreaker::new().with_consecutive_failures(0).with_failure_rate(0.5, Window::Calls(5));
    for _ in 0..5 {
        let _ = breaker.call(|| Err::<(), _>("down"));
    }
    assert_eq!(breaker.state(), State::Open);
}

#[test]
fn a_listener_may_add_a_listener() {
    let breaker = leak(CircuitBreaker::new().with_consecutive_failures(1));
    let heard = leak(AtomicU32::new(0));
    breaker.on_transition(move |_| {
        heard.fetch_add(1, Ordering::SeqCst);
        breaker.on_transition(|_| {});
    });
    let _ = breaker.call(|| Err::<(), _>("down"));
    breaker.reset();
    assert_eq!(heard.load(Ordering::SeqCst), 2);
}

#[test]
fn only_changes_of_state_are_transitions() {
    let breaker = CircuitBreaker::new();
    let heard = Arc::new(Mutex::new(Vec::new()));
    let sink = heard.clone();
    breaker.on_transition(move |t| sink.lock().unwrap().push((t.from, t.to)));
    breaker.reset();
    breaker.force_open();
    breaker.force_open();
    assert_eq!(*heard.lock().unwrap(), [(State::Closed, State::ForcedOpen)]);
    assert_eq!(breaker.stats().opened, 1);
}

#[tokio::test(start_paused = true)]
async fn a_retry_the_breaker_rejects_gives_its_budget_token_back() {
    let clock = ManualClock::new();
    let breaker = CircuitBreaker::with_clock(clock.clone())
        .with_consecutive_failures(1)
        .with_open_for(Duration::from_secs(1));
    let budget = RetryBudget::with_clock(clock.clone()).with_min_per_sec(1).with_ratio(0.0);
    let other = Mutex::new(None);
    let outcome = Retrying::<(), Error>::new()
        .stop(attempts(2))
        .wait(fixed(Duration::from_secs(1)))
        .breaker(&breaker)
        .budget(&budget)
        .before_sleep(|_: &retry::Attempt<'_, (), Error>| {
            // While this call sleeps, another caller takes the only probe.
            clock.advance(Duration::from_secs(1));
            *other.lock().unwrap() = Some(breaker.try_acquire().unwrap());
        })
        .call_async(|| async { Err(Error::Down) })
        .await;
    assert_eq!(outcome, Err(Error::Open));
    assert_eq!((budget.stats().withdrawals, budget.available()), (0, 10));
}

#[test]
fn a_time_window_shorter_than_ten_milliseconds_keeps_its_span() {
    let clock = ManualClock::new();
    let breaker = CircuitBreaker::with_clock(clock.clone())
        .with_consecutive_failures(0)
        .with_failure_rate(0.5, Window::Time(Duration::from_millis(15)))
        .with_minimum_calls(100);
    let _ = breaker.call(|| Err::<(), _>("down"));
    clock.advance(Duration::from_millis(12));
    assert_eq!(breaker.stats().window_calls, 1, "12 ms ago is within 15 ms");
    clock.advance(Duration::from_millis(4));
    assert_eq!(breaker.stats().window_calls, 0);
}
