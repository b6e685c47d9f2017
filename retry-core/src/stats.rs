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
#[derive(Clone, Copy, Debug)]
enum Seen {
    /// Nothing collects.
    Off,
    /// Collecting; no retried call has ended yet.
    Nothing,
    /// A retried call ended after `attempts` attempts, having slept `idle`.
    Call { attempts: u32, idle: Duration },
}

std::thread_local! {
    static SEEN: Cell<Seen> = const { Cell::new(Seen::Off) };
}

/// A retried call that failed at least once ended: reports it to a collector.
#[inline]
pub(crate) fn ended(attempts: u32, idle: Duration) {
    // During thread teardown the collector is gone: nothing to report to.
    let _ = SEEN.try_with(|seen| {
        if !matches!(seen.get(), Seen::Off) {
            seen.set(Seen::Call { attempts, idle });
        }
    });
}

/// Puts `seen` in place for a scope, and takes it back out (even on a panic).
struct Collect<'a> {
    seen: &'a mut Seen,
    previous: Seen,
}

impl<'a> Collect<'a> {
    fn enter(seen: &'a mut Seen) -> Self {
        let previous = SEEN.replace(*seen);
        Collect { seen, previous }
    }
}

impl Drop for Collect<'_> {
    fn drop(&mut self) {
        let mine = SEEN.replace(self.previous);
        *self.seen = mine;
        // A call that ended in this scope ended in an enclosing one too.
        if matches!(mine, Seen::Call { .. }) && !matches!(self.previous, Seen::Off) {
            SEEN.set(mine);
        }
    }
}

fn stats(seen: Seen, elapsed: Duration) -> CallStats {
    match seen {
        Seen::Call { attempts, idle } => CallStats::new(attempts, elapsed, idle),
        Seen::Off | Seen::Nothing => CallStats::new(1, elapsed, Duration::ZERO),
    }
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
    let mut seen = Seen::Nothing;
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
    WithStats { future, seen: Seen::Nothing, start: None }
}

pin_project_lite::pin_project! {
    /// The future of [`with_stats_async`].
    #[derive(Debug)]
    #[must_use = "futures do nothing unless awaited"]
    pub struct WithStats<F> {
        #[pin]
        future: F,
        seen: Seen,
        start: Option<std::time::Instant>,
    }
}

impl<F: Future> Future for WithStats<F> {
    type Output = (F::Output, CallStats);

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.project();
        let start = *this.start.get_or_insert_with(|| DefaultClock.now_async());
        let polled = {
            let _collect = Collect::enter(this.seen);
            this.future.poll(cx)
        };
        polled.map(|out| (out, stats(*this.seen, DefaultClock.now_async().saturating_duration_since(start))))
    }
}
