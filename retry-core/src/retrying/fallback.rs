//! [`Fallback`]: what a call that gives up returns instead.

/// What to return instead when a call gives up.
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not a fallback for `Result<{T}, {E}>`",
    label = "expected `FnOnce(Result<{T}, {E}>) -> Result<{T}, {E}>`"
)]
pub trait Fallback<T, E> {
    /// Whether it answers for a call that gave up (counted as a fallback in
    /// events, metrics and the tower layer's report).
    ///
    /// # Default
    /// `true`; [`NoFallback`] says `false`.
    const ANSWERS: bool = true;

    /// Maps the final outcome of a call that gave up.
    fn fallback(self, outcome: Result<T, E>) -> Result<T, E>;
}

/// No fallback: the caller gets the last outcome itself.
#[derive(Clone, Copy, Debug, Default)]
pub struct NoFallback;

impl<T, E> Fallback<T, E> for NoFallback {
    const ANSWERS: bool = false;
    #[inline(always)]
    fn fallback(self, outcome: Result<T, E>) -> Result<T, E> {
        outcome
    }
}

impl<T, E, F: FnOnce(Result<T, E>) -> Result<T, E>> Fallback<T, E> for F {
    #[inline]
    fn fallback(self, outcome: Result<T, E>) -> Result<T, E> {
        self(outcome)
    }
}
