//! The process-wide switch, `retry::disable()` / `retry::enable()`. In a file of its
//! own (one test binary, one test): the switch is global.
#![deny(warnings, clippy::all)]

use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use retry::{Retrying, dsl::*, hedge, retry};

#[retry(stop = attempts(5), wait = none())]
fn sync_down(calls: &AtomicU32) -> Result<(), &'static str> {
    calls.fetch_add(1, Ordering::SeqCst);
    Err("down")
}

#[retry(stop = attempts(5), wait = fixed(10ms))]
async fn async_down(calls: &AtomicU32) -> Result<(), &'static str> {
    calls.fetch_add(1, Ordering::SeqCst);
    Err("down")
}

#[hedge(n = 3, delay = 10ms)]
async fn slow(copies: &AtomicU32) -> Result<u32, ()> {
    let copy = copies.fetch_add(1, Ordering::SeqCst);
    tokio::time::sleep(Duration::from_millis(100)).await;
    Ok(copy)
}

#[test]
fn disable_turns_retries_and_hedges_off_for_the_process_until_enable() {
    let rt = tokio::runtime::Builder::new_current_thread().enable_time().start_paused(true).build().unwrap();
    let count = |f: &dyn Fn(&AtomicU32)| {
        let calls = AtomicU32::new(0);
        f(&calls);
        calls.load(Ordering::SeqCst)
    };
    let all = |expected: [u32; 4]| {
        let sync = count(&|calls| {
            let _ = sync_down(calls);
        });
        let explicit = count(&|calls| {
            let _ = Retrying::<(), ()>::new().stop(attempts(5)).wait(none()).call(|| {
                calls.fetch_add(1, Ordering::SeqCst);
                Err(())
            });
        });
        let async_ = count(&|calls| {
            let _ = rt.block_on(async_down(calls));
        });
        let hedged = count(&|copies| {
            let _ = rt.block_on(slow(copies));
        });
        assert_eq!([sync, explicit, async_, hedged], expected);
    };
    assert!(retry::is_enabled());
    all([5, 5, 5, 3]);
    retry::disable();
    assert!(!retry::is_enabled());
    // Another thread too: the switch is the process's.
    std::thread::scope(|scope| {
        scope.spawn(|| {
            assert_eq!(
                count(&|calls| {
                    let _ = sync_down(calls);
                }),
                1
            )
        });
    });
    all([1, 1, 1, 1]);
    retry::enable();
    all([5, 5, 5, 3]);
}
