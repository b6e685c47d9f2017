//! Helpers for testing code that retries.
//!
//! Every guard here is scoped to the **thread** that creates it (so parallel tests do
//! not see each other's) and lasts until dropped. A retried call consults them on the
//! thread where it runs: every `#[test]`, and every future driven by `block_on` or by
//! `#[tokio::test]`'s default current-thread runtime, runs there. Tasks spawned onto
//! other worker threads do not see the guard.
//!
//! Async sleeps go through the runtime's timer, so `tokio::time::pause()` also makes
//! retrying tests instant, with time-based stops following the paused clock.
//!
//! ```
//! use retry::{Retrying, dsl::*, testing};
//! use std::time::Duration;
//!
//! let sleeps = testing::record_sleeps();
//! let out: Result<(), &str> = Retrying::new()
//!     .stop(attempts(4))
//!     .wait(expo(1))
//!     .call(|| Err("down"));
//! assert_eq!(out, Err("down"));
//! assert_eq!(sleeps.sleeps(), [1, 2, 4].map(Duration::from_secs));
//! ```

use core::cell::{Cell, RefCell};
use core::marker::PhantomData;
use core::time::Duration;
use std::rc::Rc;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

use rand::rngs::SmallRng;

use crate::clock::Clock;
use crate::jitter;

/// Makes a guard `!Send`, so it cannot leave the thread whose state it changed.
type ThreadBound = PhantomData<*const ()>;

thread_local! {
    /// Retries a call on this thread may make (`u32::MAX`: no limit).
    static LIMIT: Cell<u32> = const { Cell::new(u32::MAX) };
    static RECORDERS: RefCell<Vec<Rc<RefCell<Vec<Duration>>>>> = const { RefCell::new(Vec::new()) };
    static CALL_RECORDERS: RefCell<Vec<Rc<RefCell<Vec<Retried>>>>> = const { RefCell::new(Vec::new()) };
    /// Call recorders alive: a plain word, so a call that ends after a failure
    /// with none alive looks no further.
    static CALL_RECORDING: Cell<u32> = const { Cell::new(0) };
}

/// While alive, retried calls on this thread make exactly one attempt: a failure gives
/// up at once (running `on_giveup` and `fallback` as usual).
#[must_use = "retrying is disabled only while the guard lives"]
#[derive(Debug)]
pub struct RetriesDisabled {
    /// Restores the limit before it when dropped.
    _limit: RetriesLimited,
}

/// While alive, retried calls on this thread make at most so many retries.
#[must_use = "retries are limited only while the guard lives"]
#[derive(Debug)]
pub struct RetriesLimited {
    previous: u32,
    _thread: ThreadBound,
}

/// Limits retried calls on this thread to `n` retries each (`n + 1` attempts),
/// until the guard is dropped: a call that would retry more gives up instead,
/// with its last outcome (running `on_giveup` and `fallback` as usual). Nested
/// limits keep the smallest.
///
/// ```
/// use retry::{Retrying, dsl::*, testing};
///
/// let _two = testing::limit_retries(2);
/// let mut calls = 0;
/// let _ = Retrying::new().stop(attempts(10)).wait(none()).call(|| { calls += 1; Err::<(), _>(()) });
/// assert_eq!(calls, 3);
/// ```
pub fn limit_retries(n: u32) -> RetriesLimited {
    let previous = LIMIT.get();
    LIMIT.set(previous.min(n));
    RetriesLimited { previous, _thread: PhantomData }
}

impl Drop for RetriesLimited {
    fn drop(&mut self) {
        LIMIT.set(self.previous);
    }
}

/// Disables retrying on this thread until the guard is dropped.
///
/// ```
/// use retry::{Retrying, testing};
///
/// let _no_retries = testing::disable_retries();
/// let mut calls = 0;
/// let _ = Retrying::new().call(|| { calls += 1; Err::<(), _>(()) });
/// assert_eq!(calls, 1);
/// ```
pub fn disable_retries() -> RetriesDisabled {
    RetriesDisabled { _limit: limit_retries(0) }
}

/// Whether a limit on this thread forbids retrying after attempt `attempt` failed.
#[inline]
pub(crate) fn retry_forbidden(attempt: u32) -> bool {
    attempt > LIMIT.get()
}

