//! Stop policies: when to give up after a failed attempt.
//!
//! Combine them with `|` (either) and `&` (both):
//!
//! ```
//! use retry::dsl::*;
//! use retry::stop::{Stop, StopState};
//! use std::time::Duration;
//!
//! let stop = attempts(5) | elapsed(30);
//! let state = StopState::new(5, Duration::from_secs(1), Duration::ZERO);
//! assert!(stop.should_stop(&state));
//! ```

use core::time::Duration;

use crate::duration::{IntoDuration, Nanos};
use crate::error::{InvalidPolicy, ensure};

/// What a stop policy sees after a failed attempt.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct StopState {
    attempt: u32,
    elapsed: Duration,
    next_sleep: Duration,
}

impl StopState {
    /// A state after attempt number `attempt` (1-based), `elapsed` since the first
    /// attempt started, with `next_sleep` the delay the wait policy chose.
    pub const fn new(attempt: u32, elapsed: Duration, next_sleep: Duration) -> Self {
        StopState { attempt, elapsed, next_sleep }
    }

    /// The number of the attempt that just failed, 1-based.
    pub const fn attempt(&self) -> u32 {
        self.attempt
    }

    /// Time since the first attempt started, measured when this attempt finished.
    /// Zero unless the policy [needs the clock](Stop::needs_clock).
    pub const fn elapsed(&self) -> Duration {
        self.elapsed
    }

    /// The sleep that would come before the next attempt.
    pub const fn next_sleep(&self) -> Duration {
        self.next_sleep
    }
}

/// Decides, after a failed attempt, whether to give up.
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not a stop policy",
    label = "expected a stop policy",
    note = "write one of `attempts(3)`, `elapsed(30s)`, `before_elapsed(30s)`, `never()`, combined with `|` or `&`"
)]
pub trait Stop {
    /// `true` to give up now.
    fn should_stop(&self, state: &StopState) -> bool;

    /// Whether [`StopState::elapsed`] must be measured. Policies that return `false`
    /// (the default) let the executor skip every clock read.
    fn needs_clock(&self) -> bool {
        false
    }

    /// For a policy that listens to an outside signal (see [`signal`]):
    /// whether it asks to give up now, whatever the attempts. A call sleeping
    /// for a retry under such a policy sleeps in slices of at most 100 ms and
    /// looks at it after each, to wake and give up when it fires.
    ///
    /// # Default
    /// `None`: the policy has no signal (it reads only the [`StopState`]), and
    /// sleeps go in one piece.
    fn signalled(&self) -> Option<bool> {
        None
    }

    /// Rejects nonsensical parameters with a clear message.
    fn validate(&self) -> Result<(), InvalidPolicy> {
        Ok(())
    }
}

impl<S: Stop + ?Sized> Stop for &S {
    fn should_stop(&self, state: &StopState) -> bool {
        (**self).should_stop(state)
    }
    fn signalled(&self) -> Option<bool> {
        (**self).signalled()
    }
    fn needs_clock(&self) -> bool {
        (**self).needs_clock()
    }
    fn validate(&self) -> Result<(), InvalidPolicy> {
        (**self).validate()
    }
}

/// Stop after `n` attempts. See [`attempts`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Attempts {
    max: u32,
}

impl Attempts {
    /// At most `max` calls in all (the first included). `0` is invalid; if used anyway
    /// it behaves as `1`, since the operation always runs once.
    pub const fn new(max: u32) -> Self {
        Attempts { max }
    }
}

/// Stop once `n` attempts have been made: `attempts(3)` calls the operation at most 3 times.
///
/// `attempts(0)` is rejected by [`Stop::validate`] (and at compile time by the macro).
pub const fn attempts(n: u32) -> Attempts {
    Attempts::new(n)
}

impl Stop for Attempts {
    #[inline]
    fn should_stop(&self, state: &StopState) -> bool {
        state.attempt >= self.max
    }
    fn validate(&self) -> Result<(), InvalidPolicy> {
        ensure(
            self.max > 0,
            "attempts",
            "attempts(0) would never call the operation; use attempts(1) for no retries",
        )
    }
}

/// Stop once the time since the first attempt started is at least the limit.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Elapsed {
    limit: Nanos,
}

impl Elapsed {
    /// Stop once `limit` has elapsed since the first attempt started.
    pub const fn new(limit: Duration) -> Self {
        Elapsed { limit: Nanos::from_duration(limit) }
    }
}

/// Stop once the time since the first attempt started is ≥ `limit`, measured when the
/// failed attempt finishes. A bare number is seconds.
pub fn elapsed(limit: impl IntoDuration) -> Elapsed {
    Elapsed { limit: Nanos::from_input(limit) }
}

