//! Feature `metrics`: what a retried fn, a breaker, a budget and a hedged fn
//! record through the `metrics` facade, read back from a debugging recorder.
#![deny(warnings, clippy::all)]

use std::collections::HashMap;
use std::sync::atomic::{AtomicU32, Ordering};

use metrics_util::debugging::{DebugValue, DebuggingRecorder};
use retry::{CircuitBreaker, RetryBudget, Retrying, dsl::*, retry};

/// Runs `f` under a fresh recorder; returns `metric{label=value} -> value`.
fn record(f: impl FnOnce()) -> HashMap<String, f64> {
    let recorder = DebuggingRecorder::new();
    let snapshotter = recorder.snapshotter();
    metrics::with_local_recorder(&recorder, f);
    snapshotter
        .snapshot()
        .into_vec()
        .into_iter()
        .map(|(key, _, _, value)| {
            let key = key.key();
            let labels: Vec<String> = key.labels().map(|l| format!("{}={}", l.key(), l.value())).collect();
            let value = match value {
                DebugValue::Counter(n) => n as f64,
                DebugValue::Gauge(g) => g.into_inner(),
                DebugValue::Histogram(samples) => samples.len() as f64,
            };
            (format!("{}{{{}}}", key.name(), labels.join(",")), value)
        })
        .collect()
}

#[retry(stop = attempts(4), wait = none(), name = "payments::charge")]
fn charge(calls: &AtomicU32) -> Result<u32, String> {
    if calls.fetch_add(1, Ordering::SeqCst) < 2 { Err("declined".into()) } else { Ok(7) }
}

#[retry(stop = attempts(2), wait = none(), name = "payments::refund")]
fn refund() -> Result<(), String> {
    Err("nope".into())
}

#[test]
fn attempts_retries_successes_and_give_ups_by_name() {
    let metrics = record(|| {
        assert_eq!(charge(&AtomicU32::new(0)), Ok(7));
        assert!(refund().is_err());
    });
    let get = |key: &str| metrics.get(key).copied().unwrap_or_default();
    assert_eq!(get("retry_attempts_total{name=payments::charge}"), 3.0);
    assert_eq!(get("retry_retries_total{name=payments::charge}"), 2.0);
    assert_eq!(get("retry_successes_total{name=payments::charge}"), 1.0);
    assert_eq!(get("retry_attempt_duration_seconds{name=payments::charge}"), 3.0, "one sample per attempt");
    assert_eq!(get("retry_attempts_total{name=payments::refund}"), 2.0);
    assert_eq!(get("retry_giveups_total{name=payments::refund}"), 1.0);
    assert_eq!(get("retry_successes_total{name=payments::refund}"), 0.0);
}

#[test]
fn breaker_and_budget_metrics() {
    let breaker = CircuitBreaker::new().with_consecutive_failures(1).with_name("payments");
    let budget = RetryBudget::new().with_min_per_sec(0).with_ratio(0.0).with_name("shared");
    let metrics = record(|| {
        let _ = breaker.call(|| Err::<(), _>("down"));
        let _ = breaker.call(|| Ok::<_, ()>(()));
        let _ = Retrying::<(), ()>::new().wait(none()).budget(&budget).call(|| Err(()));
    });
    let get = |key: &str| metrics.get(key).copied().unwrap_or_default();
    assert_eq!(get("retry_breaker_state{breaker=payments}"), 1.0, "open");
    assert_eq!(get("retry_breaker_transitions_total{breaker=payments}"), 1.0);
    assert_eq!(get("retry_breaker_rejections_total{breaker=payments}"), 1.0);
    assert_eq!(get("retry_budget_exhausted_total{budget=shared}"), 1.0);
}

#[test]
fn hedges_launched_and_won() {
    #[retry::hedge(n = 2, delay = 10ms, name = "search")]
    async fn search(calls: &AtomicU32) -> Result<u32, ()> {
        let copy = calls.fetch_add(1, Ordering::SeqCst);
        tokio::time::sleep(std::time::Duration::from_millis(if copy == 0 { 1000 } else { 1 })).await;
        Ok(copy)
    }
    let metrics = record(|| {
        let rt =
            tokio::runtime::Builder::new_current_thread().enable_time().start_paused(true).build().unwrap();
        assert_eq!(rt.block_on(search(&AtomicU32::new(0))), Ok(1));
    });
    assert_eq!(metrics.get("retry_hedges_launched_total{name=search}"), Some(&1.0), "{metrics:?}");
    assert_eq!(metrics.get("retry_hedges_won_total{name=search}"), Some(&1.0));
}

#[derive(Debug, PartialEq)]
enum Unavailable {
    Down,
    Open,
}

impl From<retry::CircuitOpen> for Unavailable {
    fn from(_: retry::CircuitOpen) -> Self {
        Unavailable::Open
    }
}

static LEDGER: CircuitBreaker = CircuitBreaker::new().with_consecutive_failures(1).with_name("ledger");

#[retry(stop = attempts(3), wait = none(), breaker = &LEDGER, name = "ledger::post")]
async fn post() -> Result<(), Unavailable> {
    Err(Unavailable::Down)
}

#[test]
fn a_rejected_call_counts_as_a_rejection_not_a_give_up() {
    let metrics = record(|| {
        let rt = tokio::runtime::Builder::new_current_thread().enable_time().build().unwrap();
        assert_eq!(rt.block_on(post()), Err(Unavailable::Down), "fails once, opening the breaker");
        assert_eq!(rt.block_on(post()), Err(Unavailable::Open));
        assert_eq!(rt.block_on(post()), Err(Unavailable::Open));
    });
    let get = |key: &str| metrics.get(key).copied().unwrap_or_default();
    assert_eq!(get("retry_giveups_total{name=ledger::post}"), 1.0, "{metrics:?}");
    assert_eq!(get("retry_attempts_total{name=ledger::post}"), 1.0, "rejected attempts were not made");
    assert_eq!(get("retry_attempt_duration_seconds{name=ledger::post}"), 1.0, "nor timed");
    assert_eq!(get("retry_rejections_total{name=ledger::post}"), 2.0, "{metrics:?}");
    assert_eq!(get("retry_breaker_rejections_total{breaker=ledger}"), 2.0, "{metrics:?}");
}
