//! Hedged calls: when an attempt is slow, start another copy and take the first
//! success, cutting tail latency for a bounded share of extra requests.
//!
//! ```
//! # #[tokio::main(flavor = "current_thread", start_paused = true)]
//! # async fn main() {
//! use retry::hedging::Hedging;
//! use std::sync::atomic::{AtomicU32, Ordering};
//! use std::time::Duration;
//!
//! let copies = AtomicU32::new(0);
//! let start = tokio::time::Instant::now();
//! let out: Result<u32, ()> = Hedging::new(2)
//!     .delay(Duration::from_millis(50))
//!     .call(|| async {
//!         // The first copy is stuck for 1 s; the hedge, started at 50 ms, takes 10 ms.
//!         let copy = copies.fetch_add(1, Ordering::SeqCst);
//!         let took = if copy == 0 { 1000 } else { 10 };
//!         tokio::time::sleep(Duration::from_millis(took)).await;
//!         Ok(copy)
//!     })
//!     .await;
//! assert_eq!(out, Ok(1));
//! assert_eq!(start.elapsed(), Duration::from_millis(60));
//! # }
//! ```
//!
//! # How a hedged call runs
//! * The first copy starts at once. If no copy has finished after the delay, the
//!   next starts, and so on up to `n` copies in flight.
//! * The first `Ok` wins: it is returned and every other copy is dropped at once
//!   (cancelled; nothing is left running).
//! * An error that the `when` predicate calls non-fatal (by default: every error)
//!   starts the next copy at once instead of waiting; a fatal error ends the call
//!   and is returned. If every copy fails, the last error is returned.
//! * The copies run inside the caller's task, polled by the returned future: no
//!   spawning, so no `Send` or `'static` bound beyond what the attempts need.
//! * With a [`RetryBudget`], the call deposits like a first attempt and every
//!   hedge withdraws; when the budget is empty, no more hedges start.
//!
//! # Cost when nothing is slow
//! The first copy is polled before any timer exists: a copy that completes on its
//! first poll costs no timer, no clock read and no allocation, and that path is
//! inlined into the caller (the rest of the state is built only past it). The
//! first copy is stored inline; hedges (the slow calls only) are boxed.
//!
//! # The delay
//! A fixed [`Duration`], or [`Latencies`]: a percentile of the recent latencies of
//! the attempts (each copy that finished, measured from its own start), kept in a
//! rotating histogram that many callers record into without a lock.

use core::fmt;
use core::future::Future;
use core::pin::Pin;
use core::sync::atomic::Ordering::{AcqRel, Acquire, Relaxed, Release};
use core::sync::atomic::{AtomicU32, AtomicU64};
use core::task::{Context, Poll};
use core::time::Duration;
use std::sync::OnceLock;
use std::time::Instant;

use crate::budget::RetryBudget;
use crate::clock::{Clock, DefaultClock};
use crate::condition::{ErrorFilter, EveryError};
use crate::guard::{BudgetSide, NoBudget};
use crate::sleep::{AsyncSleeper, DefaultSleeper};

/// Sub-buckets per power of two (6% resolution).
const SUB_BITS: u32 = 4;
const SUB: usize = 1 << SUB_BITS;
/// Octaves of microseconds covered (up to ~2^40 µs, 12 days).
const OCTAVES: usize = 41;
const BUCKETS: usize = OCTAVES * SUB;

fn bucket_of(micros: u64) -> usize {
    if micros < SUB as u64 {
        return micros as usize;
    }
    let octave = 63 - micros.leading_zeros();
    let sub = (micros >> (octave - SUB_BITS)) as usize & (SUB - 1);
    (((octave - SUB_BITS + 1) as usize) * SUB + sub).min(BUCKETS - 1)
}

fn bucket_of_latency(latency: Duration) -> usize {
    bucket_of(u64::try_from(latency.as_micros()).unwrap_or(u64::MAX))
}

