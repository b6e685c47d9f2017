//! The overhead of `#[hedge]` on a call that finishes before the delay (the common
//! case), against a plain `.await` of the same operation.
//!
//! Run: `cargo bench -p retry-benches --bench hedge`; ratios: `python3 benches/ratios.py`.
//! The tail-latency simulation is `cargo run --release -p retry-benches --bin hedge_sim`.

mod common;

use criterion::{Criterion, criterion_group, criterion_main};

use retry_benches::{
    hedged_fixed, hedged_fixed_pending, hedged_inline_timer_pending, hedged_percentile,
    hedged_percentile_pending, plain_await_once, plain_await_pending, tokio_timeout_pending,
};

fn overhead(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_current_thread().enable_time().build().unwrap();
    let mut g = c.benchmark_group("hedge_overhead");
    g.bench_function("plain_await", |b| b.to_async(&rt).iter(plain_await_once));
    g.bench_function("hedge_fixed_delay", |b| b.to_async(&rt).iter(hedged_fixed));
    g.bench_function("hedge_percentile_delay", |b| b.to_async(&rt).iter(hedged_percentile));
    g.finish();
    // Pending once, as real I/O is: the hedge must arm its timer.
    let mut g = c.benchmark_group("hedge_overhead_pending_once");
    g.bench_function("plain_await", |b| b.to_async(&rt).iter(plain_await_pending));
    g.bench_function("hedge_fixed_delay", |b| b.to_async(&rt).iter(hedged_fixed_pending));
    g.bench_function("hedge_percentile_delay", |b| b.to_async(&rt).iter(hedged_percentile_pending));
    g.bench_function("hedge_fixed_inline_timer", |b| b.to_async(&rt).iter(hedged_inline_timer_pending));
    // The floor of any timer-based scheme: arm a tokio timer, disarm it when the call wins.
    g.bench_function("tokio_timeout", |b| b.to_async(&rt).iter(tokio_timeout_pending));
    g.finish();
}

criterion_group! { name = benches; config = common::config(50); targets = overhead }
criterion_main!(benches);