/// What a [`CallRecorder`] saw of one call.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Retried {
    /// The call's name (the fn's path, or the explicit API's `name`).
    pub name: &'static str,
    /// Attempts made.
    pub attempts: u32,
    /// Whether it gave up (ended in failure).
    pub gave_up: bool,
}

/// Records, on this thread, every retried call that failed at least once (a call
/// whose first attempt succeeds is not recorded: it costs nothing to look for).
#[must_use = "calls are recorded only while the guard lives"]
#[derive(Debug)]
pub struct CallRecorder {
    calls: Rc<RefCell<Vec<Retried>>>,
    _thread: ThreadBound,
}

/// Records the calls on this thread that failed at least once, until the guard is
/// dropped, so a test can say what was retried. With nested recorders, the newest
/// one records.
///
/// ```
/// use retry::{retry, testing};
///
/// #[retry(stop = attempts(5), wait = none())]
/// fn flaky(calls: &mut u32) -> Result<u32, &'static str> {
///     *calls += 1;
///     if *calls < 3 { Err("busy") } else { Ok(*calls) }
/// }
///
/// let recorder = testing::record_calls();
/// assert_eq!(flaky(&mut 0), Ok(3));
/// assert_eq!(recorder.retries(module_path!().to_owned() + "::flaky"), 2);
/// ```
pub fn record_calls() -> CallRecorder {
    let calls = Rc::new(RefCell::new(Vec::new()));
    CALL_RECORDERS.with_borrow_mut(|stack| stack.push(Rc::clone(&calls)));
    CALL_RECORDING.set(CALL_RECORDING.get() + 1);
    CallRecorder { calls, _thread: PhantomData }
}

impl CallRecorder {
    /// Every recorded call, in the order they ended.
    pub fn calls(&self) -> Vec<Retried> {
        self.calls.borrow().clone()
    }

    /// The recorded calls named `name`.
    pub fn calls_named(&self, name: impl AsRef<str>) -> Vec<Retried> {
        self.calls.borrow().iter().filter(|call| call.name == name.as_ref()).copied().collect()
    }

    /// Retries made by the calls named `name` (attempts beyond each call's first).
    pub fn retries(&self, name: impl AsRef<str>) -> u32 {
        self.calls_named(name).iter().map(|call| call.attempts.saturating_sub(1)).sum()
    }

    /// How many calls named `name` gave up.
    pub fn give_ups(&self, name: impl AsRef<str>) -> u32 {
        self.calls_named(name).iter().filter(|call| call.gave_up).count() as u32
    }

    /// Forgets what was recorded.
    pub fn clear(&self) {
        self.calls.borrow_mut().clear()
    }
}

impl Drop for CallRecorder {
    fn drop(&mut self) {
        CALL_RECORDERS.with_borrow_mut(|stack| stack.retain(|c| !Rc::ptr_eq(c, &self.calls)));
        CALL_RECORDING.set(CALL_RECORDING.get().saturating_sub(1));
    }
}

/// A call that failed at least once ended: records it if a recorder is alive.
#[inline]
pub(crate) fn record_call(call: Retried) {
    if CALL_RECORDING.get() == 0 {
        return;
    }
    CALL_RECORDERS.with_borrow(|stack| {
        if let Some(calls) = stack.last() {
            calls.borrow_mut().push(call);
        }
    });
}

/// While alive, sleeps of retried calls on this thread are skipped and recorded here.
#[must_use = "sleeps are recorded only while the guard lives"]
#[derive(Debug)]
pub struct SleepRecorder {
    sleeps: Rc<RefCell<Vec<Duration>>>,
    _thread: ThreadBound,
}

/// Skips every sleep of retried calls on this thread, recording it instead, until the
/// guard is dropped. With nested recorders, the newest one records.
pub fn record_sleeps() -> SleepRecorder {
    let sleeps = Rc::new(RefCell::new(Vec::new()));
    RECORDERS.with_borrow_mut(|stack| stack.push(Rc::clone(&sleeps)));
    SleepRecorder { sleeps, _thread: PhantomData }
}

