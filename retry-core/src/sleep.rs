//! Sleepers: how the executor waits between attempts.
//!
//! Sync calls sleep with any `FnMut(Duration)` (default: [`std::thread::sleep`]);
//! async calls with any `Fn(Duration) -> impl Future<Output = ()>` (default, with the
//! `tokio` feature: [`tokio::time::sleep`], so `tokio::time::pause()` makes retrying
//! tests instant). A zero delay never reaches the sleeper.
//!
//! Another runtime plugs in with one closure:
//!
//! ```
//! use retry::{Retrying, dsl::*};
//! use std::time::Duration;
//!
//! // Any executor works; here, `futures`' with a sleeper that does not sleep.
//! let out = futures::executor::block_on(
//!     Retrying::new()
//!         .wait(fixed(1))
//!         .sleep(|_d: Duration| async {})
//!         .call_async(|| async { Err::<(), _>("boom") }),
//! );
//! assert_eq!(out, Err("boom"));
//! ```

use core::future::Future;
use core::time::Duration;

/// Blocks the thread for a delay (sync calls).
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot sleep in a sync retried call",
    label = "expected `FnMut(Duration)`",
    note = "a sync sleeper is `|delay: Duration| std::thread::sleep(delay)` or similar"
)]
pub trait Sleeper {
    /// Sleeps for `delay`.
    fn sleep(&mut self, delay: Duration);
}

/// Makes a future that completes after a delay (async calls).
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot sleep in an async retried call",
    label = "expected `Fn(Duration) -> impl Future<Output = ()>`",
    note = "enable retry's `tokio` feature, or pass your runtime's timer: `.sleep(|d| my_runtime::sleep(d))` (in the attribute: `sleep = ..`)"
)]
pub trait AsyncSleeper {
    /// The sleep future.
    type Sleep: Future<Output = ()>;
    /// Starts sleeping for `delay`.
    fn sleep(&self, delay: Duration) -> Self::Sleep;
}

/// `std::thread::sleep` in sync calls; `tokio::time::sleep` in async calls (with the
/// `tokio` feature).
#[derive(Clone, Copy, Debug, Default)]
pub struct DefaultSleeper;

impl Sleeper for DefaultSleeper {
    #[inline]
    fn sleep(&mut self, delay: Duration) {
        std::thread::sleep(delay)
    }
}

/// tokio's timer, kept out of line.
///
/// A `tokio::time::Sleep` is over 100 bytes; stored inline it would make every
/// retried future that much larger, retried or not (futures are as large as their
/// largest state, and nest). Boxing it costs one small allocation per *sleep*,
/// beside the timer registration itself, and none on the success path or on
/// zero-delay retries. Pass `sleep = |d| tokio::time::sleep(d)` to keep it inline.
#[cfg(feature = "tokio")]
#[cfg_attr(docsrs, doc(cfg(feature = "tokio")))]
impl AsyncSleeper for DefaultSleeper {
    type Sleep = TokioSleep;
    #[inline]
    fn sleep(&self, delay: Duration) -> Self::Sleep {
        TokioSleep::new(delay)
    }
}

/// The sleep of the [`DefaultSleeper`]: a boxed `tokio::time::Sleep`, behind a
/// `dyn` pointer.
///
/// Its drop is then one indirect call, so the drop of a retried future that can
/// hold it stays small enough to inline where the future is dropped (with
/// tokio's drop inlined into it, it was a call of its own on every retried
/// call, sleep or not). The indirect call on `poll` is paid only while sleeping.
#[cfg(feature = "tokio")]
#[cfg_attr(docsrs, doc(cfg(feature = "tokio")))]
#[doc(hidden)]
pub struct TokioSleep(core::pin::Pin<Box<dyn Future<Output = ()> + Send + Sync>>);

#[cfg(feature = "tokio")]
#[cfg_attr(docsrs, doc(cfg(feature = "tokio")))]
impl TokioSleep {
    fn new(delay: Duration) -> Self {
        TokioSleep(Box::pin(tokio::time::sleep(delay)))
    }
}

#[cfg(feature = "tokio")]
#[cfg_attr(docsrs, doc(cfg(feature = "tokio")))]
impl core::fmt::Debug for TokioSleep {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str("TokioSleep")
    }
}

#[cfg(feature = "tokio")]
#[cfg_attr(docsrs, doc(cfg(feature = "tokio")))]
impl Future for TokioSleep {
    type Output = ();
    #[inline]
    fn poll(mut self: core::pin::Pin<&mut Self>, cx: &mut core::task::Context<'_>) -> core::task::Poll<()> {
        self.0.as_mut().poll(cx)
    }
}

