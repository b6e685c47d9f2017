//! What every attempt of a call passes through besides its policy: a
//! [`CircuitBreaker`], a [`RetryBudget`] and time limits, set with
//! [`Retrying::breaker`](crate::Retrying::breaker),
//! [`Retrying::budget`](crate::Retrying::budget),
//! [`Retrying::timeout`](crate::Retrying::timeout) and
//! [`Retrying::deadline`](crate::Retrying::deadline) (or the keys of the same
//! names of `#[retry]`).
//!
//! # What the executor does with them
//! * Before each attempt the breaker is asked for a permit. If it rejects the
//!   **first** attempt, the call ends at once with `E::from(CircuitOpen)` (hooks
//!   `after` and `on_giveup` see it, and `fallback` may replace it).
//! * The attempt's outcome is reported on the permit: `Ok` is a success, an error
//!   a failure (or, with [`Retrying::breaker_counting`](crate::Retrying::breaker_counting),
//!   only the errors its predicate picks; the others count as nothing). A
//!   cancelled or panicking attempt drops its permit, which counts nothing and
//!   frees a half-open probe slot.
//! * Before sleeping for a retry, the call gives up at once, with the error it has,
//!   if the breaker will still be open when the sleep ends (no sleeping only to be
//!   rejected), or if the budget has no retry left. If a breaker rejects a later
//!   attempt all the same (another caller took the probe slot), the call ends
//!   with `E::from(CircuitOpen)`.
//! * The first attempt of each call deposits into the budget; each retry
//!   withdraws from it (and gives the token back if the breaker then rejects it).
//!
//! Neither costs anything when absent: a call without them holds zero-sized no-ops.

use core::future::Future;
use core::pin::Pin;
use core::task::{Context, Poll};
use core::time::Duration;

use crate::attempt::Attempt;
use crate::breaker::{CircuitBreaker, FromCircuitOpen, Permit};
use crate::budget::RetryBudget;
use crate::clock::Clock;
use crate::condition::ErrorFilter;
use crate::observe::{NoObserver, ObserverSide};
use crate::timeout::Limited;

/// The breaker and budget of a call (by default neither).
#[derive(Clone, Copy, Debug, Default)]
#[doc(hidden)]
pub struct Guards<Br = NoBreaker, Bu = NoBudget, Li = NoLimit, Ob = NoObserver> {
    pub(crate) breaker: Br,
    pub(crate) budget: Bu,
    pub(crate) limit: Li,
    pub(crate) observer: Ob,
}

impl Guards {
    /// No breaker, no budget.
    pub const fn new() -> Self {
        Guards { breaker: NoBreaker, budget: NoBudget, limit: NoLimit, observer: NoObserver }
    }
}

/// No circuit breaker.
#[derive(Clone, Copy, Debug, Default)]
#[doc(hidden)]
pub struct NoBreaker;

/// No retry budget.
#[derive(Clone, Copy, Debug, Default)]
#[doc(hidden)]
pub struct NoBudget;

/// A breaker in a call, with which errors count as its failures and the error of
/// a rejection (`E::from(CircuitOpen)`, checked where the breaker is set).
#[derive(Debug)]
#[doc(hidden)]
pub struct Breaker<'b, K, P, E> {
    pub(crate) breaker: &'b CircuitBreaker<K>,
    pub(crate) is_failure: P,
    pub(crate) rejection: fn() -> E,
}

impl<K, P: Clone, E> Clone for Breaker<'_, K, P, E> {
    fn clone(&self) -> Self {
        Breaker { breaker: self.breaker, is_failure: self.is_failure.clone(), rejection: self.rejection }
    }
}

impl<'b, K, P, E: FromCircuitOpen> Breaker<'b, K, P, E> {
    pub(crate) fn new(breaker: &'b CircuitBreaker<K>, is_failure: P) -> Self {
        Breaker { breaker, is_failure, rejection: E::circuit_open }
    }
}

