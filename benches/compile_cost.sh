#!/usr/bin/env bash
# Compile cost of the attribute: `cargo check` of a crate with 100 `#[retry]` fns
# (50 sync, 50 async) against the same crate with 100 hand-written retry loops.
# Dependencies are built first; each timed run re-checks only the generated crate.
# Prints the median of 11 interleaved runs of each (RUNS=n to change), and the ratio. With OPT_MACROS=1 both crates
# build proc macros optimized (`[profile.dev.build-override] opt-level = 3`).
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
work="$root/target/compile-cost${OPT_MACROS:+-opt}"
rm -rf "$work/retry" "$work/hand"
mkdir -p "$work"

generate() { # KIND DIR
    local kind=$1 dir=$2
    mkdir -p "$dir/src"
    cat > "$dir/Cargo.toml" <<TOML
[package]
name = "compile-cost-$kind"
version = "0.0.0"
edition = "2024"
publish = false

[workspace]

[dependencies]
retry = { path = "$root/retry" }
tokio = { version = "1", features = ["time"] }
TOML
    if [ "${OPT_MACROS:-0}" = 1 ]; then
        printf '\n[profile.dev.build-override]\nopt-level = 3\n' >> "$dir/Cargo.toml"
    fi
    cp "$root/Cargo.lock" "$dir/Cargo.lock"
    {
        echo '#![allow(dead_code)]'
        [ "$kind" = hand ] && echo 'use std::time::Duration;'
        echo '#[derive(Debug, Clone)] pub enum NetError { Timeout, Connect, Fatal }'
        echo 'fn op(x: u32) -> Result<u32, NetError> { if x == 0 { Err(NetError::Fatal) } else { Ok(x) } }'
        echo 'async fn op_async(x: u32) -> Result<u32, NetError> { op(x) }'
        for i in $(seq 1 50); do
            if [ "$kind" = retry ]; then
                cat <<RS
#[retry::retry(stop = attempts(3), wait = expo(100ms, max = 10s), on = [Timeout, Connect])]
pub fn sync_$i(x: u32, name: &str) -> Result<u32, NetError> {
    let _ = name;
    op(x + $i)
}
#[retry::retry(stop = attempts(3), wait = expo(100ms, max = 10s), on = [Timeout, Connect])]
pub async fn async_$i(x: u32, name: &str) -> Result<u32, NetError> {
    let _ = name;
    op_async(x + $i).await
}
RS
            else
                cat <<RS
pub fn sync_$i(x: u32, name: &str) -> Result<u32, NetError> {
    let _ = name;
    let (mut attempt, mut delay) = (0u32, Duration::from_millis(100));
    loop {
        attempt += 1;
        match op(x + $i) {
            Ok(v) => return Ok(v),
            Err(e) if attempt >= 3 || !matches!(e, NetError::Timeout | NetError::Connect) => return Err(e),
            Err(_) => {
                std::thread::sleep(delay);
                delay = (delay * 2).min(Duration::from_secs(10));
            }
        }
    }
}
pub async fn async_$i(x: u32, name: &str) -> Result<u32, NetError> {
    let _ = name;
    let (mut attempt, mut delay) = (0u32, Duration::from_millis(100));
    loop {
        attempt += 1;
        match op_async(x + $i).await {
            Ok(v) => return Ok(v),
            Err(e) if attempt >= 3 || !matches!(e, NetError::Timeout | NetError::Connect) => return Err(e),
            Err(_) => {
                tokio::time::sleep(delay).await;
                delay = (delay * 2).min(Duration::from_secs(10));
            }
        }
    }
}
RS
            fi
        done
    } > "$dir/src/lib.rs"
}

check_once() { # DIR -> seconds of one check of the crate alone
    local dir=$1 start end
    touch "$dir/src/lib.rs"
    start=$(date +%s.%N)
    (cd "$dir" && CARGO_TARGET_DIR="$work/target" cargo check -q)
    end=$(date +%s.%N)
    echo "$end - $start" | bc
}

median() { sort -n | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }

generate retry "$work/retry"
generate hand "$work/hand"
for dir in retry hand; do (cd "$work/$dir" && CARGO_TARGET_DIR="$work/target" cargo check -q 2>/dev/null); done
# Interleaved, so a change in the machine's load reaches both alike.
: > "$work/retry.times"; : > "$work/hand.times"
for _ in $(seq 1 "${RUNS:-11}"); do
    check_once "$work/retry" >> "$work/retry.times"
    check_once "$work/hand" >> "$work/hand.times"
done
retry_s=$(median < "$work/retry.times")
hand_s=$(median < "$work/hand.times")
echo "| crate (100 fns: 50 sync, 50 async) | cargo check, median of ${RUNS:-11} |"
echo "|---|---:|"
echo "| hand-written loops | ${hand_s} s |"
echo "| \`#[retry]\` | ${retry_s} s |"
echo "| ratio | $(python3 -c "print(f'{$retry_s/$hand_s:.2f}')")× |"