/// The lowest latency (µs) a bucket holds: a percentile reads as the bottom of its
/// bucket, at most one bucket width (6%) below the true value. (The top would be
/// above every latency of the bucket, and a timer rounds up: on a millisecond timer a
/// p95 of exactly 12 ms would wait 13.)
fn bucket_bottom(index: usize) -> u64 {
    if index < SUB {
        return index as u64;
    }
    let octave = (index / SUB) as u32 + SUB_BITS - 1;
    let sub = (index % SUB) as u64;
    (SUB as u64 + sub) << (octave - SUB_BITS)
}

/// One period of latencies.
struct Histogram {
    /// The period these counts belong to, plus one (zero: never used).
    period: AtomicU64,
    counts: [AtomicU32; BUCKETS],
    /// The sum of `counts`, each latency added after its bucket (so a reader
    /// that loads this first finds at least this many in the buckets).
    total: AtomicU64,
}

impl Histogram {
    const fn new() -> Self {
        Histogram {
            period: AtomicU64::new(0),
            counts: [const { AtomicU32::new(0) }; BUCKETS],
            total: AtomicU64::new(0),
        }
    }
}

/// A percentile of recent attempt latencies, as a hedge delay: give one to
/// [`Hedging::delay_percentile`] (one per hedged fn; `#[hedge(delay =
/// percentile(0.95))]` makes a `static` one per fn).
///
/// Latencies are kept in two histograms of one period each (the current and the
/// previous), with 6% bucket resolution; recording is one or two atomic increments, so
/// concurrent callers never wait on each other. Until `min_samples` latencies are
/// known the delay is the fallback. The percentile is recomputed every 64
/// latencies and at each new period (reading it is one atomic load).
///
/// # Default
/// Quantile 0.95, period 10 s, 20 samples, fallback 100 ms.
pub struct Latencies {
    quantile: f64,
    period_ms: u64,
    min_samples: u32,
    fallback: Duration,
    origin: OnceLock<Instant>,
    histograms: [Histogram; 2],
    /// The delay last computed, in µs, plus one (zero: none yet).
    cached: AtomicU64,
    /// The period of the last timed record.
    last_period: AtomicU64,
}

impl fmt::Debug for Latencies {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Latencies")
            .field("quantile", &self.quantile)
            .field("delay", &self.delay())
            .finish_non_exhaustive()
    }
}

/// The adaptive delay of `#[hedge(delay = percentile(q))]`: a [`Latencies`] at
/// quantile `q` (clamped to `0..=1`; NaN reads as the default 0.95).
pub const fn percentile(quantile: f64) -> Latencies {
    Latencies::new().quantile(quantile)
}

impl Default for Latencies {
    fn default() -> Self {
        Latencies::new()
    }
}

impl Latencies {
    /// Recompute the delay after this many records (and at each new period).
    const REFRESH: u64 = 64;

    /// A tracker with the defaults (see the type's `# Default`).
    pub const fn new() -> Self {
        Latencies {
            quantile: 0.95,
            period_ms: 10_000,
            min_samples: 20,
            fallback: Duration::from_millis(100),
            origin: OnceLock::new(),
            histograms: [Histogram::new(), Histogram::new()],
            cached: AtomicU64::new(0),
            last_period: AtomicU64::new(0),
        }
    }

    /// The quantile (0 to 1) of the latencies to wait.
    ///
    /// # Default
    /// 0.95.
    pub const fn quantile(mut self, quantile: f64) -> Self {
        self.quantile = if quantile.is_nan() {
            0.95
        } else if quantile < 0.0 {
            0.0
        } else if quantile > 1.0 {
            1.0
        } else {
            quantile
        };
        self
    }

    /// How long a histogram collects before it becomes the previous one (at least
    /// 1 ms); latencies count for one to two periods.
    ///
    /// # Default
    /// 10 s.
    pub const fn period(mut self, period: Duration) -> Self {
        let ms = period.as_millis();
        self.period_ms = if ms < 1 {
            1
        } else if ms > u64::MAX as u128 {
            u64::MAX
        } else {
            ms as u64
        };
        self
    }