/// The breaker side of [`Guard`].
#[doc(hidden)]
pub trait BreakerSide<T, E> {
    /// An async attempt as this side runs it (as is, when it never rejects).
    type Attempt<Fut>;
    /// Wraps an async attempt, rejected or not.
    fn wrap<Fut>(&self, attempt: Fut, admitted: bool) -> Self::Attempt<Fut>;
    /// [`Attempt`](Self::Attempt), known to be a future (for generic callers).
    type Gated<Fut: Future<Output = Result<T, E>>>: Future<Output = Result<T, E>>;
    /// An attempt made by `make` if admitted; a rejected one never calls `make`.
    fn gate<Fut: Future<Output = Result<T, E>>>(
        &self,
        admitted: bool,
        make: impl FnOnce() -> Fut,
    ) -> Self::Gated<Fut>;
    /// What an attempt holds: its permit, or the mark of a rejection. Zero-sized
    /// when there is no breaker, so an async call stores nothing for it.
    type Slot;
    /// The slot of no attempt.
    fn idle() -> Self::Slot;
    /// A permit, or the mark of a rejection.
    fn admit(&self) -> Self::Slot;
    /// Whether the slot holds a permit.
    fn admitted(slot: &Self::Slot) -> bool;
    /// The error of a rejected attempt (`None`: this side never rejects).
    fn rejection(&self) -> Option<E>;
    /// Reports an attempt's outcome on its permit; whether it was rejected instead.
    fn report(&self, slot: Self::Slot, outcome: &Result<T, E>) -> bool;
    /// Whether an attempt `delay` from now may pass.
    fn may_admit_after(&self, delay: Duration) -> bool;
}

impl<T, E> BreakerSide<T, E> for NoBreaker {
    type Slot = ();
    type Attempt<Fut> = Fut;
    #[inline(always)]
    fn wrap<Fut>(&self, attempt: Fut, _: bool) -> Fut {
        attempt
    }
    type Gated<Fut: Future<Output = Result<T, E>>> = Fut;
    #[inline(always)]
    fn gate<Fut: Future<Output = Result<T, E>>>(&self, _: bool, make: impl FnOnce() -> Fut) -> Fut {
        make()
    }
    #[inline(always)]
    fn admit(&self) {}
    #[inline(always)]
    fn idle() {}
    #[inline(always)]
    fn admitted((): &()) -> bool {
        true
    }
    #[inline(always)]
    fn rejection(&self) -> Option<E> {
        None
    }
    #[inline(always)]
    fn report(&self, (): (), _: &Result<T, E>) -> bool {
        false
    }
    #[inline(always)]
    fn may_admit_after(&self, _: Duration) -> bool {
        true
    }
}

impl<'b, T, E, K, P> BreakerSide<T, E> for Breaker<'b, K, P, E>
where
    K: Clock,
    P: ErrorFilter<E>,
{
    type Slot = Option<Permit<'b, K>>;
    type Attempt<Fut> = Admitted<Fut, E>;
    #[inline(always)]
    fn wrap<Fut>(&self, attempt: Fut, admitted: bool) -> Admitted<Fut, E> {
        if admitted {
            Admitted::Running { attempt }
        } else {
            Admitted::Rejected { rejection: self.rejection }
        }
    }
    type Gated<Fut: Future<Output = Result<T, E>>> = Admitted<Fut, E>;
    #[inline(always)]
    fn gate<Fut: Future<Output = Result<T, E>>>(
        &self,
        admitted: bool,
        make: impl FnOnce() -> Fut,
    ) -> Admitted<Fut, E> {
        if admitted {
            Admitted::Running { attempt: make() }
        } else {
            Admitted::Rejected { rejection: self.rejection }
        }
    }
    #[inline]
    fn admit(&self) -> Option<Permit<'b, K>> {
        self.breaker.try_acquire().ok()
    }
    #[inline(always)]
    fn idle() -> Option<Permit<'b, K>> {
        None
    }
    #[inline(always)]
    fn admitted(slot: &Option<Permit<'b, K>>) -> bool {
        slot.is_some()
    }
    #[inline]
    fn rejection(&self) -> Option<E> {
        Some((self.rejection)())
    }
    #[inline]
    fn report(&self, slot: Option<Permit<'b, K>>, outcome: &Result<T, E>) -> bool {
        let Some(permit) = slot else { return true };
        match outcome {
            Ok(_) => permit.success(),
            Err(error) if self.is_failure.matches(error) => permit.failure(),
            Err(_) => drop(permit),
        }
        false
    }
    #[inline]
    fn may_admit_after(&self, delay: Duration) -> bool {
        self.breaker.may_admit_after(delay)
    }
}

