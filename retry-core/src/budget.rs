//! A retry budget: retries stay a bounded share of the traffic, so a failing
//! dependency is not hit by a retry storm.
//!
//! ```
//! use retry::{Retrying, RetryBudget, dsl::*};
//!
//! // 2 retries a second of reserve, plus 20% of the calls made in the last 10 s.
//! static BUDGET: RetryBudget = RetryBudget::new().with_min_per_sec(2);
//!
//! let mut calls = 0;
//! for _ in 0..10 {
//!     let _ = Retrying::<(), &str>::new()
//!         .stop(attempts(10))
//!         .wait(none())
//!         .budget(&BUDGET)
//!         .call(|| { calls += 1; Err("down") });
//! }
//! // 10 first attempts, and only the 20 reserved retries (plus 2 from deposits):
//! // not 100 calls.
//! assert_eq!(calls, 10 + 22);
//! ```
//!
//! # How it counts
//! A token bucket in the manner of Finagle and tower: each first attempt deposits
//! `ratio` of a token, each retry (or hedge) withdraws one. Deposits and
//! withdrawals expire after `ttl`, and a reserve of `min_per_sec × ttl` tokens is
//! always there, so a quiet service can still retry a little. When a retry finds
//! the bucket empty, the call gives up at once with its last error.
//!
//! # Cost
//! Every call that names a budget reads the clock once (its deposit lands in the
//! current slot) and makes two atomic updates; each retry one compare-and-swap.
//!
//! # Concurrency
//! Lock-free: the balance is one atomic word, and a withdrawal is a
//! compare-and-swap on it, so concurrent retries never overdraw the budget. The
//! `ttl` is split into ten slots; the thread that first sees a new slot expires
//! the old one. After any idle gap (an hour, a night, a clock that jumped by
//! years) everything older than `ttl` has expired: only the reserve is left.
//!
//! # Shared state
//! A budget can draw on a bucket shared by the replicas of a service through a
//! [`SharedBudget`] hook ([`set_shared`](RetryBudget::set_shared); the
//! `retry-redis` crate provides one). Deposits go to both; a retry asks the hook,
//! and only when the hook has no shared state (its store unreachable) does the
//! budget decide alone, from the deposits it has kept counting. Retries the hook
//! allows are withdrawn here too, so a budget that falls back spends only what
//! its own deposits have left (none, if the fleet's bucket paid for more).

use core::fmt;
use core::sync::atomic::Ordering::{AcqRel, Acquire, Relaxed};
use core::sync::atomic::{AtomicI64, AtomicU64};
use core::time::Duration;
use std::sync::OnceLock;
use std::time::Instant;

use crate::clock::{Clock, DefaultClock};
use crate::shared::{BudgetSettings, SharedBudget};

/// Slots the `ttl` is split into.
const SLOTS: u64 = 10;
/// Units of one token (one retry): deposits are `ratio × UNIT`.
const UNIT: i64 = 1000;
/// A slot word: the low 16 bits of its epoch, and a signed 48-bit net amount.
const TAG_BITS: u32 = 16;
const TAG_MASK: u64 = (1 << TAG_BITS) - 1;
const VALUE_MAX: i64 = (1 << 47) - 1;

const fn pack(epoch: u64, value: i64) -> u64 {
    ((value as u64) << TAG_BITS) | (epoch & TAG_MASK)
}

const fn unpack(word: u64) -> (u64, i64) {
    (word & TAG_MASK, (word as i64) >> TAG_BITS)
}

/// Whether a slot tagged `tag` belongs to an epoch before `epoch`.
const fn is_older(tag: u64, epoch: u64) -> bool {
    let distance = (epoch.wrapping_sub(tag)) & TAG_MASK;
    distance != 0 && distance < (1 << (TAG_BITS - 1))
}

