//! Statistics of a retried call for the code that called it: [`with_stats`] and
//! [`with_stats_async`] run code and say how the retried call in it went (how many
//! attempts, how long it slept), so a caller of a `#[retry]` fn can tell whether
//! it was retried without a `static` of its own.

use core::cell::Cell;
use core::future::Future;
use core::pin::Pin;
use core::task::{Context, Poll};
use core::time::Duration;

use crate::clock::{Clock, DefaultClock};
use crate::retrying::CallStats;

/// What this thread's innermost collector has seen.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct Seen {
    /// Whether anything collects (off outside every scope).
    on: bool,
    /// The last retried call that ended after a failure: its attempts and sleep.
    call: Option<(u32, Duration)>,
    /// Retries made in the scope, by every call.
    pub(crate) retries: u32,
    /// Calls in the scope whose `fallback` answered for them.
    pub(crate) fallbacks: u32,
}

impl Seen {
    /// A scope's collector, empty.
    pub(crate) const COLLECTING: Seen = Seen { on: true, call: None, retries: 0, fallbacks: 0 };
}

std::thread_local! {
    static SEEN: Cell<Seen> = const { Cell::new(Seen { on: false, call: None, retries: 0, fallbacks: 0 }) };
    /// Whether a collector is on: one byte for the failure path to test.
    static ON: Cell<bool> = const { Cell::new(false) };
}

/// Changes the innermost collector, if one is on. (During thread teardown the
/// collector is gone: nothing to report to.)
#[inline]
fn report(change: impl FnOnce(&mut Seen)) {
    if ON.try_with(Cell::get) != Ok(true) {
        return;
    }
    report_on(change);
}

#[cold]
fn report_on(change: impl FnOnce(&mut Seen)) {
    let _ = SEEN.try_with(|seen| {
        let mut now = seen.get();
        change(&mut now);
        seen.set(now);
    });
}

/// A retried call that failed at least once ended: reports it to a collector.
#[inline]
pub(crate) fn ended(attempts: u32, idle: Duration) {
    report(|seen| seen.call = Some((attempts, idle)));
}

/// A call makes a retry.
#[inline]
pub(crate) fn retrying() {
    report(|seen| seen.retries = seen.retries.saturating_add(1));
}

/// A call gave up and its `fallback` answered instead (with a value).
#[inline]
pub(crate) fn fell_back() {
    report(|seen| seen.fallbacks = seen.fallbacks.saturating_add(1));
}

/// Puts `seen` in place for a scope, and takes it back out (even on a panic).
struct Collect<'a> {
    seen: &'a mut Seen,
    previous: Seen,
}

impl<'a> Collect<'a> {
    fn enter(seen: &'a mut Seen) -> Self {
        let previous = SEEN.replace(*seen);
        ON.set(seen.on);
        Collect { seen, previous }
    }
}

impl Drop for Collect<'_> {
    fn drop(&mut self) {
        let before = *self.seen;
        let mine = SEEN.replace(self.previous);
        ON.set(self.previous.on);
        *self.seen = mine;
        // What happened in this scope happened in an enclosing one too.
        if self.previous.on {
            let mut outer = self.previous;
            if mine.call != before.call {
                outer.call = mine.call;
            }
            outer.retries = outer.retries.saturating_add(mine.retries - before.retries);
            outer.fallbacks = outer.fallbacks.saturating_add(mine.fallbacks - before.fallbacks);
            SEEN.set(outer);
        }
    }
}

fn stats(seen: Seen, elapsed: Duration) -> CallStats {
    let (attempts, idle) = seen.call.unwrap_or((1, Duration::ZERO));
    CallStats::new(attempts, elapsed, idle)
}

/// Runs `f` and returns its result with the [`CallStats`] of the retried call
/// in it: the one that ends last (the outermost, when retried fns call each
/// other). A call whose first attempt succeeds reports nothing, so its path
/// stays free: the statistics then say one attempt, no sleep. `elapsed` is
/// measured around `f`.
///
/// ```
/// use retry::retry;
///
/// #[retry(stop = attempts(5), wait = none())]
/// fn flaky(calls: &mut u32) -> Result<u32, &'static str> {
///     *calls += 1;
///     if *calls < 3 { Err("busy") } else { Ok(*calls) }
/// }
///
/// let mut calls = 0;
/// let (outcome, stats) = retry::with_stats(|| flaky(&mut calls));
/// assert_eq!(outcome, Ok(3));
/// assert_eq!(stats.attempts(), 3);
/// assert!(stats.retried());
/// ```
pub fn with_stats<R>(f: impl FnOnce() -> R) -> (R, CallStats) {
    let start = DefaultClock.now();
    let mut seen = Seen::COLLECTING;
    let out = {
        let _collect = Collect::enter(&mut seen);
        f()
    };
    (out, stats(seen, DefaultClock.now().saturating_duration_since(start)))
}

/// The async form of [`with_stats`]: awaits `future` and returns its output with
/// the [`CallStats`] of the retried call in it. (`elapsed` follows the default
/// clock's async reading: tokio's paused clock in a paused test.)
pub fn with_stats_async<F: Future>(future: F) -> WithStats<F> {
    WithStats { future: Collected::new(future), start: None }
}

pin_project_lite::pin_project! {
    /// The future of [`with_stats_async`].
    #[derive(Debug)]
    #[must_use = "futures do nothing unless awaited"]
    pub struct WithStats<F> {
        #[pin]
        future: Collected<F>,
        start: Option<std::time::Instant>,
    }
}

impl<F: Future> Future for WithStats<F> {
    type Output = (F::Output, CallStats);

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.project();
        let start = *this.start.get_or_insert_with(|| DefaultClock.now_async());
        this.future
            .poll(cx)
            .map(|(out, seen)| (out, stats(seen, DefaultClock.now_async().saturating_duration_since(start))))
    }
}

pin_project_lite::pin_project! {
    /// A future polled with a collector in place: its output, and what the
    /// retried calls in it did (for the server-side tally of the tower layer).
    #[derive(Debug)]
    pub(crate) struct Collected<F> {
        #[pin]
        future: F,
        seen: Seen,
    }
}

impl<F> Collected<F> {
    pub(crate) const fn new(future: F) -> Self {
        Collected { future, seen: Seen::COLLECTING }
    }
}

impl<F: Future> Future for Collected<F> {
    type Output = (F::Output, Seen);

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.project();
        let polled = {
            let _collect = Collect::enter(this.seen);
            this.future.poll(cx)
        };
        polled.map(|out| (out, *this.seen))
    }
}