/// The budget side of [`Guard`].
#[doc(hidden)]
pub trait BudgetSide {
    /// A first attempt.
    fn deposit(&self);
    /// A retry: whether the budget allows it.
    fn withdraw(&self) -> bool;
    /// A retry the budget allowed was not made: its token goes back.
    fn refund(&self);
}

impl BudgetSide for NoBudget {
    #[inline(always)]
    fn deposit(&self) {}
    #[inline(always)]
    fn withdraw(&self) -> bool {
        true
    }
    #[inline(always)]
    fn refund(&self) {}
}

impl<K: Clock> BudgetSide for &RetryBudget<K> {
    #[inline]
    fn deposit(&self) {
        RetryBudget::deposit(self);
    }
    #[inline]
    fn withdraw(&self) -> bool {
        self.try_withdraw()
    }
    #[cold]
    fn refund(&self) {
        RetryBudget::refund(self);
    }
}

/// No time limit on attempts.
#[derive(Clone, Copy, Debug, Default)]
#[doc(hidden)]
pub struct NoLimit;

/// Attempts of an async call cut at a per-attempt `timeout` and at the call's
/// `deadline`, failing with `timed_out()` (`E::from(TimedOut)`). `TIMEOUT` records
/// whether a timeout is set, which a sync call cannot honour.
#[derive(Debug)]
#[doc(hidden)]
pub struct Limit<E, const TIMEOUT: bool> {
    pub(crate) timeout: Option<Duration>,
    pub(crate) deadline: Option<Duration>,
    pub(crate) timed_out: fn() -> E,
}

impl<E, const TIMEOUT: bool> Clone for Limit<E, TIMEOUT> {
    fn clone(&self) -> Self {
        *self
    }
}

impl<E, const TIMEOUT: bool> Copy for Limit<E, TIMEOUT> {}

/// The limit side of a call's guards.
#[doc(hidden)]
pub trait LimitSide<T, E> {
    /// An async attempt as this side runs it (as is, when there is no limit).
    type Cut<Fut: Future<Output = Result<T, E>>, Z: Future<Output = ()>>: Future<Output = Result<T, E>>;
    /// The overall deadline, if any.
    fn deadline(&self) -> Option<Duration>;
    /// Cuts an attempt started `elapsed` into the call; `timer` makes the sleep.
    fn cut<Fut: Future<Output = Result<T, E>>, Z: Future<Output = ()>>(
        &self,
        attempt: Fut,
        elapsed: impl FnOnce() -> Duration,
        timer: impl FnOnce(Duration) -> Z,
    ) -> Self::Cut<Fut, Z>;
}

impl<T, E> LimitSide<T, E> for NoLimit {
    type Cut<Fut: Future<Output = Result<T, E>>, Z: Future<Output = ()>> = Fut;
    #[inline(always)]
    fn deadline(&self) -> Option<Duration> {
        None
    }
    #[inline(always)]
    fn cut<Fut: Future<Output = Result<T, E>>, Z: Future<Output = ()>>(
        &self,
        attempt: Fut,
        _: impl FnOnce() -> Duration,
        _: impl FnOnce(Duration) -> Z,
    ) -> Fut {
        attempt
    }
}

