//! `retry::call_id()`: one id per retried call, the same for all its attempts
//! across awaits and threads, another for each nested call, `None` outside one.

use std::collections::HashSet;
use std::sync::Mutex;

use retry::{CallId, Retrying, call_id, dsl::*, retry};

#[test]
fn one_id_per_call_none_outside() {
    assert_eq!(call_id(), None);
    let mut seen = Vec::new();
    let _ = Retrying::new().stop(attempts(3)).wait(none()).call(|| {
        seen.push(call_id().unwrap());
        Err::<(), _>(())
    });
    assert_eq!(seen.len(), 3);
    assert!(seen.iter().all(|id| *id == seen[0]));
    assert_eq!(call_id(), None, "not current after the call");

    // 10,000 calls, 10,000 ids.
    let ids: HashSet<CallId> =
        (0..10_000).map(|_| Retrying::new().call(|| Ok::<_, ()>(call_id().unwrap())).unwrap()).collect();
    assert_eq!(ids.len(), 10_000);
    assert!(!ids.contains(&seen[0]));
}

#[test]
fn an_id_shows_as_a_version_4_uuid() {
    let id = Retrying::new().call(|| Ok::<_, ()>(call_id().unwrap())).unwrap();
    let text = id.to_string();
    let groups: Vec<_> = text.split('-').map(str::len).collect();
    assert_eq!(groups, [8, 4, 4, 4, 12], "{text}");
    assert!(text.chars().all(|c| c == '-' || c.is_ascii_hexdigit() && !c.is_ascii_uppercase()));
    assert_eq!(&text[14..15], "4", "version 4: {text}");
    assert!(matches!(&text[19..20], "8" | "9" | "a" | "b"), "RFC 9562 variant: {text}");
    assert_eq!(u128::from_str_radix(&text.replace('-', ""), 16).unwrap(), id.as_u128());
    assert_eq!(format!("{id:?}"), format!("CallId({text})"));
}

#[test]
fn a_nested_call_has_its_own_id_and_the_outer_one_comes_back() {
    let seen = Mutex::new(Vec::new());
    let _ = Retrying::new().stop(attempts(2)).wait(none()).call(|| {
        let outer = call_id().unwrap();
        let inner = Retrying::new().call(|| Ok::<_, ()>(call_id().unwrap())).unwrap();
        seen.lock().unwrap().push((outer, inner, call_id().unwrap()));
        Err::<(), _>(())
    });
    let seen = seen.into_inner().unwrap();
    assert_eq!(seen.len(), 2);
    for (outer, inner, after) in &seen {
        assert_ne!(outer, inner);
        assert_eq!(outer, after, "the outer call is current again");
        assert_eq!(*outer, seen[0].0);
    }
    assert_ne!(seen[0].1, seen[1].1, "each inner call is its own");
}

#[retry(stop = attempts(3), wait = none())]
async fn hops_threads(seen: &Mutex<Vec<CallId>>) -> Result<(), ()> {
    seen.lock().unwrap().push(call_id().unwrap());
    tokio::task::yield_now().await;
    tokio::task::spawn(async {}).await.unwrap();
    seen.lock().unwrap().push(call_id().unwrap());
    Err(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_async_call_keeps_its_id_across_awaits_attempts_and_threads() {
    let seen = Mutex::new(Vec::new());
    let handle = tokio::spawn(async move {
        let _ = hops_threads(&seen).await;
        seen.into_inner().unwrap()
    });
    let seen = handle.await.unwrap();
    assert_eq!(seen.len(), 6);
    assert!(seen.iter().all(|id| *id == seen[0]), "{seen:?}");
}

#[tokio::test]
async fn interleaved_calls_on_one_thread_each_see_their_own() {
    let (a, b) = (Mutex::new(Vec::new()), Mutex::new(Vec::new()));
    let _ = tokio::join!(hops_threads(&a), hops_threads(&b));
    let (a, b) = (a.into_inner().unwrap(), b.into_inner().unwrap());
    assert!(a.iter().all(|id| *id == a[0]) && b.iter().all(|id| *id == b[0]));
    assert_ne!(a[0], b[0]);
}

#[tokio::test]
async fn the_explicit_async_api_and_the_loop_form_have_ids_too() {
    let mut seen = Vec::new();
    let _ = Retrying::new()
        .stop(attempts(2))
        .wait(none())
        .call_async(async || {
            seen.push(call_id().unwrap());
            Err::<(), _>(())
        })
        .await;
    assert_eq!(seen.len(), 2);
    assert_eq!(seen[0], seen[1]);

    let mut call = Retrying::new().stop(attempts(2)).wait(none()).start();
    let first = call.attempt(async { Ok::<_, ()>(call_id()) }).await.unwrap();
    assert!(first.is_some());
    assert_eq!(call_id(), None);
}

#[test]
fn hooks_and_the_fallback_see_their_own_calls_id_and_attempt() {
    let seen = Mutex::new(Vec::new());
    let record = |what: &'static str| seen.lock().unwrap().push((what, call_id(), retry::attempt()));
    let _ = Retrying::new().stop(attempts(1)).call(|| {
        record("outer op");
        Retrying::new()
            .stop(attempts(2))
            .wait(none())
            .before(|_: &retry::Attempt<'_, (), &str>| record("before"))
            .on_giveup(|_: &retry::Attempt<'_, (), &str>| record("on_giveup"))
            .fallback(|last| {
                record("fallback");
                last
            })
            .call(|| {
                record("inner op");
                Err("down")
            })
    });
    let seen = seen.into_inner().unwrap();
    let outer = seen[0].1.unwrap();
    let inner = seen[2].1.unwrap();
    assert_ne!(outer, inner);
    let calls: Vec<_> = seen.iter().map(|(what, id, n)| (*what, *id == Some(inner), *n)).collect();
    assert_eq!(
        calls,
        [
            ("outer op", false, Some(1)),
            ("before", true, Some(1)),
            ("inner op", true, Some(1)),
            ("before", true, Some(2)),
            ("inner op", true, Some(2)),
            ("on_giveup", true, Some(2)),
            ("fallback", true, Some(2)),
        ]
    );
}

static COPIES: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);

#[retry(stop = attempts(2), wait = none())]
#[retry::hedge(n = 2, delay = 50ms)]
async fn hedged(seen: &Mutex<Vec<(u32, CallId)>>) -> Result<u32, ()> {
    let copy = COPIES.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
    seen.lock().unwrap().push((retry::attempt().unwrap(), call_id().unwrap()));
    if copy == 0 {
        // The first copy of the first attempt hangs: the hedge answers.
        tokio::time::sleep(std::time::Duration::from_secs(10)).await;
    }
    if copy < 2 { Err(()) } else { Ok(copy) }
}

#[tokio::test(start_paused = true)]
async fn every_hedge_of_every_attempt_has_the_calls_id() {
    let seen = Mutex::new(Vec::new());
    assert!(hedged(&seen).await.is_ok());
    let seen = seen.into_inner().unwrap();
    assert!(seen.len() >= 3, "{seen:?}");
    assert!(seen.iter().all(|(_, id)| *id == seen[0].1), "{seen:?}");
    assert_eq!(seen.last().unwrap().0, 2, "the second attempt: {seen:?}");
}
