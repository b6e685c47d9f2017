//! Items the attribute macros expand to. Not public API: reached only through
//! `retry::__private`, and may change in any release.

use core::convert::Infallible;
use core::time::Duration;

pub use core;

// What the expansions name besides the items below, so that `__private` is this
// module and nothing else.
pub use crate::condition;
pub use crate::dsl;
pub use crate::stop;
pub use crate::{Hedging, Latencies};

pub use crate::attempt::{Ident, InAttempt};
use crate::condition::{Conditions, Filter, Matcher, Nothing};
use crate::guard::{Guard, SyncGuards};
pub use crate::retrying::Step;
use crate::retrying::{Call, DEFAULT_STOP, DEFAULT_WAIT, Retrying};
use crate::sleep::{AsyncSleeper, Sleeper};
use crate::stop::{Attempts, Stop};
use crate::transient::Transient;
use crate::wait::{AnyWait, RandomExpo};

/// Gives each attempt its own copy of an argument the fn takes by value.
#[diagnostic::on_unimplemented(
    message = "`#[retry]` hands every attempt its own copy of each by-value argument, but `{Self}` is not `Clone`",
    label = "this argument is taken by value, and `{Self}` is not `Clone`",
    note = "take the argument by reference (`&{Self}`), or implement `Clone` for `{Self}`"
)]
pub trait CloneArg: Sized {
    /// A copy for one attempt.
    fn clone_arg(&self) -> Self;
}

impl<T: Clone> CloneArg for T {
    #[inline(always)]
    fn clone_arg(&self) -> Self {
        self.clone()
    }
}

/// The policy of a `#[retry]` fn, named, with its stop and wait (as
/// [`stop_policy`] and [`wait_policy`] checked them, or [`default_stop`] and
/// [`default_wait`]); its other keys are set on the result. One call, not a chain
/// of setters: rustc checks each setter with the whole policy's type, which for
/// many fns is a large share of their check.
#[inline(always)]
pub fn policy<T, E, S, W>(name: &'static str, stop: S, wait: W) -> Retrying<T, E, S, W> {
    Retrying::from_parts(Some(name), stop, wait, Conditions::new())
}

/// [`policy`], retrying the errors `when` matches (`on = [..]`, or `when = ..`).
#[inline(always)]
pub fn policy_when<T, E, S, W, P>(
    name: &'static str,
    stop: S,
    wait: W,
    when: P,
) -> Retrying<T, E, S, W, Conditions<Filter<P>>> {
    Retrying::from_parts(Some(name), stop, wait, Conditions::none().when(when))
}

/// [`policy`], retrying the errors `matcher` matches (`on = [..]` on a sync fn,
/// as a `fn` pointer: see [`Matcher`]).
#[inline(always)]
pub fn policy_matching<T, E, S, W>(
    name: &'static str,
    stop: S,
    wait: W,
    matcher: fn(&E) -> bool,
) -> Retrying<T, E, S, W, Conditions<Matcher<E>>> {
    Retrying::from_parts(Some(name), stop, wait, Conditions::none().replace_when(Matcher(matcher)))
}

/// [`policy`] for `#[retry_if_result]`: no error retried until told which
/// ([`Retrying::polling`]).
#[inline(always)]
pub fn polling_policy<T, E, S, W>(
    name: &'static str,
    stop: S,
    wait: W,
) -> Retrying<T, E, S, W, Conditions<Nothing>> {
    Retrying::from_parts(Some(name), stop, wait, Conditions::none())
}

/// A `stop = ..` value, checked where it is written (an error on the call to
/// [`policy`] would point at the whole attribute).
#[inline(always)]
pub fn stop_policy<S: Stop>(stop: S) -> S {
    stop
}

/// A `wait = ..` value, checked where it is written.
#[inline(always)]
pub fn wait_policy<W: AnyWait>(wait: W) -> W {
    wait
}

