//! Hooks through which a [`CircuitBreaker`](crate::CircuitBreaker) or a
//! [`RetryBudget`](crate::RetryBudget) shares its state with the other replicas of
//! a service (the `retry-redis` crate implements them on Redis).
//!
//! A hook is attached once, to a breaker or budget that lives as long as the
//! store needs it (a `static`, a `LazyLock`, an `Arc`), with
//! [`CircuitBreaker::set_shared`](crate::CircuitBreaker::set_shared) or
//! [`RetryBudget::set_shared`](crate::RetryBudget::set_shared). The breaker or
//! budget stays the one the attribute names (`#[retry(breaker = PAYMENTS)]`): the
//! hook changes what it decides, not how it is called.
//!
//! Every hook method is called on the caller's thread, inside a call: it must
//! return at once (no network round trip, no lock held across one). A hook does
//! its I/O elsewhere and tells the breaker what the fleet decided through
//! [`CircuitBreaker::open_shared`](crate::CircuitBreaker::open_shared) and
//! [`CircuitBreaker::close_shared`](crate::CircuitBreaker::close_shared).

use core::time::Duration;

use crate::breaker::Window;

/// What a breaker tells its shared store, from the caller's thread.
///
/// The closed state calls none of it: a store learns the closed state's outcomes
/// by reading the breaker's own counters ([`CircuitBreaker::stats`](crate::CircuitBreaker::stats))
/// from its background work, so sharing adds nothing to a healthy call.
pub trait SharedBreaker: Send + Sync {
    /// A half-open probe the breaker would admit: whether the fleet allows it
    /// (a probe lease is held for it). `true` also when there is no shared state
    /// (the breaker then limits probes as it does alone).
    fn try_probe(&self) -> bool;

    /// A probe admitted by [`try_probe`](Self::try_probe) ended: `Some(true)`
    /// succeeded, `Some(false)` failed, `None` cancelled (dropped, panicked).
    fn probe_done(&self, outcome: Option<bool>);

    /// The breaker opened on its own evidence (closed on too many failures, or
    /// half-open on a failed probe), for `open_for`.
    fn opened(&self, open_for: Duration);

    /// The breaker closed on its own probes' successes.
    fn closed(&self);
}

/// What a budget asks its shared store, from the caller's thread.
pub trait SharedBudget: Send + Sync {
    /// A first attempt deposited.
    fn deposit(&self);

    /// A retry asks for a token: `Some(allowed)` from the shared state, or `None`
    /// when there is none now (the budget then decides alone).
    fn try_withdraw(&self) -> Option<bool>;

    /// A token [`try_withdraw`](Self::try_withdraw) gave was not used: it goes
    /// back (the budget gives it back to its own bucket as well, which records
    /// every withdrawal). `false` when there is no shared state now.
    fn refund(&self) -> bool;
}

/// A breaker's settings, as a shared store needs them (to version its keys and
/// to judge the fleet's counters by the same rules).
#[derive(Clone, Copy, Debug, PartialEq)]
#[non_exhaustive]
pub struct BreakerSettings {
    /// Failures in a row that open it (0: off).
    pub consecutive_failures: u32,
    /// Failure rate that opens it (0: off).
    pub failure_rate: f64,
    /// Slow-call threshold and rate, if set.
    pub slow_call: Option<(Duration, f64)>,
    /// The rate window, if any.
    pub window: Option<Window>,
    /// Calls the window must hold before rates are judged.
    pub minimum_calls: u32,
    /// The first open duration.
    pub open_for: Duration,
    /// The longest open duration (equal to `open_for` when fixed).
    pub open_max: Duration,
    /// Probes admitted at once in half-open, and successes needed to close.
    pub half_open_probes: u32,
}

/// A budget's settings, as a shared store needs them.
#[derive(Clone, Copy, Debug, PartialEq)]
#[non_exhaustive]
pub struct BudgetSettings {
    /// How long deposits and withdrawals count.
    pub ttl: Duration,
    /// Retries a second allowed whatever the traffic.
    pub min_per_sec: u64,
    /// Retries allowed per first attempt.
    pub ratio: f64,
}