    /// Latencies needed before the percentile is used.
    ///
    /// # Default
    /// 20.
    pub const fn min_samples(mut self, n: u32) -> Self {
        self.min_samples = n;
        self
    }

    /// The delay until enough latencies are known.
    ///
    /// # Default
    /// 100 ms.
    pub const fn fallback(mut self, delay: Duration) -> Self {
        self.fallback = delay;
        self
    }

    /// The delay now: the percentile of recent latencies, or the fallback.
    #[inline]
    pub fn delay(&self) -> Duration {
        match self.cached.load(Relaxed) {
            0 => self.fallback,
            micros => Duration::from_micros(micros - 1),
        }
    }

    /// Records one attempt's latency, finished at `now`.
    pub fn record(&self, latency: Duration, now: Instant) {
        let period = self.period_of(now);
        self.last_period.store(period, Relaxed);
        self.record_in(bucket_of_latency(latency), period);
    }

    /// Records a latency known without reading the clock (an attempt done on its
    /// first poll), in the period of the last record.
    #[inline]
    pub fn record_untimed(&self, latency: Duration) {
        let bucket = if latency.is_zero() { 0 } else { bucket_of_latency(latency) };
        self.record_in(bucket, self.last_period.load(Relaxed));
    }

    #[inline]
    fn record_in(&self, bucket: usize, period: u64) {
        let histogram = &self.histograms[(period % 2) as usize];
        let seen = histogram.period.load(Acquire);
        let mut fresh = false;
        if seen != period + 1 && histogram.period.compare_exchange(seen, period + 1, AcqRel, Acquire).is_ok()
        {
            // This histogram's period is over (two ago): start it again.
            Self::restart(histogram);
            fresh = true;
        }
        histogram.counts[bucket].fetch_add(1, Relaxed);
        let recorded = histogram.total.fetch_add(1, Release) + 1;
        // Recomputed every few records, and on every one while still on the fallback
        // (so the percentile takes over as soon as there are enough samples).
        if fresh || recorded.is_multiple_of(Self::REFRESH) || self.cached.load(Relaxed) == 0 {
            self.refresh(period);
        }
    }

    #[inline(never)]
    fn restart(histogram: &Histogram) {
        histogram.total.store(0, Relaxed);
        for count in &histogram.counts {
            count.store(0, Relaxed);
        }
    }

    fn period_of(&self, now: Instant) -> u64 {
        let origin = *self.origin.get_or_init(|| now);
        let ms = u64::try_from(now.saturating_duration_since(origin).as_millis()).unwrap_or(u64::MAX);
        ms / self.period_ms
    }

    /// Recomputes the cached delay from the current and previous periods: the
    /// buckets are scanned from the fastest up to the percentile's rank only.
    #[inline(never)]
    fn refresh(&self, period: u64) {
        let live = |h: &Histogram| {
            let p = h.period.load(Acquire);
            p == period + 1 || (period > 0 && p == period)
        };
        let [a, b] = &self.histograms;
        let (a, b) = (live(a).then_some(a), live(b).then_some(b));
        let total_of = |h: Option<&Histogram>| h.map_or(0, |h| h.total.load(Acquire));
        let total = total_of(a) + total_of(b);
        if total < u64::from(self.min_samples.max(1)) {
            self.cached.store(0, Relaxed);
            return;
        }
        let rank = ((self.quantile * total as f64).ceil() as u64).clamp(1, total);
        let count_of =
            |h: Option<&Histogram>, index: usize| h.map_or(0, |h| u64::from(h.counts[index].load(Relaxed)));
        let (mut seen, mut highest) = (0, None);
        for index in 0..BUCKETS {
            let count = count_of(a, index) + count_of(b, index);
            if count > 0 {
                seen += count;
                highest = Some(index);
                if seen >= rank {
                    break;
                }
            }
        }
        // Short of the rank only if a histogram was restarted mid-scan: the
        // slowest latency seen stands in.
        if let Some(index) = highest {
            self.cached.store(bucket_bottom(index).saturating_add(1), Relaxed);
        }
    }
}

