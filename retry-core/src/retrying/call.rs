//! [`Call`]: one retried call, an attempt at a time. Every front end drives it:
//! [`Retrying::call`], [`Retrying::call_async`], the `#[retry]` expansion, the
//! tower layer and the reqwest middleware, and users' own loops.

use core::fmt;
use core::future::Future;
use core::marker::PhantomData;
use core::time::Duration;
use std::time::Instant;

use super::{Fallback, Retrying};
use crate::attempt::{Attempt, Current, Ident, InAttempt, Marked};
use crate::clock::{Clock, Stamp};
use crate::condition::Classify;
use crate::guard::{Guard, SyncGuards, attempt_limit};
use crate::hook::HookSet;
use crate::sleep::{self, AsyncSleeper, MaybeSleep, Sleeper};
use crate::stop::{Stop, StopState};
use crate::testing;
use crate::timeout::{FromTimedOut, Limited, ViaFrom};
use crate::wait::Delay;

/// What comes after an attempt: [`Call::next`]'s answer.
#[derive(Debug, PartialEq, Eq)]
pub enum Next<T, E> {
    /// Sleep this long (e.g. with [`Call::sleep`]), then make the next attempt.
    Retry(Duration),
    /// The call is over: its result (the last outcome, or the fallback's).
    Done(Result<T, E>),
}

/// Statistics of a call: how many attempts, how long, how long asleep.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct CallStats {
    attempts: u32,
    elapsed: Duration,
    idle: Duration,
}

impl CallStats {
    pub(crate) const fn new(attempts: u32, elapsed: Duration, idle: Duration) -> Self {
        CallStats { attempts, elapsed, idle }
    }

    /// Whether the call was retried (made more than one attempt).
    pub const fn retried(&self) -> bool {
        self.attempts > 1
    }

    /// How many attempts were made.
    pub const fn attempts(&self) -> u32 {
        self.attempts
    }

    /// Time from the start of the first attempt to the end of the last.
    pub const fn elapsed(&self) -> Duration {
        self.elapsed
    }

    /// Total time spent sleeping between attempts.
    pub const fn idle(&self) -> Duration {
        self.idle
    }
}

/// One retried call, driven an attempt at a time: the loop form of
/// [`Retrying::call`] and [`Retrying::call_async`], with the same hooks, guards,
/// events and statistics. Made by [`Retrying::start`].
///
/// Pick it when the operation cannot be a closure: it borrows `&mut` state across
/// awaits, or an async closure's future would not be `Send` (rustc cannot yet say
/// that an `async` closure's future is `Send` under `tokio::spawn`). The loop is
/// yours, so the attempt is plain code in it:
///
/// ```
/// # #[tokio::main(flavor = "current_thread", start_paused = true)]
/// # async fn main() {
/// use retry::{Next, Retrying, dsl::*};
///
/// struct Conn { sent: u32 }
/// impl Conn {
///     async fn send(&mut self) -> Result<u32, &'static str> {
///         self.sent += 1;
///         if self.sent < 3 { Err("reset") } else { Ok(self.sent) }
///     }
/// }
///
/// let mut conn = Conn { sent: 0 };
/// let mut call = Retrying::new().stop(attempts(5)).wait(expo(0.01)).start();
/// let out = loop {
///     let outcome = call.attempt(conn.send()).await;
///     match call.next(outcome) {
///         Next::Retry(delay) => call.sleep(delay).await,
///         Next::Done(out) => break out,
///     }
/// };
/// assert_eq!(out, Ok(3));
/// assert_eq!(call.stats().attempts(), 3);
/// # }
/// ```
///
/// Each attempt goes through [`attempt`](Self::attempt) (async) or
/// [`attempt_sync`](Self::attempt_sync), and each outcome through
/// [`next`](Self::next). An attempt the circuit breaker rejects is not made: its
/// future is dropped unpolled (the closure is not called) and the attempt yields
/// the breaker's error. Each attempt is followed by one `next`, and after
/// [`Next::Done`] the call is over: do not use it again (it does not check; a
/// further attempt would run, and count as the call's next one).
///
/// A [`signal`](crate::stop::signal) stop is asked after each attempt here;
/// [`sleep`](Self::sleep) does not wake when it fires (the loops of
/// [`Retrying::call`], [`Retrying::call_async`] and `#[retry]` do).
#[must_use = "a Call does nothing until its attempts are made"]
pub struct Call<T, E, S, W, C, H, F, Sl, K, G: Guard<T, E>> {
    // The policy's parts, side by side with the call's counters (not nested in
    // a `Retrying`): the small fields share one word's padding.
    stop: S,
    wait: W,
    conditions: C,
    hooks: H,
    /// Taken once, when the call gives up.
    fallback: Option<F>,
    sleeper: Sl,
    clock: K,
    guards: G,
    name: Option<&'static str>,
    /// The last attempt's number and the call's id, which each attempt's code
    /// reads.
    ident: Ident,
    /// Whether [`stats`](Self::stats) reports elapsed time, so the clock is read
    /// whatever the policy needs.
    timed_for_stats: bool,
    /// Whether the attempts are async: the clock is then read with
    /// [`Clock::now_async`] (tokio's paused clock, in tests).
    in_async: bool,
    /// When the first attempt started, if anything reads elapsed time.
    start: Stamp,
    /// Total sleep in nanoseconds (saturating).
    idle_nanos: u64,
    /// The attempt in flight's breaker permit (zero-sized without a breaker).
    slot: G::Slot,
    outcome: PhantomData<fn() -> Result<T, E>>,
}

