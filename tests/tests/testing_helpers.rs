//! `retry::testing`'s scoped limits and what a scope retried, as a test of code
//! that retries would use them.
#![deny(warnings, clippy::all)]

use std::sync::atomic::{AtomicU32, Ordering};

use retry::{Retrying, dsl::*, retry, testing};

#[retry(stop = attempts(10), wait = none(), name = "inventory::reserve")]
fn reserve(calls: &AtomicU32, fails: u32) -> Result<u32, &'static str> {
    let n = calls.fetch_add(1, Ordering::SeqCst);
    if n < fails { Err("busy") } else { Ok(n) }
}

#[retry(stop = attempts(10), wait = fixed(1s), name = "inventory::release")]
async fn release(calls: &AtomicU32) -> Result<(), &'static str> {
    calls.fetch_add(1, Ordering::SeqCst);
    Err("busy")
}

#[test]
fn limit_retries_caps_every_call_in_its_scope() {
    let calls = AtomicU32::new(0);
    {
        let _two = testing::limit_retries(2);
        assert_eq!(reserve(&calls, 100), Err("busy"));
        assert_eq!(calls.swap(0, Ordering::SeqCst), 3, "two retries");
        {
            let _none = testing::limit_retries(0);
            let _ = reserve(&calls, 100);
            assert_eq!(calls.swap(0, Ordering::SeqCst), 1);
            let _five = testing::limit_retries(5);
            let _ = reserve(&calls, 100);
            assert_eq!(calls.swap(0, Ordering::SeqCst), 1, "the smallest limit holds");
        }
        let _ = Retrying::<(), ()>::new().stop(attempts(10)).wait(none()).call(|| {
            calls.fetch_add(1, Ordering::SeqCst);
            Err(())
        });
        assert_eq!(calls.swap(0, Ordering::SeqCst), 3, "the explicit API too");
        let rt =
            tokio::runtime::Builder::new_current_thread().enable_time().start_paused(true).build().unwrap();
        assert_eq!(rt.block_on(release(&calls)), Err("busy"));
        assert_eq!(calls.swap(0, Ordering::SeqCst), 3, "and async fns");
    }
    let _ = reserve(&calls, 100);
    assert_eq!(calls.load(Ordering::SeqCst), 10, "no limit after the scope");
}

#[test]
fn a_scope_can_say_what_was_retried() {
    let recorder = testing::record_calls();
    let calls = AtomicU32::new(0);
    assert_eq!(reserve(&calls, 2), Ok(2));
    calls.store(0, Ordering::SeqCst);
    assert_eq!(reserve(&calls, 0), Ok(0), "succeeds at once: not recorded");
    let rt = tokio::runtime::Builder::new_current_thread().enable_time().start_paused(true).build().unwrap();
    assert_eq!(rt.block_on(release(&calls)), Err("busy"));
    assert_eq!(recorder.retries("inventory::reserve"), 2, "retried twice");
    assert_eq!(recorder.give_ups("inventory::reserve"), 0);
    assert_eq!(recorder.retries("inventory::release"), 9);
    assert_eq!(recorder.give_ups("inventory::release"), 1);
    let names: Vec<_> =
        recorder.calls().iter().map(|call| (call.name, call.attempts, call.gave_up)).collect();
    assert_eq!(names, [("inventory::reserve", 3, false), ("inventory::release", 10, true)]);
    recorder.clear();
    assert!(recorder.calls().is_empty());
    drop(recorder);
    let later = testing::record_calls();
    {
        let inner = testing::record_calls();
        let _ = reserve(&calls, u32::MAX);
        assert_eq!(inner.calls_named("inventory::reserve").len(), 1, "the newest recorder records");
    }
    assert!(later.calls().is_empty());
}