/// When to start the next copy.
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not a hedge delay",
    label = "expected a `Duration` or a `&Latencies` (`percentile(..)`)"
)]
#[doc(hidden)]
pub trait HedgeDelay {
    /// The delay for the next hedge.
    fn delay(&self) -> Duration;
    /// Whether latencies are recorded (reading the clock).
    fn records(&self) -> bool;
    /// Records an attempt's latency, finished at `now` (`None`: done on its first
    /// poll, with no clock read).
    fn record(&self, latency: Duration, now: Option<Instant>);
}

impl HedgeDelay for Duration {
    #[inline(always)]
    fn delay(&self) -> Duration {
        *self
    }
    #[inline(always)]
    fn records(&self) -> bool {
        false
    }
    #[inline(always)]
    fn record(&self, _: Duration, _: Option<Instant>) {}
}

impl HedgeDelay for &Latencies {
    #[inline]
    fn delay(&self) -> Duration {
        Latencies::delay(self)
    }
    #[inline(always)]
    fn records(&self) -> bool {
        true
    }
    #[inline]
    fn record(&self, latency: Duration, now: Option<Instant>) {
        match now {
            Some(now) => Latencies::record(self, latency, now),
            None => self.record_untimed(latency),
        }
    }
}

/// A hedging policy for one call, then run with [`call`](Self::call).
///
/// # Default
/// Delay 100 ms (fixed), every error non-fatal, no budget, the
/// [`DefaultSleeper`] and [`DefaultClock`] (tokio's timer and clock).
#[must_use = "a Hedging does nothing until `.call(..)`"]
#[derive(Clone, Debug)]
pub struct Hedging<D = Duration, P = EveryError, Bu = NoBudget, Sl = DefaultSleeper, K = DefaultClock> {
    n: u32,
    name: &'static str,
    delay: D,
    non_fatal: P,
    budget: Bu,
    sleeper: Sl,
    clock: K,
}

impl Hedging {
    /// At most `n` copies in flight, the first included (clamped to 1..=64; 1
    /// does not hedge).
    pub const fn new(n: u32) -> Self {
        let n = if n < 1 {
            1
        } else if n > 64 {
            64
        } else {
            n
        };
        Hedging {
            n,
            name: "hedge",
            delay: Duration::from_millis(100),
            non_fatal: EveryError,
            budget: NoBudget,
            sleeper: DefaultSleeper,
            clock: DefaultClock,
        }
    }
}

impl<D, P, Bu, Sl, K> Hedging<D, P, Bu, Sl, K> {
    /// A label for metrics (`name`).
    ///
    /// # Default
    /// `"hedge"` (under `#[hedge]`: the fn's path).
    pub fn name(mut self, name: &'static str) -> Self {
        self.name = name;
        self
    }

    /// A fixed delay before each next copy.
    pub fn delay(self, delay: Duration) -> Hedging<Duration, P, Bu, Sl, K> {
        let Hedging { n, name, non_fatal, budget, sleeper, clock, .. } = self;
        Hedging { n, name, delay, non_fatal, budget, sleeper, clock }
    }

    /// An adaptive delay: a percentile of recent latencies.
    pub fn delay_percentile(self, latencies: &Latencies) -> Hedging<&Latencies, P, Bu, Sl, K> {
        let Hedging { n, name, non_fatal, budget, sleeper, clock, .. } = self;
        Hedging { n, name, delay: latencies, non_fatal, budget, sleeper, clock }
    }

