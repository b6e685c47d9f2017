//! [`Retrying`]: the explicit API, and the executor behind `#[retry]`.
// The typestate builder spells its full type in every setter; aliases would hide more than they explain.
#![allow(clippy::type_complexity)]

use core::convert::Infallible;
use core::fmt;
use core::future::Future;
use core::marker::PhantomData;
use core::ops::ControlFlow;
use core::time::Duration;
use std::time::Instant;

use crate::attempt::{Attempt, Current, InAttempt};
use crate::breaker::{CircuitBreaker, FromCircuitOpen};
use crate::budget::RetryBudget;
use crate::clock::{Clock, DefaultClock};
use crate::condition::{AddFilter, Classify, Conditions, Filter, Nothing};
use crate::error::InvalidPolicy;
use crate::guard::{
    Breaker, CountsAsFailure, EveryError, Guard, Guards, SyncGuards, WithDeadline, WithTimeout, attempt_limit,
};
use crate::hook::{HookSet, Hooks};
use crate::log::{ByDisplay, Log, LogLevel};
use crate::sleep::{self, AsyncSleeper, DefaultSleeper, MaybeSleep, Sleeper};
use crate::stop::{Attempts, Stop, StopState};
use crate::testing;
use crate::timeout::{FromTimedOut, Limited, ViaFrom};
use crate::wait::{RandomExpo, Wait};

/// What to return instead when a call gives up.
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not a fallback for `Result<{T}, {E}>`",
    label = "expected `FnOnce(Result<{T}, {E}>) -> Result<{T}, {E}>`"
)]
pub trait Fallback<T, E> {
    /// Whether it answers for a call that gave up (counted as a fallback in
    /// events, metrics and the tower layer's report).
    ///
    /// # Default
    /// `true`; [`NoFallback`] says `false`.
    const ANSWERS: bool = true;

    /// Maps the final outcome of a call that gave up.
    fn fallback(self, outcome: Result<T, E>) -> Result<T, E>;
}

/// No fallback: the caller gets the last outcome itself.
#[derive(Clone, Copy, Debug, Default)]
pub struct NoFallback;

impl<T, E> Fallback<T, E> for NoFallback {
    const ANSWERS: bool = false;
    #[inline(always)]
    fn fallback(self, outcome: Result<T, E>) -> Result<T, E> {
        outcome
    }
}

/// The `fallback` of a policy without one, known from its type: a call's result
/// is then its last outcome, and [`Driver::next`] hands it out without a
/// [`Driver::finish`] step.
#[doc(hidden)]
pub trait WithoutFallback {}

impl WithoutFallback for NoFallback {}

impl<T, E, F: FnOnce(Result<T, E>) -> Result<T, E>> Fallback<T, E> for F {
    #[inline]
    fn fallback(self, outcome: Result<T, E>) -> Result<T, E> {
        self(outcome)
    }
}

/// Statistics of a finished call.
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

/// A retry policy for one call, built step by step, then run with [`call`](Self::call)
/// or [`call_async`](Self::call_async).
///
/// `T` and `E` are the operation's `Ok` and `Err` types; they are usually inferred
/// from the call, but naming them early (`Retrying::<_, io::Error>::new()`) lets
/// closures given to `.when(..)` and the hooks use the error's methods.
///
/// Every component is a type parameter, so a policy costs what it does and nothing
/// more: no `Box`, no `dyn`, no allocation. A `Retrying` describes one call (its
/// hooks may be `FnMut`, its wait policy may keep state); clone it to reuse it.
///
/// ```
/// use retry::{Retrying, dsl::*};
/// use std::{io, time::Duration};
///
/// let mut calls = 0;
/// let out = Retrying::<_, io::Error>::new()
///     .stop(attempts(5))
///     .wait(expo(Duration::from_millis(10)).max(1))
///     .when(|e| e.kind() == io::ErrorKind::TimedOut)
///     .call(|| {
///         calls += 1;
///         if calls < 3 { Err(io::ErrorKind::TimedOut.into()) } else { Ok(calls) }
///     });
/// assert_eq!(out.unwrap(), 3);
/// ```
///
/// # Default
/// `stop(attempts(3))`, `wait(random_expo(100ms).max(10s))`, every error retried, no
/// value retried, no hooks, no fallback, [`DefaultSleeper`], [`DefaultClock`], name
/// `"retry"`.
#[must_use = "a Retrying does nothing until `.call(..)` or `.call_async(..)`"]
pub struct Retrying<
    T,
    E,
    S = Attempts,
    W = RandomExpo,
    C = Conditions,
    H = Hooks,
    F = NoFallback,
    Sl = DefaultSleeper,
    K = DefaultClock,
    G = Guards,
> {
    stop: S,
    wait: W,
    conditions: C,
    hooks: H,
    fallback: F,
    sleeper: Sl,
    clock: K,
    guards: G,
    /// `None` for the default: one word to store into a call's future, not two.
    name: Option<&'static str>,
    outcome: PhantomData<fn() -> Result<T, E>>,
}

impl<T, E, S, W, C, H, F, Sl, K, G> fmt::Debug for Retrying<T, E, S, W, C, H, F, Sl, K, G> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Retrying").field("name", &self.label()).finish_non_exhaustive()
    }
}

impl<T, E, S: Clone, W: Clone, C: Clone, H: Clone, F: Clone, Sl: Clone, K: Clone, G: Clone> Clone
    for Retrying<T, E, S, W, C, H, F, Sl, K, G>
{
    fn clone(&self) -> Self {
        Retrying {
            stop: self.stop.clone(),
            wait: self.wait.clone(),
            conditions: self.conditions.clone(),
            hooks: self.hooks.clone(),
            fallback: self.fallback.clone(),
            sleeper: self.sleeper.clone(),
            clock: self.clock.clone(),
            guards: self.guards.clone(),
            name: self.name,
            outcome: PhantomData,
        }
    }
}

impl<T, E> Retrying<T, E> {
    /// The default policy (see the type's `# Default`).
    pub const fn new() -> Self {
        Retrying::from_parts(None, DEFAULT_STOP, DEFAULT_WAIT, Conditions::new())
    }
}

/// The default stop policy: `attempts(3)`.
pub(crate) const DEFAULT_STOP: Attempts = Attempts::new(3);

/// The default wait policy: `random_expo(100ms).max(10s)`.
pub(crate) const DEFAULT_WAIT: RandomExpo =
    RandomExpo::new(Duration::from_millis(100)).with_max(Duration::from_secs(10));

impl<T, E, S, W, C> Retrying<T, E, S, W, C> {
    /// A policy of these parts, the others their defaults (see the type's
    /// `# Default`): what `#[retry]` builds in one call rather than a chain of
    /// setters, each of which rustc would check with the whole type.
    pub(crate) const fn from_parts(name: Option<&'static str>, stop: S, wait: W, conditions: C) -> Self {
        Retrying {
            stop,
            wait,
            conditions,
            hooks: Hooks::new(),
            fallback: NoFallback,
            sleeper: DefaultSleeper,
            clock: DefaultClock,
            guards: Guards::new(),
            name,
            outcome: PhantomData,
        }
    }
}

impl<T, E> Retrying<T, E> {
    /// The default policy, but retrying **nothing** until told what: the start of
    /// polling (`.if_result(..)`), as `#[retry_if_result]` expands to. Errors are
    /// returned at once unless `.when(..)` names some.
    ///
    /// ```
    /// use retry::{Retrying, dsl::*};
    ///
    /// let mut polls = 0;
    /// let out = Retrying::polling()
    ///     .wait(none())
    ///     .if_result(|ready: &bool| !ready)
    ///     .call(|| { polls += 1; if polls == 1 { Err("down") } else { Ok(true) } });
    /// assert_eq!((out, polls), (Err("down"), 1));
    /// ```
    pub const fn polling() -> Retrying<T, E, Attempts, RandomExpo, Conditions<Nothing>> {
        Retrying::from_parts(None, DEFAULT_STOP, DEFAULT_WAIT, Conditions::none())
    }
}

impl<T, E> Default for Retrying<T, E> {
    fn default() -> Self {
        Retrying::new()
    }
}