/// A `stop = ..` or `wait = ..` value once [`stop_policy`] or [`wait_policy`]
/// checked it, for the policy: the value itself when it is right (the inherent
/// `stop`, `wait`); when it is not, the default ([`Reported`], reached through
/// `Deref`), so the policy built with it is not reported again (one error per
/// mistake). Method lookup tries the inherent methods first, whose bounds hold
/// only for right values, then those of the deref target: no trait needs to be
/// in scope, so the expansion imports nothing for it.
#[derive(Debug)]
pub struct Checked<V>(pub V);

impl<S: Stop> Checked<S> {
    /// The stop policy.
    #[inline(always)]
    pub fn stop(self) -> S {
        self.0
    }
}

impl<W: AnyWait> Checked<W> {
    /// The wait policy.
    #[inline(always)]
    pub fn wait(self) -> W {
        self.0
    }
}

/// What a [`Checked`] value that is wrong (already reported) stands in for.
#[derive(Debug)]
pub struct Reported;

impl Reported {
    /// The default stop policy, in place of a value already reported.
    #[inline(always)]
    pub fn stop(&self) -> Attempts {
        DEFAULT_STOP
    }

    /// The default wait policy, in place of a value already reported.
    #[inline(always)]
    pub fn wait(&self) -> RandomExpo {
        DEFAULT_WAIT
    }
}

impl<V> core::ops::Deref for Checked<V> {
    type Target = Reported;

    #[inline(always)]
    fn deref(&self) -> &Reported {
        &Reported
    }
}

/// An `on = ..` or `when = ..` predicate over the errors of type `E`, checked
/// (and, for a closure, typed) where it is written.
#[inline(always)]
pub fn error_predicate<E, P: Fn(&E) -> bool>(predicate: P) -> P {
    predicate
}

/// Never called. `if false { return output::<R>(); }` at the top of an attempt's
/// `async` block gives the block its output type `R` before its body is checked:
/// rustc infers an `async` block's output from its first `return` or its tail, so
/// without it `Ok(Box::new(x))` stays `Result<Box<X>, _>` instead of coercing to
/// the fn's `Result<Box<dyn Trait>, E>`.
#[inline(always)]
pub fn output<R>() -> R {
    unreachable!("the attempt's output type is only named, never made")
}

/// A closure value (`when`, `unless`, `if_result`, `retry_after`, a hook) of a fn
/// whose `T` and `E` are known, once a check fn ([`error_predicate`],
/// [`value_predicate`], [`delay_hint`], [`hook`]) typed and checked it: the
/// value itself when it is right (`Right*`), a no-op of the right type when it
/// is not (`Wrong*`), so the policy built with it is not reported again (as
/// [`Checked`]).
pub struct Typed<V, T, E>(V, core::marker::PhantomData<fn() -> (T, E)>);

impl<V, T, E> core::fmt::Debug for Typed<V, T, E> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str("Typed")
    }
}

impl<V, T, E> Typed<V, T, E> {
    /// Wraps a checked value.
    #[inline(always)]
    pub fn new(value: V) -> Self {
        Typed(value, core::marker::PhantomData)
    }
}

/// See [`Typed`].
pub trait RightErrorPredicate<P> {
    /// The predicate.
    fn error_predicate(self) -> P;
}

impl<T, E, P: Fn(&E) -> bool> RightErrorPredicate<P> for Typed<P, T, E> {
    #[inline(always)]
    fn error_predicate(self) -> P {
        self.0
    }
}

/// See [`Typed`].
pub trait WrongErrorPredicate<E> {
    /// A predicate that holds for no error, in place of one already reported.
    fn error_predicate(self) -> fn(&E) -> bool;
}

impl<V, T, E> WrongErrorPredicate<E> for &Typed<V, T, E> {
    #[inline(always)]
    fn error_predicate(self) -> fn(&E) -> bool {
        |_| false
    }
}

