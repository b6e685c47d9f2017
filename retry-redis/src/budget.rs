//! The shared budget: a local lease of tokens in front of the fleet's bucket.

use core::fmt;
use core::sync::atomic::AtomicI64;
use core::sync::atomic::Ordering::{AcqRel, Acquire};
use std::sync::{Arc, Mutex};

use retry_core::RetryBudget;
use retry_core::clock::Clock;
use retry_core::shared::SharedBudget;
use tokio::time::Instant;

use crate::link::{self, Conn, Health, LinkStats, Slot, Slots};
use crate::scripts::SYNC_SCRIPT;
use crate::{Held, RedisStore, ShareError, keys};

/// Units of one token (one retry).
const UNIT: i64 = 1000;
/// Slots of the fleet's bucket over its `ttl`.
const SLOTS: u64 = 10;

/// The slots installed in budgets, so a budget can be shared again.
static HOOKS: Slots<Hook> = Mutex::new(Vec::new());

/// The hook: the local lease, in units.
#[derive(Debug)]
struct Hook {
    credit: AtomicI64,
    deposit: i64,
    /// Units the lease holds at most; more goes to the fleet's bucket.
    lease: i64,
    health: Arc<Health>,
}

impl SharedBudget for Hook {
    #[inline]
    fn deposit(&self) {
        if self.deposit != 0 && self.health.is_shared() {
            self.credit.fetch_add(self.deposit, AcqRel);
        }
    }

    fn try_withdraw(&self) -> Option<bool> {
        if !self.health.is_shared() {
            return None;
        }
        let taken =
            self.credit.fetch_update(AcqRel, Acquire, |credit| (credit >= UNIT).then(|| credit - UNIT));
        match taken {
            Ok(before) => {
                if before - UNIT < self.lease / 2 {
                    self.health.wake.notify_one();
                }
                Some(true)
            }
            Err(_) => {
                self.health.wake.notify_one();
                Some(false)
            }
        }
    }

    fn refund(&self) -> bool {
        if !self.health.is_shared() {
            return false;
        }
        self.credit.fetch_add(UNIT, AcqRel);
        true
    }
}

impl SharedBudget for Slot<Hook> {
    #[inline]
    fn deposit(&self) {
        self.with(Hook::deposit);
    }

    fn try_withdraw(&self) -> Option<bool> {
        self.with(Hook::try_withdraw).flatten()
    }

    fn refund(&self) -> bool {
        self.with(Hook::refund).unwrap_or(false)
    }
}

/// A budget's link to the fleet's bucket: keep it alive for as long as the
/// budget is shared. Dropped, the budget acts alone.
pub struct BudgetLink {
    hook: Arc<Hook>,
    slot: Arc<Slot<Hook>>,
    prefix: String,
}

impl fmt::Debug for BudgetLink {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("BudgetLink").field("prefix", &self.prefix).field("stats", &self.stats()).finish()
    }
}

impl BudgetLink {
    /// The link's counters (commands sent, fallbacks, whether shared now).
    pub fn stats(&self) -> LinkStats {
        self.hook.health.stats()
    }

    /// Retries this replica's lease holds now.
    pub fn leased(&self) -> u64 {
        u64::try_from(self.hook.credit.load(Acquire) / UNIT).unwrap_or(0)
    }

    /// The prefix of this budget's keys (`<namespace>:{<name>}:q:<version>:`).
    pub fn key_prefix(&self) -> &str {
        &self.prefix
    }
}

impl Drop for BudgetLink {
    fn drop(&mut self) {
        self.slot.detach();
        self.hook.health.stop();
    }
}

pub(crate) fn share<K>(
    store: &RedisStore,
    name: &str,
    budget: Held<RetryBudget<K>>,
) -> Result<BudgetLink, ShareError>
where
    K: Clock + Send + Sync + 'static,
{
    store.check()?;
    let settings = budget.settings();
    let version = keys::version(&format!("{settings:?}"));
    let prefix = keys::prefix(&store.namespace, name, "q", &version);
    let health = Arc::new(Health::new("budget", name));
    let lease = i64::from(store.budget_lease) * UNIT;
    let hook = Arc::new(Hook {
        credit: AtomicI64::new(0),
        deposit: (settings.ratio * UNIT as f64) as i64,
        lease,
        health: Arc::clone(&health),
    });
    let address = &*budget as *const RetryBudget<K> as usize;
    let slot = link::attach(&HOOKS, address, Arc::clone(&hook), |slot| budget.set_shared(slot).is_ok())
        .ok_or(ShareError::AlreadyShared)?;
    let keys = vec![format!("{prefix}s")];
    let ttl_ms = u64::try_from(settings.ttl.as_millis()).unwrap_or(60_000).clamp(1000, 60_000);
    let reserve =
        i64::try_from(settings.min_per_sec.saturating_mul(ttl_ms) / 1000).unwrap_or(i64::MAX / UNIT) * UNIT;
    let mut conn = Conn::new(store, Arc::clone(&health));
    let (worker_hook, worker_prefix) = (Arc::clone(&hook), prefix.clone());
    let (every, poll) = (store.flush_every, store.poll_every);
    let started = link::spawn(name, async move {
        // The budget lives as long as the thread uses it.
        let _budget = budget;
        let hook = worker_hook;
        let health = Arc::clone(&hook.health);
        let slot_ms = ttl_ms / SLOTS;
        let mut tick = tokio::time::interval(every);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let mut last = link::ago(poll);
        let mut dry = false;
        while !health.stopped.load(Acquire) {
            tokio::select! {
                _ = tick.tick() => {}
                () = health.wake.notified() => {}
            }
            // Before the first success, and while Redis is away, try once a poll.
            if !health.is_shared() && last.elapsed() < poll {
                continue;
            }
            let credit = hook.credit.load(Acquire);
            let excess = (credit - lease).max(0);
            let want = if credit < lease / 2 { lease - credit.max(0) } else { 0 };
            // Deposits beyond the lease go to the fleet in lots, or every poll;
            // an empty bucket is asked again only every poll.
            let send = excess >= lease || excess > 0 && last.elapsed() >= poll;
            let ask = want > 0 && (!dry || last.elapsed() >= poll);
            if !(send || ask || !health.is_shared()) {
                continue;
            }
            let put = if send { excess } else { 0 };
            hook.credit.fetch_sub(put, AcqRel);
            let args: [&dyn link::ToArg; 6] =
                [&worker_prefix, &slot_ms, &SLOTS, &reserve, &put, &if ask { want } else { 0 }];
            last = Instant::now();
            match conn.eval::<i64>(&SYNC_SCRIPT, &keys, &args).await {
                Some(taken) => {
                    let taken = taken.clamp(0, want);
                    dry = ask && taken == 0;
                    hook.credit.fetch_add(taken, AcqRel);
                }
                // Not sent: the units stay this replica's.
                None => {
                    hook.credit.fetch_add(put, AcqRel);
                }
            }
        }
    });
    if let Err(error) = started {
        slot.detach();
        hook.health.stop();
        return Err(ShareError::Thread(error));
    }
    Ok(BudgetLink { hook, slot, prefix })
}