impl<T, E, S, W, C, H, F, Sl, K, G> Retrying<T, E, S, W, C, H, F, Sl, K, G> {
    /// When to give up. See [`crate::stop`].
    ///
    /// # Default
    /// `attempts(3)`.
    pub fn stop<S2: Stop>(self, stop: S2) -> Retrying<T, E, S2, W, C, H, F, Sl, K, G> {
        let Retrying { wait, conditions, hooks, fallback, sleeper, clock, guards, name, outcome, .. } = self;
        Retrying { stop, wait, conditions, hooks, fallback, sleeper, clock, guards, name, outcome }
    }

    /// How long to sleep between attempts. See [`crate::wait`].
    ///
    /// # Default
    /// `random_expo(100ms).max(10s)`.
    pub fn wait<W2: Wait>(self, wait: W2) -> Retrying<T, E, S, W2, C, H, F, Sl, K, G> {
        let Retrying { stop, conditions, hooks, fallback, sleeper, clock, guards, name, outcome, .. } = self;
        Retrying { stop, wait, conditions, hooks, fallback, sleeper, clock, guards, name, outcome }
    }

    /// Called with the final outcome when the call ends in failure (an error, or a
    /// value `if_result` still matches); its result is returned instead.
    ///
    /// # Default
    /// None: the caller gets the last outcome itself.
    pub fn fallback<F2>(self, fallback: F2) -> Retrying<T, E, S, W, C, H, F2, Sl, K, G>
    where
        F2: FnOnce(Result<T, E>) -> Result<T, E>,
    {
        let Retrying { stop, wait, conditions, hooks, sleeper, clock, guards, name, outcome, .. } = self;
        Retrying { stop, wait, conditions, hooks, fallback, sleeper, clock, guards, name, outcome }
    }

    /// How to sleep: `FnMut(Duration)` for [`call`](Self::call),
    /// `Fn(Duration) -> impl Future<Output = ()>` for [`call_async`](Self::call_async).
    ///
    /// # Default
    /// [`DefaultSleeper`]: `std::thread::sleep`, or tokio's timer in async calls.
    pub fn sleep<Sl2>(self, sleeper: Sl2) -> Retrying<T, E, S, W, C, H, F, Sl2, K, G> {
        let Retrying { stop, wait, conditions, hooks, fallback, clock, guards, name, outcome, .. } = self;
        Retrying { stop, wait, conditions, hooks, fallback, sleeper, clock, guards, name, outcome }
    }

    /// Where elapsed time comes from (for time-based stops, hooks and statistics).
    ///
    /// # Default
    /// [`DefaultClock`].
    pub fn clock<K2: Clock>(self, clock: K2) -> Retrying<T, E, S, W, C, H, F, Sl, K2, G> {
        let Retrying { stop, wait, conditions, hooks, fallback, sleeper, guards, name, outcome, .. } = self;
        Retrying { stop, wait, conditions, hooks, fallback, sleeper, clock, guards, name, outcome }
    }

    /// A label for hooks, tracing and metrics.
    ///
    /// # Default
    /// `"retry"` (under `#[retry]`: the fn's path).
    pub fn name(mut self, name: &'static str) -> Self {
        self.name = Some(name);
        self
    }

    /// The call's label (see [`name`](Self::name)).
    #[inline]
    fn label(&self) -> &'static str {
        self.name.unwrap_or("retry")
    }

    fn map_conditions<C2>(self, map: impl FnOnce(C) -> C2) -> Retrying<T, E, S, W, C2, H, F, Sl, K, G> {
        let Retrying { stop, wait, conditions, hooks, fallback, sleeper, clock, guards, name, outcome } =
            self;
        let conditions = map(conditions);
        Retrying { stop, wait, conditions, hooks, fallback, sleeper, clock, guards, name, outcome }
    }

    fn map_hooks<H2>(self, map: impl FnOnce(H) -> H2) -> Retrying<T, E, S, W, C, H2, F, Sl, K, G> {
        let Retrying { stop, wait, conditions, hooks, fallback, sleeper, clock, guards, name, outcome } =
            self;
        let hooks = map(hooks);
        Retrying { stop, wait, conditions, hooks, fallback, sleeper, clock, guards, name, outcome }
    }
}

impl<T, E, S, W, Wh, Un, If, Ra, H, F, Sl, K, G>
    Retrying<T, E, S, W, Conditions<Wh, Un, If, Ra>, H, F, Sl, K, G>
{
    /// Retry errors for which `predicate` holds. The first `.when` replaces the
    /// default (every error); later ones add alternatives.
    pub fn when<P>(
        self,
        predicate: P,
    ) -> Retrying<T, E, S, W, Conditions<Wh::Output, Un, If, Ra>, H, F, Sl, K, G>
    where
        P: Fn(&E) -> bool,
        Wh: AddFilter<P>,
    {
        self.map_conditions(|c| c.when(predicate))
    }

    /// Never retry errors for which `predicate` holds, even if `when` matches.
    pub fn unless<P>(
        self,
        predicate: P,
    ) -> Retrying<T, E, S, W, Conditions<Wh, Un::Output, If, Ra>, H, F, Sl, K, G>
    where
        P: Fn(&E) -> bool,
        Un: AddFilter<P>,
    {
        self.map_conditions(|c| c.unless(predicate))
    }

    /// Also retry `Ok(value)` when `predicate` holds on it (polling).
    pub fn if_result<P>(
        self,
        predicate: P,
    ) -> Retrying<T, E, S, W, Conditions<Wh, Un, If::Output, Ra>, H, F, Sl, K, G>
    where
        P: Fn(&T) -> bool,
        If: AddFilter<P>,
    {
        self.map_conditions(|c| c.if_result(predicate))
    }

    /// Retry the errors that say they are transient, after the delay they ask for
    /// ([`Transient`](crate::Transient)): what `#[retry(on = transient)]` is.
    ///
    /// ```
    /// use retry::{Retrying, dsl::*};
    /// use std::io;
    ///
    /// let mut calls = 0;
    /// let out = Retrying::<(), io::Error>::new().wait(none()).on_transient().call(|| {
    ///     calls += 1;
    ///     Err(if calls < 2 { io::ErrorKind::TimedOut.into() } else { io::ErrorKind::NotFound.into() })
    /// });
    /// assert_eq!((out.unwrap_err().kind(), calls), (io::ErrorKind::NotFound, 2));
    /// ```
    #[allow(clippy::type_complexity, reason = "the policy's type, as every setter returns it")]
    pub fn on_transient(
        self,
    ) -> Retrying<
        T,
        E,
        S,
        W,
        Conditions<Wh::Output, Un, If, Filter<fn(&E) -> Option<Duration>>>,
        H,
        F,
        Sl,
        K,
        G,
    >
    where
        E: crate::Transient,
        Wh: AddFilter<fn(&E) -> bool>,
    {
        let transient: fn(&E) -> bool = |error| error.is_transient();
        let after: fn(&E) -> Option<Duration> = |error| error.retry_after();
        self.when(transient).retry_after(after)
    }

    /// A delay the error asks for: when `Some`, it replaces the wait policy's delay
    /// for that sleep (and stop policies see it as the next sleep).
    pub fn retry_after<P>(
        self,
        delay: P,
    ) -> Retrying<T, E, S, W, Conditions<Wh, Un, If, Filter<P>>, H, F, Sl, K, G>
    where
        P: Fn(&E) -> Option<Duration>,
    {
        self.map_conditions(|c| c.retry_after(delay))
    }
}