/// See [`Typed`].
pub trait RightValuePredicate<P> {
    /// The predicate.
    fn value_predicate(self) -> P;
}

impl<T, E, P: Fn(&T) -> bool> RightValuePredicate<P> for Typed<P, T, E> {
    #[inline(always)]
    fn value_predicate(self) -> P {
        self.0
    }
}

/// See [`Typed`].
pub trait WrongValuePredicate<T> {
    /// A predicate that holds for no value, in place of one already reported.
    fn value_predicate(self) -> fn(&T) -> bool;
}

impl<V, T, E> WrongValuePredicate<T> for &Typed<V, T, E> {
    #[inline(always)]
    fn value_predicate(self) -> fn(&T) -> bool {
        |_| false
    }
}

/// See [`Typed`].
pub trait RightDelayHint<P> {
    /// The hint.
    fn delay_hint(self) -> P;
}

impl<T, E, P: Fn(&E) -> Option<Duration>> RightDelayHint<P> for Typed<P, T, E> {
    #[inline(always)]
    fn delay_hint(self) -> P {
        self.0
    }
}

/// See [`Typed`].
pub trait WrongDelayHint<E> {
    /// A hint that asks for no delay, in place of one already reported.
    fn delay_hint(self) -> fn(&E) -> Option<Duration>;
}

impl<V, T, E> WrongDelayHint<E> for &Typed<V, T, E> {
    #[inline(always)]
    fn delay_hint(self) -> fn(&E) -> Option<Duration> {
        |_| None
    }
}

/// See [`Typed`].
pub trait RightHook<P> {
    /// The hook.
    fn hook(self) -> P;
}

impl<T, E, P: FnMut(&crate::attempt::Attempt<'_, T, E>)> RightHook<P> for Typed<P, T, E> {
    #[inline(always)]
    fn hook(self) -> P {
        self.0
    }
}

/// See [`Typed`].
pub trait WrongHook<T, E> {
    /// A hook that does nothing, in place of one already reported.
    fn hook(self) -> fn(&crate::attempt::Attempt<'_, T, E>);
}

impl<V, T, E> WrongHook<T, E> for &Typed<V, T, E> {
    #[inline(always)]
    fn hook(self) -> fn(&crate::attempt::Attempt<'_, T, E>) {
        |_| {}
    }
}

/// An `if_result = ..` predicate over the values of type `T`, checked (and, for a
/// closure, typed) where it is written.
#[inline(always)]
pub fn value_predicate<T, P: Fn(&T) -> bool>(predicate: P) -> P {
    predicate
}

/// A `retry_after = ..` hint over the errors of type `E`, checked (and typed)
/// where it is written.
#[inline(always)]
pub fn delay_hint<E, P: Fn(&E) -> Option<Duration>>(hint: P) -> P {
    hint
}

/// A hook (`before = ..`, `after = ..`, ...) of a call with values `T` and
/// errors `E`, checked (and typed) where it is written.
#[inline(always)]
pub fn hook<T, E, P: FnMut(&crate::attempt::Attempt<'_, T, E>)>(hook: P) -> P {
    hook
}

/// The stop policy of a `#[retry]` fn without `stop`: `attempts(3)`.
#[inline(always)]
pub const fn default_stop() -> Attempts {
    DEFAULT_STOP
}

/// The wait policy of a `#[retry]` fn without `wait`: `random_expo(100ms).max(10s)`.
#[inline(always)]
pub const fn default_wait() -> RandomExpo {
    DEFAULT_WAIT
}

/// `CloneArg::clone_arg`, as a function so the error points at the argument.
#[inline(always)]
pub fn clone_arg<T: CloneArg>(value: &T) -> T {
    value.clone_arg()
}

/// Gives each attempt its own copy of a by-value argument whose type does not
/// say `Clone` (`impl Conn`, `T: Conn`) and that the body moves: it may be
/// `Clone` through a trait (`trait Conn: Clone`), which only the type checker sees.
#[diagnostic::on_unimplemented(
    message = "the body moves this argument, so `#[retry]` hands every attempt its own copy, but `{Self}` is not `Clone`",
    label = "moved by the body, and not `Clone`",
    note = "add `Clone` to its bounds (`impl Trait + Clone`, `T: Trait + Clone`, or `trait Trait: Clone`), or take it by reference and borrow it in the body"
)]
pub trait CloneMoved: Sized {
    /// A copy for one attempt.
    fn clone_moved(&self) -> Self;
}

