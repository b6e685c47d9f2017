//! The random source behind every jittered wait policy.
//!
//! Draws come from `rand`'s thread-local generator, unless a
//! [`testing::seed_jitter`](crate::testing::seed_jitter) guard is alive on this thread,
//! in which case they come from a seeded `SmallRng` and are reproducible.

use core::cell::RefCell;

use rand::rngs::SmallRng;
use rand::{RngExt, SeedableRng};

thread_local! {
    static SEEDED: RefCell<Option<SmallRng>> = const { RefCell::new(None) };
}

/// A uniform draw in `lo..=hi` (nanoseconds); `lo` when the range is empty.
pub(crate) fn uniform(lo: u64, hi: u64) -> u64 {
    if lo >= hi {
        return lo;
    }
    SEEDED.with_borrow_mut(|seeded| match seeded {
        Some(rng) => rng.random_range(lo..=hi),
        None => rand::rng().random_range(lo..=hi),
    })
}

/// Installs a seeded generator on this thread; returns the one it replaces.
pub(crate) fn replace_seed(seed: Option<u64>) -> Option<SmallRng> {
    SEEDED.with_borrow_mut(|seeded| core::mem::replace(seeded, seed.map(SmallRng::seed_from_u64)))
}

/// Puts back a generator saved by [`replace_seed`].
pub(crate) fn restore(previous: Option<SmallRng>) {
    SEEDED.with_borrow_mut(|seeded| *seeded = previous);
}
