//! Items the attribute macros expand to. Not public API: reached only through
//! `retry::__private`, and may change in any release.

use core::convert::Infallible;
use core::time::Duration;

pub use crate::attempt::InAttempt;
pub use crate::retrying::{Driver, Next};
use crate::sleep::{AsyncSleeper, Sleeper};
use crate::transient::Transient;

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

/// `CloneArg::clone_arg`, as a function so the error points at the argument.
#[inline(always)]
pub fn clone_arg<T: CloneArg>(value: &T) -> T {
    value.clone_arg()
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
