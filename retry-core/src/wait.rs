//! Wait policies: how long to sleep after failed attempt `n` (1-based).
//!
//! Combine them with `+` (sum), or with [`chain`] (one policy per attempt). A policy
//! named explicitly is deterministic; jitter appears only where the name says so.
//! Huge attempt numbers saturate at `max`; no input panics or overflows.
//!
//! ```
//! use retry::dsl::*;
//! use retry::wait::Wait;
//! use std::time::Duration;
//!
//! let mut wait = expo(1).max(10);
//! let secs: Vec<u64> = (1..=5).map(|n| wait.delay(n).as_secs()).collect();
//! assert_eq!(secs, [1, 2, 4, 8, 10]);
//! ```

use core::marker::PhantomData;
use core::time::Duration;

use crate::attempt::Attempt;
use crate::duration::{IntoDuration, Nanos};
use crate::error::{InvalidPolicy, ensure};
use crate::jitter;

/// Computes the delay before the next attempt.
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not a wait policy",
    label = "expected a wait policy",
    note = "write one of `fixed(1s)`, `expo(100ms, max = 10s)`, `random_expo(..)`, `linear(..)`, `none()`, ... (a `Duration` works too)"
)]
pub trait Wait {
    /// The delay after attempt number `attempt` (1-based) failed.
    fn delay(&mut self, attempt: u32) -> Duration;

    /// Rejects nonsensical parameters with a clear message.
    fn validate(&self) -> Result<(), InvalidPolicy> {
        Ok(())
    }
}

/// What a call asks for its delay after a failed attempt: every [`Wait`] policy
/// (which reads the attempt's number), and [`from_state`] (which reads all of
/// it), alone or summed with `+`.
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not a wait policy for a call returning `Result<{T}, {E}>`",
    label = "expected a wait policy",
    note = "write one of `fixed(1s)`, `expo(100ms, max = 10s)`, `random_expo(..)`, ..., or `from_state(|a: &Attempt<{T}, {E}>| ..)`"
)]
pub trait Delay<T, E> {
    /// The delay after `attempt` failed (its outcome is set).
    fn delay_after(&mut self, attempt: &Attempt<'_, T, E>) -> Duration;

    /// Rejects nonsensical parameters with a clear message.
    fn check(&self) -> Result<(), InvalidPolicy> {
        Ok(())
    }

    /// Whether it reads the time elapsed or slept (then the call reads the
    /// clock for it).
    ///
    /// # Default
    /// `false`.
    fn needs_clock(&self) -> bool {
        false
    }
}

impl<T, E, W: Wait> Delay<T, E> for W {
    #[inline(always)]
    fn delay_after(&mut self, attempt: &Attempt<'_, T, E>) -> Duration {
        self.delay(attempt.attempt())
    }
    fn check(&self) -> Result<(), InvalidPolicy> {
        self.validate()
    }
}

/// A wait policy that reads the whole attempt: its number, the time elapsed
/// and slept, and its error or the value `if_result` retries. Sums with any
/// policy: `from_state(f) + fixed(1)`.
///
/// ```
/// use retry::{Attempt, Retrying, dsl::*, wait::from_state};
/// use std::time::Duration;
///
/// #[derive(Debug)]
/// enum Error { Busy { retry_in_ms: u64 }, Down }
///
/// let sleeps = retry::testing::record_sleeps();
/// let mut calls = 0;
/// let _ = Retrying::new()
///     .stop(attempts(3))
///     .wait(from_state(|a: &Attempt<'_, (), Error>| match a.error() {
///         Some(Error::Busy { retry_in_ms }) => Duration::from_millis(*retry_in_ms),
///         _ => Duration::from_secs(a.attempt().into()),
///     }) + fixed(0.5))
///     .call(|| { calls += 1; Err(if calls == 1 { Error::Busy { retry_in_ms: 250 } } else { Error::Down }) });
/// assert_eq!(sleeps.sleeps(), [Duration::from_millis(750), Duration::from_millis(2500)]);
/// ```
pub const fn from_state<T, E, F>(delay: F) -> FromState<F, T, E>
where
    F: FnMut(&Attempt<'_, T, E>) -> Duration,
{
    FromState(delay, PhantomData)
}

/// The wait policy [`from_state`] makes.
pub struct FromState<F, T, E>(F, PhantomData<fn(&T, &E)>);

impl<F: Clone, T, E> Clone for FromState<F, T, E> {
    fn clone(&self) -> Self {
        FromState(self.0.clone(), PhantomData)
    }
}

impl<F, T, E> core::fmt::Debug for FromState<F, T, E> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str("FromState(..)")
    }
}

