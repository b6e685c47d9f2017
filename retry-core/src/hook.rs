//! Hooks: code that runs around attempts and sleeps, as in tenacity.
//!
//! Order: `before`, the attempt, `after` (after **every** attempt, the successful one
//! included), then `on_success` or `on_giveup`, or else the delay is computed,
//! `before_sleep` runs and the sleep happens.

use crate::attempt::Attempt;

/// A hook over attempts of a call returning `Result<T, E>`: any
/// `FnMut(&Attempt<T, E>)`, or [`NoHook`].
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not a hook for attempts returning `Result<{T}, {E}>`",
    label = "expected `FnMut(&retry::Attempt<{T}, {E}>)`",
    note = "a hook takes one argument, `&Attempt`, and returns `()`: `|attempt| println!(\"{{}}\", attempt.attempt())`"
)]
#[doc(hidden)]
pub trait Hook<T, E> {
    /// Runs the hook.
    fn call(&mut self, attempt: &Attempt<'_, T, E>);

    /// `false` only for [`NoHook`]: lets the executor skip building hook arguments
    /// (and the clock reads they need).
    fn is_set(&self) -> bool {
        true
    }
}

/// The absent hook.
#[derive(Clone, Copy, Debug, Default)]
#[doc(hidden)]
pub struct NoHook;

impl<T, E> Hook<T, E> for NoHook {
    #[inline(always)]
    fn call(&mut self, _: &Attempt<'_, T, E>) {}
    #[inline(always)]
    fn is_set(&self) -> bool {
        false
    }
}

impl<T, E, F: FnMut(&Attempt<'_, T, E>)> Hook<T, E> for F {
    #[inline]
    fn call(&mut self, attempt: &Attempt<'_, T, E>) {
        self(attempt)
    }
}

/// The five hooks of one call.
#[derive(Clone, Copy, Debug, Default)]
#[doc(hidden)]
pub struct Hooks<B = NoHook, A = NoHook, S = NoHook, OS = NoHook, OG = NoHook> {
    pub(crate) before: B,
    pub(crate) after: A,
    pub(crate) before_sleep: S,
    pub(crate) on_success: OS,
    pub(crate) on_giveup: OG,
}

impl Hooks {
    /// No hooks.
    pub const fn new() -> Self {
        Hooks { before: NoHook, after: NoHook, before_sleep: NoHook, on_success: NoHook, on_giveup: NoHook }
    }
}

impl<B, A, S, OS, OG> Hooks<B, A, S, OS, OG> {
    pub(crate) fn before<F>(self, before: F) -> Hooks<F, A, S, OS, OG> {
        let Hooks { after, before_sleep, on_success, on_giveup, .. } = self;
        Hooks { before, after, before_sleep, on_success, on_giveup }
    }
    pub(crate) fn after<F>(self, after: F) -> Hooks<B, F, S, OS, OG> {
        let Hooks { before, before_sleep, on_success, on_giveup, .. } = self;
        Hooks { before, after, before_sleep, on_success, on_giveup }
    }
    pub(crate) fn before_sleep<F>(self, before_sleep: F) -> Hooks<B, A, F, OS, OG> {
        let Hooks { before, after, on_success, on_giveup, .. } = self;
        Hooks { before, after, before_sleep, on_success, on_giveup }
    }
    pub(crate) fn on_success<F>(self, on_success: F) -> Hooks<B, A, S, F, OG> {
        let Hooks { before, after, before_sleep, on_giveup, .. } = self;
        Hooks { before, after, before_sleep, on_success, on_giveup }
    }
    pub(crate) fn on_giveup<F>(self, on_giveup: F) -> Hooks<B, A, S, OS, F> {
        let Hooks { before, after, before_sleep, on_success, .. } = self;
        Hooks { before, after, before_sleep, on_success, on_giveup }
    }
}

/// The hooks as the executor calls them.
#[doc(hidden)]
pub trait HookSet<T, E> {
    /// Whether any hook is set (hooks may read the clock through [`Attempt::elapsed`]).
    fn any(&self) -> bool;
    /// Runs `before`.
    fn before(&mut self, attempt: &Attempt<'_, T, E>);
    /// Runs `after`.
    fn after(&mut self, attempt: &Attempt<'_, T, E>);
    /// Runs `before_sleep`.
    fn before_sleep(&mut self, attempt: &Attempt<'_, T, E>);
    /// Runs `on_success`.
    fn on_success(&mut self, attempt: &Attempt<'_, T, E>);
    /// Runs `on_giveup`.
    fn on_giveup(&mut self, attempt: &Attempt<'_, T, E>);
}

impl<T, E, B, A, S, OS, OG> HookSet<T, E> for Hooks<B, A, S, OS, OG>
where
    B: Hook<T, E>,
    A: Hook<T, E>,
    S: Hook<T, E>,
    OS: Hook<T, E>,
    OG: Hook<T, E>,
{
    #[inline(always)]
    fn any(&self) -> bool {
        self.before.is_set()
            || self.after.is_set()
            || self.before_sleep.is_set()
            || self.on_success.is_set()
            || self.on_giveup.is_set()
    }
    #[inline]
    fn before(&mut self, attempt: &Attempt<'_, T, E>) {
        self.before.call(attempt)
    }
    #[inline]
    fn after(&mut self, attempt: &Attempt<'_, T, E>) {
        self.after.call(attempt)
    }
    #[inline]
    fn before_sleep(&mut self, attempt: &Attempt<'_, T, E>) {
        self.before_sleep.call(attempt)
    }
    #[inline]
    fn on_success(&mut self, attempt: &Attempt<'_, T, E>) {
        self.on_success.call(attempt)
    }
    #[inline]
    fn on_giveup(&mut self, attempt: &Attempt<'_, T, E>) {
        self.on_giveup.call(attempt)
    }
}