impl<T: Clone> CloneMoved for T {
    #[inline(always)]
    fn clone_moved(&self) -> Self {
        self.clone()
    }
}

/// `CloneMoved::clone_moved`, as a function so the error points at the argument.
#[inline(always)]
pub fn clone_moved<T: CloneMoved>(value: &T) -> T {
    value.clone_moved()
}

/// [`clone_moved`] through a unique borrow (see [`clone_arg_mut`]).
#[inline(always)]
pub fn clone_moved_mut<T: CloneMoved>(value: &mut T) -> T {
    value.clone_moved()
}

/// Gives each attempt its own `self`, for a method taking `self` by value
/// (`self`, `self: Box<Self>`, ...): [`CloneArg`], with a message about `self`.
#[diagnostic::on_unimplemented(
    message = "`#[retry]` hands every attempt its own `self`, but `{Self}` is not `Clone`",
    label = "`self` is taken by value, and `{Self}` is not `Clone`",
    note = "take `&self` (or `&mut self`), or implement `Clone` for `{Self}`"
)]
pub trait CloneSelf: Sized {
    /// A copy for one attempt.
    fn clone_self(&self) -> Self;
}

impl<T: Clone> CloneSelf for T {
    #[inline(always)]
    fn clone_self(&self) -> Self {
        self.clone()
    }
}

/// `CloneSelf::clone_self`, as a function so the error points at `self`.
#[inline(always)]
pub fn clone_self<T: CloneSelf>(value: &T) -> T {
    value.clone_self()
}

/// Gives each hedged copy of a call its own copy of an argument the fn takes by
/// value (`#[hedge]`'s [`CloneArg`], with its own message).
#[diagnostic::on_unimplemented(
    message = "`#[hedge]` hands every hedged copy of the call its own copy of each by-value argument, but `{Self}` is not `Clone`",
    label = "this argument is taken by value, and `{Self}` is not `Clone`",
    note = "take the argument by reference (`&{Self}`), or implement `Clone` for `{Self}`"
)]
pub trait CloneCopy: Sized {
    /// A copy for one hedged copy of the call.
    fn clone_copy(&self) -> Self;
}

impl<T: Clone> CloneCopy for T {
    #[inline(always)]
    fn clone_copy(&self) -> Self {
        self.clone()
    }
}

/// `CloneCopy::clone_copy`, as a function so the error points at the argument.
#[inline(always)]
pub fn clone_copy<T: CloneCopy>(value: &T) -> T {
    value.clone_copy()
}

/// [`clone_arg`] through a unique borrow: an async attempt's block that clones
/// an argument this way holds `&mut T` across its awaits, which is `Send` when
/// `T` is, where `&T` would need `T: Sync`.
#[inline(always)]
pub fn clone_arg_mut<T: CloneArg>(value: &mut T) -> T {
    value.clone_arg()
}

/// A `Result`, whatever it is named: what `#[retry]` checks a fn's return type
/// against when the tokens cannot tell (an alias such as `type Fallible<T> =
/// Result<T, E>`, or a type that only looks like one).
#[diagnostic::on_unimplemented(
    message = "#[retry] retries errors, but `{Self}` is not a `Result`",
    label = "not a `Result`",
    note = "to retry on the value, add `if_result = |v| ..` or use `#[retry_if_result(|v| ..)]`"
)]
pub trait IsResult {}