impl SleepRecorder {
    /// The delays recorded so far, in order (zero delays included).
    pub fn sleeps(&self) -> Vec<Duration> {
        self.sleeps.borrow().clone()
    }

    /// The sum of the recorded delays.
    pub fn total(&self) -> Duration {
        self.sleeps.borrow().iter().fold(Duration::ZERO, |sum, d| sum.saturating_add(*d))
    }

    /// Forgets what was recorded.
    pub fn clear(&self) {
        self.sleeps.borrow_mut().clear()
    }
}

impl Drop for SleepRecorder {
    fn drop(&mut self) {
        RECORDERS.with_borrow_mut(|stack| stack.retain(|s| !Rc::ptr_eq(s, &self.sleeps)));
    }
}

/// Records `delay` if a recorder is alive on this thread; `true` means "skip the sleep".
pub(crate) fn intercept_sleep(delay: Duration) -> bool {
    RECORDERS.with_borrow(|stack| match stack.last() {
        Some(sleeps) => {
            sleeps.borrow_mut().push(delay);
            true
        }
        None => false,
    })
}

/// While alive, every jittered wait policy on this thread draws from a generator
/// seeded with the given seed, so delays are reproducible.
#[must_use = "jitter is seeded only while the guard lives"]
#[derive(Debug)]
pub struct SeededJitter {
    previous: Option<SmallRng>,
    _thread: ThreadBound,
}

/// Seeds the jitter of wait policies on this thread until the guard is dropped.
///
/// ```
/// use retry::{dsl::*, testing, wait::Wait};
///
/// let draw = || {
///     let _seeded = testing::seed_jitter(7);
///     let mut w = random_expo(1).max(60);
///     (1..=5).map(|n| w.delay(n)).collect::<Vec<_>>()
/// };
/// assert_eq!(draw(), draw());
/// ```
pub fn seed_jitter(seed: u64) -> SeededJitter {
    SeededJitter { previous: jitter::replace_seed(Some(seed)), _thread: PhantomData }
}

impl Drop for SeededJitter {
    fn drop(&mut self) {
        jitter::restore(self.previous.take());
    }
}

/// A clock that moves only when told to: for deterministic tests of time-based stops
/// in sync code. Clones share the same time.
///
/// ```
/// use retry::{Retrying, dsl::*, testing::ManualClock};
/// use std::time::Duration;
///
/// let clock = ManualClock::new();
/// let mut calls = 0;
/// let out: Result<(), ()> = Retrying::new()
///     .stop(elapsed(10))
///     .wait(fixed(3))
///     .clock(clock.clone())
///     .sleep(clock.sleeper())
///     .call(|| { calls += 1; Err(()) });
/// assert!(out.is_err());
/// assert_eq!(calls, 5); // fails at 0, 3, 6, 9 and 12 s; 12 ≥ 10 stops
/// assert_eq!(clock.elapsed(), Duration::from_secs(12));
/// ```
#[derive(Clone, Debug)]
pub struct ManualClock {
    origin: Instant,
    offset_nanos: Arc<AtomicU64>,
}

impl ManualClock {
    /// A clock at its origin.
    pub fn new() -> Self {
        ManualClock { origin: Instant::now(), offset_nanos: Arc::new(AtomicU64::new(0)) }
    }

    /// Moves the clock forward (saturating).
    pub fn advance(&self, by: Duration) {
        let by = u64::try_from(by.as_nanos()).unwrap_or(u64::MAX);
        let _ = self
            .offset_nanos
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| Some(n.saturating_add(by)));
    }

    /// How far the clock has moved since it was made.
    pub fn elapsed(&self) -> Duration {
        Duration::from_nanos(self.offset_nanos.load(Ordering::SeqCst))
    }

    /// A sync sleeper that advances this clock instead of sleeping.
    pub fn sleeper(&self) -> impl FnMut(Duration) + Clone + Send + Sync + 'static {
        let clock = self.clone();
        move |delay| clock.advance(delay)
    }
}

impl Default for ManualClock {
    fn default() -> Self {
        ManualClock::new()
    }
}

impl Clock for ManualClock {
    fn now(&self) -> Instant {
        self.origin + self.elapsed()
    }
}
