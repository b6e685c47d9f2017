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
    static DISABLED: Cell<u32> = const { Cell::new(0) };
    static RECORDERS: RefCell<Vec<Rc<RefCell<Vec<Duration>>>>> = const { RefCell::new(Vec::new()) };
}

/// While alive, retried calls on this thread make exactly one attempt: a failure gives
/// up at once (running `on_giveup` and `fallback` as usual).
#[must_use = "retrying is disabled only while the guard lives"]
#[derive(Debug)]
pub struct RetriesDisabled {
    _thread: ThreadBound,
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
    DISABLED.set(DISABLED.get() + 1);
    RetriesDisabled { _thread: PhantomData }
}

impl Drop for RetriesDisabled {
    fn drop(&mut self) {
        DISABLED.set(DISABLED.get().saturating_sub(1));
    }
}

pub(crate) fn retries_disabled() -> bool {
    DISABLED.get() > 0
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