impl<F, T, E> Delay<T, E> for FromState<F, T, E>
where
    F: FnMut(&Attempt<'_, T, E>) -> Duration,
{
    #[inline]
    fn delay_after(&mut self, attempt: &Attempt<'_, T, E>) -> Duration {
        (self.0)(attempt)
    }
    fn needs_clock(&self) -> bool {
        true
    }
}

/// Any wait policy: a [`Wait`], or one that reads the attempt ([`from_state`],
/// and sums with one). What `wait = ..` checks before the call's types are known.
#[doc(hidden)]
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not a wait policy",
    label = "expected a wait policy",
    note = "write one of `fixed(1s)`, `expo(100ms, max = 10s)`, `random_expo(..)`, `linear(..)`, `none()`, ... (a `Duration` works too), or `from_state(|a: &Attempt<..>| ..)`"
)]
pub trait AnyWait {}

impl<W: Wait> AnyWait for W {}
impl<F, T, E> AnyWait for FromState<F, T, E> {}
impl<A: AnyWait, B: AnyWait> AnyWait for StateSum<A, B> {}

/// The sum of two policies one of which reads the attempt ([`from_state`]).
#[derive(Clone, Copy, Debug)]
pub struct StateSum<A, B>(pub A, pub B);

impl<T, E, A: Delay<T, E>, B: Delay<T, E>> Delay<T, E> for StateSum<A, B> {
    #[inline]
    fn delay_after(&mut self, attempt: &Attempt<'_, T, E>) -> Duration {
        self.0.delay_after(attempt).saturating_add(self.1.delay_after(attempt))
    }
    fn check(&self) -> Result<(), InvalidPolicy> {
        self.0.check().and(self.1.check())
    }
    fn needs_clock(&self) -> bool {
        self.0.needs_clock() || self.1.needs_clock()
    }
}

impl<F, T, E, Rhs> core::ops::Add<Rhs> for FromState<F, T, E> {
    type Output = StateSum<Self, Rhs>;
    #[inline]
    fn add(self, rhs: Rhs) -> Self::Output {
        StateSum(self, rhs)
    }
}

impl<A, B, Rhs> core::ops::Add<Rhs> for StateSum<A, B> {
    type Output = StateSum<Self, Rhs>;
    #[inline]
    fn add(self, rhs: Rhs) -> Self::Output {
        StateSum(self, rhs)
    }
}

/// A plain [`Duration`] waits that long every time, like [`fixed`].
impl Wait for Duration {
    #[inline]
    fn delay(&mut self, _: u32) -> Duration {
        *self
    }
}

impl<W: Wait + ?Sized> Wait for &mut W {
    fn delay(&mut self, attempt: u32) -> Duration {
        (**self).delay(attempt)
    }
    fn validate(&self) -> Result<(), InvalidPolicy> {
        (**self).validate()
    }
}

/// `initial · base^(attempt-1)`, saturating.
#[inline]
fn grow(initial: Nanos, base: f64, attempt: u32) -> Nanos {
    let exponent = i32::try_from(attempt.saturating_sub(1)).unwrap_or(i32::MAX);
    initial.scale(base.powi(exponent))
}

fn check_base(policy: &'static str, base: f64) -> Result<(), InvalidPolicy> {
    ensure(base.is_finite() && base >= 1.0, policy, "base must be a finite number ≥ 1")
}

fn check_delay(policy: &'static str, value: Nanos, reason: &'static str) -> Result<(), InvalidPolicy> {
    ensure(!value.is_invalid(), policy, reason)
}