    /// Errors for which `predicate` holds start the next copy at once; others
    /// end the call.
    pub fn when<P2>(self, predicate: P2) -> Hedging<D, P2, Bu, Sl, K> {
        let Hedging { n, name, delay, budget, sleeper, clock, .. } = self;
        Hedging { n, name, delay, non_fatal: predicate, budget, sleeper, clock }
    }

    /// Hedges draw from `budget` (the call deposits as a first attempt).
    pub fn budget<Kb: Clock>(self, budget: &RetryBudget<Kb>) -> Hedging<D, P, &RetryBudget<Kb>, Sl, K> {
        let Hedging { n, name, delay, non_fatal, sleeper, clock, .. } = self;
        Hedging { n, name, delay, non_fatal, budget, sleeper, clock }
    }

    /// The timer of the delay: `Fn(Duration) -> impl Future<Output = ()>`.
    pub fn sleep<Sl2: AsyncSleeper>(self, sleeper: Sl2) -> Hedging<D, P, Bu, Sl2, K> {
        let Hedging { n, name, delay, non_fatal, budget, clock, .. } = self;
        Hedging { n, name, delay, non_fatal, budget, sleeper, clock }
    }

    /// Where latencies are measured from (its async `now`).
    pub fn clock<K2: Clock>(self, clock: K2) -> Hedging<D, P, Bu, Sl, K2> {
        let Hedging { n, name, delay, non_fatal, budget, sleeper, .. } = self;
        Hedging { n, name, delay, non_fatal, budget, sleeper, clock }
    }

    /// Runs the hedged call: `make` starts one copy each time it is called.
    pub fn call<T, E, Mk, Fut>(self, make: Mk) -> Hedged<E, Mk, Fut, D, P, Bu, Sl, K>
    where
        Mk: FnMut() -> Fut,
        Fut: Future<Output = Result<T, E>>,
        D: HedgeDelay,
        P: ErrorFilter<E>,
        Bu: BudgetSide,
        Sl: AsyncSleeper,
        K: Clock,
    {
        Hedged { policy: self, make, first: None, launched: 0, slow: None }
    }
}

pin_project_lite::pin_project! {
    /// A hedged call in flight; see the [module docs](self). Like most futures,
    /// it panics if polled again after it returned `Ready`.
    #[must_use = "futures do nothing unless polled"]
    #[project = HedgedProj]
    pub struct Hedged<E, Mk, Fut, D, P, Bu, Sl: AsyncSleeper, K> {
        policy: Hedging<D, P, Bu, Sl, K>,
        make: Mk,
        #[pin]
        first: Option<Fut>,
        launched: u32,
        // Everything a call needs once its first copy is not done on its first
        // poll: a call that is carries `None` here, so building, polling and
        // dropping it touch nothing else.
        #[pin]
        slow: Option<Slow<E, Fut, Sl::Sleep>>,
    }
}

pin_project_lite::pin_project! {
    /// The state of a hedged call past its first poll.
    struct Slow<E, Fut, S> {
        first_started: Option<Instant>,
        hedges: Hedges<Fut>,
        #[pin]
        timer: Option<S>,
        last_error: Option<E>,
    }
}

impl<E, Fut, S> Slow<E, Fut, S> {
    const fn new(first_started: Option<Instant>) -> Self {
        Slow { first_started, hedges: Hedges(None), timer: None, last_error: None }
    }
}

/// The hedges in flight (boxed, as each is), with their start times. The list
/// is boxed too: only a hedged call builds it, and a call done on its first poll
/// then drops no vector (the drop of a `Vec` field is an out-of-line call, even
/// when it is empty).
#[expect(clippy::box_collection, reason = "a one-word field whose drop inlines; see above")]
struct Hedges<Fut>(Option<Box<Vec<Hedge<Fut>>>>);

/// A hedge in flight, with its start time.
type Hedge<Fut> = (Pin<Box<Fut>>, Instant);