impl Stop for Elapsed {
    #[inline]
    fn should_stop(&self, state: &StopState) -> bool {
        state.elapsed >= self.limit.get()
    }
    fn needs_clock(&self) -> bool {
        true
    }
    fn validate(&self) -> Result<(), InvalidPolicy> {
        ensure(!self.limit.is_invalid(), "elapsed", "the limit is negative, NaN or infinite")
    }
}

/// Stop when the next sleep would end at or past the limit.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BeforeElapsed {
    limit: Nanos,
}

impl BeforeElapsed {
    /// Stop when elapsed time plus the next sleep would be ≥ `limit`.
    pub const fn new(limit: Duration) -> Self {
        BeforeElapsed { limit: Nanos::from_duration(limit) }
    }
}

/// Stop when elapsed time + the next sleep would be ≥ `limit`: no sleep is started that
/// would end past it. A bare number is seconds.
pub fn before_elapsed(limit: impl IntoDuration) -> BeforeElapsed {
    BeforeElapsed { limit: Nanos::from_input(limit) }
}

impl Stop for BeforeElapsed {
    #[inline]
    fn should_stop(&self, state: &StopState) -> bool {
        state.elapsed.saturating_add(state.next_sleep) >= self.limit.get()
    }
    fn needs_clock(&self) -> bool {
        true
    }
    fn validate(&self) -> Result<(), InvalidPolicy> {
        ensure(!self.limit.is_invalid(), "before_elapsed", "the limit is negative, NaN or infinite")
    }
}

/// Never stop: only a condition, a budget or a deadline ends the call.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Never;

/// Never stop (only a condition, budget or deadline ends the call).
pub const fn never() -> Never {
    Never
}

impl Stop for Never {
    #[inline]
    fn should_stop(&self, _: &StopState) -> bool {
        false
    }
}

/// Gives up when `signal()` says so: an operator's shutdown flag, an
/// `AtomicBool`, a `tokio_util::sync::CancellationToken` (`move ||
/// token.is_cancelled()`). It is asked after each failed attempt like any stop
/// policy, and while a call sleeps for a retry: the sleep goes in slices of at
/// most 100 ms, and the call wakes to give up (with its last outcome, through
/// `on_giveup` and `fallback`) at the end of the slice in which the signal
/// fires. (Each slice's timer may overshoot by its granularity, e.g. 1 ms with
/// tokio's: a long wait grows by that much per 100 ms.)
/// Combine it with `|`: `attempts(5) | signal(|| SHUTDOWN.load(Relaxed))`.
///
/// ```
/// use retry::{Retrying, dsl::*};
/// use std::sync::atomic::{AtomicBool, Ordering::Relaxed};
///
/// static SHUTDOWN: AtomicBool = AtomicBool::new(false);
///
/// let mut calls = 0;
/// let out = Retrying::new().stop(attempts(100) | signal(|| SHUTDOWN.load(Relaxed))).wait(fixed(0.05)).call(|| {
///     calls += 1;
///     if calls == 2 { SHUTDOWN.store(true, Relaxed) }
///     Err::<(), _>("down")
/// });
/// assert_eq!((out, calls), (Err("down"), 2));
/// ```
pub const fn signal<F: Fn() -> bool>(signal: F) -> Signal<F> {
    Signal(signal)
}

/// The stop policy [`signal`] makes.
#[derive(Clone, Copy, Debug)]
pub struct Signal<F>(F);

impl<F: Fn() -> bool> Stop for Signal<F> {
    #[inline]
    fn should_stop(&self, _: &StopState) -> bool {
        (self.0)()
    }
    #[inline]
    fn signalled(&self) -> Option<bool> {
        Some((self.0)())
    }
}

/// Either policy stops: `a | b`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Either<A, B>(pub A, pub B);

impl<A: Stop, B: Stop> Stop for Either<A, B> {
    #[inline]
    fn should_stop(&self, state: &StopState) -> bool {
        self.0.should_stop(state) || self.1.should_stop(state)
    }
    /// Either signal stops the call.
    #[inline]
    fn signalled(&self) -> Option<bool> {
        match (self.0.signalled(), self.1.signalled()) {
            (None, None) => None,
            (a, b) => Some(a == Some(true) || b == Some(true)),
        }
    }
    fn needs_clock(&self) -> bool {
        self.0.needs_clock() || self.1.needs_clock()
    }
    fn validate(&self) -> Result<(), InvalidPolicy> {
        self.0.validate().and(self.1.validate())
    }
}

/// Both policies stop: `a & b`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Both<A, B>(pub A, pub B);

