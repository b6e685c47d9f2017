//! Errors of the runtime itself.

use core::fmt;

/// A policy built from values that make no sense (`attempts(0)`, `min > max`, a
/// negative or NaN duration, a base below 1, ...).
///
/// Returned by [`Retrying::check`](crate::Retrying::check) and by each policy's
/// `validate()`. The `#[retry]` macro reports the same problems at compile time when
/// the values are literals.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct InvalidPolicy {
    policy: &'static str,
    reason: &'static str,
}

impl InvalidPolicy {
    pub(crate) const fn new(policy: &'static str, reason: &'static str) -> Self {
        InvalidPolicy { policy, reason }
    }

    /// The DSL name of the offending policy, e.g. `"expo"`.
    pub const fn policy(&self) -> &'static str {
        self.policy
    }

    /// What is wrong with it, e.g. `"min is greater than max"`.
    pub const fn reason(&self) -> &'static str {
        self.reason
    }
}

impl fmt::Display for InvalidPolicy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "invalid `{}` policy: {}", self.policy, self.reason)
    }
}

impl std::error::Error for InvalidPolicy {}

/// Checks `ok` and otherwise yields the error; keeps `validate()` bodies flat.
#[inline]
pub(crate) const fn ensure(
    ok: bool,
    policy: &'static str,
    reason: &'static str,
) -> Result<(), InvalidPolicy> {
    if ok { Ok(()) } else { Err(InvalidPolicy::new(policy, reason)) }
}