impl<T, E, S, W, C, H, F, Sl, K, G: Guard<T, E>> fmt::Debug for Call<T, E, S, W, C, H, F, Sl, K, G> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Call")
            .field("name", &self.label())
            .field("attempt", &self.ident.attempt)
            .finish_non_exhaustive()
    }
}

/// The decision about one attempt, before the fallback.
enum Decision<T, E> {
    /// The call is over: a success, or a failure that gives up.
    Done { outcome: Result<T, E>, failed: bool },
    /// Sleep, then make the next attempt; the outcome is the one to give up
    /// with if a signal stops the call meanwhile.
    Sleep(Duration, Result<T, E>),
}

/// What follows an attempt, for the loops that sleep in slices (see
/// [`Call::slice`]): what `#[retry]` expands to.
#[doc(hidden)]
#[derive(Debug)]
pub enum Step<T, E> {
    /// The call's result.
    Done(Result<T, E>),
    /// Sleep `Left`, a slice at a time, then make the next attempt; the outcome
    /// is the one to give up with if a signal stops the call meanwhile (see
    /// [`Call::interrupted`]).
    Retry(Left, Result<T, E>),
}

/// The sleep still to come before the next attempt, in nanoseconds, and in the
/// top bit whether a `signal` stop fired: one word, as it is kept in the
/// caller's future across the sleep, and the signal is read once per slice (a
/// one-shot signal, such as a message taken off a channel, answers once).
#[doc(hidden)]
#[derive(Debug)]
pub struct Left(u64);

impl Left {
    const FIRED: u64 = 1 << 63;

    /// A sleep of `nanos` (at most 2^63 − 1: 292 years).
    fn new(nanos: u128) -> Left {
        Left(u64::try_from(nanos).unwrap_or(u64::MAX).min(Left::FIRED - 1))
    }

    const fn nanos(&self) -> u64 {
        self.0 & !Left::FIRED
    }

    const fn fired(&self) -> bool {
        self.0 & Left::FIRED != 0
    }
}

/// The future of an attempt [`Call::attempt`] makes.
pub type Attempting<'a, T, E, Fut, Sl, G> =
    InAttempt<'a, <G as Guard<T, E>>::Gated<<G as Guard<T, E>>::Cut<Fut, <Sl as AsyncSleeper>::Sleep>>>;

