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
    rt.block_on(async {
        for _ in 0..n {
            let out = match variant.as_str() {
                "plain_await" => plain_await(black_box(failures)).await,
                "retry" => ours_async(black_box(failures)).await,
                "backon" => backon_async(black_box(failures)).await,
                "tryhard" => tryhard_async(black_box(failures)).await,
                "tokio_retry2" => tokio_retry2_async(black_box(failures)).await,
                other => panic!("unknown variant {other}"),
            };
            let _ = black_box(out);
        }
    });
}
