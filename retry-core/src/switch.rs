//! The process-wide switch: [`disable`] retries and hedges everywhere at once (an
//! operator's kill switch during an incident, or a test binary that wants none),
//! and [`enable`] them again.

use core::sync::atomic::{AtomicBool, Ordering::Relaxed};

static DISABLED: AtomicBool = AtomicBool::new(false);

/// Turns retrying off for the whole process, until [`enable`]: every retried call
/// makes one attempt (a failure gives up at once, running `on_giveup` and
/// `fallback` as usual), and no hedged call starts a hedge. Calls already
/// sleeping for a retry make that retry.
///
/// For a scope of one thread, as a test wants it, see
/// [`testing::disable_retries`](crate::testing::disable_retries).
///
/// ```
/// use retry::{Retrying, dsl::*};
///
/// retry::disable();
/// let mut calls = 0;
/// let _ = Retrying::new().wait(none()).call(|| { calls += 1; Err::<(), _>("down") });
/// retry::enable();
/// assert_eq!(calls, 1);
/// ```
pub fn disable() {
    DISABLED.store(true, Relaxed);
}

/// Turns retrying back on after [`disable`].
pub fn enable() {
    DISABLED.store(false, Relaxed);
}

/// Whether retrying is on for the process (it is, unless [`disable`]d).
#[inline]
pub fn is_enabled() -> bool {
    !DISABLED.load(Relaxed)
}
