//! Shared retry budgets on a real `redis-server` (see `common`).

mod common;

use std::sync::Arc;
use std::time::Duration;

use common::{Redis, wait_for};
use retry_core::dsl::{attempts, none};
use retry_core::{RetryBudget, Retrying};
use retry_redis::{BudgetLink, RedisStore};

const LEASE: u32 = 10;

fn fleet(redis: &Redis, name: &str, n: usize) -> Vec<(Arc<RetryBudget>, BudgetLink)> {
    let store = RedisStore::open(&redis.url()).expect("a valid URL").with_budget_lease(LEASE);
    let budgets: Vec<_> = (0..n)
        .map(|_| {
            let budget = Arc::new(RetryBudget::new().with_min_per_sec(0).with_ratio(0.2));
            let link = store.share_budget(name, budget.clone()).expect("shared");
            (budget, link)
        })
        .collect();
    let shared = wait_for(Duration::from_secs(5), || budgets.iter().all(|(_, link)| link.stats().shared));
    assert!(shared.is_some(), "every budget joins the shared state");
    budgets
}

/// A call that always fails, retried as far as `budget` allows; the attempts made.
fn failing_call(budget: &RetryBudget) -> u64 {
    let mut made = 0;
    let _ = Retrying::<(), &str>::new().stop(attempts(50)).wait(none()).budget(budget).call(|| {
        made += 1;
        Err("down")
    });
    made
}

#[test]
fn the_fleets_retries_stay_within_the_ratio_of_its_traffic() {
    let Some(redis) = Redis::start() else { return };
    let budgets = fleet(&redis, "payments", 4);
    // 10,000 first attempts, spread unevenly, every one failing.
    let shares = [5_000, 3_000, 1_500, 500];
    let mut attempts_made = 0;
    for (i, (budget, _)) in budgets.iter().enumerate() {
        for _ in 0..shares[i] {
            attempts_made += failing_call(budget);
        }
    }
    let retries = attempts_made - 10_000;
    let allowed = 10_000 / 5; // ratio 0.2, no reserve
    let slack = 4 * u64::from(LEASE);
    assert!(retries.abs_diff(allowed) <= slack, "{retries} retries for 10,000 calls (ratio 0.2 ± {slack})");
    assert!(budgets.iter().all(|(_, link)| link.stats().shared));
}

#[test]
fn a_replica_retries_on_the_deposits_of_the_others() {
    let Some(redis) = Redis::start() else { return };
    let budgets = fleet(&redis, "search", 2);
    let (busy, quiet) = (&budgets[0].0, &budgets[1].0);
    // The busy replica's 5,000 healthy calls deposit 1,000 tokens; all but its
    // lease go to the fleet's bucket.
    for _ in 0..5_000 {
        busy.deposit();
    }
    let mut retries = 0u64;
    let _ = wait_for(Duration::from_secs(4), || {
        while quiet.try_withdraw() {
            retries += 1;
        }
        retries >= 990
    });
    let fleet_tokens = 1_000;
    assert!(retries >= fleet_tokens - 2 * u64::from(LEASE), "{retries} retries on the fleet's 1,000 tokens");
    assert!(retries <= fleet_tokens, "{retries} retries on the fleet's 1,000 tokens");
    // Alone, it could not have retried at all: it made no first attempt.
    assert_eq!(quiet.stats().deposits, 0);
}

#[test]
fn redis_away_the_budget_decides_alone() {
    let Some(mut redis) = Redis::start() else { return };
    let budgets = fleet(&redis, "mail", 1);
    let (budget, link) = &budgets[0];
    redis.kill();
    // A retry finds the lease empty; the thread then finds Redis gone.
    let _ = budget.try_withdraw();
    assert!(wait_for(Duration::from_secs(3), || !link.stats().shared).is_some());
    // Local: 100 calls' deposits (ratio 0.2) allow 20 retries.
    let mut made = 0;
    for _ in 0..100 {
        made += failing_call(budget);
    }
    assert_eq!(made - 100, 20);
    // Back: shared again, retries drawn from the lease.
    redis.restart();
    assert!(
        wait_for(Duration::from_secs(5), || {
            let _ = budget.try_withdraw();
            link.stats().shared
        })
        .is_some()
    );
    for _ in 0..100 {
        budget.deposit();
    }
    assert!(budget.try_withdraw(), "the lease holds this replica's new deposits");
    assert_eq!(link.stats().fallbacks, 1);
}
