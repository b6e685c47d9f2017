#!/usr/bin/env bash
# Instructions per call of every variant, counted by callgrind: the count for N calls
# minus the count for 0 calls, divided by N. Deterministic, unlike wall-clock time.
# Needs valgrind (apt-get install valgrind). Prints a Markdown table.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build -q --release -p retry-benches --bin instructions
bin=target/release/instructions

count() { # GROUP VARIANT N -> instructions
    valgrind --tool=callgrind --callgrind-out-file=/dev/null "$bin" "$1" "$2" "$3" 2>&1 |
        sed -n 's/.*Collected : \([0-9]*\).*/\1/p'
}

groups="sync_success sync_fail_twice async_success async_fail_twice hedge_overhead"
# MATRIX=1: the policy matrix's rows (benches/matrix.rs) instead.
if [ "${MATRIX:-0}" = 1 ]; then
    groups="matrix_async_at_once matrix_async_hashing matrix_sync_at_once matrix_sync_hashing"
fi
for group in $groups; do
    case $group in
        matrix_async*) variants="plain_await macro_mission macro_defaults macro_on macro_jitter_hook macro_breaker explicit_mission explicit_defaults explicit_on explicit_jitter_hook explicit_breaker tokio_retry2 tryhard backon" ;;
        matrix_sync*) variants="hand_loop macro_mission macro_defaults macro_on macro_jitter_hook macro_breaker explicit_mission explicit_defaults explicit_on explicit_jitter_hook explicit_breaker backon backoff" ;;
        sync*) variants="hand_loop retry retry_macro backon backoff" ;;
        hedge*) variants="plain_await_once hedge_fixed hedge_percentile" ;;
        *) variants="plain_await retry retry_macro retry_macro_nodrop retry_macro_shared backon tryhard tokio_retry2" ;;
    esac
    # The same fn without the attribute only compares where the call succeeds.
    [ "$group" = async_success ] && variants="${variants/plain_await /plain_await plain_await_fn plain_await_fn_shared floor_block floor_attempt floor_loop }"
    n=20000
    [ "$group" = async_fail_twice ] && n=200 # the peers sleep on tokio's 1 ms timer here
    echo; echo "**$group** (instructions per call, N = $n)"; echo
    echo "| implementation | instructions | ratio |"; echo "|---|---:|---:|"
    base=""
    for v in $variants; do
        zero=$(count $group $v 0); full=$(count $group $v $n)
        per=$(( (full - zero) / n ))
        [ -z "$base" ] && base=$per
        printf '| %s | %d | %s× |\n' "$v" "$per" "$(python3 -c "print(f'{$per/$base:.2f}')")"
    done
done