impl<Fut> Hedges<Fut> {
    fn len(&self) -> usize {
        self.0.as_ref().map_or(0, |hedges| hedges.len())
    }

    fn get_mut(&mut self, index: usize) -> Option<&mut Hedge<Fut>> {
        self.0.as_mut().and_then(|hedges| hedges.get_mut(index))
    }

    fn push(&mut self, hedge: Pin<Box<Fut>>, started: Instant) {
        self.0.get_or_insert_with(Box::default).push((hedge, started));
    }

    fn swap_remove(&mut self, index: usize) {
        if let Some(hedges) = &mut self.0 {
            hedges.swap_remove(index);
        }
    }

    /// Drops every hedge (cancels them).
    fn clear(&mut self) {
        self.0 = None;
    }
}

impl<E, Mk, Fut, D, P, Bu, Sl: AsyncSleeper, K> fmt::Debug for Hedged<E, Mk, Fut, D, P, Bu, Sl, K> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let hedges = self.slow.as_ref().map_or(0, |slow| slow.hedges.len());
        f.debug_struct("Hedged")
            .field("launched", &self.launched)
            .field("in_flight", &(usize::from(self.first.is_some()) + hedges))
            .finish_non_exhaustive()
    }
}

/// What to do with a finished copy's outcome.
enum Verdict<T, E> {
    Return(Result<T, E>),
    /// A non-fatal error: the call goes on.
    Continue(E),
}

impl<T, E, Mk, Fut, D, P, Bu, Sl, K> Future for Hedged<E, Mk, Fut, D, P, Bu, Sl, K>
where
    Mk: FnMut() -> Fut,
    Fut: Future<Output = Result<T, E>>,
    D: HedgeDelay,
    P: ErrorFilter<E>,
    Bu: BudgetSide,
    Sl: AsyncSleeper,
    K: Clock,
{
    type Output = Result<T, E>;

    #[inline]
    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        // The common case first, inline: the first copy is done on its first poll.
        // Nothing else exists yet (no timer, no hedge), so there is nothing to cancel.
        let mut started_now = None;
        if self.launched == 0 {
            let mut this = self.as_mut().project();
            *this.launched = 1;
            this.policy.budget.deposit();
            this.first.set(Some((this.make)()));
            let mut last_error = None;
            if let Some(first) = this.first.as_mut().as_pin_mut()
                && let Poll::Ready(outcome) = first.poll(cx)
            {
                // Returning, the finished copy is dropped with the call.
                match judge(this.policy, outcome, None) {
                    Verdict::Return(outcome) => return Poll::Ready(outcome),
                    Verdict::Continue(error) => {
                        this.first.set(None);
                        last_error = Some(error);
                    }
                }
            }
            started_now = Some(last_error);
        }
        self.poll_slow(cx, started_now)
    }
}

