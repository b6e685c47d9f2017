//! When a `#[retry]` async fn builds its policy: a policy that reads no argument
//! may be built when the first attempt ends, and only if the call needs it; one
//! that reads an argument or `self` is built first. Either way, at most once per
//! call, and time-based stops, hooks and `fallback` see the whole call.
#![deny(warnings, clippy::all)]

use std::sync::Mutex;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use retry::retry;
use retry::stop::{Stop, StopState};

/// Fails while `left` is above zero.
async fn flaky(left: &AtomicU32) -> Result<u32, u32> {
    tokio::task::yield_now().await;
    match left.load(Ordering::SeqCst) {
        0 => Ok(7),
        n => {
            left.store(n - 1, Ordering::SeqCst);
            Err(n)
        }
    }
}

static BUILT: AtomicU32 = AtomicU32::new(0);

/// A stop policy whose evaluation is counted.
fn counted(n: u32) -> retry::stop::Attempts {
    BUILT.fetch_add(1, Ordering::SeqCst);
    retry::dsl::attempts(n)
}

#[retry(stop = counted(4), wait = none())]
async fn constant_policy(left: &AtomicU32) -> Result<u32, u32> {
    flaky(left).await
}

#[tokio::test]
async fn a_constant_policy_is_built_at_most_once_per_call() {
    // Built once per call, before the first attempt.
    BUILT.store(0, Ordering::SeqCst);
    assert_eq!(constant_policy(&AtomicU32::new(0)).await, Ok(7));
    let on_success = BUILT.load(Ordering::SeqCst);
    assert!(on_success <= 1);

    assert_eq!(constant_policy(&AtomicU32::new(2)).await, Ok(7));
    assert_eq!(BUILT.load(Ordering::SeqCst), on_success + 1, "once for a call that retries");

    assert_eq!(constant_policy(&AtomicU32::new(9)).await, Err(6), "4 attempts, the last error kept");
    assert_eq!(BUILT.load(Ordering::SeqCst), on_success + 2);
}

struct Client {
    max: u32,
    calls: u32,
}

impl Client {
    /// The policy reads `self`, and each attempt borrows `self` mutably.
    #[retry(stop = attempts(self.max), wait = none())]
    async fn call(&mut self) -> Result<u32, u32> {
        self.calls += 1;
        Err(self.calls)
    }
}

#[tokio::test]
async fn a_policy_that_reads_self_is_built_first_and_attempts_still_borrow_self_mutably() {
    let mut client = Client { max: 3, calls: 0 };
    assert_eq!(client.call().await, Err(3));
    client.max = 5;
    assert_eq!(client.call().await, Err(8), "the policy is evaluated on each call");
}

/// The policy reads a `&mut` argument that the attempts change.
#[retry(stop = attempts(*budget), wait = none())]
async fn spend(budget: &mut u32) -> Result<(), u32> {
    *budget -= 1;
    Err(*budget)
}

#[tokio::test]
async fn a_policy_that_reads_a_mut_argument_sees_it_as_the_call_starts() {
    let mut budget = 5;
    assert_eq!(spend(&mut budget).await, Err(0), "attempts(5), read before the first attempt");
}

/// An attempt that takes 0.4 s and fails.
async fn slow_failure(calls: &AtomicU32) -> Result<(), ()> {
    calls.fetch_add(1, Ordering::SeqCst);
    tokio::time::sleep(Duration::from_millis(400)).await;
    Err(())
}

#[retry(stop = elapsed(1) | attempts(10), wait = none())]
async fn with_elapsed_stop(calls: &AtomicU32) -> Result<(), ()> {
    slow_failure(calls).await
}

/// A user's stop policy that reads the clock (it does not know about deferral).
#[derive(Clone, Copy)]
struct AfterOneSecond;

impl Stop for AfterOneSecond {
    fn should_stop(&self, state: &StopState) -> bool {
        state.elapsed() >= Duration::from_secs(1)
    }
    fn needs_clock(&self) -> bool {
        true
    }
}

#[retry(stop = AfterOneSecond, wait = none())]
async fn with_own_stop(calls: &AtomicU32) -> Result<(), ()> {
    slow_failure(calls).await
}

#[tokio::test(start_paused = true)]
async fn a_time_based_stop_counts_from_the_first_attempts_start() {
    // Attempts end at 0.4 s, 0.8 s and 1.2 s: the third is the last only if the
    // clock started with the first attempt, not when the policy was built.
    let calls = AtomicU32::new(0);
    assert_eq!(with_elapsed_stop(&calls).await, Err(()));
    assert_eq!(calls.load(Ordering::SeqCst), 3);

    // The same with a user's clock-reading stop.
    let calls = AtomicU32::new(0);
    assert_eq!(with_own_stop(&calls).await, Err(()));
    assert_eq!(calls.load(Ordering::SeqCst), 3);
}

