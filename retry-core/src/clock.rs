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

/// An instant in one word: signed nanoseconds from a process-wide origin. A
/// call keeps its start so (8 bytes, where `Option<Instant>` takes 16): it is
/// held in every retried fn's future. Instants more than 292 years either side
/// of the origin read as that far.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Stamp(i64);

impl Stamp {
    /// No instant (the clock not read yet).
    pub(crate) const NONE: Stamp = Stamp(i64::MIN);

    fn origin() -> Instant {
        static ORIGIN: std::sync::OnceLock<Instant> = std::sync::OnceLock::new();
        *ORIGIN.get_or_init(Instant::now)
    }

    /// `instant`, from the origin.
    #[inline]
    pub(crate) fn of(instant: Instant) -> Stamp {
        let origin = Stamp::origin();
        let (after, span) = match instant.checked_duration_since(origin) {
            Some(span) => (true, span),
            None => (false, origin.duration_since(instant)),
        };
        // Whole u64 arithmetic (no `u128` of `as_nanos`), saturating at 292 years.
        let nanos =
            span.as_secs().saturating_mul(1_000_000_000).saturating_add(u64::from(span.subsec_nanos()));
        let nanos = i64::try_from(nanos).unwrap_or(i64::MAX);
        Stamp(if after { nanos } else { -nanos.min(i64::MAX - 1) })
    }

    pub(crate) const fn is_none(self) -> bool {
        self.0 == i64::MIN
    }

    /// Time from `self` to `now`: zero when `now` is earlier or `self` is
    /// [`NONE`](Self::NONE).
    #[inline]
    pub(crate) fn elapsed_at(self, now: Instant) -> core::time::Duration {
        if self.is_none() {
            return core::time::Duration::ZERO;
        }
        let nanos = u64::try_from(Stamp::of(now).0.saturating_sub(self.0)).unwrap_or(0);
        core::time::Duration::new(nanos / 1_000_000_000, (nanos % 1_000_000_000) as u32)
    }
}

#[cfg(test)]
mod tests {
    use core::time::Duration;

    use super::*;

    const YEAR: Duration = Duration::from_secs(365 * 24 * 3600);

    #[test]
    fn a_stamp_measures_elapsed_time_on_either_side_of_the_origin() {
        let origin = Stamp::origin();
        for start in [origin, origin + 3 * YEAR, origin.checked_sub(Duration::from_secs(5)).unwrap_or(origin)]
        {
            let stamp = Stamp::of(start);
            assert!(!stamp.is_none());
            assert_eq!(stamp.elapsed_at(start), Duration::ZERO);
            assert_eq!(stamp.elapsed_at(start + Duration::from_nanos(1)), Duration::from_nanos(1));
            assert_eq!(stamp.elapsed_at(start + 200 * YEAR), 200 * YEAR, "a clock that jumps by years");
            assert_eq!(
                stamp.elapsed_at(start.checked_sub(Duration::from_secs(1)).unwrap_or(start)),
                Duration::ZERO
            );
        }
    }

    #[test]
    fn a_stamp_saturates_past_292_years_and_none_measures_nothing() {
        let origin = Stamp::origin();
        let far = Stamp::of(origin + 400 * YEAR);
        assert_eq!(far, Stamp(i64::MAX));
        assert!(Stamp::of(origin).elapsed_at(origin + 400 * YEAR) >= 292 * YEAR);
        assert_eq!(Stamp::NONE.elapsed_at(origin + YEAR), Duration::ZERO);
        assert!(Stamp::NONE.is_none());
    }
}