/// A retry budget shared by every call that names it; see the [module docs](self).
/// Share it by reference (it is `Sync`), in a `static` (`new` is `const`) or an `Arc`.
///
/// # Default
/// `ttl` 10 s, `min_per_sec` 10, `ratio` 0.2 (as Finagle and tower), the
/// [`DefaultClock`].
pub struct RetryBudget<K = DefaultClock> {
    min_per_sec: u64,
    ratio: f64,
    slot_ms: u64,
    reserve: i64,
    deposit: i64,
    clock: K,
    name: &'static str,
    origin: OnceLock<Instant>,
    /// Net units of the live slots.
    balance: AtomicI64,
    /// The newest epoch whose slot has been claimed.
    rotated: AtomicU64,
    slots: [AtomicU64; SLOTS as usize],
    deposits: AtomicU64,
    withdrawals: AtomicU64,
    exhausted: AtomicU64,
    shared: OnceLock<std::sync::Arc<dyn SharedBudget>>,
}

impl<K> fmt::Debug for RetryBudget<K> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RetryBudget")
            .field("ttl_ms", &(self.slot_ms * SLOTS))
            .field("min_per_sec", &self.min_per_sec)
            .field("ratio", &self.ratio)
            .finish_non_exhaustive()
    }
}

impl RetryBudget {
    /// A budget with the defaults (see the type's `# Default`).
    pub const fn new() -> Self {
        RetryBudget::with_clock(DefaultClock)
    }
}

impl Default for RetryBudget {
    fn default() -> Self {
        RetryBudget::new()
    }
}

/// Budget counters.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BudgetStats {
    /// Retries the budget would allow now.
    pub available: u64,
    /// First attempts that deposited.
    pub deposits: u64,
    /// Retries it allowed.
    pub withdrawals: u64,
    /// Retries it refused.
    pub exhausted: u64,
}

impl<K> RetryBudget<K> {
    /// A budget reading time from `clock` (a
    /// [`testing::ManualClock`](crate::testing::ManualClock) in tests).
    pub const fn with_clock(clock: K) -> Self {
        let budget = RetryBudget {
            min_per_sec: 0,
            ratio: 0.0,
            slot_ms: 0,
            reserve: 0,
            deposit: 0,
            clock,
            name: "budget",
            origin: OnceLock::new(),
            balance: AtomicI64::new(0),
            rotated: AtomicU64::new(0),
            slots: [const { AtomicU64::new(0) }; SLOTS as usize],
            deposits: AtomicU64::new(0),
            withdrawals: AtomicU64::new(0),
            exhausted: AtomicU64::new(0),
            shared: OnceLock::new(),
        };
        budget.configure(Duration::from_secs(10), 10, 0.2)
    }

    const fn ttl(&self) -> Duration {
        Duration::from_millis(self.slot_ms * SLOTS)
    }

    const fn min_per_sec(&self) -> u64 {
        self.min_per_sec
    }

    const fn ratio(&self) -> f64 {
        self.ratio
    }

    const fn configure(mut self, ttl: Duration, min_per_sec: u64, ratio: f64) -> Self {
        let ttl_ms = ttl.as_millis();
        let ttl_ms = if ttl_ms < 1000 {
            1000
        } else if ttl_ms > 60_000 {
            60_000
        } else {
            ttl_ms as u64
        };
        let ratio = if ratio.is_nan() || ratio < 0.0 {
            0.0
        } else if ratio > 1000.0 {
            1000.0
        } else {
            ratio
        };
        let min_per_sec = if min_per_sec > 1_000_000 { 1_000_000 } else { min_per_sec };
        self.min_per_sec = min_per_sec;
        self.ratio = ratio;
        self.slot_ms = ttl_ms / SLOTS;
        self.reserve = (min_per_sec * ttl_ms / 1000) as i64 * UNIT;
        self.deposit = (ratio * UNIT as f64) as i64;
        self
    }

    /// A label for metrics (`budget`).
    ///
    /// # Default
    /// `"budget"`.
    pub const fn with_name(mut self, name: &'static str) -> Self {
        self.name = name;
        self
    }

    /// How long deposits and withdrawals count (1 s to 60 s; clamped).
    ///
    /// # Default
    /// 10 s.
    pub const fn with_ttl(self, ttl: Duration) -> Self {
        let (min_per_sec, ratio) = (self.min_per_sec(), self.ratio());
        self.configure(ttl, min_per_sec, ratio)
    }

