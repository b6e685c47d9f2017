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
    if let Some(row) = group.strip_prefix("matrix_") {
        return matrix::run(row, variant, n);
    }
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

/// The matrix's rows (`benches/matrix.rs`): `matrix_{sync,async}_{at_once,hashing}`.
mod matrix {
    use super::*;

    macro_rules! dispatch {
        ($row:expr, $variant:expr, $n:expr, $($op:ident),*) => {
            match $row {
                $(
                    concat!("sync_", stringify!($op)) => {
                        use retry_benches::matrix::$op::*;
                        let f: fn(u64) -> Result<u64, retry_benches::matrix::NetError> = match $variant {
                            "hand_loop" => hand_loop,
                            "macro_mission" => macro_mission_sync,
                            "macro_defaults" => macro_defaults_sync,
                            "macro_on" => macro_on_sync,
                            "macro_jitter_hook" => macro_jitter_hook_sync,
                            "macro_breaker" => macro_breaker_sync,
                            "explicit_mission" => explicit_mission_sync,
                            "explicit_defaults" => explicit_defaults_sync,
                            "explicit_on" => explicit_on_sync,
                            "explicit_jitter_hook" => explicit_jitter_hook_sync,
                            "explicit_breaker" => explicit_breaker_sync,
                            "backon" => backon_sync,
                            "backoff" => backoff_sync,
                            other => panic!("unknown variant {other}"),
                        };
                        for _ in 0..$n {
                            let _ = black_box(f(black_box(7)));
                        }
                    }
                    concat!("async_", stringify!($op)) => {
                        use retry_benches::matrix::$op::*;
                        let rt = tokio::runtime::Builder::new_current_thread().enable_time().build().expect("runtime");
                        rt.block_on(match $variant {
                            "plain_await" => each($n, plain_await),
                            "macro_mission" => each($n, macro_mission),
                            "macro_defaults" => each($n, macro_defaults),
                            "macro_on" => each($n, macro_on),
                            "macro_jitter_hook" => each($n, macro_jitter_hook),
                            "macro_breaker" => each($n, macro_breaker),
                            "explicit_mission" => each($n, explicit_mission),
                            "explicit_defaults" => each($n, explicit_defaults),
                            "explicit_on" => each($n, explicit_on),
                            "explicit_jitter_hook" => each($n, explicit_jitter_hook),
                            "explicit_breaker" => each($n, explicit_breaker),
                            "tokio_retry2" => each($n, tokio_retry2),
                            "tryhard" => each($n, tryhard),
                            "backon" => each($n, backon),
                            other => panic!("unknown variant {other}"),
                        });
                    }
                )*
                other => panic!("unknown matrix row {other}"),
            }
        };
    }

    pub fn run(row: &str, variant: &str, n: u64) {
        dispatch!(row, variant, n, at_once, hashing)
    }

    /// As `repeat`: each variant's loop a function of its own, behind `dyn`.
    fn each<Fut: Future<Output = Result<u64, retry_benches::matrix::NetError>>>(
        n: u64,
        f: impl Fn(u64) -> Fut + 'static,
    ) -> std::pin::Pin<Box<dyn Future<Output = ()>>> {
        Box::pin(async move {
            for _ in 0..n {
                let _ = black_box(f(black_box(7)).await);
            }
        })
    }
}