impl<T, E, const TIMEOUT: bool> LimitSide<T, E> for Limit<E, TIMEOUT> {
    type Cut<Fut: Future<Output = Result<T, E>>, Z: Future<Output = ()>> = Limited<Fut, Z, fn() -> E>;
    #[inline]
    fn deadline(&self) -> Option<Duration> {
        self.deadline
    }
    #[inline]
    fn cut<Fut: Future<Output = Result<T, E>>, Z: Future<Output = ()>>(
        &self,
        attempt: Fut,
        elapsed: impl FnOnce() -> Duration,
        timer: impl FnOnce(Duration) -> Z,
    ) -> Limited<Fut, Z, fn() -> E> {
        let limit = attempt_limit(self.timeout, self.deadline, elapsed);
        Limited::new(attempt, limit.map(timer), self.timed_out)
    }
}

/// How long the next attempt may run: the timeout, or what is left until the
/// deadline, whichever is shorter.
#[inline]
pub(crate) fn attempt_limit(
    timeout: Option<Duration>,
    deadline: Option<Duration>,
    elapsed: impl FnOnce() -> Duration,
) -> Option<Duration> {
    let left = deadline.map(|deadline| deadline.saturating_sub(elapsed()));
    match (timeout, left) {
        (Some(timeout), Some(left)) => Some(timeout.min(left)),
        (timeout, left) => timeout.or(left),
    }
}

/// Adds a per-attempt timeout to a call's limits.
#[doc(hidden)]
pub trait WithTimeout<E> {
    /// The limits with the timeout.
    type Output;
    /// Sets the timeout.
    fn with_timeout(self, timeout: Duration, timed_out: fn() -> E) -> Self::Output;
}

impl<E> WithTimeout<E> for NoLimit {
    type Output = Limit<E, true>;
    fn with_timeout(self, timeout: Duration, timed_out: fn() -> E) -> Limit<E, true> {
        Limit { timeout: Some(timeout), deadline: None, timed_out }
    }
}

impl<E, const TIMEOUT: bool> WithTimeout<E> for Limit<E, TIMEOUT> {
    type Output = Limit<E, true>;
    fn with_timeout(self, timeout: Duration, _: fn() -> E) -> Limit<E, true> {
        Limit { timeout: Some(timeout), deadline: self.deadline, timed_out: self.timed_out }
    }
}

/// Adds an overall deadline to a call's limits.
#[doc(hidden)]
pub trait WithDeadline<E> {
    /// The limits with the deadline.
    type Output;
    /// Sets the deadline.
    fn with_deadline(self, deadline: Duration, timed_out: fn() -> E) -> Self::Output;
}

impl<E> WithDeadline<E> for NoLimit {
    type Output = Limit<E, false>;
    fn with_deadline(self, deadline: Duration, timed_out: fn() -> E) -> Limit<E, false> {
        Limit { timeout: None, deadline: Some(deadline), timed_out }
    }
}

impl<E, const TIMEOUT: bool> WithDeadline<E> for Limit<E, TIMEOUT> {
    type Output = Limit<E, TIMEOUT>;
    fn with_deadline(self, deadline: Duration, _: fn() -> E) -> Limit<E, TIMEOUT> {
        Limit { deadline: Some(deadline), ..self }
    }
}

/// Guards a sync call can honour: any but a per-attempt timeout.
#[diagnostic::on_unimplemented(
    message = "a per-attempt `timeout` needs an async call",
    label = "a sync attempt cannot be interrupted",
    note = "use `call_async`, or bound the whole call with `.deadline(..)` (no sleep past it)"
)]
#[doc(hidden)]
pub trait SyncGuards {}

impl<Br, Bu, Ob> SyncGuards for Guards<Br, Bu, NoLimit, Ob> {}
impl<Br, Bu, E, Ob> SyncGuards for Guards<Br, Bu, Limit<E, false>, Ob> {}