impl<T, E> IsResult for Result<T, E> {}

/// Checks that a fn's return type is a `Result` (see [`IsResult`]).
#[inline(always)]
pub fn returns_result<R: IsResult>() {}

/// What a sync fn's return type is, told apart by trait at the fn (autoref
/// specialization: [`ProbeFuture`] applies to `Probe<R>` only when `R` is a
/// future, [`ProbeOther`] to `&Probe<R>` always, and method lookup tries the first
/// first): `(&Probe::<R>::new()).kind()` is `AFuture` or `NotAFuture`.
#[derive(Debug)]
pub struct Probe<R>(core::marker::PhantomData<R>);

impl<R> Probe<R> {
    /// A probe of `R`.
    #[inline(always)]
    #[allow(clippy::new_without_default)]
    pub const fn new() -> Self {
        Probe(core::marker::PhantomData)
    }
}

/// See [`Probe`].
#[derive(Debug)]
pub struct AFuture;

/// See [`Probe`].
#[derive(Debug)]
pub struct NotAFuture;

/// See [`Probe`].
pub trait ProbeFuture {
    /// `AFuture`.
    #[inline(always)]
    fn kind(&self) -> AFuture {
        AFuture
    }
}

impl<R: core::future::Future> ProbeFuture for Probe<R> {}

/// See [`Probe`].
pub trait ProbeOther {
    /// `NotAFuture`.
    #[inline(always)]
    fn kind(&self) -> NotAFuture {
        NotAFuture
    }
}

impl<R> ProbeOther for &Probe<R> {}

/// [`Probe`] for `Result`s: `(&Probe::<R>::new()).outcome()` is `AResult` when `R`
/// is a `Result` (an alias of one included), `NotAResult` otherwise.
pub trait ProbeResult {
    /// `AResult`.
    #[inline(always)]
    fn outcome(&self) -> AResult {
        AResult
    }
}

impl<R: IsResult> ProbeResult for Probe<R> {}

/// See [`ProbeResult`].
pub trait ProbeValue {
    /// `NotAResult`.
    #[inline(always)]
    fn outcome(&self) -> NotAResult {
        NotAResult
    }
}

impl<R> ProbeValue for &Probe<R> {}

/// A return type that is a `Result` (see [`ProbeResult`]).
#[derive(Clone, Copy, Debug)]
pub struct AResult;

/// A return type that is not a `Result` (see [`ProbeResult`]): the fn is then
/// reported as such, and its expansion still type-checks as a fn returning a
/// value, so that report is the only one.
#[derive(Clone, Copy, Debug)]
pub struct NotAResult;

/// How the executor's `Result<T, E>` is made from a return type taken for a
/// `Result` alias, and back: as it is for a `Result`; as `Ok(value)` for
/// anything else (which is reported).
pub trait Outcome<R> {
    /// `T`.
    type Ok;
    /// `E`.
    type Err;
    /// The executor's outcome of an attempt's value.
    fn split(value: R) -> Result<Self::Ok, Self::Err>;
    /// The fn's value of the call's outcome.
    fn join(outcome: Result<Self::Ok, Self::Err>) -> R;
}

impl<T, E> Outcome<Result<T, E>> for AResult {
    type Ok = T;
    type Err = E;
    #[inline(always)]
    fn split(value: Result<T, E>) -> Result<T, E> {
        value
    }
    #[inline(always)]
    fn join(outcome: Result<T, E>) -> Result<T, E> {
        outcome
    }
}

impl<R> Outcome<R> for NotAResult {
    type Ok = R;
    type Err = Infallible;
    #[inline(always)]
    fn split(value: R) -> Result<R, Infallible> {
        Ok(value)
    }
    #[inline(always)]
    fn join(outcome: Result<R, Infallible>) -> R {
        into_value(outcome)
    }
}