impl<T, E, S, W, C, B, A, Bs, Os, Og, F, Sl, K, G>
    Retrying<T, E, S, W, C, Hooks<B, A, Bs, Os, Og>, F, Sl, K, G>
{
    /// Runs before each attempt.
    pub fn before<P>(self, hook: P) -> Retrying<T, E, S, W, C, Hooks<P, A, Bs, Os, Og>, F, Sl, K, G>
    where
        P: FnMut(&Attempt<'_, T, E>),
    {
        self.map_hooks(|h| h.before(hook))
    }

    /// Runs after each attempt, the successful one included.
    pub fn after<P>(self, hook: P) -> Retrying<T, E, S, W, C, Hooks<B, P, Bs, Os, Og>, F, Sl, K, G>
    where
        P: FnMut(&Attempt<'_, T, E>),
    {
        self.map_hooks(|h| h.after(hook))
    }

    /// Runs before each sleep, with [`Attempt::next_sleep`] set.
    pub fn before_sleep<P>(self, hook: P) -> Retrying<T, E, S, W, C, Hooks<B, A, P, Os, Og>, F, Sl, K, G>
    where
        P: FnMut(&Attempt<'_, T, E>),
    {
        self.map_hooks(|h| h.before_sleep(hook))
    }

    /// Runs once when the call succeeds.
    pub fn on_success<P>(self, hook: P) -> Retrying<T, E, S, W, C, Hooks<B, A, Bs, P, Og>, F, Sl, K, G>
    where
        P: FnMut(&Attempt<'_, T, E>),
    {
        self.map_hooks(|h| h.on_success(hook))
    }

    /// Runs once when the call ends in failure (before `fallback`).
    pub fn on_giveup<P>(self, hook: P) -> Retrying<T, E, S, W, C, Hooks<B, A, Bs, Os, P>, F, Sl, K, G>
    where
        P: FnMut(&Attempt<'_, T, E>),
    {
        self.map_hooks(|h| h.on_giveup(hook))
    }
}

impl<T, E, S, W, C, H, F, Sl, K, Br, Bu, Li, Lg>
    Retrying<T, E, S, W, C, H, F, Sl, K, Guards<Br, Bu, Li, Lg>>
{
    fn map_guards<G2>(
        self,
        map: impl FnOnce(Guards<Br, Bu, Li, Lg>) -> G2,
    ) -> Retrying<T, E, S, W, C, H, F, Sl, K, G2> {
        let Retrying { stop, wait, conditions, hooks, fallback, sleeper, clock, guards, name, outcome } =
            self;
        let guards = map(guards);
        Retrying { stop, wait, conditions, hooks, fallback, sleeper, clock, guards, name, outcome }
    }

    /// Passes every attempt through `breaker`: an open breaker rejects the call
    /// at once with `E::from(CircuitOpen)`, and a retry that the breaker would
    /// refuse is not slept for. Every error counts as a breaker failure. See
    /// [`crate::guard`] for the details.
    ///
    /// ```
    /// use retry::{CircuitBreaker, CircuitOpen, Retrying, dsl::*};
    ///
    /// #[derive(Debug, PartialEq)]
    /// enum Error { Down, Open }
    /// impl From<CircuitOpen> for Error {
    ///     fn from(_: CircuitOpen) -> Self { Error::Open }
    /// }
    ///
    /// static PAYMENTS: CircuitBreaker = CircuitBreaker::new().with_consecutive_failures(2);
    ///
    /// let mut calls = 0;
    /// let policy = || Retrying::new().stop(attempts(5)).wait(none()).breaker(&PAYMENTS);
    /// // Two failures open it: the call gives up with its own error, not sleeping.
    /// assert_eq!(policy().call(|| { calls += 1; Err::<(), _>(Error::Down) }), Err(Error::Down));
    /// assert_eq!(calls, 2);
    /// // Open: the next call is rejected without running.
    /// assert_eq!(policy().call(|| { calls += 1; Ok(()) }), Err(Error::Open));
    /// assert_eq!(calls, 2);
    /// ```
    ///
    /// # Default
    /// No breaker.
    pub fn breaker<'b, Kb: Clock>(
        self,
        breaker: &'b CircuitBreaker<Kb>,
    ) -> Retrying<T, E, S, W, C, H, F, Sl, K, Guards<Breaker<'b, Kb, EveryError, E>, Bu, Li, Lg>>
    where
        E: FromCircuitOpen,
    {
        self.breaker_counting(breaker, EveryError)
    }

    /// Like [`breaker`](Self::breaker), counting as breaker failures only the
    /// errors `is_failure` picks (a `404` is the caller's fault, not the
    /// dependency's); other errors count as nothing.
    pub fn breaker_counting<'b, Kb: Clock, P: CountsAsFailure<E>>(
        self,
        breaker: &'b CircuitBreaker<Kb>,
        is_failure: P,
    ) -> Retrying<T, E, S, W, C, H, F, Sl, K, Guards<Breaker<'b, Kb, P, E>, Bu, Li, Lg>>
    where
        E: FromCircuitOpen,
    {
        self.map_guards(|Guards { budget, limit, log, .. }| Guards {
            breaker: Breaker::new(breaker, is_failure),
            budget,
            limit,
            log,
        })
    }

    /// Draws retries from a shared [`RetryBudget`]: each call's first attempt
    /// deposits, each retry withdraws, and a call whose retry finds the budget
    /// empty gives up at once with its last error.
    ///
    /// # Default
    /// No budget.
    pub fn budget<Kb: Clock>(
        self,
        budget: &RetryBudget<Kb>,
    ) -> Retrying<T, E, S, W, C, H, F, Sl, K, Guards<Br, &RetryBudget<Kb>, Li, Lg>> {
        self.map_guards(|Guards { breaker, limit, log, .. }| Guards { breaker, budget, limit, log })
    }

    /// Cuts each attempt of an async call after `timeout`: the attempt fails with
    /// `E::from(TimedOut)`, which the conditions may retry like any error. Only
    /// [`call_async`](Self::call_async) honours it: [`call`](Self::call) does not
    /// compile with a timeout set (a sync attempt cannot be interrupted).
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread", start_paused = true)]
    /// # async fn main() {
    /// use retry::{Retrying, dsl::*};
    /// use std::{io, time::Duration};
    ///
    /// let mut calls = 0;
    /// let out = Retrying::<u32, io::Error>::new()
    ///     .wait(none())
    ///     .timeout(Duration::from_secs(1))
    ///     .call_async(async || {
    ///         calls += 1;
    ///         if calls == 1 { std::future::pending::<()>().await } // hangs
    ///         Ok(calls)
    ///     })
    ///     .await;
    /// assert_eq!(out.unwrap(), 2);
    /// # }
    /// ```
    ///
    /// # Default
    /// None.
    pub fn timeout(
        self,
        timeout: Duration,
    ) -> Retrying<T, E, S, W, C, H, F, Sl, K, Guards<Br, Bu, <Li as WithTimeout<E>>::Output, Lg>>
    where
        E: FromTimedOut,
        Li: WithTimeout<E>,
    {
        self.map_guards(|Guards { breaker, budget, limit, log }| Guards {
            breaker,
            budget,
            limit: limit.with_timeout(timeout, E::timed_out),
            log,
        })
    }

    /// An overall limit, from the start of the first attempt: no sleep is started
    /// that would end past it, and (async) the running attempt is cut at it with
    /// `E::from(TimedOut)`. For a sync call whose error type cannot hold
    /// `TimedOut`, `before_elapsed(deadline)` in the stop policy does the first part.
    ///
    /// # Default
    /// None.
    pub fn deadline(
        self,
        deadline: Duration,
    ) -> Retrying<T, E, S, W, C, H, F, Sl, K, Guards<Br, Bu, <Li as WithDeadline<E>>::Output, Lg>>
    where
        E: FromTimedOut,
        Li: WithDeadline<E>,
    {
        self.map_guards(|Guards { breaker, budget, limit, log }| Guards {
            breaker,
            budget,
            limit: limit.with_deadline(deadline, E::timed_out),
            log,
        })
    }

    /// Events for retries and give-ups at `level`, with the error by `Display`
    /// (feature `tracing`; without it this does nothing). See [`crate::log`].
    ///
    /// # Default
    /// None in the explicit API; `DEBUG` under `#[retry]` with the feature on.
    pub fn log(self, level: LogLevel) -> Retrying<T, E, S, W, C, H, F, Sl, K, Guards<Br, Bu, Li, Log>>
    where
        E: fmt::Display,
    {
        self.log_with(Log::new(level, ByDisplay))
    }

    /// Events as `log` says: a [`Log`], or [`NoLog`](crate::log::NoLog).
    pub fn log_with<Lg2>(self, log: Lg2) -> Retrying<T, E, S, W, C, H, F, Sl, K, Guards<Br, Bu, Li, Lg2>> {
        self.map_guards(|Guards { breaker, budget, limit, .. }| Guards { breaker, budget, limit, log })
    }
}

/// Per-call bookkeeping.
///
/// Whether the clock is needed is deliberately *not* stored here: it follows from the
/// policy's types, and recomputing it at each use lets the compiler fold it away,
/// where a field saved across an `.await` would have to be reloaded.
#[derive(Debug)]
struct Run {
    attempt: u32,
    /// When the attempt in flight started, in µs since the first (saturating): for
    /// the attempt-duration metric only. Fits beside `attempt`.
    attempt_started_us: u32,
    times: Times,
}

/// The clock side of a [`Run`]: a [`Driver`] keeps it apart from the counters.
#[derive(Clone, Copy, Debug)]
struct Times {
    start: Option<Instant>,
    /// Total sleep in nanoseconds (saturating): one word to initialize, not two.
    idle_nanos: u64,
}

impl Run {
    const NEW: Self = Run { attempt: 0, attempt_started_us: 0, times: Times::NEW };

    #[inline(always)]
    fn idle(&self) -> Duration {
        Duration::from_nanos(self.times.idle_nanos)
    }
}

impl Times {
    const NEW: Self = Times { start: None, idle_nanos: 0 };
}

enum Step<T, E> {
    /// The call is over: a success, or a failure that gives up.
    Done {
        outcome: Result<T, E>,
        failed: bool,
    },
    Sleep(Duration),
}

impl<T, E, S, W, C, H, F, Sl, K, G> Retrying<T, E, S, W, C, H, F, Sl, K, G>
where
    S: Stop,
    W: Wait,
    C: Classify<T, E>,
    H: HookSet<T, E>,
    F: Fallback<T, E>,
    K: Clock,
    G: Guard<T, E>,
{
    /// Rejects nonsensical policies (`attempts(0)`, `min > max`, negative or NaN
    /// durations, a base below 1) with a clear message.
    ///
    /// A policy that is not checked still never panics: each policy documents how
    /// it reads an invalid value.
    ///
    /// ```
    /// use retry::{Retrying, dsl::*};
    ///
    /// let err = Retrying::<(), ()>::new().wait(expo(1).min(5).max(1)).check().unwrap_err();
    /// assert_eq!(err.to_string(), "invalid `expo` policy: min is greater than max");
    /// ```
    pub fn check(self) -> Result<Self, InvalidPolicy> {
        self.stop.validate()?;
        self.wait.validate()?;
        Ok(self)
    }

    #[inline(always)]
    fn now(&self, in_async: bool) -> Instant {
        if in_async { self.clock.now_async() } else { self.clock.now() }
    }

    /// Whether nothing of the policy acts before an attempt or reads the clock (no
    /// hook, breaker, budget, time limit, time-based stop or metrics), as its
    /// types tell: then an attempt begins with its count alone.
    #[inline(always)]
    fn passive() -> bool {
        G::PASSIVE && S::clock_free() && H::none()
    }

    /// Whether a call counts its attempts and nothing else until one fails: a
    /// passive policy, and no statistics asked for. (A function, not a value, so
    /// an `async` block that uses it holds nothing for it.)
    #[inline(always)]
    fn lean<const STATS: bool>() -> bool {
        !STATS && Self::passive()
    }

    /// Whether anything reads elapsed time: a time-based stop, a hook, or statistics.
    #[inline(always)]
    fn timed(&self, stats: bool) -> bool {
        stats
            || self.stop.needs_clock()
            || self.hooks.any()
            || self.guards.deadline().is_some()
            || self.guards.observes_time()
    }

    #[inline(always)]
    fn elapsed(&self, run: &Run, stats: bool, in_async: bool) -> Duration {
        if !self.timed(stats) {
            return Duration::ZERO;
        }
        match run.times.start {
            Some(start) => self.now(in_async).saturating_duration_since(start),
            None => Duration::ZERO,
        }
    }

    #[inline(always)]
    fn snapshot<'a>(
        &self,
        run: &Run,
        elapsed: Duration,
        outcome: Option<&'a Result<T, E>>,
    ) -> Attempt<'a, T, E> {
        Attempt {
            number: run.attempt,
            elapsed,
            idle_for: run.idle(),
            next_sleep: None,
            outcome,
            name: self.label(),
        }
    }

    /// Counts the attempt, starts the clock if needed, runs `before`.
    #[inline(always)]
    fn begin_attempt(&mut self, run: &mut Run, stats: bool, in_async: bool) -> u32 {
        run.attempt = run.attempt.saturating_add(1);
        if self.timed(stats) && run.times.start.is_none() {
            run.times.start = Some(self.now(in_async));
        }
        if self.hooks.any() {
            let attempt = self.snapshot(run, self.elapsed(run, stats, in_async), None);
            self.hooks.before(&attempt);
        }
        if self.guards.observes_time() {
            let us = self.elapsed(run, stats, in_async).as_micros();
            run.attempt_started_us = u32::try_from(us).unwrap_or(u32::MAX);
        }
        run.attempt
    }

    /// Runs `after`, then decides: done (running `on_success` / `on_giveup`), or sleep.
    #[inline(always)]
    fn end_attempt(
        &mut self,
        run: &mut Run,
        outcome: Result<T, E>,
        rejected: bool,
        stats: bool,
        in_async: bool,
    ) -> Step<T, E> {
        let elapsed = self.elapsed(run, stats, in_async);
        if self.hooks.any() {
            let attempt = self.snapshot(run, elapsed, Some(&outcome));
            self.hooks.after(&attempt);
        }
        // (An attempt the breaker rejected was not made: it is neither counted nor timed.)
        if self.guards.observes_time() && !rejected {
            let started = Duration::from_micros(u64::from(run.attempt_started_us));
            self.guards.attempt_ended(self.label(), elapsed.saturating_sub(started));
        }
        if rejected || !self.conditions.should_retry(&outcome) {
            let failed = outcome.is_err();
            if self.hooks.any() {
                let attempt = self.snapshot(run, elapsed, Some(&outcome));
                if failed { self.hooks.on_giveup(&attempt) } else { self.hooks.on_success(&attempt) }
            }
            if failed && self.guards.logs() {
                let attempt = self.snapshot(run, elapsed, Some(&outcome));
                if rejected { self.guards.rejected(&attempt) } else { self.guards.giving_up(&attempt) }
            }
            if !failed {
                self.guards.succeeded(self.label());
            }
            if failed || run.attempt > 1 {
                self.ended(run, failed);
            }
            return Step::Done { outcome, failed };
        }
        self.plan_retry(run, outcome, elapsed)
    }

    /// A call that failed at least once ended: tells the call recorders of
    /// `testing` and the collectors of `with_stats`.
    #[cold]
    fn ended(&self, run: &Run, gave_up: bool) {
        testing::record_call(testing::Retried { name: self.label(), attempts: run.attempt, gave_up });
        crate::stats::ended(run.attempt, run.idle());
    }

    /// The failure path: asks the delay and the stop policy, runs `before_sleep`.
    #[cold]
    fn plan_retry(&mut self, run: &mut Run, outcome: Result<T, E>, elapsed: Duration) -> Step<T, E> {
        let asked = match &outcome {
            Err(error) => self.conditions.retry_after(error),
            Ok(_) => None,
        };
        let delay = asked.unwrap_or_else(|| self.wait.delay(run.attempt));
        let give_up = testing::retry_forbidden(run.attempt)
            || !crate::is_enabled()
            || self.stop.should_stop(&StopState::new(run.attempt, elapsed, delay))
            || self.guards.deadline().is_some_and(|deadline| elapsed.saturating_add(delay) >= deadline)
            || !self.guards.may_retry(delay);
        if give_up {
            if self.hooks.any() {
                self.hooks.on_giveup(&self.snapshot(run, elapsed, Some(&outcome)));
            }
            if self.guards.logs() {
                self.guards.giving_up(&self.snapshot(run, elapsed, Some(&outcome)));
            }
            self.ended(run, true);
            return Step::Done { outcome, failed: true };
        }
        if self.hooks.any() || self.guards.logs() {
            let attempt = Attempt { next_sleep: Some(delay), ..self.snapshot(run, elapsed, Some(&outcome)) };
            self.hooks.before_sleep(&attempt);
            self.guards.retrying(&attempt);
        }
        run.times.idle_nanos =
            run.times.idle_nanos.saturating_add(u64::try_from(delay.as_nanos()).unwrap_or(u64::MAX));
        crate::log::hot_loop(self.label(), run.attempt, run.idle());
        crate::stats::retrying();
        Step::Sleep(delay)
    }

    #[inline(always)]
    fn stats(&self, run: &Run, stats: bool, in_async: bool) -> CallStats {
        let elapsed = if stats { self.elapsed(run, stats, in_async) } else { Duration::ZERO };
        CallStats { attempts: run.attempt, elapsed, idle: run.idle() }
    }

    /// The sync loop. A lean call (see `lean`) makes its first attempt here and
    /// the rest of the call out of line: a call that succeeds at once neither
    /// counts nor saves the registers the loop needs.
    #[inline(always)]
    fn run_sync<Op, const STATS: bool>(self, mut op: Op) -> (Result<T, E>, CallStats)
    where
        Op: FnMut() -> Result<T, E>,
        Sl: Sleeper,
        G: SyncGuards,
    {
        if !Self::lean::<STATS>() {
            return self.run_sync_from::<Op, STATS>(op, None);
        }
        // Nothing of the guards acts on a lean call's attempt: no breaker, budget
        // or limit.
        let outcome = {
            let _current = Current::enter(1);
            op()
        };
        match outcome {
            Ok(value) if C::accepts_every_value() => {
                (Ok(value), CallStats { attempts: 1, ..CallStats::default() })
            }
            // (A lean call asks for no statistics.)
            outcome => (self.run_sync_after(op, outcome), CallStats::default()),
        }
    }

    /// The rest of a lean sync call whose first attempt `run_sync` made.
    #[inline(never)]
    fn run_sync_after<Op>(self, op: Op, first: Result<T, E>) -> Result<T, E>
    where
        Op: FnMut() -> Result<T, E>,
        Sl: Sleeper,
        G: SyncGuards,
    {
        self.run_sync_from::<Op, false>(op, Some(first)).0
    }

    /// The sync loop, from the outcome of the first attempt if it was made.
    #[inline(always)]
    fn run_sync_from<Op, const STATS: bool>(
        mut self,
        mut op: Op,
        mut first: Option<Result<T, E>>,
    ) -> (Result<T, E>, CallStats)
    where
        Op: FnMut() -> Result<T, E>,
        Sl: Sleeper,
        G: SyncGuards,
    {
        let mut run = Run::NEW;
        loop {
            let (slot, outcome) = match first.take() {
                Some(outcome) => {
                    run.attempt = 1;
                    (G::idle(), outcome)
                }
                None => {
                    let number = self.begin_attempt(&mut run, STATS, false);
                    let _current = Current::enter(number);
                    let slot = self.guards.admit(number, self.label());
                    let rejection = if G::admitted(&slot) { None } else { self.guards.rejection() };
                    let outcome = match rejection {
                        Some(rejection) => Err(rejection),
                        None => op(),
                    };
                    (slot, outcome)
                }
            };
            let rejected = self.guards.report(slot, &outcome);
            match self.end_attempt(&mut run, outcome, rejected, STATS, false) {
                Step::Done { outcome, failed } => {
                    let stats = self.stats(&run, STATS, false);
                    return (self.conclude(outcome, failed), stats);
                }
                Step::Sleep(delay) => {
                    if !sleep::skipped(delay) {
                        self.sleeper.sleep(delay);
                    }
                }
            }
        }
    }

    /// The async loop. One `async move` block that uses its captures in place: an
    /// `async fn` would store its arguments twice, once as captures and once as locals.
    /// `finish` shapes the output, so a call without statistics never builds them.
    #[inline(always)]
    fn run_async<Op, Out, const STATS: bool>(
        self,
        op: Op,
        finish: impl FnOnce(Result<T, E>, CallStats) -> Out,
    ) -> impl Future<Output = Out>
    where
        Op: AsyncFnMut() -> Result<T, E>,
        Sl: AsyncSleeper,
    {
        let (mut this, mut op) = (self, op);
        async move {
            // A lean call (see `lean`) keeps nothing but the policy and `op` across
            // its first attempt: a call that succeeds at once stores no counters.
            // (Nothing of the guards acts on it: no breaker, budget or limit.)
            let mut first = if Self::lean::<STATS>() {
                // `attempt()` answers while `op` makes the future, as while it runs.
                let attempt = {
                    let _current = Current::enter(1);
                    op()
                };
                match InAttempt::new(1, attempt).await {
                    Ok(value) if C::accepts_every_value() => {
                        return finish(Ok(value), CallStats { attempts: 1, ..CallStats::default() });
                    }
                    outcome => Some(outcome),
                }
            } else {
                None
            };
            let mut number = 1;
            // A lean call counts its attempts and nothing else until one fails.
            let mut run = if Self::lean::<STATS>() { None } else { Some(Run::NEW) };
            // `finish` and `this` are used once, after the loop: a value moved on
            // some paths only would need a drop flag kept in the future.
            let (outcome, failed, stats) = loop {
                let (slot, outcome) = match first.take() {
                    Some(outcome) => (G::idle(), outcome),
                    None => {
                        // Held across the attempt (zero-sized without a breaker).
                        let slot = match &mut run {
                            Some(run) if !Self::lean::<STATS>() => {
                                number = this.begin_attempt(run, STATS, true);
                                this.guards.admit(number, this.label())
                            }
                            _ => G::idle(),
                        };
                        // A rejected attempt is never made: `op` is not called.
                        let attempt = this.guards.gate(G::admitted(&slot), || {
                            let attempt = {
                                let _current = Current::enter(number);
                                op()
                            };
                            this.guards.cut(
                                attempt,
                                || run.as_ref().map_or(Duration::ZERO, |run| this.elapsed(run, STATS, true)),
                                |limit| this.sleeper.sleep(limit),
                            )
                        });
                        match InAttempt::new(number, attempt).await {
                            Ok(value) if Self::lean::<STATS>() && C::accepts_every_value() => {
                                break (
                                    Ok(value),
                                    false,
                                    CallStats { attempts: number, ..CallStats::default() },
                                );
                            }
                            outcome => (slot, outcome),
                        }
                    }
                };
                // (`begin_attempt` counted in it already, unless the call is lean.)
                let run = run.get_or_insert(Run::NEW);
                run.attempt = number;
                let rejected = this.guards.report(slot, &outcome);
                // Taken apart before the sleep is awaited, as in `Driver`.
                let delay = match this.end_attempt(run, outcome, rejected, STATS, true) {
                    Step::Done { outcome, failed } => break (outcome, failed, this.stats(run, STATS, true)),
                    Step::Sleep(delay) => delay,
                };
                number = number.saturating_add(1);
                this.sleep_async(delay).await;
            };
            finish(this.conclude(outcome, failed), stats)
        }
    }

    /// The sleep between two attempts of an async call: none for a zero delay or
    /// under `testing::record_sleeps` (see [`sleep::skipped`]).
    #[inline]
    fn sleep_async(&self, delay: Duration) -> MaybeSleep<Sl::Sleep>
    where
        Sl: AsyncSleeper,
    {
        MaybeSleep::new(if sleep::skipped(delay) { None } else { Some(self.sleeper.sleep(delay)) })
    }

    /// The call's result: the last outcome, or `fallback`'s if the call gave up.
    #[inline(always)]
    fn conclude(self, outcome: Result<T, E>, failed: bool) -> Result<T, E> {
        if !failed {
            return outcome;
        }
        if F::ANSWERS {
            crate::log::fell_back(self.label());
        }
        self.fallback.fallback(outcome)
    }

    /// Runs `op` until it succeeds or the policy gives up; returns the last outcome
    /// (or `fallback`'s). A panic in `op` is never retried: it propagates as is.
    #[inline]
    pub fn call<Op>(self, op: Op) -> Result<T, E>
    where
        Op: FnMut() -> Result<T, E>,
        Sl: Sleeper,
        G: SyncGuards,
    {
        self.run_sync::<Op, false>(op).0
    }

    /// Like [`call`](Self::call), also returning the call's [`CallStats`].
    pub fn call_with_stats<Op>(self, op: Op) -> (Result<T, E>, CallStats)
    where
        Op: FnMut() -> Result<T, E>,
        Sl: Sleeper,
        G: SyncGuards,
    {
        self.run_sync::<Op, true>(op)
    }

    /// The async form of [`call`](Self::call): `op` is an async closure run once per
    /// attempt (`async || ..`, or a closure returning a future, `|| async { .. }`).
    /// An `async` closure may lend its captures to each attempt, e.g. reborrow a
    /// `&mut` it holds.
    ///
    /// Dropping the returned future cancels the call at once, mid-attempt or
    /// mid-sleep. The future is `Send` when the operation, its future, the policies
    /// and the hooks are.
    pub fn call_async<Op>(self, op: Op) -> impl Future<Output = Result<T, E>>
    where
        Op: AsyncFnMut() -> Result<T, E>,
        Sl: AsyncSleeper,
    {
        self.run_async::<Op, _, false>(op, |outcome, _| outcome)
    }

    /// Like [`call_async`](Self::call_async), also returning the call's [`CallStats`].
    pub fn call_async_with_stats<Op>(self, op: Op) -> impl Future<Output = (Result<T, E>, CallStats)>
    where
        Op: AsyncFnMut() -> Result<T, E>,
        Sl: AsyncSleeper,
    {
        self.run_async::<Op, _, true>(op, |outcome, stats| (outcome, stats))
    }
}

impl<T, S, W, C, H, F, Sl, K, G> Retrying<T, Infallible, S, W, C, H, F, Sl, K, G>
where
    S: Stop,
    W: Wait,
    C: Classify<T, Infallible>,
    H: HookSet<T, Infallible>,
    F: Fallback<T, Infallible>,
    K: Clock,
    G: Guard<T, Infallible>,
{
    /// Retries an operation that returns a plain value (not a `Result`) while
    /// `if_result` holds on it; returns the last value when the policy gives up.
    ///
    /// ```
    /// use retry::{Retrying, dsl::*};
    ///
    /// let mut polls = 0;
    /// let status = Retrying::new()
    ///     .wait(none())
    ///     .stop(attempts(10))
    ///     .if_result(|s: &&str| *s == "pending")
    ///     .call_value(|| { polls += 1; if polls < 4 { "pending" } else { "done" } });
    /// assert_eq!((status, polls), ("done", 4));
    /// ```
    pub fn call_value<Op>(self, mut op: Op) -> T
    where
        Op: FnMut() -> T,
        Sl: Sleeper,
        G: SyncGuards,
    {
        let Ok(value) = self.call(|| Ok(op()));
        value
    }

    /// The async form of [`call_value`](Self::call_value).
    pub async fn call_value_async<Op>(self, mut op: Op) -> T
    where
        Op: AsyncFnMut() -> T,
        Sl: AsyncSleeper,
    {
        let Ok(value) = self.call_async(async || Ok(op().await)).await;
        value
    }
}

/// What comes after an attempt, for [`Driver`].
#[doc(hidden)]
#[derive(Debug)]
pub enum Next<T, E> {
    /// The call is over; hand the outcome to [`Driver::finish`].
    Done {
        /// The last outcome.
        outcome: Result<T, E>,
        /// Whether the call gave up (so `fallback` applies).
        failed: bool,
    },
    /// Sleep this long (with [`Driver::sleep`]), then make the next attempt.
    Sleep(Duration),
}

/// The async executor one step at a time: what `#[retry]` on an `async fn` expands
/// to. The attempt runs inline in the fn's own future (an `async` block per
/// attempt), so no closure lends its captures to a future: the result is `Send`
/// whenever the body is, and one state machine instead of two.
///
/// A driver made by [`Driver::deferred`] holds the code that builds the policy
/// rather than the policy: when the first attempt needs no part of it (no hook,
/// breaker, budget, time limit, time-based stop or metrics, as the policy's types
/// tell), the policy is built when that attempt ends, and not kept at all when it
/// succeeds. So a call that succeeds at once stores no policy and no counters in
/// its future.
#[doc(hidden)]
#[derive(Debug)]
pub struct Driver<P, T, E, S, W, C, H, F, Sl, K, G: Guard<T, E>> {
    phase: Phase<P, Retrying<T, E, S, W, C, H, F, Sl, K, G>>,
    /// The `Run`'s attempt number: when attempts only count (see
    /// [`Driver::defers`]), the attempt to come or in flight; otherwise the last
    /// one begun. (The `Run`'s counters live here, beside each other, and its
    /// `Times` in `phase`: one word less.)
    number: u32,
    /// The `Run`'s `attempt_started_us`.
    started_us: u32,
    /// The attempt in flight's breaker permit (zero-sized without a breaker).
    slot: G::Slot,
}

/// Whether a [`Driver`]'s policy is built yet.
#[derive(Debug)]
enum Phase<P, R> {
    /// Not yet: the first attempt runs, and `P` builds the policy when it ends.
    First(P),
    /// The policy, and the call's clock so far.
    Built(R, Times),
}

/// Runs `f` on the `Run` a [`Driver`] keeps in parts (inlined, the copies fold away).
#[inline(always)]
fn with_run<X>(
    number: &mut u32,
    started_us: &mut u32,
    times: &mut Times,
    f: impl FnOnce(&mut Run) -> X,
) -> X {
    let mut run = Run { attempt: *number, attempt_started_us: *started_us, times: *times };
    let out = f(&mut run);
    (*number, *started_us, *times) = (run.attempt, run.attempt_started_us, run.times);
    out
}

/// The `P` of a [`Driver`] made with its policy ([`Driver::new`]).
pub type Given<R> = fn() -> R;

impl<T, E, S, W, C, H, F, Sl, K, G>
    Driver<Given<Retrying<T, E, S, W, C, H, F, Sl, K, G>>, T, E, S, W, C, H, F, Sl, K, G>
where
    S: Stop,
    W: Wait,
    C: Classify<T, E>,
    H: HookSet<T, E>,
    F: Fallback<T, E>,
    K: Clock,
    G: Guard<T, E>,
{
    /// Starts a call with its policy. (Only this step and [`Driver::deferred`]
    /// ask for an async sleeper, so a wrong one is reported once.)
    #[inline(always)]
    pub fn new(policy: Retrying<T, E, S, W, C, H, F, Sl, K, G>) -> Self
    where
        Sl: AsyncSleeper,
    {
        // `number` is the attempt to come when attempts only count (see
        // `Driver::defers`), the last one begun otherwise.
        let number = if Self::defers() { 1 } else { 0 };
        Driver { phase: Phase::Built(policy, Times::NEW), number, started_us: 0, slot: G::idle() }
    }

    /// Starts a sync call with its policy: the loop `#[retry]` expands to on a sync
    /// method taking `self` by value, whose attempts each own a fresh `self`.
    #[inline(always)]
    pub fn new_sync(policy: Retrying<T, E, S, W, C, H, F, Sl, K, G>) -> Self
    where
        Sl: Sleeper,
        G: SyncGuards,
    {
        let number = if Self::defers() { 1 } else { 0 };
        Driver { phase: Phase::Built(policy, Times::NEW), number, started_us: 0, slot: G::idle() }
    }

    /// Cuts an attempt at `timeout` and at what is left until `deadline` (both
    /// from the call's start), with the call's own sleeper as the timer.
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
        // A driver made by `new` is always built (only `deferred` starts unbuilt,
        // and the attribute never asks one of those for limits).
        let Phase::Built(policy, times) = &self.phase else { return Limited::new(attempt, None, ViaFrom) };
        let run = Run { attempt: self.number, attempt_started_us: self.started_us, times: *times };
        let limit = attempt_limit(timeout, deadline, || policy.elapsed(&run, false, true));
        Limited::new(attempt, limit.map(|limit| policy.sleeper.sleep(limit)), ViaFrom)
    }
}