/// How the executor drives [`Guards`]; see the [module docs](self).
#[doc(hidden)]
pub trait Guard<T, E> {
    /// An async attempt as the guard runs it (a future when `Fut` is one).
    type Attempt<Fut>;
    /// Wraps an async attempt, rejected (`admitted == false`) or not.
    fn wrap<Fut>(&self, attempt: Fut, admitted: bool) -> Self::Attempt<Fut>;
    /// [`Attempt`](Self::Attempt), known to be a future (for generic callers).
    type Gated<Fut: Future<Output = Result<T, E>>>: Future<Output = Result<T, E>>;
    /// An attempt made by `make` if admitted (see [`BreakerSide::gate`]).
    fn gate<Fut: Future<Output = Result<T, E>>>(
        &self,
        admitted: bool,
        make: impl FnOnce() -> Fut,
    ) -> Self::Gated<Fut>;
    /// What an attempt holds (see [`BreakerSide::Slot`]).
    type Slot;
    /// The slot of no attempt.
    fn idle() -> Self::Slot;
    /// Before an attempt: its permit, or the mark of a rejection. An admitted
    /// attempt is counted (metrics) under `name`.
    fn admit(&self, attempt: u32, name: &'static str) -> Self::Slot;
    /// Whether the slot holds a permit.
    fn admitted(slot: &Self::Slot) -> bool;
    /// The error of a rejected attempt.
    fn rejection(&self) -> Option<E>;
    /// After an attempt.
    fn report(&self, slot: Self::Slot, outcome: &Result<T, E>) -> bool;
    /// Before sleeping for a retry: whether to go on.
    fn may_retry(&self, delay: Duration) -> bool;
    /// A retry [`may_retry`](Self::may_retry) allowed will not be made (a
    /// signal stopped the call while it slept): its budget token goes back.
    fn retry_dropped(&self);
    /// Whether retries and give-ups are logged.
    fn logs(&self) -> bool;
    /// Whether attempts are timed for metrics.
    fn observes_time(&self) -> bool;
    /// An attempt ended after `took`.
    fn attempt_ended(&self, name: &'static str, took: Duration);
    /// The call succeeded.
    fn succeeded(&self, name: &'static str);
    /// A retry is about to sleep.
    fn retrying(&self, attempt: &Attempt<'_, T, E>);
    /// The call gives up.
    fn giving_up(&self, attempt: &Attempt<'_, T, E>);
    /// The call ends in a breaker's rejection.
    fn rejected(&self, attempt: &Attempt<'_, T, E>);
    /// The overall deadline, if any.
    fn deadline(&self) -> Option<Duration>;
    /// An async attempt cut at the limits.
    type Cut<Fut: Future<Output = Result<T, E>>, Z: Future<Output = ()>>: Future<Output = Result<T, E>>;
    /// Cuts an async attempt at the limits (see [`LimitSide::cut`]).
    fn cut<Fut: Future<Output = Result<T, E>>, Z: Future<Output = ()>>(
        &self,
        attempt: Fut,
        elapsed: impl FnOnce() -> Duration,
        timer: impl FnOnce(Duration) -> Z,
    ) -> Self::Cut<Fut, Z>;
}

impl<T, E, Br, Bu, Li, Ob> Guard<T, E> for Guards<Br, Bu, Li, Ob>
where
    Br: BreakerSide<T, E>,
    Bu: BudgetSide,
    Li: LimitSide<T, E>,
    Ob: ObserverSide<T, E>,
{
    #[inline(always)]
    fn logs(&self) -> bool {
        self.observer.is_on()
    }

    #[inline(always)]
    fn observes_time(&self) -> bool {
        self.observer.timed()
    }

    #[inline(always)]
    fn attempt_ended(&self, name: &'static str, took: Duration) {
        self.observer.attempt_took(name, took)
    }

    #[inline(always)]
    fn succeeded(&self, name: &'static str) {
        self.observer.succeeded(name)
    }

    #[inline]
    fn retrying(&self, attempt: &Attempt<'_, T, E>) {
        self.observer.retrying(attempt)
    }

    #[inline]
    fn giving_up(&self, attempt: &Attempt<'_, T, E>) {
        self.observer.giving_up(attempt)
    }

    #[inline]
    fn rejected(&self, attempt: &Attempt<'_, T, E>) {
        self.observer.rejected(attempt)
    }

    type Slot = Br::Slot;
    type Cut<Fut: Future<Output = Result<T, E>>, Z: Future<Output = ()>> = Li::Cut<Fut, Z>;

    #[inline(always)]
    fn deadline(&self) -> Option<Duration> {
        self.limit.deadline()
    }

    #[inline(always)]
    fn cut<Fut: Future<Output = Result<T, E>>, Z: Future<Output = ()>>(
        &self,
        attempt: Fut,
        elapsed: impl FnOnce() -> Duration,
        timer: impl FnOnce(Duration) -> Z,
    ) -> Li::Cut<Fut, Z> {
        self.limit.cut(attempt, elapsed, timer)
    }
    type Attempt<Fut> = Br::Attempt<Fut>;
    type Gated<Fut: Future<Output = Result<T, E>>> = Br::Gated<Fut>;

    #[inline(always)]
    fn gate<Fut: Future<Output = Result<T, E>>>(
        &self,
        admitted: bool,
        make: impl FnOnce() -> Fut,
    ) -> Br::Gated<Fut> {
        self.breaker.gate(admitted, make)
    }

    #[inline(always)]
    fn wrap<Fut>(&self, attempt: Fut, admitted: bool) -> Br::Attempt<Fut> {
        self.breaker.wrap(attempt, admitted)
    }

    #[inline(always)]
    fn admit(&self, attempt: u32, name: &'static str) -> Br::Slot {
        let slot = self.breaker.admit();
        if Br::admitted(&slot) {
            self.observer.attempt(name);
        }
        match (attempt, Br::admitted(&slot)) {
            (1, true) => self.budget.deposit(),
            // A retry the breaker rejects all the same (another caller took the
            // probe slot) was not made: the token it took goes back.
            (2.., false) => self.budget.refund(),
            _ => {}
        }
        slot
    }

    #[inline(always)]
    fn idle() -> Br::Slot {
        Br::idle()
    }

    #[inline(always)]
    fn admitted(slot: &Br::Slot) -> bool {
        Br::admitted(slot)
    }

    #[inline(always)]
    fn rejection(&self) -> Option<E> {
        self.breaker.rejection()
    }

    #[inline(always)]
    fn report(&self, slot: Br::Slot, outcome: &Result<T, E>) -> bool {
        self.breaker.report(slot, outcome)
    }

    #[inline(always)]
    fn may_retry(&self, delay: Duration) -> bool {
        // The budget last: a retry the breaker would refuse takes no token.
        self.breaker.may_admit_after(delay) && self.budget.withdraw()
    }

    #[inline]
    fn retry_dropped(&self) {
        self.budget.refund();
    }
}

pin_project_lite::pin_project! {
    /// An attempt's future behind a breaker's admission: the attempt, or the
    /// rejection, yielded at once (a rejected attempt is never made).
    #[doc(hidden)]
    #[derive(Debug)]
    #[project = AdmittedProj]
    pub enum Admitted<Fut, E> {
        /// Admitted: the attempt runs.
        Running { #[pin] attempt: Fut },
        /// Rejected: the error of a rejection.
        Rejected { rejection: fn() -> E },
    }
}

impl<T, E, Fut: Future<Output = Result<T, E>>> Future for Admitted<Fut, E> {
    type Output = Result<T, E>;

    #[inline]
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        match self.project() {
            AdmittedProj::Running { attempt } => attempt.poll(cx),
            AdmittedProj::Rejected { rejection } => Poll::Ready(Err(rejection())),
        }
    }
}