impl<T, E, Mk, Fut, D, P, Bu, Sl, K> Hedged<E, Mk, Fut, D, P, Bu, Sl, K>
where
    Mk: FnMut() -> Fut,
    Fut: Future<Output = Result<T, E>>,
    D: HedgeDelay,
    P: ErrorFilter<E>,
    Bu: BudgetSide,
    Sl: AsyncSleeper,
    K: Clock,
{
    /// Everything past a first copy done on its first poll. `started_now` is
    /// `Some` when this poll started the call (holding the first copy's error, if
    /// it failed on that poll).
    #[inline(never)]
    fn poll_slow(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        started_now: Option<Option<E>>,
    ) -> Poll<Result<T, E>> {
        let mut this = self.project();
        // Each copy is polled once per call of `poll` (a re-poll without a wake is
        // wasted work): the first copy once, hedges from `polled` on.
        let mut first_polled = false;
        let mut polled = 0;
        if let Some(last_error) = started_now {
            first_polled = true;
            // Still running after its first poll: its clock starts now.
            let started =
                (this.first.is_some() && this.policy.delay.records()).then(|| this.policy.clock.now_async());
            let mut slow = Slow::new(started);
            slow.last_error = last_error;
            this.slow.set(Some(slow));
        }
        let Some(slow) = this.slow.as_mut().as_pin_mut() else {
            panic!("`Hedged` polled after it completed")
        };
        let mut slow = slow.project();
        loop {
            let mut progressed = false;
            // The first copy, inline.
            if !first_polled
                && let Some(first) = this.first.as_mut().as_pin_mut()
                && let Poll::Ready(outcome) = first.poll(cx)
            {
                this.first.set(None);
                // `None`: done on its first poll, latency ~0, no clock read.
                let started = slow.first_started.take();
                match judge(this.policy, outcome, started) {
                    Verdict::Return(outcome) => {
                        slow.hedges.clear();
                        slow.timer.set(None);
                        return Poll::Ready(outcome);
                    }
                    Verdict::Continue(error) => *slow.last_error = Some(error),
                }
                progressed = true;
            }
            first_polled = true;
            // The hedges, boxed.
            let mut index = polled;
            while let Some((hedge, started)) = slow.hedges.get_mut(index) {
                match hedge.as_mut().poll(cx) {
                    Poll::Ready(outcome) => {
                        let started = Some(*started);
                        slow.hedges.swap_remove(index);
                        match judge(this.policy, outcome, started) {
                            Verdict::Return(outcome) => {
                                #[cfg(feature = "metrics")]
                                if outcome.is_ok() {
                                    metrics::counter!("retry_hedges_won_total", "name" => this.policy.name)
                                        .increment(1);
                                }
                                this.first.set(None);
                                slow.hedges.clear();
                                slow.timer.set(None);
                                return Poll::Ready(outcome);
                            }
                            Verdict::Continue(error) => *slow.last_error = Some(error),
                        }
                        progressed = true;
                    }
                    Poll::Pending => index += 1,
                }
            }
            polled = slow.hedges.len();
            let in_flight = usize::from(this.first.is_some()) + slow.hedges.len();
            let may_launch = *this.launched < this.policy.n && crate::is_enabled();
            if in_flight == 0 {
                // Every copy so far failed (non-fatally): the next starts at once,
                // or the call ends with the last error.
                if may_launch && this.policy.budget.withdraw() {
                    launch(this.policy, this.make, this.launched, slow.hedges);
                    continue;
                }
                slow.timer.set(None);
                return Poll::Ready(Err(slow.last_error.take().expect("a copy failed")));
            }
            if progressed && may_launch {
                // A non-fatal error: the next copy starts now, not after the delay.
                if this.policy.budget.withdraw() {
                    launch(this.policy, this.make, this.launched, slow.hedges);
                } else {
                    *this.launched = this.policy.n;
                }
                continue;
            }
            if !may_launch {
                return Poll::Pending;
            }
            if slow.timer.is_none() {
                slow.timer.set(Some(this.policy.sleeper.sleep(this.policy.delay.delay())));
            }
            match slow.timer.as_mut().as_pin_mut().map(|timer| timer.poll(cx)) {
                Some(Poll::Ready(())) => {
                    slow.timer.set(None);
                    if this.policy.budget.withdraw() {
                        launch(this.policy, this.make, this.launched, slow.hedges);
                    } else {
                        *this.launched = this.policy.n;
                    }
                }
                _ => return Poll::Pending,
            }
        }
    }
}

/// Starts the next copy (boxed: only slow calls get here).
fn launch<Mk, Fut, D, P, Bu, Sl, K>(
    policy: &Hedging<D, P, Bu, Sl, K>,
    make: &mut Mk,
    launched: &mut u32,
    hedges: &mut Hedges<Fut>,
) where
    Mk: FnMut() -> Fut,
    K: Clock,
{
    *launched += 1;
    #[cfg(feature = "metrics")]
    metrics::counter!("retry_hedges_launched_total", "name" => policy.name).increment(1);
    let started = policy.clock.now_async();
    hedges.push(Box::pin(make()), started);
}