/// Generates a setter per field, `name(impl IntoDuration)`: the DSL's `name = value`.
macro_rules! delay_setters {
    ($ty:ident { $($(#[$doc:meta])* $field:ident;)* }) => {
        impl $ty {$(
            $(#[$doc])*
            #[must_use]
            pub fn $field(mut self, value: impl IntoDuration) -> Self {
                self.$field = Nanos::from_input(value);
                self
            }
        )*}
    };
}

/// Generates `base(f64)`.
macro_rules! base_setters {
    ($ty:ident) => {
        impl $ty {
            /// The growth factor per attempt. Must be finite and ≥ 1.
            ///
            /// # Default
            /// `2.0`
            #[must_use]
            pub const fn base(mut self, base: f64) -> Self {
                self.base = base;
                self
            }
        }
    };
}

/// Always the same delay. See [`fixed`].
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Fixed {
    delay: Nanos,
}

impl Fixed {
    /// Waits `delay` after every failed attempt.
    pub const fn new(delay: Duration) -> Self {
        Fixed { delay: Nanos::from_duration(delay) }
    }
}

/// Waits `delay` after every failed attempt. A bare number is seconds.
pub fn fixed(delay: impl IntoDuration) -> Fixed {
    Fixed { delay: Nanos::from_input(delay) }
}

impl Wait for Fixed {
    #[inline]
    fn delay(&mut self, _: u32) -> Duration {
        self.delay.get()
    }
    fn validate(&self) -> Result<(), InvalidPolicy> {
        check_delay("fixed", self.delay, "the delay is negative, NaN or infinite")
    }
}

/// No delay at all. See [`none`].
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct NoWait;

/// Retries at once, without sleeping.
pub const fn none() -> NoWait {
    NoWait
}

impl Wait for NoWait {
    #[inline]
    fn delay(&mut self, _: u32) -> Duration {
        Duration::ZERO
    }
}

/// Exponential backoff without jitter. See [`expo`].
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Expo {
    initial: Nanos,
    max: Nanos,
    min: Nanos,
    base: f64,
}

impl Expo {
    /// `initial · 2^(n-1)`, uncapped; refine with the setters.
    pub const fn new(initial: Duration) -> Self {
        Expo { initial: Nanos::from_duration(initial), max: Nanos::MAX, min: Nanos::ZERO, base: 2.0 }
    }
}

delay_setters!(Expo {
    /// The largest delay.
    ///
    /// # Default
    /// No cap (saturates at about 584 years).
    max;
    /// The smallest delay. Must not exceed `max`.
    ///
    /// # Default
    /// Zero.
    min;
});
base_setters!(Expo);

/// Exponential backoff: `initial · base^(n-1)` clamped to `[min, max]`.
///
/// `expo(1).max(10)` (in the attribute: `expo(1, max = 10)`) waits 1, 2, 4, 8, 10, 10… seconds.
pub fn expo(initial: impl IntoDuration) -> Expo {
    Expo { initial: Nanos::from_input(initial), ..Expo::new(Duration::ZERO) }
}

impl Wait for Expo {
    #[inline]
    fn delay(&mut self, attempt: u32) -> Duration {
        grow(self.initial, self.base, attempt).min(self.max).max(self.min).get()
    }
    fn validate(&self) -> Result<(), InvalidPolicy> {
        check_delay("expo", self.initial, "the initial delay is negative, NaN or infinite")?;
        check_delay("expo", self.max, "max is negative, NaN or infinite")?;
        check_delay("expo", self.min, "min is negative, NaN or infinite")?;
        ensure(self.min <= self.max, "expo", "min is greater than max")?;
        check_base("expo", self.base)
    }
}

/// Exponential backoff with full jitter. See [`random_expo`].
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct RandomExpo {
    initial: Nanos,
    max: Nanos,
    min: Nanos,
    base: f64,
}

impl RandomExpo {
    /// Full jitter over `initial · 2^(n-1)`, uncapped; refine with the setters.
    pub const fn new(initial: Duration) -> Self {
        RandomExpo { initial: Nanos::from_duration(initial), max: Nanos::MAX, min: Nanos::ZERO, base: 2.0 }
    }
}

impl RandomExpo {
    /// [`max`](Self::max) in a `const`: the default wait of [`Retrying`](crate::Retrying).
    pub(crate) const fn with_max(mut self, max: Duration) -> Self {
        self.max = Nanos::from_duration(max);
        self
    }
}

delay_setters!(RandomExpo {
    /// The cap on the exponential envelope.
    ///
    /// # Default
    /// No cap (saturates at about 584 years).
    max;
    /// The smallest delay: the jitter is drawn from `min` up to the envelope (at
    /// least `min`), as tenacity's `wait_random_exponential(min=)`.
    ///
    /// # Default
    /// Zero.
    min;
});
base_setters!(RandomExpo);

/// Full jitter: `U(min, clamp(initial · base^(n-1), min, max))` (AWS "full jitter";
/// `min` is zero unless set).
///
/// The default wait of `#[retry]` is `random_expo(100ms, max = 10s)`.
pub fn random_expo(initial: impl IntoDuration) -> RandomExpo {
    RandomExpo { initial: Nanos::from_input(initial), ..RandomExpo::new(Duration::ZERO) }
}

impl Wait for RandomExpo {
    #[inline]
    fn delay(&mut self, attempt: u32) -> Duration {
        let ceiling = grow(self.initial, self.base, attempt).min(self.max).max(self.min);
        Duration::from_nanos(jitter::uniform(self.min.raw(), ceiling.raw()))
    }
    fn validate(&self) -> Result<(), InvalidPolicy> {
        check_delay("random_expo", self.initial, "the initial delay is negative, NaN or infinite")?;
        check_delay("random_expo", self.max, "max is negative, NaN or infinite")?;
        check_delay("random_expo", self.min, "min is negative, NaN or infinite")?;
        ensure(self.min <= self.max, "random_expo", "min is greater than max")?;
        check_base("random_expo", self.base)
    }
}

/// Exponential backoff with equal jitter. See [`equal_jitter`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct EqualJitter {
    initial: Nanos,
    max: Nanos,
}

impl EqualJitter {
    /// Equal jitter over `initial · 2^(n-1)`, uncapped; refine with [`max`](Self::max).
    pub const fn new(initial: Duration) -> Self {
        EqualJitter { initial: Nanos::from_duration(initial), max: Nanos::MAX }
    }
}

delay_setters!(EqualJitter {
    /// The cap on the exponential envelope.
    ///
    /// # Default
    /// No cap (saturates at about 584 years).
    max;
});

/// Equal jitter: `v/2 + U(0, v/2)` with `v = min(max, initial · 2^(n-1))`.
pub fn equal_jitter(initial: impl IntoDuration) -> EqualJitter {
    EqualJitter { initial: Nanos::from_input(initial), max: Nanos::MAX }
}

impl Wait for EqualJitter {
    #[inline]
    fn delay(&mut self, attempt: u32) -> Duration {
        let v = grow(self.initial, 2.0, attempt).min(self.max).raw();
        let half = v / 2;
        Duration::from_nanos(half + jitter::uniform(0, v - half))
    }
    fn validate(&self) -> Result<(), InvalidPolicy> {
        check_delay("equal_jitter", self.initial, "the initial delay is negative, NaN or infinite")?;
        check_delay("equal_jitter", self.max, "max is negative, NaN or infinite")
    }
}

/// Exponential backoff plus additive jitter. See [`expo_jitter`].
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct ExpoJitter {
    initial: Nanos,
    max: Nanos,
    min: Nanos,
    jitter: Nanos,
    base: f64,
}

impl ExpoJitter {
    /// `initial · 2^(n-1) + U(0, 1s)`, uncapped; refine with the setters.
    pub const fn new(initial: Duration) -> Self {
        ExpoJitter {
            initial: Nanos::from_duration(initial),
            max: Nanos::MAX,
            min: Nanos::ZERO,
            jitter: Nanos::from_duration(Duration::from_secs(1)),
            base: 2.0,
        }
    }
}

delay_setters!(ExpoJitter {
    /// The largest delay (applied after the jitter is added).
    ///
    /// # Default
    /// No cap (saturates at about 584 years).
    max;
    /// The largest random amount added to the exponential delay.
    ///
    /// # Default
    /// One second, as tenacity's `wait_exponential_jitter`.
    jitter;
    /// The smallest delay (applied after the jitter is added).
    ///
    /// # Default
    /// Zero.
    min;
});
base_setters!(ExpoJitter);

/// `clamp(initial · base^(n-1) + U(0, jitter), min, max)` (tenacity's
/// `wait_exponential_jitter`; `min` is zero unless set).
pub fn expo_jitter(initial: impl IntoDuration) -> ExpoJitter {
    ExpoJitter { initial: Nanos::from_input(initial), ..ExpoJitter::new(Duration::ZERO) }
}

impl Wait for ExpoJitter {
    #[inline]
    fn delay(&mut self, attempt: u32) -> Duration {
        let noise = Nanos::from_nanos(jitter::uniform(0, self.jitter.raw()));
        grow(self.initial, self.base, attempt).saturating_add(noise).min(self.max).max(self.min).get()
    }
    fn validate(&self) -> Result<(), InvalidPolicy> {
        check_delay("expo_jitter", self.initial, "the initial delay is negative, NaN or infinite")?;
        check_delay("expo_jitter", self.max, "max is negative, NaN or infinite")?;
        check_delay("expo_jitter", self.min, "min is negative, NaN or infinite")?;
        ensure(self.min <= self.max, "expo_jitter", "min is greater than max")?;
        check_delay("expo_jitter", self.jitter, "jitter is negative, NaN or infinite")?;
        check_base("expo_jitter", self.base)
    }
}

/// Decorrelated jitter. See [`decorrelated`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Decorrelated {
    base: Nanos,
    max: Nanos,
    previous: Nanos,
}

impl Decorrelated {
    /// Decorrelated jitter from `base`, uncapped; refine with [`max`](Self::max).
    pub const fn new(base: Duration) -> Self {
        let base = Nanos::from_duration(base);
        Decorrelated { base, max: Nanos::MAX, previous: base }
    }
}

delay_setters!(Decorrelated {
    /// The largest delay.
    ///
    /// # Default
    /// No cap (saturates at about 584 years).
    max;
});

/// Decorrelated jitter (AWS): `min(max, U(base, 3 · previous))`, `previous` starting at
/// `base`. Keeps state between attempts of one call.
pub fn decorrelated(base: impl IntoDuration) -> Decorrelated {
    let base = Nanos::from_input(base);
    Decorrelated { base, max: Nanos::MAX, previous: base }
}

impl Wait for Decorrelated {
    #[inline]
    fn delay(&mut self, _: u32) -> Duration {
        let upper = self.previous.raw().saturating_mul(3).max(self.base.raw());
        let next = Nanos::from_nanos(jitter::uniform(self.base.raw(), upper)).min(self.max);
        self.previous = next;
        next.get()
    }
    fn validate(&self) -> Result<(), InvalidPolicy> {
        check_delay("decorrelated", self.base, "the base delay is negative, NaN or infinite")?;
        check_delay("decorrelated", self.max, "max is negative, NaN or infinite")?;
        ensure(self.base <= self.max, "decorrelated", "base is greater than max")
    }
}

/// Fibonacci backoff. See [`fibonacci`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Fibonacci {
    initial: Nanos,
    max: Nanos,
}

impl Fibonacci {
    /// `initial · F(n)`, uncapped; refine with [`max`](Self::max).
    pub const fn new(initial: Duration) -> Self {
        Fibonacci { initial: Nanos::from_duration(initial), max: Nanos::MAX }
    }
}

delay_setters!(Fibonacci {
    /// The largest delay.
    ///
    /// # Default
    /// No cap (saturates at about 584 years).
    max;
});

/// `initial · F(n)` with F = 1, 1, 2, 3, 5, 8, …, capped at `max`.
pub fn fibonacci(initial: impl IntoDuration) -> Fibonacci {
    Fibonacci { initial: Nanos::from_input(initial), max: Nanos::MAX }
}

impl Wait for Fibonacci {
    fn delay(&mut self, attempt: u32) -> Duration {
        let (initial, max) = (self.initial.raw(), self.max.raw());
        if initial == 0 {
            return Duration::ZERO;
        }
        // F grows past any u64 cap within ~93 steps, so this loop is short.
        let (mut previous, mut current) = (0u64, 1u64);
        for _ in 1..attempt.max(1) {
            let next = previous.saturating_add(current);
            previous = current;
            current = next;
            if current.saturating_mul(initial) >= max {
                break;
            }
        }
        Nanos::from_nanos(current.saturating_mul(initial)).min(self.max).get()
    }
    fn validate(&self) -> Result<(), InvalidPolicy> {
        check_delay("fibonacci", self.initial, "the initial delay is negative, NaN or infinite")?;
        check_delay("fibonacci", self.max, "max is negative, NaN or infinite")
    }
}

/// Linear backoff. See [`linear`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Linear {
    start: Nanos,
    step: Nanos,
    max: Nanos,
}