#[derive(Debug, PartialEq)]
enum FetchError {
    Timeout,
    NotFound,
}

#[retry(on = [Timeout], wait = none(), fallback = |_| Ok(0))]
async fn not_retried(calls: &AtomicU32) -> Result<u32, FetchError> {
    calls.fetch_add(1, Ordering::SeqCst);
    Err(FetchError::NotFound)
}

#[retry(on = [Timeout], stop = attempts(2), wait = none())]
async fn times_out(calls: &AtomicU32) -> Result<u32, FetchError> {
    calls.fetch_add(1, Ordering::SeqCst);
    Err(FetchError::Timeout)
}

#[tokio::test]
async fn a_first_attempt_that_gives_up_gets_the_fallback_and_the_last_error_is_kept() {
    let calls = AtomicU32::new(0);
    assert_eq!(not_retried(&calls).await, Ok(0));
    assert_eq!(calls.load(Ordering::SeqCst), 1);

    let calls = AtomicU32::new(0);
    assert_eq!(times_out(&calls).await, Err(FetchError::Timeout));
    assert_eq!(calls.load(Ordering::SeqCst), 2);
}

static SEEN: Mutex<Vec<(u32, bool)>> = Mutex::new(Vec::new());

#[retry(
    stop = attempts(3),
    wait = none(),
    after = |a: &retry::Attempt<'_, u32, u32>| SEEN.lock().unwrap().push((a.attempt(), a.error().is_some()))
)]
async fn watched(left: &AtomicU32) -> Result<u32, u32> {
    flaky(left).await
}

#[tokio::test]
async fn hooks_see_every_attempt_including_a_first_that_succeeds() {
    SEEN.lock().unwrap().clear();
    assert_eq!(watched(&AtomicU32::new(0)).await, Ok(7));
    assert_eq!(watched(&AtomicU32::new(1)).await, Ok(7));
    assert_eq!(*SEEN.lock().unwrap(), [(1, false), (1, true), (2, false)]);
}

#[retry(stop = attempts(3), wait = none())]
async fn numbered(seen: &Mutex<Vec<Option<u32>>>) -> Result<(), ()> {
    tokio::task::yield_now().await;
    seen.lock().unwrap().push(retry::attempt());
    Err(())
}

#[tokio::test]
async fn attempts_are_numbered_before_and_after_the_policy_is_built() {
    let seen = Mutex::new(Vec::new());
    assert_eq!(numbered(&seen).await, Err(()));
    assert_eq!(*seen.lock().unwrap(), [Some(1), Some(2), Some(3)]);
}

async fn configured_attempts() -> u32 {
    tokio::task::yield_now().await;
    2
}

fn parsed_attempts(text: &str) -> Result<u32, u32> {
    text.parse().map_err(|_| 0)
}

/// `.await` and `?` in a value act on the fn, as written in its body.
#[retry(stop = attempts(configured_attempts().await), wait = none())]
async fn awaits_its_policy(calls: &AtomicU32) -> Result<(), u32> {
    Err(calls.fetch_add(1, Ordering::SeqCst) + 1)
}

#[retry(stop = attempts(parsed_attempts(text)?), wait = none())]
async fn parses_its_policy(text: &str, calls: &AtomicU32) -> Result<(), u32> {
    Err(calls.fetch_add(1, Ordering::SeqCst) + 1)
}

#[retry(stop = attempts(parsed_attempts("x")?), wait = none())]
async fn cannot_parse_its_policy(calls: &AtomicU32) -> Result<(), u32> {
    Err(calls.fetch_add(1, Ordering::SeqCst) + 1)
}

#[tokio::test]
async fn values_may_await_and_use_the_question_mark() {
    let calls = AtomicU32::new(0);
    assert_eq!(awaits_its_policy(&calls).await, Err(2));

    let calls = AtomicU32::new(0);
    assert_eq!(parses_its_policy("3", &calls).await, Err(3));
    assert_eq!(parses_its_policy("three", &calls).await, Err(0), "`?` returns from the fn");
    assert_eq!(calls.load(Ordering::SeqCst), 3, "no attempt when the policy fails");
    assert_eq!(cannot_parse_its_policy(&calls).await, Err(0));
    assert_eq!(calls.load(Ordering::SeqCst), 3);
}
