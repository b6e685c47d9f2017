//! Per-attempt time limits (`timeout`) and an overall `deadline`.
//!
//! A timed-out attempt is a failure like any other, with the error
//! `E::from(TimedOut)`: the conditions decide whether it is retried, and the
//! caller gets it if it is the last one. The timer is the call's own async sleeper,
//! so any runtime works and `tokio::time::pause()` makes timeouts virtual.

use core::fmt;
use core::future::Future;
use core::pin::Pin;
use core::task::{Context, Poll};

/// The error of an attempt cut by `timeout` or `deadline`; the fn's error type
/// must convert from it (`impl From<TimedOut> for MyError`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct TimedOut;

impl fmt::Display for TimedOut {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("the attempt timed out")
    }
}

impl std::error::Error for TimedOut {}

impl From<TimedOut> for std::io::Error {
    fn from(_: TimedOut) -> Self {
        std::io::Error::new(std::io::ErrorKind::TimedOut, TimedOut)
    }
}

/// An error type that can stand for a timed-out attempt.
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot represent a timed-out attempt, which `timeout` and `deadline` produce",
    label = "the fn's error type must implement `From<retry::TimedOut>`",
    note = "add `impl From<retry::TimedOut> for {Self}`, e.g. mapping it to a `Timeout` variant"
)]
#[doc(hidden)]
pub trait FromTimedOut {
    /// The error for a cut attempt.
    fn timed_out() -> Self;
}

impl<E: From<TimedOut>> FromTimedOut for E {
    #[inline]
    fn timed_out() -> Self {
        E::from(TimedOut)
    }
}

pin_project_lite::pin_project! {
    /// An attempt raced against a timer: `Err(E::from(TimedOut))` if the timer wins.
    #[doc(hidden)]
    #[derive(Debug)]
    pub struct Limited<F, Z, O> {
        #[pin]
        inner: F,
        #[pin]
        timer: Option<Z>,
        timed_out: O,
    }
}

impl<F, Z, O> Limited<F, Z, O> {
    /// `inner`, cut with `timed_out`'s error when `timer` (if any) completes.
    #[inline]
    pub fn new(inner: F, timer: Option<Z>, timed_out: O) -> Self {
        Limited { inner, timer, timed_out }
    }
}

/// Makes the error of a cut attempt.
#[doc(hidden)]
pub trait TimedOutError<E> {
    /// The error.
    fn timed_out(&self) -> E;
}

/// `E::from(TimedOut)`, known from the type (zero-sized).
#[doc(hidden)]
#[derive(Clone, Copy, Debug, Default)]
pub struct ViaFrom;

impl<E: FromTimedOut> TimedOutError<E> for ViaFrom {
    #[inline]
    fn timed_out(&self) -> E {
        E::timed_out()
    }
}

impl<E> TimedOutError<E> for fn() -> E {
    #[inline]
    fn timed_out(&self) -> E {
        self()
    }
}

impl<T, E, F, Z, O> Future for Limited<F, Z, O>
where
    F: Future<Output = Result<T, E>>,
    Z: Future<Output = ()>,
    O: TimedOutError<E>,
{
    type Output = Result<T, E>;

    #[inline]
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.project();
        if let Poll::Ready(outcome) = this.inner.poll(cx) {
            return Poll::Ready(outcome);
        }
        match this.timer.as_pin_mut() {
            Some(timer) => timer.poll(cx).map(|()| Err(this.timed_out.timed_out())),
            None => Poll::Pending,
        }
    }
}