impl<P, T, E, S, W, C, H, F, Sl, K, G> Driver<P, T, E, S, W, C, H, F, Sl, K, G>
where
    P: Fn() -> Retrying<T, E, S, W, C, H, F, Sl, K, G>,
    S: Stop,
    W: Wait,
    C: Classify<T, E>,
    H: HookSet<T, E>,
    F: Fallback<T, E>,
    K: Clock,
    G: Guard<T, E>,
{
    /// Whether nothing of the policy acts before an attempt or reads the clock:
    /// then an attempt begins with its count alone (kept in `number`), and the
    /// first may run before the policy is built.
    #[inline(always)]
    fn defers() -> bool {
        Retrying::<T, E, S, W, C, H, F, Sl, K, G>::passive()
    }

    /// Starts a call whose policy `build` makes when it is first needed; see
    /// [`Driver`].
    #[inline(always)]
    pub fn deferred(build: P) -> Self
    where
        Sl: AsyncSleeper,
    {
        let (phase, number) =
            if Self::defers() { (Phase::First(build), 1) } else { (Phase::Built(build(), Times::NEW), 0) };
        Driver { phase, number, started_us: 0, slot: G::idle() }
    }

    /// Counts and announces the next attempt (runs `before`), takes its permit,
    /// and returns its number and whether it is admitted; `None` when the attempt
    /// begins with its count alone (see [`Driver::defers`]): it is `number`, and
    /// the policy may not be built yet.
    #[inline(always)]
    fn begin(&mut self) -> Option<(u32, bool, &Retrying<T, E, S, W, C, H, F, Sl, K, G>)> {
        if Self::defers() {
            return None;
        }
        // Built: only a deferring driver starts unbuilt.
        let Phase::Built(policy, times) = &mut self.phase else { return None };
        let number = with_run(&mut self.number, &mut self.started_us, times, |run| {
            policy.begin_attempt(run, false, true)
        });
        self.slot = policy.guards.admit(number, policy.label());
        Some((number, G::admitted(&self.slot), policy))
    }

    /// Counts and announces the next attempt (runs `before`), and marks its
    /// future so [`crate::attempt()`] sees its number.
    #[inline(always)]
    pub fn attempt<Fut: Future<Output = Result<T, E>>>(
        &mut self,
        attempt: Fut,
    ) -> InAttempt<G::Attempt<Fut>> {
        match self.begin() {
            Some((number, admitted, policy)) => InAttempt::new(number, policy.guards.wrap(attempt, admitted)),
            None => InAttempt::new(self.number, G::pass(attempt)),
        }
    }

    /// [`Driver::attempt`] for a boxed attempt, whose type says it is `Send` (for
    /// callers that must prove it, whatever the guards are): a rejected attempt
    /// is dropped unpolled and replaced by the rejection.
    #[cfg(feature = "reqwest-middleware")]
    pub(crate) fn attempt_boxed<'a>(
        &mut self,
        attempt: core::pin::Pin<Box<dyn Future<Output = Result<T, E>> + Send + 'a>>,
    ) -> InAttempt<core::pin::Pin<Box<dyn Future<Output = Result<T, E>> + Send + 'a>>>
    where
        T: Send + 'a,
        E: Send + 'a,
    {
        match self.begin() {
            Some((number, false, policy)) => {
                let rejection = policy.guards.rejection();
                InAttempt::new(
                    number,
                    Box::pin(async move { Err(rejection.expect("a rejecting guard says why")) }),
                )
            }
            Some((number, true, _)) => InAttempt::new(number, attempt),
            None => InAttempt::new(self.number, attempt),
        }
    }

    /// [`Driver::attempt`] for a sync attempt, run here: `op` runs once, unless
    /// the breaker rejects the attempt.
    #[inline(always)]
    pub fn attempt_sync(&mut self, op: impl FnOnce() -> Result<T, E>) -> Result<T, E> {
        match self.begin() {
            Some((number, admitted, policy)) => {
                let _current = Current::enter(number);
                match if admitted { None } else { policy.guards.rejection() } {
                    Some(rejection) => Err(rejection),
                    None => op(),
                }
            }
            None => {
                let _current = Current::enter(self.number);
                op()
            }
        }
    }

    /// The sleep between two attempts of a sync call (see [`Driver::new_sync`]).
    #[inline]
    pub fn sleep_sync(&mut self, delay: Duration)
    where
        Sl: Sleeper,
    {
        if sleep::skipped(delay) {
            return;
        }
        match &mut self.phase {
            Phase::Built(policy, _) => policy.sleeper.sleep(delay),
            // `end` builds the policy before any sleep.
            Phase::First(build) => build().sleeper.sleep(delay),
        }
    }

    /// Like [`Driver::attempt`], for a fn that returns a plain value (`E` is
    /// `Infallible`).
    #[inline(always)]
    pub fn attempt_value<Fut: Future<Output = T>>(
        &mut self,
        attempt: Fut,
    ) -> InAttempt<G::Attempt<impl Future<Output = Result<T, E>> + use<Fut, P, T, E, S, W, C, H, F, Sl, K, G>>>
    {
        self.attempt(async move { Ok(attempt.await) })
    }

    /// Decides what follows an attempt.
    #[inline(always)]
    pub fn end(&mut self, outcome: Result<T, E>) -> Next<T, E> {
        if !Self::defers() {
            return self.settle(outcome);
        }
        // Nothing to run or count for a success: the policy is not needed.
        if C::accepts_every_value() && outcome.is_ok() {
            return Next::Done { outcome, failed: false };
        }
        self.settle_outlined(outcome)
    }

    /// [`Driver::settle`] out of line, for a driver whose success path needs
    /// nothing else: the failure's code stays out of the fn's loop, and `cold`
    /// lays the loop out with the success path falling through.
    #[cold]
    #[inline(never)]
    fn settle_outlined(&mut self, outcome: Result<T, E>) -> Next<T, E> {
        self.settle(outcome)
    }

    /// What follows an attempt the policy has to judge.
    #[inline(always)]
    fn settle(&mut self, outcome: Result<T, E>) -> Next<T, E> {
        let slot = core::mem::replace(&mut self.slot, G::idle());
        let defers = Self::defers();
        let step = match &mut self.phase {
            Phase::Built(policy, times) => {
                let rejected = policy.guards.report(slot, &outcome);
                with_run(&mut self.number, &mut self.started_us, times, |run| {
                    policy.end_attempt(run, outcome, rejected, false, true)
                })
            }
            // The first attempt ended: the policy is built now, and kept only if
            // the call goes on (or gives up, for `fallback`).
            Phase::First(build) => {
                let mut policy = build();
                let mut times = Times::NEW;
                let step = with_run(&mut self.number, &mut self.started_us, &mut times, |run| {
                    policy.end_attempt(run, outcome, false, false, true)
                });
                if !matches!(step, Step::Done { failed: false, .. }) {
                    self.phase = Phase::Built(policy, times);
                }
                step
            }
        };
        match step {
            Step::Done { outcome, failed } => Next::Done { outcome, failed },
            Step::Sleep(delay) => {
                // A passive policy's attempts begin with their count alone: the
                // next one's number, made here.
                if defers {
                    self.number = self.number.saturating_add(1);
                }
                Next::Sleep(delay)
            }
        }
    }

    /// The sleep between attempts, to await; none for a zero delay or under
    /// `testing::record_sleeps`. (Not an `async fn`: its state would add to the
    /// caller's future. One future either way, not an `Option`: the caller's
    /// future would keep the `Option` across the await.)
    #[inline]
    pub fn sleep(&self, delay: Duration) -> MaybeSleep<Sl::Sleep>
    where
        Sl: AsyncSleeper,
    {
        match &self.phase {
            Phase::Built(policy, _) => policy.sleep_async(delay),
            // `end` builds the policy before any sleep.
            Phase::First(build) => build().sleep_async(delay),
        }
    }

    /// [`Driver::end`] for a policy without `fallback`: the call's result (its
    /// last outcome), or the delay before the next attempt. What `#[retry]`
    /// expands to when the attribute has no `fallback`: one step fewer for rustc
    /// to check in every fn.
    #[inline(always)]
    pub fn next(&mut self, outcome: Result<T, E>) -> ControlFlow<Result<T, E>, Duration>
    where
        F: WithoutFallback,
    {
        if !Self::defers() {
            return Self::flow(self.settle(outcome));
        }
        if C::accepts_every_value() && outcome.is_ok() {
            return ControlFlow::Break(outcome);
        }
        self.next_outlined(outcome)
    }

    /// [`Driver::next`]'s failure path, out of line as
    /// [`settle_outlined`](Self::settle_outlined) is. (Its own function: through
    /// `settle_outlined`, the two paths met before the `break`, and the loop's
    /// success path was laid out as a jump.)
    #[cold]
    #[inline(never)]
    fn next_outlined(&mut self, outcome: Result<T, E>) -> ControlFlow<Result<T, E>, Duration> {
        Self::flow(self.settle(outcome))
    }

    /// A decision as [`Driver::next`] hands it out (a policy without `fallback`).
    #[inline(always)]
    fn flow(next: Next<T, E>) -> ControlFlow<Result<T, E>, Duration> {
        match next {
            Next::Done { outcome, .. } => ControlFlow::Break(outcome),
            Next::Sleep(delay) => ControlFlow::Continue(delay),
        }
    }

    /// The call's result: the last outcome, or `fallback`'s if the call gave up.
    #[inline(always)]
    pub fn finish(self, outcome: Result<T, E>, failed: bool) -> Result<T, E> {
        let policy = match self.phase {
            Phase::Built(policy, _) => policy,
            // `end` keeps the policy of a call that gives up.
            Phase::First(build) if failed => build(),
            Phase::First(_) => return outcome,
        };
        policy.conclude(outcome, failed)
    }
}