    /// Retries a second allowed whatever the traffic (the reserve is this times
    /// `ttl`; at most 1,000,000).
    ///
    /// # Default
    /// 10.
    pub const fn with_min_per_sec(self, min_per_sec: u32) -> Self {
        let (ttl, ratio) = (self.ttl(), self.ratio());
        self.configure(ttl, min_per_sec as u64, ratio)
    }

    /// Retries allowed per first attempt, beyond the reserve (0.2: retries add at
    /// most 20% to the traffic). Negative or NaN reads as 0, above 1000 as 1000;
    /// precision 0.001.
    ///
    /// # Default
    /// 0.2.
    pub const fn with_ratio(self, ratio: f64) -> Self {
        let (ttl, min_per_sec) = (self.ttl(), self.min_per_sec());
        self.configure(ttl, min_per_sec, ratio)
    }
}

impl<K> RetryBudget<K> {
    /// Shares this budget's bucket through `hook` (see the module's `# Shared
    /// state`). Once per budget: a second hook is handed back.
    pub fn set_shared(
        &self,
        hook: std::sync::Arc<dyn SharedBudget>,
    ) -> Result<(), std::sync::Arc<dyn SharedBudget>> {
        self.shared.set(hook)
    }

    /// The settings, as a shared store needs them.
    pub fn settings(&self) -> BudgetSettings {
        BudgetSettings { ttl: self.ttl(), min_per_sec: self.min_per_sec(), ratio: self.ratio() }
    }

    /// The label given with [`with_name`](Self::with_name).
    pub fn name(&self) -> &'static str {
        self.name
    }
}

impl<K: Clock> RetryBudget<K> {
    /// A first attempt: deposits `ratio` of a token.
    #[inline]
    pub fn deposit(&self) {
        self.deposits.fetch_add(1, Relaxed);
        if self.deposit != 0 {
            self.add(self.deposit, self.epoch());
        }
        if let Some(shared) = self.shared.get() {
            shared.deposit();
        }
    }

    /// A retry: takes a token if one is there, or counts an exhaustion and
    /// returns `false`.
    pub fn try_withdraw(&self) -> bool {
        match self.shared.get().and_then(|shared| shared.try_withdraw()) {
            Some(true) => {
                // Taken from this budget's own bucket too (as a debt if need
                // be): that bucket decides when the shared state is away, and
                // must not spend again what the fleet's bucket already allowed.
                let epoch = self.epoch();
                self.rotate(epoch);
                self.balance.fetch_sub(UNIT, AcqRel);
                self.add_to_slot(-UNIT, epoch, false);
                self.withdrawals.fetch_add(1, Relaxed);
                return true;
            }
            Some(false) => {
                self.exhausted.fetch_add(1, Relaxed);
                #[cfg(feature = "metrics")]
                metrics::counter!("retry_budget_exhausted_total", "budget" => self.name).increment(1);
                return false;
            }
            None => {}
        }
        let epoch = self.epoch();
        self.rotate(epoch);
        let taken = self.balance.fetch_update(AcqRel, Acquire, |balance| {
            (balance.saturating_add(self.reserve) >= UNIT).then_some(balance - UNIT)
        });
        if taken.is_err() {
            self.exhausted.fetch_add(1, Relaxed);
            #[cfg(feature = "metrics")]
            metrics::counter!("retry_budget_exhausted_total", "budget" => self.name).increment(1);
            return false;
        }
        // The balance already paid; the slot remembers it, to give it back at expiry.
        self.add_to_slot(-UNIT, epoch, false);
        self.withdrawals.fetch_add(1, Relaxed);
        true
    }

    /// Gives back a retry's token: the retry it was taken for was not made (a
    /// circuit breaker rejected it).
    pub(crate) fn refund(&self) {
        // Given back here too: the withdrawal was taken here either way.
        if let Some(shared) = self.shared.get() {
            shared.refund();
        }
        let epoch = self.epoch();
        self.rotate(epoch);
        self.withdrawals.fetch_sub(1, Relaxed);
        self.add_to_slot(UNIT, epoch, true);
    }

