//! The success path over the policy matrix (see `retry_benches::matrix`), async and
//! sync, on an operation that returns at once and on one that hashes first, every
//! peer in the same run.
//!
//! Run: `cargo bench -p retry-benches --bench matrix`; ratios: `python3 benches/ratios.py`.

mod common;

use std::hint::black_box;

use criterion::{Criterion, criterion_group, criterion_main};

macro_rules! groups {
    ($c:ident, $rt:ident, $op:ident) => {{
        use retry_benches::matrix::$op::*;
        let mut g = $c.benchmark_group(concat!("matrix_async_", stringify!($op)));
        g.bench_function("plain_await", |b| b.to_async(&$rt).iter(|| plain_await(black_box(7))));
        g.bench_function("macro_mission", |b| b.to_async(&$rt).iter(|| macro_mission(black_box(7))));
        g.bench_function("macro_defaults", |b| b.to_async(&$rt).iter(|| macro_defaults(black_box(7))));
        g.bench_function("macro_on", |b| b.to_async(&$rt).iter(|| macro_on(black_box(7))));
        g.bench_function("macro_jitter_hook", |b| b.to_async(&$rt).iter(|| macro_jitter_hook(black_box(7))));
        g.bench_function("macro_breaker", |b| b.to_async(&$rt).iter(|| macro_breaker(black_box(7))));
        g.bench_function("explicit_mission", |b| b.to_async(&$rt).iter(|| explicit_mission(black_box(7))));
        g.bench_function("explicit_defaults", |b| b.to_async(&$rt).iter(|| explicit_defaults(black_box(7))));
        g.bench_function("explicit_on", |b| b.to_async(&$rt).iter(|| explicit_on(black_box(7))));
        g.bench_function("explicit_jitter_hook", |b| {
            b.to_async(&$rt).iter(|| explicit_jitter_hook(black_box(7)))
        });
        g.bench_function("explicit_breaker", |b| b.to_async(&$rt).iter(|| explicit_breaker(black_box(7))));
        g.bench_function("tokio_retry2", |b| b.to_async(&$rt).iter(|| tokio_retry2(black_box(7))));
        g.bench_function("tryhard", |b| b.to_async(&$rt).iter(|| tryhard(black_box(7))));
        g.bench_function("backon", |b| b.to_async(&$rt).iter(|| backon(black_box(7))));
        g.finish();

        let mut g = $c.benchmark_group(concat!("matrix_sync_", stringify!($op)));
        g.bench_function("hand_loop", |b| b.iter(|| hand_loop(black_box(7))));
        g.bench_function("macro_mission", |b| b.iter(|| macro_mission_sync(black_box(7))));
        g.bench_function("macro_defaults", |b| b.iter(|| macro_defaults_sync(black_box(7))));
        g.bench_function("macro_on", |b| b.iter(|| macro_on_sync(black_box(7))));
        g.bench_function("macro_jitter_hook", |b| b.iter(|| macro_jitter_hook_sync(black_box(7))));
        g.bench_function("macro_breaker", |b| b.iter(|| macro_breaker_sync(black_box(7))));
        g.bench_function("explicit_mission", |b| b.iter(|| explicit_mission_sync(black_box(7))));
        g.bench_function("explicit_defaults", |b| b.iter(|| explicit_defaults_sync(black_box(7))));
        g.bench_function("explicit_on", |b| b.iter(|| explicit_on_sync(black_box(7))));
        g.bench_function("explicit_jitter_hook", |b| b.iter(|| explicit_jitter_hook_sync(black_box(7))));
        g.bench_function("explicit_breaker", |b| b.iter(|| explicit_breaker_sync(black_box(7))));
        g.bench_function("backon", |b| b.iter(|| backon_sync(black_box(7))));
        g.bench_function("backoff", |b| b.iter(|| backoff_sync(black_box(7))));
        g.finish();
    }};
}

fn matrix(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_current_thread().enable_time().build().unwrap();
    groups!(c, rt, at_once);
    groups!(c, rt, hashing);
}

criterion_group! { name = benches; config = common::config(30); targets = matrix }
criterion_main!(benches);
