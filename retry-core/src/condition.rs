//! Conditions: which outcomes are retried.
//!
//! An error is retried when it matches `when` (default: every error) and does not
//! match `unless`; an `Ok` value is retried when it matches `if_result`. Each
//! `.when(..)` / `.unless(..)` / `.if_result(..)` on [`Retrying`](crate::Retrying) adds an
//! alternative: the first replaces the default, later ones combine as "either".

use core::fmt;
use core::time::Duration;

use crate::transient::Transient;

/// A predicate on errors: which errors are retried (`when`, `unless`), which count
/// as failures against a circuit breaker
/// ([`Retrying::breaker_counting`](crate::Retrying::breaker_counting)), which
/// start the next hedge at once ([`Hedging::when`](crate::Hedging::when)).
/// [`EveryError`], or any `Fn(&E) -> bool`.
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not a predicate on errors of type `{E}`",
    label = "expected a predicate `Fn(&{E}) -> bool`",
    note = "write `|error: &{E}| ...` returning `bool`, or a fn taking `&{E}`"
)]
pub trait ErrorFilter<E> {
    /// Whether `error` matches.
    fn matches(&self, error: &E) -> bool;
}

impl<E, P: Fn(&E) -> bool> ErrorFilter<E> for P {
    #[inline]
    fn matches(&self, error: &E) -> bool {
        self(error)
    }
}

/// A test over success values.
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot decide whether to retry a value of type `{T}`",
    label = "expected a predicate `Fn(&{T}) -> bool`",
    note = "write `|value: &{T}| ...` returning `bool`"
)]
#[doc(hidden)]
pub trait ValueFilter<T> {
    /// Whether `value` matches.
    fn matches(&self, value: &T) -> bool;
}

/// Matches every error: the default of `when`, of the errors a circuit breaker
/// counts as failures, and of the errors that start the next hedge at once.
#[derive(Clone, Copy, Debug, Default)]
pub struct EveryError;

/// Matches nothing: the default of `unless` and `if_result`.
#[derive(Clone, Copy, Debug, Default)]
#[doc(hidden)]
pub struct Nothing;

/// A predicate given to `.when()`, `.unless()` or `.if_result()`.
#[derive(Clone, Copy, Debug)]
#[doc(hidden)]
pub struct Filter<F>(pub F);

/// The patterns of `#[retry(on = [..])]` on a sync fn, as a `fn` pointer: rustc
/// checks this filter without proving a closure's higher-ranked `Fn(&E)` bound,
/// which is a large share of a sync fn's check. Not on async fns: the pointer
/// would add 8 bytes to their futures, where a closure that captures nothing
/// adds none.
#[doc(hidden)]
pub struct Matcher<E>(pub fn(&E) -> bool);

impl<E> fmt::Debug for Matcher<E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Matcher")
    }
}

impl<E> Clone for Matcher<E> {
    fn clone(&self) -> Self {
        *self
    }
}

impl<E> Copy for Matcher<E> {}

impl<E, F> AddFilter<F> for Matcher<E> {
    type Output = Or<Matcher<E>, Filter<F>>;
    fn add(self, filter: F) -> Self::Output {
        Or(self, Filter(filter))
    }
}

impl<E> ErrorFilter<E> for Matcher<E> {
    #[inline]
    fn matches(&self, error: &E) -> bool {
        (self.0)(error)
    }
}

/// Either of two filters.
#[derive(Clone, Copy, Debug)]
#[doc(hidden)]
pub struct Or<A, B>(pub A, pub B);

impl<E> ErrorFilter<E> for EveryError {
    #[inline(always)]
    fn matches(&self, _: &E) -> bool {
        true
    }
}

impl<E> ErrorFilter<E> for Nothing {
    #[inline]
    fn matches(&self, _: &E) -> bool {
        false
    }
}

impl<T> ValueFilter<T> for Nothing {
    #[inline]
    fn matches(&self, _: &T) -> bool {
        false
    }
}

impl<E, F: Fn(&E) -> bool> ErrorFilter<E> for Filter<F> {
    #[inline]
    fn matches(&self, error: &E) -> bool {
        (self.0)(error)
    }
}

impl<T, F: Fn(&T) -> bool> ValueFilter<T> for Filter<F> {
    #[inline]
    fn matches(&self, value: &T) -> bool {
        (self.0)(value)
    }
}

impl<E, A: ErrorFilter<E>, B: ErrorFilter<E>> ErrorFilter<E> for Or<A, B> {
    #[inline]
    fn matches(&self, error: &E) -> bool {
        self.0.matches(error) || self.1.matches(error)
    }
}

impl<T, A: ValueFilter<T>, B: ValueFilter<T>> ValueFilter<T> for Or<A, B> {
    #[inline]
    fn matches(&self, value: &T) -> bool {
        self.0.matches(value) || self.1.matches(value)
    }
}

/// How a filter grows when another predicate is added: a default is replaced, anything
/// else is combined with [`Or`].
#[doc(hidden)]
pub trait AddFilter<F> {
    /// The combined filter.
    type Output;
    /// Adds `filter` as an alternative.
    fn add(self, filter: F) -> Self::Output;
}

impl<F> AddFilter<F> for EveryError {
    type Output = Filter<F>;
    fn add(self, filter: F) -> Filter<F> {
        Filter(filter)
    }
}

impl<F> AddFilter<F> for Nothing {
    type Output = Filter<F>;
    fn add(self, filter: F) -> Filter<F> {
        Filter(filter)
    }
}

impl<F, G> AddFilter<F> for Filter<G> {
    type Output = Or<Filter<G>, Filter<F>>;
    fn add(self, filter: F) -> Self::Output {
        Or(self, Filter(filter))
    }
}