/// [`Outcome::split`], the kind given as a value.
#[inline(always)]
pub fn split<K: Outcome<R>, R>(_: K, value: R) -> Result<K::Ok, K::Err> {
    K::split(value)
}

/// [`Outcome::join`], the kind given as a value.
#[inline(always)]
pub fn join<K: Outcome<R>, R>(_: K, outcome: Result<K::Ok, K::Err>) -> R {
    K::join(outcome)
}

pin_project_lite::pin_project! {
    /// An async attempt whose output is [`split`].
    #[derive(Debug)]
    pub struct Split<K, F> {
        kind: core::marker::PhantomData<K>,
        #[pin]
        inner: F,
    }
}

impl<K: Outcome<F::Output>, F: core::future::Future> core::future::Future for Split<K, F> {
    type Output = Result<K::Ok, K::Err>;

    #[inline(always)]
    fn poll(
        self: core::pin::Pin<&mut Self>,
        cx: &mut core::task::Context<'_>,
    ) -> core::task::Poll<Self::Output> {
        let this = self.project();
        this.inner.poll(cx).map(K::split)
    }
}

/// An async attempt whose output is [`split`].
#[inline(always)]
pub fn split_future<K, F>(_: K, inner: F) -> Split<K, F> {
    Split { kind: core::marker::PhantomData, inner }
}

/// A sync fn's return type that is not a future.
#[diagnostic::on_unimplemented(
    message = "#[retry] on a fn that returns a future would retry creating the future, not running it: write it as an `async fn`",
    label = "this fn returns a future"
)]
pub trait NotFuture {}

impl NotFuture for NotAFuture {}

/// A return type taken for a `Result`: one (unless it is a future, reported as
/// such instead).
pub trait ResultUnlessFuture<R> {}

impl<R> ResultUnlessFuture<R> for AFuture {}

impl<R: IsResult> ResultUnlessFuture<R> for NotAFuture {}

/// Checks a sync fn's return type `R` taken for a `Result`: a future is reported
/// as one, anything else that is not a `Result` as that.
#[inline(always)]
pub fn sync_returns_result<R, K: NotFuture + ResultUnlessFuture<R>>(_: K) {}

/// [`Probe`] for `on = transient`'s retry-after hint: `(&Probe::<E>::new()).hint()`
/// is [`Transient::retry_after`] when `E` is `Transient`, and no hint otherwise,
/// so an error type that is not `Transient` is reported once, by the condition.
pub trait TransientHint<E> {
    /// The hint.
    fn hint(&self) -> impl Fn(&E) -> Option<Duration> + Copy + use<Self, E>;
}

impl<E: Transient> TransientHint<E> for Probe<E> {
    #[inline(always)]
    fn hint(&self) -> impl Fn(&E) -> Option<Duration> + Copy + use<E> {
        transient_retry_after::<E>
    }
}

/// See [`TransientHint`].
pub trait NoHint<E> {
    /// No hint.
    fn hint(&self) -> impl Fn(&E) -> Option<Duration> + Copy + use<Self, E>;
}

impl<E> NoHint<E> for &Probe<E> {
    // The hint borrows nothing of the probe (a temporary).
    #[allow(refining_impl_trait)]
    #[inline(always)]
    fn hint(&self) -> impl Fn(&E) -> Option<Duration> + Copy + use<E> {
        |_: &E| None
    }
}

/// The retry-after hint of `on = transient`.
#[inline]
pub fn transient_retry_after<E: Transient + ?Sized>(error: &E) -> Option<Duration> {
    error.retry_after()
}

/// Adapts a `fallback = |value| ..` of a fn that returns a plain value (not a
/// `Result`) to the executor's `Result<T, Infallible>`.
#[inline]
pub fn value_fallback<T>(
    fallback: impl FnOnce(T) -> T,
) -> impl FnOnce(Result<T, Infallible>) -> Result<T, Infallible> {
    move |outcome| {
        let Ok(value) = outcome;
        Ok(fallback(value))
    }
}