#[cfg(test)]
mod driver_tests {
    use core::sync::atomic::{AtomicU32, Ordering};
    use std::sync::Mutex;

    use futures::executor::block_on;

    use super::*;
    use crate::dsl::*;

    /// The loop `#[retry]` expands to, around `attempt` (a block evaluating to the
    /// attempt's `Result`).
    macro_rules! drive {
        ($driver:expr, $attempt:expr) => {{
            let mut driver = $driver;
            loop {
                let outcome = driver.attempt(async { $attempt }).await;
                let delay = match driver.end(outcome) {
                    Next::Done { outcome, failed } => break driver.finish(outcome, failed),
                    Next::Sleep(delay) => delay,
                };
                driver.sleep(delay).await;
            }
        }};
    }

    /// Fails `failures` times, recording the attempt numbers it runs under.
    fn script(seen: &Mutex<Vec<Option<u32>>>, failures: usize) -> Result<u32, u32> {
        let mut seen = seen.lock().unwrap();
        seen.push(crate::attempt());
        if seen.len() > failures { Ok(7) } else { Err(seen.len() as u32) }
    }

    #[test]
    fn a_passive_policy_is_built_only_when_the_first_attempt_fails() {
        for (failures, outcome, builds, numbers) in
            [(0, Ok(7), 0, &[1][..]), (2, Ok(7), 1, &[1, 2, 3]), (5, Err(3), 1, &[1, 2, 3])]
        {
            let built = AtomicU32::new(0);
            let seen = Mutex::new(Vec::new());
            let driver = Driver::deferred(|| {
                built.fetch_add(1, Ordering::SeqCst);
                Retrying::<u32, u32>::new().stop(attempts(3)).wait(none())
            });
            assert_eq!(built.load(Ordering::SeqCst), 0, "nothing built before the first attempt");
            assert_eq!(block_on(async { drive!(driver, script(&seen, failures)) }), outcome);
            assert_eq!(built.load(Ordering::SeqCst), builds, "{failures} failures");
            let numbers: Vec<_> = numbers.iter().map(|&n| Some(n)).collect();
            assert_eq!(*seen.lock().unwrap(), numbers);
        }
    }