impl Linear {
    /// `start + start · (n-1)`, uncapped; refine with the setters.
    pub const fn new(start: Duration) -> Self {
        let start = Nanos::from_duration(start);
        Linear { start, step: start, max: Nanos::MAX }
    }
}

delay_setters!(Linear {
    /// How much each attempt adds.
    ///
    /// # Default
    /// `start` (so `linear(1)` waits 1, 2, 3, … seconds).
    step;
    /// The largest delay.
    ///
    /// # Default
    /// No cap (saturates at about 584 years).
    max;
});

/// `start + step · (n-1)`, clamped to `[0, max]`: `linear(1, step = 2, max = 4)` waits
/// 1, 3, 4, 4… seconds.
pub fn linear(start: impl IntoDuration) -> Linear {
    let start = Nanos::from_input(start);
    Linear { start, step: start, max: Nanos::MAX }
}

impl Wait for Linear {
    #[inline]
    fn delay(&mut self, attempt: u32) -> Duration {
        let steps = u64::from(attempt.saturating_sub(1));
        let added = Nanos::from_nanos(self.step.raw().saturating_mul(steps));
        self.start.saturating_add(added).min(self.max).get()
    }
    fn validate(&self) -> Result<(), InvalidPolicy> {
        check_delay("linear", self.start, "start is negative, NaN or infinite")?;
        check_delay("linear", self.step, "step is negative, NaN or infinite")?;
        check_delay("linear", self.max, "max is negative, NaN or infinite")
    }
}