/// Records a finished copy and decides: return it, or go on.
fn judge<T, E, D, P, Bu, Sl, K>(
    policy: &Hedging<D, P, Bu, Sl, K>,
    outcome: Result<T, E>,
    started: Option<Instant>,
) -> Verdict<T, E>
where
    D: HedgeDelay,
    P: ErrorFilter<E>,
    K: Clock,
{
    if policy.delay.records() {
        match started {
            Some(started) => {
                let now = policy.clock.now_async();
                policy.delay.record(now.saturating_duration_since(started), Some(now));
            }
            None => policy.delay.record(Duration::ZERO, None),
        }
    }
    match outcome {
        Ok(value) => Verdict::Return(Ok(value)),
        Err(error) if policy.non_fatal.matches(&error) => Verdict::Continue(error),
        Err(error) => Verdict::Return(Err(error)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buckets_are_monotonic_and_bottoms_bound_them() {
        let mut last = 0;
        for micros in (0..100_000u64).chain([1 << 20, 1 << 30, u64::MAX]) {
            let bucket = bucket_of(micros);
            assert!(bucket >= last, "{micros}");
            last = bucket;
            if bucket < BUCKETS - 1 {
                let bottom = bucket_bottom(bucket);
                assert!(bottom <= micros, "{micros}: bottom {bottom}");
                assert!(bottom as f64 >= micros as f64 / 1.07 - 1.0, "{micros}: bottom {bottom}, resolution");
                assert_eq!(bucket_of(bottom), bucket, "{micros}: the bottom is in the bucket");
            }
        }
    }

    #[test]
    fn percentile_scans_past_the_fast_buckets_and_counts_both_periods() {
        // 90 fast latencies, then, in the next period, 64 slow ones. Latencies
        // live two periods, so both count: p95 is a slow one (the scan goes on past
        // the fast buckets to its rank), p50 a fast one (the previous period counts).
        // The delay is recomputed at a period's first record and then every 64.
        let filled = |quantile: f64| {
            let latencies = percentile(quantile).min_samples(10);
            let origin = Instant::now();
            for _ in 0..90 {
                latencies.record(Duration::from_millis(10), origin);
            }
            let next = origin + Duration::from_secs(11);
            for _ in 0..64 {
                latencies.record(Duration::from_millis(500), next);
            }
            latencies
        };
        let p95 = filled(0.95);
        let delay = p95.delay();
        assert!(delay >= Duration::from_millis(470) && delay <= Duration::from_millis(500), "{delay:?}");
        let delay = filled(0.5).delay();
        assert!(delay >= Duration::from_micros(9_400) && delay <= Duration::from_millis(10), "{delay:?}");
        // Zero latencies (copies done on their first poll) count in the fastest
        // bucket: once they are over 95% of all, the delay is zero.
        for _ in 0..4000 {
            p95.record_untimed(Duration::ZERO);
        }
        assert_eq!(p95.delay(), Duration::ZERO);
    }

    #[test]
    fn percentile_follows_the_latencies() {
        let latencies = percentile(0.9).min_samples(10);
        let origin = Instant::now();
        assert_eq!(latencies.delay(), Duration::from_millis(100), "fallback first");
        for i in 0..100u64 {
            latencies.record(Duration::from_millis(if i % 10 == 9 { 500 } else { 10 }), origin);
        }
        let delay = latencies.delay();
        assert!(delay >= Duration::from_micros(9_400) && delay <= Duration::from_millis(10), "{delay:?}");
        // Two periods later the old latencies are gone.
        let later = origin + Duration::from_secs(25);
        for _ in 0..20 {
            latencies.record(Duration::from_millis(200), later);
        }
        let delay = latencies.delay();
        assert!(delay >= Duration::from_micros(188_000) && delay <= Duration::from_millis(200), "{delay:?}");
    }
}