/// How long a sleep goes without looking at a `signal` stop.
pub(crate) const SIGNAL_SLICE: Duration = Duration::from_millis(100);

impl<T, E, S, W, C, H, F, Sl, K, G> Retrying<T, E, S, W, C, H, F, Sl, K, G>
where
    G: Guard<T, E>,
{
    /// Starts a call driven by your own loop: see [`Call`].
    pub fn start(self) -> Call<T, E, S, W, C, H, F, Sl, K, G> {
        let Retrying { stop, wait, conditions, hooks, fallback, sleeper, clock, guards, name, outcome } =
            self;
        Call {
            stop,
            wait,
            conditions,
            hooks,
            fallback: Some(fallback),
            sleeper,
            clock,
            guards,
            name,
            outcome,
            ident: Ident::new(),
            timed_for_stats: false,
            in_async: false,
            start: Stamp::NONE,
            idle_nanos: 0,
            slot: G::idle(),
        }
    }
}

impl<T, E, S, W, C, H, F, Sl, K, G> Call<T, E, S, W, C, H, F, Sl, K, G>
where
    S: Stop,
    W: Delay<T, E>,
    C: Classify<T, E>,
    H: HookSet<T, E>,
    F: Fallback<T, E>,
    K: Clock,
    G: Guard<T, E>,
{
    /// Reads the clock from the first attempt on, so [`stats`](Self::stats)
    /// reports elapsed time whatever the policy reads.
    pub(crate) fn timed_for_stats(mut self) -> Self {
        self.timed_for_stats = true;
        self
    }

    /// The statistics so far: attempts made, time asleep, and time since the
    /// first attempt started (ask right after [`Next::Done`] for the call's
    /// own). Elapsed time is measured when the policy reads the clock (a
    /// time-based stop, a hook, a deadline, metrics) or the call was started by
    /// a `*_with_stats` method; otherwise it is zero.
    pub fn stats(&self) -> CallStats {
        CallStats::new(self.ident.attempt, self.elapsed(), self.idle())
    }

    #[inline(always)]
    fn idle(&self) -> Duration {
        Duration::from_nanos(self.idle_nanos)
    }

    /// Whether anything reads elapsed time: a time-based stop, a hook, a
    /// deadline, metrics, or statistics. (Every part but the last is known from
    /// the policy's types, so a policy that reads no clock folds it away.)
    #[inline(always)]
    fn timed(&self) -> bool {
        self.stop.needs_clock()
            || self.wait.needs_clock()
            || self.hooks.any()
            || self.guards.deadline().is_some()
            || self.guards.observes_time()
            || self.timed_for_stats
    }

    #[inline(always)]
    fn now(&self) -> Instant {
        if self.in_async { self.clock.now_async() } else { self.clock.now() }
    }

    #[inline(always)]
    pub(crate) fn elapsed(&self) -> Duration {
        if !self.timed() {
            return Duration::ZERO;
        }
        self.start.elapsed_at(self.now())
    }

    #[inline(always)]
    fn snapshot<'a>(&self, elapsed: Duration, outcome: Option<&'a Result<T, E>>) -> Attempt<'a, T, E> {
        Attempt {
            number: self.ident.attempt,
            elapsed,
            idle_for: self.idle(),
            next_sleep: None,
            outcome,
            name: self.label(),
        }
    }

    /// Counts the attempt, starts the clock if needed, runs `before`, takes the
    /// breaker's permit; returns whether the attempt is admitted.
    #[inline(always)]
    pub(crate) fn begin(&mut self, in_async: bool) -> bool {
        self.ident.attempt = self.ident.attempt.saturating_add(1);
        if self.timed() && self.start.is_none() {
            self.in_async = in_async;
            self.start = Stamp::of(self.now());
        }
        if self.hooks.any() {
            let attempt = self.snapshot(self.elapsed(), None);
            let _current = Current::enter(&self.ident);
            self.hooks.before(&attempt);
        }
        if self.guards.observes_time() {
            let us = self.elapsed().as_micros();
            self.ident.attempt_started_us = u32::try_from(us).unwrap_or(u32::MAX);
        }
        self.slot = self.guards.admit(self.ident.attempt, self.label());
        let admitted = G::admitted(&self.slot);
        if self.ident.attempt > 1 && admitted {
            // Counted when made: a call dropped while it sleeps, or whose retry
            // the breaker rejects, retried nothing.
            crate::stats::retrying();
        }
        admitted
    }

    /// The error of an attempt the breaker rejects.
    #[cfg(feature = "reqwest-middleware")]
    pub(crate) fn rejection(&self) -> Option<E> {
        self.guards.rejection()
    }

    /// Makes an async attempt: counts it, runs the `before` hook, takes the
    /// breaker's permit and cuts the attempt at the policy's `timeout` and
    /// `deadline`. [`crate::attempt()`] answers while it runs. A rejected attempt
    /// is not polled: it yields the breaker's error.
    #[inline(always)]
    pub fn attempt<Fut>(&mut self, attempt: Fut) -> Attempting<'_, T, E, Fut, Sl, G>
    where
        Fut: Future<Output = Result<T, E>>,
        Sl: AsyncSleeper,
    {
        self.attempt_with(|| attempt)
    }

    /// [`attempt`](Self::attempt) for an attempt `make` builds, called with
    /// [`crate::attempt()`] set and only if the attempt is admitted.
    #[inline(always)]
    pub(crate) fn attempt_with<Fut>(
        &mut self,
        make: impl FnOnce() -> Fut,
    ) -> InAttempt<'_, G::Gated<G::Cut<Fut, Sl::Sleep>>>
    where
        Fut: Future<Output = Result<T, E>>,
        Sl: AsyncSleeper,
    {
        let admitted = self.begin(true);
        let this = &*self;
        let attempt = this.guards.gate(admitted, || {
            let attempt = {
                let _current = Current::enter(&this.ident);
                make()
            };
            this.guards.cut(attempt, || this.elapsed(), |limit| this.sleeper.sleep(limit))
        });
        InAttempt::new(&this.ident, attempt)
    }

    /// Makes a sync attempt: counts it, runs the `before` hook, takes the
    /// breaker's permit, then calls `op` with [`crate::attempt()`] set, unless the
    /// breaker rejects the attempt (then its error is the outcome).
    #[inline(always)]
    pub fn attempt_sync(&mut self, op: impl FnOnce() -> Result<T, E>) -> Result<T, E>
    where
        G: SyncGuards,
    {
        let admitted = self.begin(false);
        let marked = Marked::enter(self.ident.attempt, self.ident.serial());
        let outcome = match if admitted { None } else { self.guards.rejection() } {
            Some(rejection) => Err(rejection),
            None => op(),
        };
        let serial = marked.leave();
        self.ident.keep(serial);
        outcome
    }

    /// Decides what follows an attempt that ended with `outcome`: runs the
    /// `after` hook, reports to the breaker, asks the conditions, the wait and
    /// stop policies and the guards, runs `before_sleep` (or `on_success`,
    /// `on_giveup` and the fallback when the call ends).
    ///
    /// A [`signal`](crate::stop::signal) stop is asked here, after each
    /// attempt; [`Retrying::call`], [`Retrying::call_async`] and `#[retry]` also
    /// wake from a sleep to give up when it fires.
    #[inline(always)]
    pub fn next(&mut self, outcome: Result<T, E>) -> Next<T, E> {
        match self.decide(outcome) {
            Decision::Done { outcome, failed } => Next::Done(self.conclude(outcome, failed)),
            Decision::Sleep(delay, _) => Next::Retry(delay),
        }
    }

    /// [`next`](Self::next) for a loop that sleeps in slices and keeps the last
    /// outcome across them (see [`slice`](Self::slice)).
    #[doc(hidden)]
    #[inline(always)]
    pub fn step(&mut self, outcome: Result<T, E>) -> Step<T, E> {
        self.step_with_stats(outcome).0
    }

    /// [`step`](Self::step), with the call's statistics when it ends (taken
    /// before the fallback runs) if they were asked for.
    #[inline(always)]
    fn step_with_stats(&mut self, outcome: Result<T, E>) -> (Step<T, E>, CallStats) {
        match self.decide(outcome) {
            Decision::Done { outcome, failed } => {
                let stats = if self.timed_for_stats { self.stats() } else { CallStats::default() };
                (Step::Done(self.conclude(outcome, failed)), stats)
            }
            Decision::Sleep(delay, last) => {
                // Recorded whole under `testing::record_sleeps`, and then not slept.
                let nanos = if sleep::skipped(delay) { 0 } else { delay.as_nanos() };
                (Step::Retry(Left::new(nanos), last), CallStats::default())
            }
        }
    }

    /// The next slice of the sleep `left`, or `None` when it is over or a
    /// `signal` stop fired. A policy without a signal sleeps in one slice.
    #[doc(hidden)]
    #[inline(always)]
    pub fn slice(&self, left: &mut Left) -> Option<Duration> {
        if left.fired() {
            return None;
        }
        // Read once per slice, and once after the last; what it said is kept.
        let slice = match self.stop.signalled() {
            None => left.0,
            Some(true) => {
                left.0 |= Left::FIRED;
                return None;
            }
            Some(false) => left.0.min(SIGNAL_SLICE.as_nanos() as u64),
        };
        if slice == 0 {
            return None;
        }
        left.0 -= slice;
        Some(Duration::from_nanos(slice))
    }

    /// After a sleep: the call's result if a `signal` stop fired during it (the
    /// call gives up with `last`; the sleep `left` unslept is not counted as
    /// idle), else `None`.
    #[doc(hidden)]
    #[inline(always)]
    pub fn interrupted(&mut self, last: Result<T, E>, left: Left) -> Option<Result<T, E>> {
        self.interrupted_with_stats(last, left).map(|(result, _)| result)
    }

    /// [`interrupted`](Self::interrupted), with the statistics as
    /// [`step_with_stats`](Self::step_with_stats) takes them.
    #[inline(always)]
    fn interrupted_with_stats(
        &mut self,
        last: Result<T, E>,
        left: Left,
    ) -> Option<(Result<T, E>, CallStats)> {
        if !left.fired() {
            return None;
        }
        Some(self.interrupted_outlined(last, left))
    }

    #[cold]
    #[inline(never)]
    fn interrupted_outlined(&mut self, last: Result<T, E>, left: Left) -> (Result<T, E>, CallStats) {
        self.idle_nanos = self.idle_nanos.saturating_sub(left.nanos());
        self.guards.retry_dropped();
        let elapsed = self.elapsed();
        self.give_up(&last, elapsed);
        let stats = if self.timed_for_stats { self.stats() } else { CallStats::default() };
        (self.conclude(last, true), stats)
    }

    #[inline(always)]
    fn decide(&mut self, outcome: Result<T, E>) -> Decision<T, E> {
        let slot = core::mem::replace(&mut self.slot, G::idle());
        let rejected = self.guards.report(slot, &outcome);
        let elapsed = self.elapsed();
        if self.hooks.any() {
            let attempt = self.snapshot(elapsed, Some(&outcome));
            let _current = Current::enter(&self.ident);
            self.hooks.after(&attempt);
        }
        // (An attempt the breaker rejected was not made: it is neither timed.)
        if self.guards.observes_time() && !rejected {
            let started = Duration::from_micros(u64::from(self.ident.attempt_started_us));
            self.guards.attempt_ended(self.label(), elapsed.saturating_sub(started));
        }
        if rejected || !self.conditions.should_retry(&outcome) {
            return self.settle(outcome, rejected, elapsed);
        }
        self.plan_retry(outcome, elapsed)
    }

    /// The end of a call whose last outcome is not retried: a success, or a
    /// failure the conditions do not retry (or the breaker rejected).
    #[inline(always)]
    fn settle(&mut self, outcome: Result<T, E>, rejected: bool, elapsed: Duration) -> Decision<T, E> {
        let failed = outcome.is_err();
        if self.hooks.any() {
            let attempt = self.snapshot(elapsed, Some(&outcome));
            let _current = Current::enter(&self.ident);
            if failed { self.hooks.on_giveup(&attempt) } else { self.hooks.on_success(&attempt) }
        }
        if failed && self.guards.logs() {
            let attempt = self.snapshot(elapsed, Some(&outcome));
            if rejected { self.guards.rejected(&attempt) } else { self.guards.giving_up(&attempt) }
        }
        if !failed {
            self.guards.succeeded(self.label());
        }
        if failed || self.ident.attempt > 1 {
            ended(self.label(), self.ident.attempt, self.idle(), failed);
        }
        Decision::Done { outcome, failed }
    }

    /// The failure path: asks for the delay and the stop policy, runs
    /// `before_sleep`. Inlined: out of line, it would take the call by
    /// reference, and a call whose address escapes is kept in memory from its
    /// start, so every call would store the policy before its first attempt.
    #[inline(always)]
    fn plan_retry(&mut self, outcome: Result<T, E>, elapsed: Duration) -> Decision<T, E> {
        let asked = match &outcome {
            Err(error) => self.conditions.retry_after(error),
            Ok(_) => None,
        };
        let delay = match asked {
            Some(delay) => delay,
            None => {
                let attempt = self.snapshot(elapsed, Some(&outcome));
                self.wait.delay_after(&attempt)
            }
        };
        let give_up = testing::retry_forbidden(self.ident.attempt)
            || !crate::is_enabled()
            || self.stop.should_stop(&StopState::new(self.ident.attempt, elapsed, delay))
            || self.guards.deadline().is_some_and(|deadline| elapsed.saturating_add(delay) >= deadline)
            || !self.guards.may_retry(delay);
        if give_up {
            self.give_up(&outcome, elapsed);
            return Decision::Done { outcome, failed: true };
        }
        if self.hooks.any() || self.guards.logs() {
            let attempt = Attempt { next_sleep: Some(delay), ..self.snapshot(elapsed, Some(&outcome)) };
            let _current = Current::enter(&self.ident);
            self.hooks.before_sleep(&attempt);
            self.guards.retrying(&attempt);
        }
        self.idle_nanos = self.idle_nanos.saturating_add(u64::try_from(delay.as_nanos()).unwrap_or(u64::MAX));
        crate::observe::hot_loop(self.label(), self.ident.attempt, self.idle());
        Decision::Sleep(delay, outcome)
    }

    /// A retried call gives up with `outcome`: `on_giveup`, the event, the
    /// recorders.
    #[inline(always)]
    fn give_up(&mut self, outcome: &Result<T, E>, elapsed: Duration) {
        if self.hooks.any() {
            let attempt = self.snapshot(elapsed, Some(outcome));
            let _current = Current::enter(&self.ident);
            self.hooks.on_giveup(&attempt);
        }
        if self.guards.logs() {
            self.guards.giving_up(&self.snapshot(elapsed, Some(outcome)));
        }
        ended(self.label(), self.ident.attempt, self.idle(), true);
    }

    /// The call's result: the last outcome, or the fallback's if the call gave up.
    #[inline(always)]
    pub(crate) fn conclude(&mut self, outcome: Result<T, E>, failed: bool) -> Result<T, E> {
        if !failed || !F::ANSWERS {
            return outcome;
        }
        match self.fallback.take() {
            Some(fallback) => {
                let answer = {
                    let _current = Current::enter(&self.ident);
                    fallback.fallback(outcome)
                };
                // A fallback that hands back an error did not answer for the call.
                if answer.is_ok() {
                    crate::observe::fell_back(self.label());
                }
                answer
            }
            None => outcome,
        }
    }

    /// Sleeps `delay` with the policy's sleeper, before the next attempt of an
    /// async call; returns at once for a zero delay or under
    /// [`testing::record_sleeps`].
    #[inline]
    pub fn sleep(&self, delay: Duration) -> MaybeSleep<Sl::Sleep>
    where
        Sl: AsyncSleeper,
    {
        MaybeSleep::new(if sleep::skipped(delay) { None } else { Some(self.sleeper.sleep(delay)) })
    }

    /// Sleeps `delay` with the policy's sleeper, before the next attempt of a
    /// sync call (see [`sleep`](Self::sleep)).
    #[inline]
    pub fn sleep_sync(&mut self, delay: Duration)
    where
        Sl: Sleeper,
    {
        if !sleep::skipped(delay) {
            self.sleeper.sleep(delay);
        }
    }

    #[cfg(feature = "reqwest-middleware")]
    /// [`Call::attempt`] for a boxed attempt, whose type says it is
    /// `Send` (for callers that must prove it, whatever the guards are): a
    /// rejected attempt is dropped unpolled and replaced by the rejection.
    pub(crate) fn attempt_boxed<'a>(
        &mut self,
        attempt: crate::http::Boxed<'a, T, E>,
    ) -> InAttempt<'_, crate::http::Boxed<'a, T, E>>
    where
        T: Send + 'a,
        E: Send + 'a,
    {
        let rejection = if self.begin(true) { None } else { self.rejection() };
        match rejection {
            Some(rejection) => InAttempt::new(&self.ident, Box::pin(async move { Err(rejection) })),
            None => InAttempt::new(&self.ident, attempt),
        }
    }

    // What `#[retry]` expands to, besides the public steps.

    /// [`attempt`](Self::attempt) as the attribute makes it: not cut at the
    /// policy's limits (the attribute sets none on the policy, and cuts attempts
    /// with [`limit`](Self::limit)). Its type names no bounded associated type,
    /// so rustc proves the fn's future `Send` for any error type, borrowed ones
    /// included; through a cut, that proof fails for `Result<T, &'a str>`.
    #[doc(hidden)]
    #[inline(always)]
    pub fn attempt_in_fn<Fut: Future<Output = Result<T, E>>>(
        &mut self,
        attempt: Fut,
    ) -> InAttempt<'_, G::Attempt<Fut>> {
        let admitted = self.begin(true);
        InAttempt::new(&self.ident, self.guards.wrap(attempt, admitted))
    }

    /// [`attempt_in_fn`](Self::attempt_in_fn) for a fn that returns a plain
    /// value (`E` is `Infallible`).
    #[doc(hidden)]
    #[inline(always)]
    pub fn attempt_value<Fut: Future<Output = T>>(
        &mut self,
        attempt: Fut,
    ) -> InAttempt<'_, G::Attempt<impl Future<Output = Result<T, E>> + use<Fut, T, E, S, W, C, H, F, Sl, K, G>>>
    {
        self.attempt_in_fn(async move { Ok(attempt.await) })
    }

    /// Cuts an attempt at `timeout` and at what is left until `deadline` (both
    /// from the call's start): the attribute's `timeout` and `deadline`, with the
    /// call's own sleeper as the timer.
    #[doc(hidden)]
    #[inline(always)]
    pub fn limit<Fut>(
        &self,
        attempt: Fut,
        timeout: Option<Duration>,
        deadline: Option<Duration>,
    ) -> Limited<Fut, Sl::Sleep, ViaFrom>
    where
        Fut: Future<Output = Result<T, E>>,
        E: FromTimedOut,
        Sl: AsyncSleeper,
    {
        let limit = attempt_limit(timeout, deadline, || self.elapsed());
        Limited::new(attempt, limit.map(|limit| self.sleeper().sleep(limit)), ViaFrom)
    }

    // The loops of [`Retrying::call`] and [`Retrying::call_async`].

    /// Makes attempts with `op` until the call is over. The first attempt and
    /// its decision are inlined, the rest of the call is out of line: a call
    /// that succeeds at once keeps nothing of the failure path (no saved
    /// registers, no loop invariants computed up front).
    #[inline(always)]
    pub(crate) fn run_sync<Op>(mut self, mut op: Op) -> (Result<T, E>, CallStats)
    where
        Op: FnMut() -> Result<T, E>,
        Sl: Sleeper,
        G: SyncGuards,
    {
        let outcome = self.attempt_sync(&mut op);
        match self.step_with_stats(outcome) {
            (Step::Done(result), stats) => (result, stats),
            (Step::Retry(left, last), _) => self.retry_sync(left, last, op),
        }
    }

    /// The rest of [`run_sync`](Self::run_sync), from the first retry's sleep.
    #[inline(never)]
    fn retry_sync<Op>(
        mut self,
        mut left: Left,
        mut last: Result<T, E>,
        mut op: Op,
    ) -> (Result<T, E>, CallStats)
    where
        Op: FnMut() -> Result<T, E>,
        Sl: Sleeper,
        G: SyncGuards,
    {
        loop {
            while let Some(slice) = self.slice(&mut left) {
                self.sleep_sync(slice);
            }
            if let Some(ended) = self.interrupted_with_stats(last, left) {
                return ended;
            }
            let outcome = self.attempt_sync(&mut op);
            (left, last) = match self.step_with_stats(outcome) {
                (Step::Retry(left, last), _) => (left, last),
                (Step::Done(result), stats) => return (result, stats),
            };
        }
    }

    /// Makes attempts with `op` until the call is over, then hands the result
    /// and the statistics (if asked for) to `finish`. One `async move` block
    /// that uses its captures in place: an `async fn` here would be a future
    /// inside the caller's, holding its own copy of the call and `op`.
    #[inline(always)]
    #[allow(clippy::manual_async_fn, reason = "an `async fn` would hold its arguments twice")]
    pub(crate) fn run_async<Op, Out>(
        mut self,
        mut op: Op,
        finish: impl FnOnce(Result<T, E>, CallStats) -> Out,
    ) -> impl Future<Output = Out>
    where
        Op: AsyncFnMut() -> Result<T, E>,
        Sl: AsyncSleeper,
    {
        async move {
            let (result, stats) = loop {
                let outcome = self.attempt_with(|| op()).await;
                let (mut left, last) = match self.step_with_stats(outcome) {
                    (Step::Retry(left, last), _) => (left, last),
                    (Step::Done(result), stats) => break (result, stats),
                };
                while let Some(slice) = self.slice(&mut left) {
                    self.sleep(slice).await;
                }
                if let Some(ended) = self.interrupted_with_stats(last, left) {
                    break ended;
                }
            };
            finish(result, stats)
        }
    }
}

impl<T, E, S, W, C, H, F, Sl, K, G: Guard<T, E>> Call<T, E, S, W, C, H, F, Sl, K, G> {
    /// The call's label (the policy's `name`).
    #[inline(always)]
    fn label(&self) -> &'static str {
        self.name.unwrap_or("retry")
    }

    /// The call's sleeper.
    pub(crate) fn sleeper(&self) -> &Sl {
        &self.sleeper
    }
}

/// A call that failed at least once ended: tells the call recorders of `testing`
/// and the collectors of `with_stats`. (Its values passed by value: see
/// `Call::plan_retry`.)
#[cold]
#[inline(never)]
fn ended(name: &'static str, attempts: u32, idle: Duration, gave_up: bool) {
    testing::record_call(testing::Retried { name, attempts, gave_up });
    crate::stats::ended(attempts, idle);
}