/// A uniformly random delay. See [`random`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Random {
    min: Nanos,
    max: Nanos,
}

impl Random {
    /// `U(min, max)`.
    pub const fn new(min: Duration, max: Duration) -> Self {
        Random { min: Nanos::from_duration(min), max: Nanos::from_duration(max) }
    }
}

/// `U(min, max)`. `min > max` is rejected by `validate()`; used anyway it waits `min`.
pub fn random(min: impl IntoDuration, max: impl IntoDuration) -> Random {
    Random { min: Nanos::from_input(min), max: Nanos::from_input(max) }
}

impl Wait for Random {
    #[inline]
    fn delay(&mut self, _: u32) -> Duration {
        Duration::from_nanos(jitter::uniform(self.min.raw(), self.max.raw()))
    }
    fn validate(&self) -> Result<(), InvalidPolicy> {
        check_delay("random", self.min, "min is negative, NaN or infinite")?;
        check_delay("random", self.max, "max is negative, NaN or infinite")?;
        ensure(self.min <= self.max, "random", "min is greater than max")
    }
}

/// The sum of two policies: `a + b`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Sum<A, B>(pub A, pub B);

impl<A: Wait, B: Wait> Wait for Sum<A, B> {
    #[inline]
    fn delay(&mut self, attempt: u32) -> Duration {
        self.0.delay(attempt).saturating_add(self.1.delay(attempt))
    }
    fn validate(&self) -> Result<(), InvalidPolicy> {
        self.0.validate().and(self.1.validate())
    }
}