    #[test]
    fn a_driver_given_its_policy_numbers_and_counts_attempts_the_same() {
        for (failures, outcome, numbers) in
            [(0, Ok(7), &[1][..]), (2, Ok(7), &[1, 2, 3]), (5, Err(3), &[1, 2, 3])]
        {
            let seen = Mutex::new(Vec::new());
            let driver = Driver::new(Retrying::<u32, u32>::new().stop(attempts(3)).wait(none()));
            assert_eq!(block_on(async { drive!(driver, script(&seen, failures)) }), outcome);
            let numbers: Vec<_> = numbers.iter().map(|&n| Some(n)).collect();
            assert_eq!(*seen.lock().unwrap(), numbers, "{failures} failures");
        }
    }

    /// A clock that counts how often it is read.
    #[derive(Default)]
    struct CountingClock(core::cell::Cell<u32>);

    impl Clock for &CountingClock {
        fn now(&self) -> Instant {
            self.0.set(self.0.get() + 1);
            Instant::now()
        }
    }

    #[test]
    fn a_passive_policy_reads_no_clock_whether_built_late_or_not() {
        let clock = CountingClock::default();
        for failures in [0, 2] {
            let seen = Mutex::new(Vec::new());
            let deferred =
                Driver::deferred(|| Retrying::<u32, u32>::new().stop(attempts(3)).wait(none()).clock(&clock));
            assert_eq!(block_on(async { drive!(deferred, script(&seen, failures)) }), Ok(7));
            let seen = Mutex::new(Vec::new());
            let given = Driver::new(Retrying::<u32, u32>::new().stop(attempts(3)).wait(none()).clock(&clock));
            assert_eq!(block_on(async { drive!(given, script(&seen, failures)) }), Ok(7));
        }
        assert_eq!(clock.0.get(), 0);
    }

