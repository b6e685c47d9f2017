//! The state of a retried call, as hooks see it, and [`attempt()`](crate::attempt()).

use core::cell::Cell;
use core::future::Future;
use core::pin::Pin;
use core::task::{Context, Poll};
use core::time::Duration;

/// One attempt of a retried call, as hooks see it.
///
/// `before` hooks see no outcome yet; `after`, `before_sleep`, `on_success` and
/// `on_giveup` see the attempt's result. `next_sleep` is known only in `before_sleep`.
#[derive(Debug)]
pub struct Attempt<'a, T, E> {
    pub(crate) number: u32,
    pub(crate) elapsed: Duration,
    pub(crate) idle_for: Duration,
    pub(crate) next_sleep: Option<Duration>,
    pub(crate) outcome: Option<&'a Result<T, E>>,
    pub(crate) name: &'static str,
}

impl<'a, T, E> Attempt<'a, T, E> {
    /// The attempt's number, 1-based.
    pub const fn attempt(&self) -> u32 {
        self.number
    }

    /// Time since the first attempt started (measured when the hook runs).
    pub const fn elapsed(&self) -> Duration {
        self.elapsed
    }

    /// Total time slept so far in this call.
    pub const fn idle_for(&self) -> Duration {
        self.idle_for
    }

    /// The sleep about to happen (`before_sleep` only).
    pub const fn next_sleep(&self) -> Option<Duration> {
        self.next_sleep
    }

    /// The attempt's result, once it has one.
    pub const fn outcome(&self) -> Option<&'a Result<T, E>> {
        self.outcome
    }

    /// The error, if the attempt failed.
    pub fn error(&self) -> Option<&'a E> {
        self.outcome.and_then(|r| r.as_ref().err())
    }

    /// The value, if the attempt returned `Ok`.
    pub fn value(&self) -> Option<&'a T> {
        self.outcome.and_then(|r| r.as_ref().ok())
    }

    /// The call's label (`name = ".."`, or the fn's path under `#[retry]`).
    pub const fn name(&self) -> &'static str {
        self.name
    }
}

thread_local! {
    static CURRENT: Cell<u32> = const { Cell::new(0) };
}

/// The number (1-based) of the attempt running on this thread, or `None` outside a
/// retried call.
///
/// Works in sync and async code on any runtime: the executor sets it around each
/// call of the operation and each poll of its future, and puts back the previous
/// value afterwards, so nested retried calls and many calls interleaved on one thread
/// each see their own number.
///
/// ```
/// use retry::{Retrying, dsl::*};
///
/// let mut seen = Vec::new();
/// let out: Result<(), ()> = Retrying::new().stop(attempts(3)).wait(none()).call(|| {
///     seen.push(retry::attempt());
///     Err(())
/// });
/// assert!(out.is_err());
/// assert_eq!(seen, [Some(1), Some(2), Some(3)]);
/// assert_eq!(retry::attempt(), None);
/// ```
pub fn attempt() -> Option<u32> {
    match CURRENT.get() {
        0 => None,
        n => Some(n),
    }
}

/// Marks attempt `number` as current until dropped (panic-safe).
pub(crate) struct Current {
    previous: u32,
}

impl Current {
    #[inline]
    pub(crate) fn enter(number: u32) -> Current {
        Current { previous: CURRENT.with(|current| current.replace(number)) }
    }
}

impl Drop for Current {
    #[inline]
    fn drop(&mut self) {
        CURRENT.with(|current| current.set(self.previous));
    }
}

pin_project_lite::pin_project! {
    /// An attempt's future, with [`attempt()`] set while it is polled.
    #[doc(hidden)]
    #[derive(Debug)]
    pub struct InAttempt<F> {
        number: u32,
        #[pin]
        inner: F,
    }
}

impl<F> InAttempt<F> {
    /// Marks `inner` as attempt `number`.
    #[inline]
    pub fn new(number: u32, inner: F) -> Self {
        InAttempt { number, inner }
    }
}

impl<F: Future> Future for InAttempt<F> {
    type Output = F::Output;

    #[inline]
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<F::Output> {
        let this = self.project();
        let _current = Current::enter(*this.number);
        this.inner.poll(cx)
    }
}
