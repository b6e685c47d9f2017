//! Durations as the DSL accepts them, and the compact form policies store.

use core::time::Duration;

/// A value usable where the DSL expects a duration.
///
/// A bare number means **seconds**, as in tenacity: `expo(1)` starts at one second,
/// `fixed(0.25)` waits 250 ms. Any [`Duration`] works as it is.
///
/// Negative numbers, NaN and infinities cannot be a delay: they convert to an
/// invalid marker that the policy's `validate()` (and [`Retrying::check`]) reports
/// with a clear message. If a policy holding one is used anyway, the value reads as
/// zero; nothing panics.
///
/// [`Retrying::check`]: crate::Retrying::check
pub trait IntoDuration {
    /// Converts to a duration, or `None` when the value is not a valid delay.
    fn into_duration(self) -> Option<Duration>;
}

impl IntoDuration for Duration {
    #[inline]
    fn into_duration(self) -> Option<Duration> {
        Some(self)
    }
}

macro_rules! unsigned_seconds {
    ($($t:ty),*) => {$(
        impl IntoDuration for $t {
            #[inline]
            fn into_duration(self) -> Option<Duration> {
                Some(Duration::from_secs(self as u64))
            }
        }
    )*};
}
unsigned_seconds!(u8, u16, u32, u64, usize);

macro_rules! signed_seconds {
    ($($t:ty),*) => {$(
        impl IntoDuration for $t {
            #[inline]
            fn into_duration(self) -> Option<Duration> {
                u64::try_from(self).ok().map(Duration::from_secs)
            }
        }
    )*};
}
signed_seconds!(i8, i16, i32, i64, isize);

impl IntoDuration for f64 {
    #[inline]
    fn into_duration(self) -> Option<Duration> {
        Duration::try_from_secs_f64(self).ok()
    }
}

impl IntoDuration for f32 {
    #[inline]
    fn into_duration(self) -> Option<Duration> {
        Duration::try_from_secs_f32(self).ok()
    }
}

/// A delay stored in 8 bytes: whole nanoseconds, saturating at about 584 years.
///
/// `u64::MAX` is reserved to mark an invalid input (see [`IntoDuration`]).
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub(crate) struct Nanos(u64);

impl core::fmt::Debug for Nanos {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        if self.is_invalid() { f.write_str("<invalid>") } else { core::fmt::Debug::fmt(&self.get(), f) }
    }
}

impl Nanos {
    pub(crate) const ZERO: Nanos = Nanos(0);
    /// The largest representable delay (about 584 years): "no cap".
    pub(crate) const MAX: Nanos = Nanos(u64::MAX - 1);
    const INVALID: Nanos = Nanos(u64::MAX);

    #[inline]
    pub(crate) const fn from_duration(d: Duration) -> Nanos {
        let n = d.as_nanos();
        if n >= Nanos::MAX.0 as u128 { Nanos::MAX } else { Nanos(n as u64) }
    }

    #[inline]
    pub(crate) fn from_input(value: impl IntoDuration) -> Nanos {
        match value.into_duration() {
            Some(d) => Nanos::from_duration(d),
            None => Nanos::INVALID,
        }
    }

    #[inline]
    pub(crate) const fn from_nanos(n: u64) -> Nanos {
        if n == u64::MAX { Nanos::MAX } else { Nanos(n) }
    }

    #[inline]
    pub(crate) const fn is_invalid(self) -> bool {
        self.0 == u64::MAX
    }

    /// Raw nanoseconds; an invalid value reads as zero.
    #[inline]
    pub(crate) const fn raw(self) -> u64 {
        if self.is_invalid() { 0 } else { self.0 }
    }

    #[inline]
    pub(crate) const fn get(self) -> Duration {
        Duration::from_nanos(self.raw())
    }

    /// `self * factor`, saturating at [`Nanos::MAX`]; NaN or negative factors give zero.
    #[inline]
    pub(crate) fn scale(self, factor: f64) -> Nanos {
        let product = self.raw() as f64 * factor;
        if product.is_nan() || product <= 0.0 {
            Nanos::ZERO
        } else if product >= Nanos::MAX.0 as f64 {
            Nanos::MAX
        } else {
            Nanos(product.round() as u64)
        }
    }

    #[inline]
    pub(crate) const fn saturating_add(self, other: Nanos) -> Nanos {
        Nanos::from_nanos(self.raw().saturating_add(other.raw()))
    }

    #[inline]
    pub(crate) fn min(self, other: Nanos) -> Nanos {
        if self.raw() <= other.raw() { self } else { other }
    }

    #[inline]
    pub(crate) fn max(self, other: Nanos) -> Nanos {
        if self.raw() >= other.raw() { self } else { other }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_are_seconds() {
        assert_eq!(1.into_duration(), Some(Duration::from_secs(1)));
        assert_eq!(1.5.into_duration(), Some(Duration::from_millis(1500)));
        assert_eq!((-1).into_duration(), None);
        assert_eq!(f64::NAN.into_duration(), None);
        assert_eq!((-0.5f64).into_duration(), None);
        assert_eq!(f64::INFINITY.into_duration(), None);
    }

    #[test]
    fn nanos_saturate() {
        assert_eq!(Nanos::from_duration(Duration::MAX), Nanos::MAX);
        assert_eq!(Nanos::from_duration(Duration::from_secs(2)).raw(), 2_000_000_000);
        assert!(Nanos::from_input(-3).is_invalid());
        assert_eq!(Nanos::from_input(-3).get(), Duration::ZERO);
        assert_eq!(Nanos::MAX.saturating_add(Nanos::MAX), Nanos::MAX);
        assert_eq!(Nanos::from_input(1).scale(f64::INFINITY), Nanos::MAX);
        assert_eq!(Nanos::from_input(1).scale(f64::NAN), Nanos::ZERO);
    }
}
