//! [`Retrying`]: a retry policy built step by step, and the calls it runs.
//!
//! * `mod.rs`: the builder;
//! * `call`: [`Call`], the executor: one call, an attempt at a time, and the
//!   loops of [`Retrying::call`] and [`Retrying::call_async`] over it;
//! * `fallback`: what a call that gives up returns instead.
// The typestate builder spells its full type in every setter; aliases would hide more than they explain.
#![allow(clippy::type_complexity)]

mod call;
mod fallback;

use core::convert::Infallible;
use core::fmt;
use core::future::Future;
use core::marker::PhantomData;
use core::time::Duration;

pub use call::{Call, CallStats, Next, Step};
pub use fallback::{Fallback, NoFallback};

use crate::attempt::Attempt;
use crate::breaker::{CircuitBreaker, FromCircuitOpen};
use crate::budget::RetryBudget;
use crate::clock::{Clock, DefaultClock};
use crate::condition::{AddFilter, Classify, Conditions, ErrorFilter, EveryError, Filter, Nothing};
use crate::error::InvalidPolicy;
use crate::guard::{Breaker, Guard, Guards, SyncGuards, WithDeadline, WithTimeout};
use crate::hook::{HookSet, Hooks};
use crate::observe::{ByDisplay, EventLevel, Observer};
use crate::sleep::{AsyncSleeper, DefaultSleeper, Sleeper};
use crate::stop::{Attempts, Stop};
use crate::timeout::FromTimedOut;
use crate::wait::{Delay, RandomExpo};

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
    pub fn wait<W2: Delay<T, E>>(self, wait: W2) -> Retrying<T, E, S, W2, C, H, F, Sl, K, G> {
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

impl<T, E, S, W, C, H, F, Sl, K, Br, Bu, Li, Ob>
    Retrying<T, E, S, W, C, H, F, Sl, K, Guards<Br, Bu, Li, Ob>>
{
    fn map_guards<G2>(
        self,
        map: impl FnOnce(Guards<Br, Bu, Li, Ob>) -> G2,
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
    ) -> Retrying<T, E, S, W, C, H, F, Sl, K, Guards<Breaker<'b, Kb, EveryError, E>, Bu, Li, Ob>>
    where
        E: FromCircuitOpen,
    {
        self.breaker_counting(breaker, EveryError)
    }

    /// Like [`breaker`](Self::breaker), counting as breaker failures only the
    /// errors `is_failure` picks (a `404` is the caller's fault, not the
    /// dependency's); other errors count as nothing.
    pub fn breaker_counting<'b, Kb: Clock, P: ErrorFilter<E>>(
        self,
        breaker: &'b CircuitBreaker<Kb>,
        is_failure: P,
    ) -> Retrying<T, E, S, W, C, H, F, Sl, K, Guards<Breaker<'b, Kb, P, E>, Bu, Li, Ob>>
    where
        E: FromCircuitOpen,
    {
        self.map_guards(|Guards { budget, limit, observer, .. }| Guards {
            breaker: Breaker::new(breaker, is_failure),
            budget,
            limit,
            observer,
        })
    }

    /// Draws retries from a shared [`RetryBudget`]: each call's first attempt
    /// deposits, each retry withdraws, and a call whose retry finds the budget
    /// empty gives up at once with its last error. The token is taken when the
    /// retry is decided, before its sleep: a retry a circuit breaker rejects or a
    /// `signal` cancels gives it back; a call dropped while it sleeps does not
    /// (the token expires with the budget's window).
    ///
    /// # Default
    /// No budget.
    pub fn budget<Kb: Clock>(
        self,
        budget: &RetryBudget<Kb>,
    ) -> Retrying<T, E, S, W, C, H, F, Sl, K, Guards<Br, &RetryBudget<Kb>, Li, Ob>> {
        self.map_guards(|Guards { breaker, limit, observer, .. }| Guards { breaker, budget, limit, observer })
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
    ) -> Retrying<T, E, S, W, C, H, F, Sl, K, Guards<Br, Bu, <Li as WithTimeout<E>>::Output, Ob>>
    where
        E: FromTimedOut,
        Li: WithTimeout<E>,
    {
        self.map_guards(|Guards { breaker, budget, limit, observer }| Guards {
            breaker,
            budget,
            limit: limit.with_timeout(timeout, E::timed_out),
            observer,
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
    ) -> Retrying<T, E, S, W, C, H, F, Sl, K, Guards<Br, Bu, <Li as WithDeadline<E>>::Output, Ob>>
    where
        E: FromTimedOut,
        Li: WithDeadline<E>,
    {
        self.map_guards(|Guards { breaker, budget, limit, observer }| Guards {
            breaker,
            budget,
            limit: limit.with_deadline(deadline, E::timed_out),
            observer,
        })
    }

    /// Events for retries and give-ups at `level`, with the error by `Display`
    /// (feature `tracing`), and the call's metrics (feature `metrics`); without
    /// either feature this does nothing. See [`crate::observe`].
    ///
    /// # Default
    /// None in the explicit API; `DEBUG` under `#[retry]` with the feature on.
    pub fn observe(
        self,
        level: EventLevel,
    ) -> Retrying<T, E, S, W, C, H, F, Sl, K, Guards<Br, Bu, Li, Observer>>
    where
        E: fmt::Display,
    {
        self.observe_with(Observer::new(level, ByDisplay))
    }

    /// Observed as `observer` says (what `#[retry]` expands to): events and metrics,
    /// or nothing.
    pub fn observe_with<Ob2>(
        self,
        observer: Ob2,
    ) -> Retrying<T, E, S, W, C, H, F, Sl, K, Guards<Br, Bu, Li, Ob2>> {
        self.map_guards(|Guards { breaker, budget, limit, .. }| Guards { breaker, budget, limit, observer })
    }
}

impl<T, E, S: Stop, W: Delay<T, E>, C, H, F, Sl, K, G> Retrying<T, E, S, W, C, H, F, Sl, K, G> {
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
        self.wait.check()?;
        Ok(self)
    }
}

impl<T, E, S, W, C, H, F, Sl, K, G> Retrying<T, E, S, W, C, H, F, Sl, K, G>
where
    S: Stop,
    W: Delay<T, E>,
    C: Classify<T, E>,
    H: HookSet<T, E>,
    F: Fallback<T, E>,
    K: Clock,
    G: Guard<T, E>,
{
    /// Runs `op` until it succeeds or the policy gives up; returns the last outcome
    /// (or `fallback`'s). A panic in `op` is never retried: it propagates as is.
    #[inline]
    pub fn call<Op>(self, op: Op) -> Result<T, E>
    where
        Op: FnMut() -> Result<T, E>,
        Sl: Sleeper,
        G: SyncGuards,
    {
        self.start().run_sync(op).0
    }

    /// Like [`call`](Self::call), also returning the call's [`CallStats`].
    pub fn call_with_stats<Op>(self, op: Op) -> (Result<T, E>, CallStats)
    where
        Op: FnMut() -> Result<T, E>,
        Sl: Sleeper,
        G: SyncGuards,
    {
        self.start().timed_for_stats().run_sync(op)
    }

    /// The async form of [`call`](Self::call): `op` is an async closure run once per
    /// attempt (`async || ..`, or a closure returning a future, `|| async { .. }`).
    /// An `async` closure may lend its captures to each attempt, e.g. reborrow a
    /// `&mut` it holds.
    ///
    /// Dropping the returned future cancels the call at once, mid-attempt or
    /// mid-sleep. The future is `Send` when the operation, its future, the policies
    /// and the hooks are. (When an `async` closure's future cannot be proven
    /// `Send`, write the loop with [`start`](Self::start).)
    pub fn call_async<Op>(self, op: Op) -> impl Future<Output = Result<T, E>>
    where
        Op: AsyncFnMut() -> Result<T, E>,
        Sl: AsyncSleeper,
    {
        self.start().run_async(op, |result, _| result)
    }

    /// Like [`call_async`](Self::call_async), also returning the call's [`CallStats`].
    pub fn call_async_with_stats<Op>(self, op: Op) -> impl Future<Output = (Result<T, E>, CallStats)>
    where
        Op: AsyncFnMut() -> Result<T, E>,
        Sl: AsyncSleeper,
    {
        self.start().timed_for_stats().run_async(op, |result, stats| (result, stats))
    }
}

impl<T, S, W, C, H, F, Sl, K, G> Retrying<T, Infallible, S, W, C, H, F, Sl, K, G>
where
    S: Stop,
    W: Delay<T, Infallible>,
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