/// The value of a call whose error type is `Infallible`.
#[inline(always)]
pub fn into_value<T>(outcome: Result<T, Infallible>) -> T {
    match outcome {
        Ok(value) => value,
        Err(never) => match never {},
    }
}

/// See [`Checked`]: a `sleep = ..` value of a sync fn.
pub trait RightSleeper<S> {
    /// The sleeper.
    fn sleeper(self) -> S;
}

impl<S: Sleeper> RightSleeper<S> for Checked<S> {
    #[inline(always)]
    fn sleeper(self) -> S {
        self.0
    }
}

/// See [`Checked`]: a `sleep = ..` value of an async fn.
pub trait RightAsyncSleeper<S> {
    /// The sleeper.
    fn async_sleeper(self) -> S;
}

impl<S: AsyncSleeper> RightAsyncSleeper<S> for Checked<S> {
    #[inline(always)]
    fn async_sleeper(self) -> S {
        self.0
    }
}

/// See [`Checked`].
pub trait WrongSleeper {
    /// The default sleeper, in place of a value already reported.
    fn sleeper(self) -> crate::sleep::DefaultSleeper;
    /// The default sleeper, in place of a value already reported.
    fn async_sleeper(self) -> crate::sleep::DefaultSleeper;
}

impl<S> WrongSleeper for &Checked<S> {
    #[inline(always)]
    fn sleeper(self) -> crate::sleep::DefaultSleeper {
        crate::sleep::DefaultSleeper
    }

    #[inline(always)]
    fn async_sleeper(self) -> crate::sleep::DefaultSleeper {
        crate::sleep::DefaultSleeper
    }
}

/// `sleep = ..` on a sync fn: checked where it is written.
#[inline(always)]
pub fn sync_sleeper<S: Sleeper>(sleeper: S) -> S {
    sleeper
}

/// `sleep = ..` on an async fn: checked where it is written.
#[inline(always)]
pub fn async_sleeper<S: AsyncSleeper>(sleeper: S) -> S {
    sleeper
}

/// A `timeout`/`deadline` value: a `Duration` or a number of seconds. An invalid
/// value (negative, NaN) reads as zero, like the policies' durations.
#[inline]
pub fn limit_duration(value: impl crate::IntoDuration) -> Duration {
    value.into_duration().unwrap_or(Duration::ZERO)
}

/// The default `name` of a `#[retry]`/`#[hedge]` fn: its path,
/// `concat!(module_path!(), "::", "fn_name")`, expanded at the fn.
///
/// The attribute emits this short call rather than the tokens it stands for:
/// tokens an unoptimized proc macro builds cost far more compile time than the
/// same tokens expanded by `macro_rules!`.
#[doc(hidden)]
#[macro_export]
macro_rules! __retry_fn_path {
    ($name:literal) => {
        ::core::concat!(::core::module_path!(), "::", $name)
    };
}

/// The default `name` of a method (a fn with `self`, or whose signature names
/// `Self`): `type_name::<Self>()::method`, e.g. `pg_demo::Db::count_rows`. One
/// `static` per method holds it; it is made (and leaked: a few bytes, once per
/// type and method for the program's life) on the method's first call, and read
/// with one atomic load after that.
#[derive(Debug)]
pub struct MethodName {
    first: std::sync::OnceLock<(&'static str, &'static str)>,
}

impl MethodName {
    /// An empty cache, for a `static`.
    #[allow(clippy::new_without_default)]
    pub const fn new() -> Self {
        MethodName { first: std::sync::OnceLock::new() }
    }

    /// The name of `method` of the type `S`.
    #[inline]
    pub fn of<S: ?Sized>(&'static self, method: &'static str) -> &'static str {
        let ty = core::any::type_name::<S>();
        let &(cached_ty, name) = self.first.get_or_init(|| (ty, method_path(ty, method)));
        // One `static` per method, but a generic impl or a trait's default
        // method runs it for several types: the others go through a map.
        // (The same type's name is usually the same `static`: one compare.)
        if core::ptr::eq(cached_ty, ty) || cached_ty == ty { name } else { other_type(ty, method) }
    }
}