/// One policy per attempt. See [`chain`].
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Chain<T>(T);

/// `w_n` after attempt `n < k`, `w_k` from then on: `chain((fixed(1), fixed(2), fixed(5)))`
/// waits 1, 2, 5, 5… seconds. Each policy is asked with the call's own attempt number,
/// as tenacity's `wait_chain` does. Takes a tuple of 1 to 8 policies (in the attribute,
/// write `chain(w1, w2, …)`).
pub const fn chain<T>(waits: T) -> Chain<T> {
    Chain(waits)
}

macro_rules! chain_impl {
    ($len:literal: $($idx:tt $t:ident),+) => {
        impl<$($t: Wait),+> Wait for Chain<($($t,)+)> {
            #[inline]
            fn delay(&mut self, attempt: u32) -> Duration {
                let pick = (attempt.max(1) as usize).min($len) - 1;
                $(if pick == $idx {
                    return self.0.$idx.delay(attempt);
                })+
                Duration::ZERO
            }
            fn validate(&self) -> Result<(), InvalidPolicy> {
                $(self.0.$idx.validate()?;)+
                Ok(())
            }
        }
    };
}
chain_impl!(1: 0 A);
chain_impl!(2: 0 A, 1 B);
chain_impl!(3: 0 A, 1 B, 2 C);
chain_impl!(4: 0 A, 1 B, 2 C, 3 D);
chain_impl!(5: 0 A, 1 B, 2 C, 3 D, 4 E);
chain_impl!(6: 0 A, 1 B, 2 C, 3 D, 4 E, 5 F);
chain_impl!(7: 0 A, 1 B, 2 C, 3 D, 4 E, 5 F, 6 G);
chain_impl!(8: 0 A, 1 B, 2 C, 3 D, 4 E, 5 F, 6 G, 7 H);