    #[test]
    fn the_types_tell_what_acts_before_an_attempt() {
        use crate::condition::{Filter, Nothing, Or};
        use crate::hook::{HookSet, Hooks, NoHook};
        use crate::stop::{Both, Either, Elapsed, Never};

        assert!(<Either<Attempts, Never> as Stop>::clock_free());
        assert!(<Both<Attempts, Either<Never, Attempts>> as Stop>::clock_free());
        assert!(!<Either<Attempts, Elapsed> as Stop>::clock_free());
        assert!(!<Both<Elapsed, Attempts> as Stop>::clock_free());

        assert!(<Hooks as HookSet<u32, u32>>::none());
        type Before = fn(&Attempt<'_, u32, u32>);
        assert!(!<Hooks<Before, NoHook, NoHook, NoHook, NoHook> as HookSet<u32, u32>>::none());
        assert!(!<Hooks<NoHook, NoHook, NoHook, NoHook, Before> as HookSet<u32, u32>>::none());

        assert!(<Or<Nothing, Nothing> as crate::condition::ValueFilter<u32>>::matches_none());
        type Odd = Filter<fn(&u32) -> bool>;
        assert!(!<Or<Nothing, Odd> as crate::condition::ValueFilter<u32>>::matches_none());
    }

    #[test]
    fn a_policy_that_acts_before_attempts_is_built_first() {
        let built = AtomicU32::new(0);
        let befores = AtomicU32::new(0);
        let driver = Driver::deferred(|| {
            built.fetch_add(1, Ordering::SeqCst);
            Retrying::<u32, u32>::new().wait(none()).before(|_: &Attempt<'_, u32, u32>| {
                befores.fetch_add(1, Ordering::SeqCst);
            })
        });
        assert_eq!(built.load(Ordering::SeqCst), 1, "a hook: built with the driver");
        assert_eq!(block_on(async { drive!(driver, Ok::<u32, u32>(1)) }), Ok(1));
        assert_eq!((built.load(Ordering::SeqCst), befores.load(Ordering::SeqCst)), (1, 1));

        let built = AtomicU32::new(0);
        let _driver = Driver::deferred(|| {
            built.fetch_add(1, Ordering::SeqCst);
            Retrying::<u32, u32>::new().stop(attempts(3) | elapsed(5))
        });
        assert_eq!(built.load(Ordering::SeqCst), 1, "a time-based stop: built with the driver");
    }

    #[test]
    fn a_first_attempt_that_gives_up_keeps_the_policy_for_its_fallback() {
        let built = AtomicU32::new(0);
        let driver = Driver::deferred(|| {
            built.fetch_add(1, Ordering::SeqCst);
            Retrying::<u32, u32>::new().wait(none()).when(|e: &u32| *e > 10).fallback(|_| Ok(0))
        });
        assert_eq!(block_on(async { drive!(driver, Err::<u32, u32>(1)) }), Ok(0));
        assert_eq!(built.load(Ordering::SeqCst), 1);
    }

    #[test]
    fn a_value_condition_is_asked_about_a_first_success() {
        let polls = AtomicU32::new(0);
        let driver = Driver::deferred(|| {
            Retrying::<u32, u32>::new().wait(none()).stop(attempts(5)).if_result(|v: &u32| *v < 3)
        });
        let outcome =
            block_on(async { drive!(driver, Ok::<u32, u32>(polls.fetch_add(1, Ordering::SeqCst) + 1)) });
        assert_eq!(outcome, Ok(3), "values 1 and 2 were retried");
    }
}