impl<A: Stop, B: Stop> Stop for Both<A, B> {
    #[inline]
    fn should_stop(&self, state: &StopState) -> bool {
        self.0.should_stop(state) && self.1.should_stop(state)
    }
    /// Only a signal on both sides stops the call between attempts (a side
    /// without one, such as `attempts(n)`, is not asked then).
    #[inline]
    fn signalled(&self) -> Option<bool> {
        Some(self.0.signalled()? && self.1.signalled()?)
    }
    fn needs_clock(&self) -> bool {
        self.0.needs_clock() || self.1.needs_clock()
    }
    fn validate(&self) -> Result<(), InvalidPolicy> {
        self.0.validate().and(self.1.validate())
    }
}

/// Adds `|` and `&` to a stop policy type (your own ones too).
///
/// ```
/// use retry::stop::{Stop, StopState};
///
/// #[derive(Clone, Copy)]
/// struct Odd;
/// impl Stop for Odd {
///     fn should_stop(&self, s: &StopState) -> bool { s.attempt() % 2 == 1 }
/// }
/// retry::stop_operators!(Odd);
///
/// let _either = Odd | retry::dsl::attempts(4);
/// ```
#[macro_export]
macro_rules! stop_operators {
    ($($ty:ident $(<$($g:ident),*>)?),* $(,)?) => {$(
        impl<$($($g,)*)? Rhs: $crate::stop::Stop> ::core::ops::BitOr<Rhs> for $ty $(<$($g),*>)? {
            type Output = $crate::stop::Either<Self, Rhs>;
            #[inline]
            fn bitor(self, rhs: Rhs) -> Self::Output {
                $crate::stop::Either(self, rhs)
            }
        }
        impl<$($($g,)*)? Rhs: $crate::stop::Stop> ::core::ops::BitAnd<Rhs> for $ty $(<$($g),*>)? {
            type Output = $crate::stop::Both<Self, Rhs>;
            #[inline]
            fn bitand(self, rhs: Rhs) -> Self::Output {
                $crate::stop::Both(self, rhs)
            }
        }
    )*};
}

stop_operators!(Attempts, Elapsed, BeforeElapsed, Never, Signal<F>, Either<A, B>, Both<A, B>);

#[cfg(test)]
mod tests {
    use super::*;

    fn state(attempt: u32, elapsed_ms: u64, next_ms: u64) -> StopState {
        StopState::new(attempt, Duration::from_millis(elapsed_ms), Duration::from_millis(next_ms))
    }

    #[test]
    fn attempts_counts_calls() {
        let s = attempts(3);
        assert!(!s.should_stop(&state(1, 0, 0)));
        assert!(!s.should_stop(&state(2, 0, 0)));
        assert!(s.should_stop(&state(3, 0, 0)));
        assert!(s.should_stop(&state(u32::MAX, 0, 0)));
        assert!(!s.needs_clock());
        assert!(attempts(0).validate().is_err());
        assert!(attempts(0).should_stop(&state(1, 0, 0)), "attempts(0) acts as attempts(1)");
    }

    #[test]
    fn elapsed_and_before_elapsed() {
        assert!(!elapsed(1).should_stop(&state(1, 999, 5000)));
        assert!(elapsed(1).should_stop(&state(1, 1000, 0)));
        assert!(!before_elapsed(1).should_stop(&state(1, 500, 499)));
        assert!(before_elapsed(1).should_stop(&state(1, 500, 500)));
        assert!(elapsed(1).needs_clock() && before_elapsed(1).needs_clock());
        assert!(elapsed(-1).validate().is_err());
        assert!(before_elapsed(f64::NAN).validate().is_err());
    }

    #[test]
    fn composition() {
        let either = attempts(5) | elapsed(2);
        assert!(either.should_stop(&state(5, 0, 0)));
        assert!(either.should_stop(&state(1, 2000, 0)));
        assert!(!either.should_stop(&state(4, 1999, 0)));
        assert!(either.needs_clock());

        let both = attempts(5) & elapsed(2);
        assert!(!both.should_stop(&state(5, 0, 0)));
        assert!(!both.should_stop(&state(1, 2000, 0)));
        assert!(both.should_stop(&state(5, 2000, 0)));

        let nested = (attempts(2) & never()) | (attempts(9) | never());
        assert!(!nested.should_stop(&state(8, 0, 0)));
        assert!(nested.should_stop(&state(9, 0, 0)));
        assert!((attempts(0) | never()).validate().is_err());
        assert!(!never().should_stop(&state(u32::MAX, u64::MAX, u64::MAX)));
    }
}