    /// Retries the budget would allow now.
    pub fn available(&self) -> u64 {
        self.rotate(self.epoch());
        let units = self.balance.load(Acquire).saturating_add(self.reserve);
        u64::try_from(units / UNIT).unwrap_or(0)
    }

    /// Live counters.
    pub fn stats(&self) -> BudgetStats {
        BudgetStats {
            available: self.available(),
            deposits: self.deposits.load(Relaxed),
            withdrawals: self.withdrawals.load(Relaxed),
            exhausted: self.exhausted.load(Relaxed),
        }
    }

    /// The current slot's epoch. Read from [`Clock::now_async`], as a breaker
    /// reads it: the default clock follows tokio's paused clock.
    fn epoch(&self) -> u64 {
        let now = self.clock.now_async();
        let origin = *self.origin.get_or_init(|| now);
        let ms = u64::try_from(now.saturating_duration_since(origin).as_millis()).unwrap_or(u64::MAX);
        ms / self.slot_ms
    }

    fn add(&self, delta: i64, epoch: u64) {
        self.rotate(epoch);
        self.add_to_slot(delta, epoch, true);
    }

    /// Adds `delta` to the epoch's slot (expiring what it held before, if that is
    /// older), and to the balance if `to_balance`. An epoch that has already left
    /// the window (a thread that read the clock long before it got here) records
    /// nothing in a slot: what it would have held is expired at once (a
    /// withdrawal's unit, which the balance already paid, goes back to it).
    fn add_to_slot(&self, delta: i64, epoch: u64, to_balance: bool) {
        let slot = &self.slots[(epoch % SLOTS) as usize];
        let mut word = slot.load(Acquire);
        loop {
            if epoch.saturating_add(SLOTS) <= self.rotated.load(Acquire) {
                let change = if to_balance { 0 } else { -delta };
                if change != 0 {
                    self.balance.fetch_add(change, AcqRel);
                }
                return;
            }
            // The epoch is live, so every tag in play is within a few slots of it
            // and the 16-bit comparison cannot wrap.
            let (tag, value) = unpack(word);
            let (tag, base, expired) = if is_older(tag, epoch) { (epoch, 0, value) } else { (tag, value, 0) };
            // This epoch's slot, or a newer one's (this thread is late): add to it,
            // as far as a slot holds.
            let held = base.saturating_add(delta).clamp(-VALUE_MAX, VALUE_MAX);
            match slot.compare_exchange_weak(word, pack(tag, held), AcqRel, Acquire) {
                Ok(_) => {
                    // The balance follows what the slots hold: a withdrawal's unit,
                    // paid already, comes back as far as the slot could not take it.
                    let applied = held - base;
                    let change = applied - if to_balance { 0 } else { delta } - expired;
                    if change != 0 {
                        self.balance.fetch_add(change, AcqRel);
                    }
                    return;
                }
                Err(current) => word = current,
            }
        }
    }