/// async-io's timer, the one smol runs on (feature `smol`). It is the default
/// async sleeper when the `tokio` feature is off; with both, name it:
/// `sleep = retry::sleep::SmolSleeper` (or `.sleep(SmolSleeper)`).
#[cfg(feature = "smol")]
#[cfg_attr(docsrs, doc(cfg(feature = "smol")))]
#[derive(Clone, Copy, Debug, Default)]
pub struct SmolSleeper;

#[cfg(feature = "smol")]
#[cfg_attr(docsrs, doc(cfg(feature = "smol")))]
impl AsyncSleeper for SmolSleeper {
    type Sleep = SmolSleep;
    #[inline]
    fn sleep(&self, delay: Duration) -> SmolSleep {
        SmolSleep(async_io::Timer::after(delay))
    }
}

/// Without `tokio`, the default async sleeper is smol's timer.
#[cfg(all(feature = "smol", not(feature = "tokio")))]
#[cfg_attr(docsrs, doc(cfg(all(feature = "smol", not(feature = "tokio")))))]
impl AsyncSleeper for DefaultSleeper {
    type Sleep = SmolSleep;
    #[inline]
    fn sleep(&self, delay: Duration) -> SmolSleep {
        SmolSleeper.sleep(delay)
    }
}

/// The sleep of [`SmolSleeper`]: an `async_io::Timer`.
#[cfg(feature = "smol")]
#[cfg_attr(docsrs, doc(cfg(feature = "smol")))]
#[derive(Debug)]
#[doc(hidden)]
pub struct SmolSleep(async_io::Timer);

#[cfg(feature = "smol")]
#[cfg_attr(docsrs, doc(cfg(feature = "smol")))]
impl Future for SmolSleep {
    type Output = ();
    #[inline]
    fn poll(mut self: core::pin::Pin<&mut Self>, cx: &mut core::task::Context<'_>) -> core::task::Poll<()> {
        core::pin::Pin::new(&mut self.0).poll(cx).map(drop)
    }
}

impl<F: FnMut(Duration)> Sleeper for F {
    #[inline]
    fn sleep(&mut self, delay: Duration) {
        self(delay)
    }
}

impl<F, Fut> AsyncSleeper for F
where
    F: Fn(Duration) -> Fut,
    Fut: Future<Output = ()>,
{
    type Sleep = Fut;
    #[inline]
    fn sleep(&self, delay: Duration) -> Fut {
        self(delay)
    }
}

/// Whether a sleep between attempts is skipped: a zero delay never reaches the
/// sleeper, and under `testing::record_sleeps` the delay is recorded instead.
#[inline]
pub(crate) fn skipped(delay: Duration) -> bool {
    crate::testing::intercept_sleep(delay) || delay.is_zero()
}

pin_project_lite::pin_project! {
    /// The sleep between two attempts, or none (a zero delay, or a sleep that
    /// `testing` records instead): one future to await either way, so that no
    /// `Option` around the sleep is kept in the caller's future across the await.
    #[doc(hidden)]
    #[derive(Debug)]
    pub struct MaybeSleep<S> {
        #[pin]
        sleep: Option<S>,
    }
}

impl<S> MaybeSleep<S> {
    /// `sleep`, or none.
    #[inline]
    pub(crate) fn new(sleep: Option<S>) -> Self {
        MaybeSleep { sleep }
    }
}

impl<S: Future<Output = ()>> Future for MaybeSleep<S> {
    type Output = ();
    #[inline]
    fn poll(self: core::pin::Pin<&mut Self>, cx: &mut core::task::Context<'_>) -> core::task::Poll<()> {
        match self.project().sleep.as_pin_mut() {
            Some(sleep) => sleep.poll(cx),
            None => core::task::Poll::Ready(()),
        }
    }
}

#[cfg(all(test, feature = "smol", not(feature = "tokio")))]
mod smol_tests {
    use std::time::{Duration, Instant};

    use crate::{Retrying, dsl::*};

    #[test]
    fn without_tokio_async_calls_sleep_on_smols_timer() {
        let start = Instant::now();
        let mut calls = 0;
        let outcome = async_io::block_on(
            Retrying::<u32, &str>::new().stop(attempts(3)).wait(fixed(Duration::from_millis(20))).call_async(
                async || {
                    calls += 1;
                    if calls < 3 { Err("busy") } else { Ok(calls) }
                },
            ),
        );
        assert_eq!(outcome, Ok(3));
        assert!(start.elapsed() >= Duration::from_millis(40), "{:?}", start.elapsed());
    }
}
