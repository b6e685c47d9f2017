//! Clocks: where elapsed time comes from.
//!
//! The executor reads the clock only when something needs it: a time-based stop
//! policy, a hook, or statistics. A call with `attempts(n)` and no hooks never reads it.

use std::time::Instant;

/// A source of "now".
pub trait Clock {
    /// The current instant, for sync calls.
    fn now(&self) -> Instant;

    /// The current instant, for async calls.
    ///
    /// # Default
    /// Same as [`now`](Clock::now).
    fn now_async(&self) -> Instant {
        self.now()
    }
}

/// The real clock in sync calls; in async calls (with the `tokio` feature) tokio's
/// clock, which follows `tokio::time::pause()` and `advance()`.
#[derive(Clone, Copy, Debug, Default)]
pub struct DefaultClock;

impl Clock for DefaultClock {
    #[inline]
    fn now(&self) -> Instant {
        Instant::now()
    }

    #[inline]
    fn now_async(&self) -> Instant {
        #[cfg(feature = "tokio")]
        {
            tokio::time::Instant::now().into_std()
        }
        #[cfg(not(feature = "tokio"))]
        {
            Instant::now()
        }
    }
}

impl<C: Clock + ?Sized> Clock for &C {
    fn now(&self) -> Instant {
        (**self).now()
    }
    fn now_async(&self) -> Instant {
        (**self).now_async()
    }
}