    /// Expires the slots of epochs that left the window since the last rotation.
    ///
    /// After a gap of a whole window or more (an idle night, a clock that jumped
    /// by years), every slot is expired whatever its tag says: a 16-bit tag cannot
    /// tell an epoch from one 65,536 epochs older.
    fn rotate(&self, epoch: u64) {
        let last = self.rotated.load(Acquire);
        if last >= epoch || self.rotated.compare_exchange(last, epoch, AcqRel, Acquire).is_err() {
            return;
        }
        let whole_window = epoch - last >= SLOTS;
        let first = if whole_window { epoch - (SLOTS - 1) } else { last + 1 };
        for claimed in first..=epoch {
            let slot = &self.slots[(claimed % SLOTS) as usize];
            let mut word = slot.load(Acquire);
            loop {
                let (tag, value) = unpack(word);
                if !whole_window && !is_older(tag, claimed) {
                    break;
                }
                match slot.compare_exchange_weak(word, pack(claimed, 0), AcqRel, Acquire) {
                    Ok(_) => {
                        if value != 0 {
                            self.balance.fetch_sub(value, AcqRel);
                        }
                        break;
                    }
                    Err(current) => word = current,
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::ManualClock;

    #[test]
    fn words_round_trip() {
        for (epoch, value) in [(0, 0), (5, -1000), (70_000, VALUE_MAX), (3, -VALUE_MAX)] {
            assert_eq!(unpack(pack(epoch, value)), (epoch & TAG_MASK, value));
        }
        assert!(is_older(0, 1) && !is_older(1, 1) && !is_older(2, 1));
        assert!(is_older(TAG_MASK, 0), "wraps");
    }

    #[test]
    fn settings_clamp_and_read_back() {
        let budget = RetryBudget::new();
        assert_eq!((budget.ttl(), budget.min_per_sec(), budget.ratio()), (Duration::from_secs(10), 10, 0.2));
        let budget = RetryBudget::new().with_ttl(Duration::ZERO).with_ratio(f64::NAN).with_min_per_sec(3);
        assert_eq!((budget.ttl(), budget.min_per_sec(), budget.ratio()), (Duration::from_secs(1), 3, 0.0));
        let budget = RetryBudget::new().with_ttl(Duration::MAX).with_ratio(1e9);
        assert_eq!((budget.ttl(), budget.ratio()), (Duration::from_secs(60), 1000.0));
    }

    #[test]
    fn deposits_and_withdrawals_expire_after_ttl() {
        let clock = ManualClock::new();
        let budget = RetryBudget::with_clock(clock.clone()).with_min_per_sec(0).with_ratio(0.5);
        for _ in 0..4 {
            budget.deposit();
        }
        assert_eq!(budget.available(), 2);
        assert!(budget.try_withdraw());
        assert_eq!(budget.available(), 1);
        clock.advance(Duration::from_secs(5));
        budget.deposit();
        budget.deposit();
        assert_eq!(budget.available(), 2);
        // The first deposits and the withdrawal expire; the later ones stay.
        clock.advance(Duration::from_secs(5));
        assert_eq!(budget.available(), 1);
        clock.advance(Duration::from_secs(5));
        assert_eq!(budget.available(), 0);
        assert!(!budget.try_withdraw());
        assert_eq!(budget.stats().exhausted, 1);
        // Long idle: every slot is expired at once.
        budget.deposit();
        budget.deposit();
        clock.advance(Duration::from_secs(3600));
        assert_eq!(budget.available(), 0);
        assert_eq!(budget.balance.load(Relaxed), 0);
    }

    #[test]
    fn everything_expires_after_any_idle_gap() {
        // Gaps around the 16-bit tag's wrap points, at the 1 s slots of the default ttl.
        for idle_s in [
            10,
            11,
            3_600,
            32_767,
            32_768,
            32_769,
            36_000,
            65_535,
            65_536,
            65_537,
            655_360,
            10 * 365 * 86_400,
        ] {
            let clock = ManualClock::new();
            let budget = RetryBudget::with_clock(clock.clone()).with_min_per_sec(10);
            for _ in 0..100 {
                assert!(budget.try_withdraw());
            }
            assert_eq!(budget.available(), 0);
            clock.advance(Duration::from_secs(idle_s));
            assert_eq!(budget.available(), 100, "after {idle_s} s idle");
            for _ in 0..100_000 {
                budget.deposit();
            }
            clock.advance(Duration::from_secs(60));
            assert_eq!(budget.available(), 100, "after {idle_s} s idle, deposits expire again");
            assert_eq!(budget.balance.load(Relaxed), 0);
        }
    }

    #[test]
    fn the_balance_follows_what_a_full_slot_holds() {
        let clock = ManualClock::new();
        let budget = RetryBudget::with_clock(clock.clone()).with_min_per_sec(0);
        assert_eq!(budget.available(), 0, "the clock's origin: epoch 0");
        budget.add(VALUE_MAX, 0);
        budget.add(VALUE_MAX, 0);
        assert_eq!(budget.balance.load(Relaxed), VALUE_MAX, "a slot holds VALUE_MAX at most");
        clock.advance(Duration::from_secs(11));
        assert_eq!(budget.available(), 0);
        assert_eq!(budget.balance.load(Relaxed), 0);
    }
}
