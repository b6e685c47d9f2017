#!/usr/bin/env bash
# Compile cost of the attribute: `cargo check` of a crate with 100 `#[retry]` fns
# (50 sync, 50 async) against the same crate with 100 hand-written retry loops, and
# with the same 100 fns written with backon (`Retryable`/`BlockingRetryable`,
# `.retry(ExponentialBuilder..).when(..)`), the peer users would pick instead.
# Dependencies are built first; each timed run re-checks only the generated crate:
# after a touch (incremental, the default), or from scratch with FULL=1 (the
# crate's own artifacts cleaned first, incremental compilation off). Prints the median of 11 interleaved runs of
# each (RUNS=n to change), and the ratios to the hand loops and to backon.
# With OPT_MACROS=1 both crates build proc macros optimized
# (`[profile.dev.build-override] opt-level = 3`). With PROBES=1 it also times the
# hand-written crate under three probe attributes that return the fn unchanged (so
# the code to check is the hand loops'): `identity` (no parsing), `parse` (darling
# parses the same arguments, syn the signature: what any attribute of this design
# must do before generating anything) and `roundtrip` (syn parses the whole fn and
# prints it back, as most attribute macros do). It also times `expanded`: the
# `#[retry]` crate's own expansion (`-Zunpretty=expanded`) checked as plain source,
# i.e. the type and borrow checking of the generated code without running any
# macro; and `backon-block`: backon with each body in `|| async { .. }`, a
# coroutine per attempt as the attribute's `async` attempt block is. (The expansion spells `matches!` as an attribute on an expression and
# `$crate` as `::retry_core`, so that crate is checked with
# `#![feature(stmt_expr_attributes)]` under RUSTC_BOOTSTRAP=1, in its own target
# directory; without the feature the check stops at the first error, before type
# checking, and looks almost free.)
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
work="$root/target/compile-cost${OPT_MACROS:+-opt}"
rm -rf "$work/retry" "$work/hand" "$work/backon" "$work/backon-block" "$work/expanded" "$work"/probe*
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
retry = { path = "$root/retry", package = "retrykit" }
tokio = { version = "1", features = ["time"] }
backon = { version = "1.6", default-features = false, features = ["tokio-sleep", "std-blocking-sleep"] }
TOML
    if [ "${OPT_MACROS:-0}" = 1 ]; then
        printf '\n[profile.dev.build-override]\nopt-level = 3\n' >> "$dir/Cargo.toml"
    fi
    cp "$root/Cargo.lock" "$dir/Cargo.lock"
    {
        echo '#![allow(dead_code)]'
        [ "$kind" != retry ] && echo 'use std::time::Duration;'
        [ "$kind" = backon ] && echo 'use backon::{BlockingRetryable, ExponentialBuilder, Retryable};'
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
            elif [ "$kind" = backon ]; then
                cat <<RS
pub fn sync_$i(x: u32, name: &str) -> Result<u32, NetError> {
    let _ = name;
    (|| op(x + $i))
        .retry(ExponentialBuilder::default().with_min_delay(Duration::from_millis(100)).with_max_delay(Duration::from_secs(10)).with_max_times(2))
        .sleep(std::thread::sleep)
        .when(|e| matches!(e, NetError::Timeout | NetError::Connect))
        .call()
}
pub async fn async_$i(x: u32, name: &str) -> Result<u32, NetError> {
    let _ = name;
    (|| op_async(x + $i))
        .retry(ExponentialBuilder::default().with_min_delay(Duration::from_millis(100)).with_max_delay(Duration::from_secs(10)).with_max_times(2))
        .sleep(tokio::time::sleep)
        .when(|e| matches!(e, NetError::Timeout | NetError::Connect))
        .await
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

check() { # DIR: the expanded crate builds apart, with feature gates open
    local dir=$1
    if [ "$(basename "$dir")" = expanded ]; then
        (cd "$dir" && RUSTC_BOOTSTRAP=1 CARGO_TARGET_DIR="$work/target-expanded" cargo check -q)
    else
        (cd "$dir" && CARGO_TARGET_DIR="$work/target" cargo check -q)
    fi
}

check_once() { # DIR -> seconds of one check of the crate alone
    local dir=$1 start end
    touch "$dir/src/lib.rs"
    if [ "${FULL:-0}" = 1 ]; then
        (cd "$dir" && CARGO_TARGET_DIR="$work/target" cargo clean -q -p "$(sed -n 's/^name = "\(.*\)"/\1/p' Cargo.toml | head -1)")
        export CARGO_INCREMENTAL=0
    fi
    start=$(date +%s.%N)
    check "$dir"
    end=$(date +%s.%N)
    echo "$end - $start" | bc
}

median() { sort -n | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }

probe_macros() { # DIR: the probe attributes' proc-macro crate
    local dir=$1
    mkdir -p "$dir/src"
    cat > "$dir/Cargo.toml" <<TOML
[package]
name = "probe"
version = "0.0.0"
edition = "2024"
publish = false

[lib]
proc-macro = true

[dependencies]
syn = { version = "3", features = ["full"] }
quote = "1"
proc-macro2 = "1"
darling = "0.24"
TOML
    cat > "$dir/src/lib.rs" <<'RS'
use darling::FromMeta;
use proc_macro::TokenStream;

#[proc_macro_attribute]
pub fn identity(_: TokenStream, item: TokenStream) -> TokenStream {
    item
}

#[allow(dead_code)]
#[derive(FromMeta)]
struct Args {
    stop: Option<syn::Expr>,
    wait: Option<syn::Expr>,
    on: Option<syn::Expr>,
}

#[proc_macro_attribute]
pub fn parse(args: TokenStream, item: TokenStream) -> TokenStream {
    let list = darling::ast::NestedMeta::parse_meta_list(args.into()).unwrap();
    let _ = Args::from_list(&list).unwrap();
    let fn_head = |input: syn::parse::ParseStream<'_>| {
        input.call(syn::Attribute::parse_outer)?;
        input.parse::<syn::Visibility>()?;
        input.parse::<syn::Signature>()?;
        input.parse::<proc_macro2::TokenStream>()
    };
    syn::parse::Parser::parse2(fn_head, item.clone().into()).unwrap();
    item
}

#[proc_macro_attribute]
pub fn roundtrip(_: TokenStream, item: TokenStream) -> TokenStream {
    let item: syn::ItemFn = syn::parse(item).unwrap();
    quote::quote!(#item).into()
}
RS
}

generate retry "$work/retry"
generate hand "$work/hand"
generate backon "$work/backon"
crates="retry hand backon"
if [ "${PROBES:-0}" = 1 ]; then
    probe_macros "$work/probe"
    for attr in identity parse roundtrip; do
        dir="$work/probe-$attr"
        cp -r "$work/hand" "$dir"
        sed -i "s/^name = .*/name = \"compile-cost-probe-$attr\"/" "$dir/Cargo.toml"
        sed -i "s|^\[dependencies\]|&\nprobe = { path = \"$work/probe\" }|" "$dir/Cargo.toml"
        sed -i "s/^pub \(async \)\?fn \(sync\|async\)_/#[probe::$attr(stop = attempts(3), wait = expo(100ms, max = 10s), on = [Timeout, Connect])]\n&/" \
            "$dir/src/lib.rs"
        crates="$crates probe-$attr"
    done
    # backon with each body in `|| async { .. }`, as a multi-statement body is
    # written: a second coroutine per async fn, as the attribute's attempt block.
    cp -r "$work/backon" "$work/backon-block"
    sed -i 's/^name = .*/name = "compile-cost-backon-block"/' "$work/backon-block/Cargo.toml"
    sed -i 's/(|| op_async(x + \([0-9]*\)))/(|| async { op_async(x + \1).await })/' "$work/backon-block/src/lib.rs"
    crates="$crates backon-block"
    cp -r "$work/hand" "$work/expanded"
    sed -i 's/^name = .*/name = "compile-cost-expanded"/' "$work/expanded/Cargo.toml"
    (cd "$work/retry" && RUSTC_BOOTSTRAP=1 CARGO_TARGET_DIR="$work/target-expanded" \
        cargo rustc -q --lib -- -Zunpretty=expanded) |
        sed -e '1i #![feature(stmt_expr_attributes)]' -e 's/::retry_core::/::retry::/g' > "$work/expanded/src/lib.rs"
    crates="$crates expanded"
fi
for dir in $crates; do check "$work/$dir" 2>/dev/null; done
# Interleaved, so a change in the machine's load reaches every crate alike.
for dir in $crates; do : > "$work/$dir.times"; done
for _ in $(seq 1 "${RUNS:-11}"); do
    for dir in $crates; do check_once "$work/$dir" >> "$work/$dir.times"; done
done
hand_s=$(median < "$work/hand.times")
backon_s=$(median < "$work/backon.times")
row() { # LABEL CRATE
    local s
    s=$(median < "$work/$2.times")
    echo "| $1 | ${s} s | $(python3 -c "print(f'{$s/$hand_s:.2f}')")× | $(python3 -c "print(f'{$s/$backon_s:.2f}')")× |"
}
echo "| crate (100 fns: 50 sync, 50 async) | cargo check$([ "${FULL:-0}" = 1 ] && echo ' (full)' || echo ' after a touch'), median of ${RUNS:-11} | vs hand loops | vs backon |"
echo "|---|---:|---:|---:|"
row "hand-written loops" hand
row "backon" backon
row "\`#[retry]\`" retry
if [ "${PROBES:-0}" = 1 ]; then
    row "hand loops under a probe: \`identity\`" probe-identity
    row "hand loops under a probe: \`parse\`" probe-parse
    row "hand loops under a probe: \`roundtrip\`" probe-roundtrip
    row "the \`#[retry]\` crate's expansion, checked as source" expanded
    row "backon, bodies in \`|| async { .. }\`" backon-block
fi
