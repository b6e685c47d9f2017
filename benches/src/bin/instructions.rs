//! Runs one benchmark variant `n` times, for counting instructions under callgrind
//! (`benches/instructions.sh`): unlike wall-clock time on a shared 2-core machine,
//! the count is the same on every run.
//!
//! Usage: `instructions GROUP VARIANT N`, e.g. `instructions sync_success retry 10000`.

use std::hint::black_box;

use retry_benches::*;

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [group, variant, n] = args.as_slice() else {
        eprintln!("usage: instructions GROUP VARIANT N");
        std::process::exit(2);
    };
    let n: u64 = n.parse().expect("N is a number");
    let failures = if group.ends_with("fail_twice") { 2 } else { 0 };
    let rt = tokio::runtime::Builder::new_current_thread().enable_time().build().expect("runtime");
    let sync: Option<fn(u32) -> Result<u64, Failure>> = match variant.as_str() {
        "hand_loop" => Some(hand_loop),
        "retry" if group.starts_with("sync") => Some(ours),
        "retry_macro" if group.starts_with("sync") => Some(ours_macro),
        "backon" if group.starts_with("sync") => Some(backon_blocking),
        "backoff" => Some(backoff_sync),
        _ => None,
    };
    if let Some(f) = sync {
        for _ in 0..n {
            let _ = black_box(f(black_box(failures)));
        }
        return;
    }
    // The variant is chosen once, outside the loop: a `match` per call would count
    // string comparisons that differ by the variant's position.
    rt.block_on(async {
        match variant.as_str() {
            "plain_await" => repeat(n, failures, plain_await).await,
            "plain_await_fn" => repeat(n, failures, plain_await_fn).await,
            "floor_block" => repeat(n, failures, floor_block).await,
            "floor_attempt" => repeat(n, failures, floor_attempt).await,
            "floor_loop" => repeat(n, failures, floor_loop).await,
            "retry" => repeat(n, failures, ours_async).await,
            "retry_macro" => repeat(n, failures, ours_macro_async).await,
            "retry_macro_shared" => repeat(n, failures, ours_macro_async_shared).await,
            "plain_await_fn_shared" => repeat(n, failures, plain_await_fn_shared).await,
            "retry_macro_nodrop" => repeat(n, failures, ours_macro_async_inline_sleep).await,
            "backon" => repeat(n, failures, backon_async).await,
            "tryhard" => repeat(n, failures, tryhard_async).await,
            "tokio_retry2" => repeat(n, failures, tokio_retry2_async).await,
            "plain_await_once" => repeat(n, failures, |_| plain_await_once()).await,
            "hedge_fixed" => repeat(n, failures, |_| hedged_fixed()).await,
            "hedge_percentile" => repeat(n, failures, |_| hedged_percentile()).await,
            other => panic!("unknown variant {other}"),
        }
    });
}

/// The measured loop of one variant, polled through a `dyn Future`: each variant's
/// loop is compiled as a function of its own, so code added for one variant cannot
/// change another's inlining or register allocation.
fn repeat<Fut: Future<Output = Result<u64, Failure>>>(
    n: u64,
    failures: u32,
    f: impl Fn(u32) -> Fut + 'static,
) -> std::pin::Pin<Box<dyn Future<Output = ()>>> {
    Box::pin(async move {
        for _ in 0..n {
            let _ = black_box(f(black_box(failures)).await);
        }
    })
}