fn method_path(ty: &str, method: &str) -> &'static str {
    Box::leak(format!("{ty}::{method}").into_boxed_str())
}

#[cold]
fn other_type(ty: &'static str, method: &'static str) -> &'static str {
    use std::collections::HashMap;
    use std::sync::{Mutex, PoisonError};
    static NAMES: Mutex<Option<HashMap<(&'static str, &'static str), &'static str>>> = Mutex::new(None);
    let mut names = NAMES.lock().unwrap_or_else(PoisonError::into_inner);
    names.get_or_insert_with(HashMap::new).entry((ty, method)).or_insert_with(|| method_path(ty, method))
}

/// A `#[retry]` fn's policy (`$policy`) with its events at a level (0 off … 5
/// error), showing the error type `E` by `Display` when it has it (autoref
/// specialization). Without the `tracing` and `metrics` features: the policy as
/// it is, with nothing more to type-check.
#[doc(hidden)]
#[macro_export]
#[cfg(any(feature = "tracing", feature = "metrics"))]
macro_rules! __retry_events {
    ($policy:expr, $level:literal, $err:ty, $ok:ty) => {
        $policy.observe_with($crate::observe::events(
            $crate::observe::At::<$level>,
            {
                #[allow(unused_imports)]
                use $crate::observe::{ViaDisplay as _, ViaNothing as _};
                (&&$crate::observe::Describer::<$err>::new()).show()
            },
            {
                #[allow(unused_imports)]
                use $crate::observe::{ViaDebug as _, ViaNoValue as _};
                (&&$crate::observe::Describer::<$ok>::new()).show_value()
            },
        ))
    };
    ($policy:expr, $level:literal, $err:ty) => {
        $policy.observe_with($crate::observe::events(
            $crate::observe::At::<$level>,
            {
                #[allow(unused_imports)]
                use $crate::observe::{ViaDisplay as _, ViaNothing as _};
                (&&$crate::observe::Describer::<$err>::new()).show()
            },
            $crate::observe::Unshown,
        ))
    };
    ($policy:expr, $level:literal) => {
        $policy.observe_with($crate::observe::events(
            $crate::observe::At::<$level>,
            $crate::observe::Unshown,
            $crate::observe::Unshown,
        ))
    };
}

/// A `#[retry]` fn's policy with its events: without the `tracing` and `metrics`
/// features, none (the policy as it is).
#[doc(hidden)]
#[macro_export]
#[cfg(not(any(feature = "tracing", feature = "metrics")))]
macro_rules! __retry_events {
    ($policy:expr, $level:literal $(, $ty:ty)*) => {
        $policy
    };
}

pub use crate::{__retry_events as events_of, __retry_fn_path as fn_path};

/// Starts the call of an `async fn` under `#[retry]`. (Only this step asks for
/// an async sleeper, so a wrong one is reported once.)
#[inline(always)]
pub fn start_async<T, E, S, W, C, H, F, Sl, K, G>(
    policy: Retrying<T, E, S, W, C, H, F, Sl, K, G>,
) -> Call<T, E, S, W, C, H, F, Sl, K, G>
where
    Sl: AsyncSleeper,
    G: Guard<T, E>,
{
    policy.start()
}

/// Starts the call of a sync fn under `#[retry]` (see [`start_async`]).
#[inline(always)]
pub fn start_sync<T, E, S, W, C, H, F, Sl, K, G>(
    policy: Retrying<T, E, S, W, C, H, F, Sl, K, G>,
) -> Call<T, E, S, W, C, H, F, Sl, K, G>
where
    Sl: Sleeper,
    G: Guard<T, E> + SyncGuards,
{
    policy.start()
}