impl<F, A, B> AddFilter<F> for Or<A, B> {
    type Output = Or<Or<A, B>, Filter<F>>;
    fn add(self, filter: F) -> Self::Output {
        Or(self, Filter(filter))
    }
}

/// A delay an error asks for (an HTTP `Retry-After`, say), replacing the wait policy's.
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot read a retry-after delay from an error of type `{E}`",
    label = "expected `Fn(&{E}) -> Option<Duration>`"
)]
#[doc(hidden)]
pub trait RetryAfter<E> {
    /// `Some(delay)` to sleep exactly that long before the next attempt.
    fn retry_after(&self, error: &E) -> Option<Duration>;
}

impl<E> RetryAfter<E> for Nothing {
    #[inline]
    fn retry_after(&self, _: &E) -> Option<Duration> {
        None
    }
}

impl<E, F: Fn(&E) -> Option<Duration>> RetryAfter<E> for Filter<F> {
    #[inline]
    fn retry_after(&self, error: &E) -> Option<Duration> {
        (self.0)(error)
    }
}

/// The predicate of `on = transient`: retries errors whose
/// [`Transient::is_transient`] is true.
pub fn transient<E: Transient + ?Sized>(error: &E) -> bool {
    error.is_transient()
}

/// Everything that decides whether an outcome is retried; one per [`Retrying`](crate::Retrying).
#[derive(Clone, Copy, Debug, Default)]
#[doc(hidden)]
pub struct Conditions<W = EveryError, U = Nothing, I = Nothing, R = Nothing> {
    pub(crate) when: W,
    pub(crate) unless: U,
    pub(crate) if_result: I,
    pub(crate) retry_after: R,
}

impl Conditions {
    /// Retry every error, never an `Ok` value.
    pub const fn new() -> Self {
        Conditions { when: EveryError, unless: Nothing, if_result: Nothing, retry_after: Nothing }
    }
}

impl Conditions<Nothing> {
    /// Retry no error and no value: the start of `#[retry_if_result]`, to which
    /// `if_result` (and perhaps `when`) is added.
    pub const fn none() -> Self {
        Conditions { when: Nothing, unless: Nothing, if_result: Nothing, retry_after: Nothing }
    }
}

impl<W, U, I, R> Conditions<W, U, I, R> {
    pub(crate) fn when<F>(self, f: F) -> Conditions<W::Output, U, I, R>
    where
        W: AddFilter<F>,
    {
        let Conditions { when, unless, if_result, retry_after } = self;
        Conditions { when: when.add(f), unless, if_result, retry_after }
    }

    pub(crate) fn unless<F>(self, f: F) -> Conditions<W, U::Output, I, R>
    where
        U: AddFilter<F>,
    {
        let Conditions { when, unless, if_result, retry_after } = self;
        Conditions { when, unless: unless.add(f), if_result, retry_after }
    }

    pub(crate) fn if_result<F>(self, f: F) -> Conditions<W, U, I::Output, R>
    where
        I: AddFilter<F>,
    {
        let Conditions { when, unless, if_result, retry_after } = self;
        Conditions { when, unless, if_result: if_result.add(f), retry_after }
    }

    pub(crate) fn replace_when<W2>(self, when: W2) -> Conditions<W2, U, I, R> {
        let Conditions { unless, if_result, retry_after, .. } = self;
        Conditions { when, unless, if_result, retry_after }
    }

    pub(crate) fn retry_after<F>(self, f: F) -> Conditions<W, U, I, Filter<F>> {
        let Conditions { when, unless, if_result, .. } = self;
        Conditions { when, unless, if_result, retry_after: Filter(f) }
    }
}

/// The combined decision, as the executor asks it.
#[doc(hidden)]
pub trait Classify<T, E> {
    /// Whether this outcome should be retried (before stop policies have their say).
    fn should_retry(&self, outcome: &Result<T, E>) -> bool;
    /// The delay the error asks for, if any.
    fn retry_after(&self, error: &E) -> Option<Duration>;
}

impl<T, E, W, U, I, R> Classify<T, E> for Conditions<W, U, I, R>
where
    W: ErrorFilter<E>,
    U: ErrorFilter<E>,
    I: ValueFilter<T>,
    R: RetryAfter<E>,
{
    #[inline]
    fn should_retry(&self, outcome: &Result<T, E>) -> bool {
        match outcome {
            Ok(value) => self.if_result.matches(value),
            Err(error) => self.when.matches(error) && !self.unless.matches(error),
        }
    }
    #[inline]
    fn retry_after(&self, error: &E) -> Option<Duration> {
        self.retry_after.retry_after(error)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_and_combination() {
        let c = Conditions::new();
        assert!(Classify::<u8, u8>::should_retry(&c, &Err(1)));
        assert!(!Classify::<u8, u8>::should_retry(&c, &Ok(1)));

        let c = Conditions::new().when(|e: &u8| *e == 1).when(|e: &u8| *e == 2).unless(|e: &u8| *e == 2);
        assert!(Classify::<u8, u8>::should_retry(&c, &Err(1)));
        assert!(!Classify::<u8, u8>::should_retry(&c, &Err(2)), "unless wins");
        assert!(!Classify::<u8, u8>::should_retry(&c, &Err(3)));

        let c = Conditions::none().if_result(|v: &u8| *v == 0);
        assert!(Classify::<u8, u8>::should_retry(&c, &Ok(0)));
        assert!(!Classify::<u8, u8>::should_retry(&c, &Ok(1)));
        assert!(!Classify::<u8, u8>::should_retry(&c, &Err(0)), "retry_if_result: errors return at once");
    }
}