/// Adds `+` to a wait policy type (your own ones too).
///
/// ```
/// use retry::wait::Wait;
/// use std::time::Duration;
///
/// #[derive(Clone, Copy)]
/// struct Tick;
/// impl Wait for Tick {
///     fn delay(&mut self, _: u32) -> Duration { Duration::from_millis(1) }
/// }
/// retry::wait_operators!(Tick);
///
/// let mut w = Tick + retry::dsl::fixed(1);
/// assert_eq!(w.delay(1), Duration::from_millis(1001));
/// ```
#[macro_export]
macro_rules! wait_operators {
    ($($ty:ident $(<$($g:ident),*>)?),* $(,)?) => {$(
        impl<$($($g,)*)? Rhs: $crate::wait::Wait> ::core::ops::Add<Rhs> for $ty $(<$($g),*>)? {
            type Output = $crate::wait::Sum<Self, Rhs>;
            #[inline]
            fn add(self, rhs: Rhs) -> Self::Output {
                $crate::wait::Sum(self, rhs)
            }
        }
    )*};
}

/// `policy + from_state(..)` for the crate's own policies (a type of another
/// crate cannot have it: rustc cannot tell there that `FromState` is no `Wait`).
macro_rules! state_operators {
    ($($ty:ident $(<$($g:ident),*>)?),* $(,)?) => {$(
        impl<$($($g,)*)? Fs, Ts, Es> core::ops::Add<FromState<Fs, Ts, Es>> for $ty $(<$($g),*>)? {
            type Output = StateSum<Self, FromState<Fs, Ts, Es>>;
            #[inline]
            fn add(self, rhs: FromState<Fs, Ts, Es>) -> Self::Output {
                StateSum(self, rhs)
            }
        }
    )*};
}

/// Calls `$operators!` with every wait policy type of the crate.
macro_rules! for_each_policy {
    ($operators:ident) => {
        $operators!(
            Fixed,
            NoWait,
            Expo,
            RandomExpo,
            EqualJitter,
            ExpoJitter,
            Decorrelated,
            Fibonacci,
            Linear,
            Random,
            Sum<A, B>,
            Chain<T>
        );
    };
}

for_each_policy!(state_operators);
for_each_policy!(wait_operators);
