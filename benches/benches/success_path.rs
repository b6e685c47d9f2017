//! The success path and the "fails twice with zero wait, then succeeds" path, sync and
//! async, side by side with a hand-written loop / a plain `.await` and the peers:
//! backon, backoff, tryhard, tokio-retry2. Every library retries at most twice more
//! (3 attempts) with no delay; each iteration builds its policy, as a call site does.
//!
//! Run: `cargo bench -p retry-benches --bench success_path`; ratios:
//! `python3 benches/ratios.py`.

mod common;

use std::hint::black_box;

use criterion::{Criterion, criterion_group, criterion_main};

use retry_benches::*;

fn sync_benches(c: &mut Criterion) {
    for (group, failures) in [("sync_success", 0), ("sync_fail_twice", 2)] {
        let mut g = c.benchmark_group(group);
        g.bench_function("hand_loop", |b| b.iter(|| hand_loop(black_box(failures))));
        g.bench_function("retry", |b| b.iter(|| ours(black_box(failures))));
        g.bench_function("retry_macro", |b| b.iter(|| ours_macro(black_box(failures))));
        g.bench_function("backon", |b| b.iter(|| backon_blocking(black_box(failures))));
        g.bench_function("backoff", |b| b.iter(|| backoff_sync(black_box(failures))));
        g.finish();
    }
}

fn async_benches(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_current_thread().enable_time().build().unwrap();
    for (group, failures) in [("async_success", 0), ("async_fail_twice", 2)] {
        let mut g = c.benchmark_group(group);
        g.bench_function("plain_await", |b| b.to_async(&rt).iter(|| plain_await(black_box(failures))));
        if failures == 0 {
            // The same fn without the attribute, and the floor of what the attribute
            // adds (see `floor_attempt`): they compare only where the call succeeds.
            g.bench_function("plain_await_fn", |b| {
                b.to_async(&rt).iter(|| plain_await_fn(black_box(failures)))
            });
            g.bench_function("floor_block", |b| b.to_async(&rt).iter(|| floor_block(black_box(failures))));
            g.bench_function("floor_attempt", |b| {
                b.to_async(&rt).iter(|| floor_attempt(black_box(failures)))
            });
            g.bench_function("floor_loop", |b| b.to_async(&rt).iter(|| floor_loop(black_box(failures))));
            g.bench_function("plain_await_fn_shared", |b| {
                b.to_async(&rt).iter(|| plain_await_fn_shared(black_box(failures)))
            });
        }
        g.bench_function("retry", |b| b.to_async(&rt).iter(|| ours_async(black_box(failures))));
        g.bench_function("retry_macro", |b| b.to_async(&rt).iter(|| ours_macro_async(black_box(failures))));
        g.bench_function("retry_macro_shared", |b| {
            b.to_async(&rt).iter(|| ours_macro_async_shared(black_box(failures)))
        });
        g.bench_function("backon", |b| b.to_async(&rt).iter(|| backon_async(black_box(failures))));
        g.bench_function("tryhard", |b| b.to_async(&rt).iter(|| tryhard_async(black_box(failures))));
        g.bench_function("tokio_retry2", |b| {
            b.to_async(&rt).iter(|| tokio_retry2_async(black_box(failures)))
        });
        g.finish();
    }
}

criterion_group! { name = benches; config = common::config(50); targets = sync_benches, async_benches }
criterion_main!(benches);
