//! `retry::tower::RetryLayer` around a tower service: retries by the policy, passes
//! attempts through the breaker (no call while open), works in a `ServiceBuilder`.
#![deny(warnings, clippy::all)]

use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use retry::tower::RetryLayer;
use retry::{CircuitBreaker, CircuitOpen, Retrying, dsl::*};
use tower::{Service, ServiceBuilder, ServiceExt};

#[derive(Debug, PartialEq)]
enum Error {
    Busy,
    Open,
}

impl From<CircuitOpen> for Error {
    fn from(_: CircuitOpen) -> Self {
        Error::Open
    }
}

/// A service failing its first `fails` calls with `Busy`.
fn flaky(
    calls: Arc<AtomicU32>,
    fails: u32,
) -> impl Service<u32, Response = u32, Error = Error, Future: Send> + Clone + Send + 'static {
    tower::service_fn(move |x: u32| {
        let n = calls.fetch_add(1, Ordering::SeqCst);
        async move { if n < fails { Err(Error::Busy) } else { Ok(x * 2) } }
    })
}

#[tokio::test(start_paused = true)]
async fn retries_by_the_policy_in_virtual_time() {
    let calls = Arc::new(AtomicU32::new(0));
    let mut service = ServiceBuilder::new()
        .layer(RetryLayer::new(|| Retrying::new().stop(attempts(4)).wait(fixed(Duration::from_secs(1)))))
        .service(flaky(calls.clone(), 2));
    let start = tokio::time::Instant::now();
    assert_eq!(service.ready().await.unwrap().call(21).await, Ok(42));
    assert_eq!(calls.load(Ordering::SeqCst), 3);
    assert_eq!(start.elapsed(), Duration::from_secs(2));
}

#[tokio::test]
async fn an_open_breaker_stops_calls_to_the_service() {
    static BREAKER: CircuitBreaker = CircuitBreaker::new().with_consecutive_failures(2);
    let calls = Arc::new(AtomicU32::new(0));
    let mut service = ServiceBuilder::new()
        .layer(RetryLayer::new(|| Retrying::new().stop(attempts(5)).wait(none()).breaker(&BREAKER)))
        .service(flaky(calls.clone(), 100));
    // Two failures open it: the call gives up with its own error after two calls.
    assert_eq!(service.ready().await.unwrap().call(1).await, Err(Error::Busy));
    assert_eq!(calls.load(Ordering::SeqCst), 2);
    // Open: rejected without calling the service.
    assert_eq!(service.ready().await.unwrap().call(1).await, Err(Error::Open));
    assert_eq!(calls.load(Ordering::SeqCst), 2);
}

#[tokio::test]
async fn gives_up_after_the_policys_attempts_numbered_from_one() {
    let seen = Arc::new(std::sync::Mutex::new(Vec::new()));
    let record = seen.clone();
    let service = tower::service_fn(move |_: u32| {
        record.lock().unwrap().push(retry::attempt());
        async { Err::<u32, Error>(Error::Busy) }
    });
    let mut service = ServiceBuilder::new()
        .layer(RetryLayer::new(|| Retrying::new().stop(attempts(3)).wait(none())))
        .service(service);
    assert_eq!(service.ready().await.unwrap().call(1).await, Err(Error::Busy));
    assert_eq!(*seen.lock().unwrap(), [Some(1), Some(2), Some(3)]);
}

mod axum_router {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicU32, Ordering};

    use axum::http::{Request, StatusCode};
    use axum::routing::post;
    use retry::tower::{RetryLayer, clone_http_request};
    use retry::{Retrying, dsl::*};
    use tower::{Layer, ServiceExt};

    /// A router whose handler answers 503 to its first two calls.
    fn router(calls: Arc<AtomicU32>) -> axum::Router {
        axum::Router::new().route(
            "/orders",
            post(move |body: String| async move {
                let n = calls.fetch_add(1, Ordering::SeqCst);
                if n < 2 { (StatusCode::SERVICE_UNAVAILABLE, String::new()) } else { (StatusCode::OK, body) }
            }),
        )
    }

    /// At most 4 attempts, no wait, retrying 5xx answers.
    macro_rules! policy {
        () => {
            || {
                Retrying::<axum::response::Response, std::convert::Infallible>::new()
                    .stop(attempts(4))
                    .wait(none())
                    .if_result(|r: &axum::response::Response| r.status().is_server_error())
            }
        };
    }

    #[tokio::test]
    async fn a_router_behind_the_layer_replays_a_buffered_body() {
        let calls = Arc::new(AtomicU32::new(0));
        let service = RetryLayer::new(policy!()).replay(clone_http_request).layer(router(calls.clone()));
        let request = Request::post("/orders").body("two widgets".to_string()).unwrap();
        let response = service.oneshot(request).await.unwrap();
        assert_eq!(response.status(), StatusCode::OK);
        let body = axum::body::to_bytes(response.into_body(), 1024).await.unwrap();
        assert_eq!(body, "two widgets", "the third attempt got the whole body");
        assert_eq!(calls.load(Ordering::SeqCst), 3);
    }

    #[tokio::test]
    async fn a_request_that_cannot_be_replayed_is_sent_once() {
        let calls = Arc::new(AtomicU32::new(0));
        let no_copy = |_: &Request<axum::body::Body>| None;
        let service = RetryLayer::new(policy!()).replay(no_copy).layer(router(calls.clone()));
        let request = Request::post("/orders").body(axum::body::Body::from("x")).unwrap();
        let response = service.oneshot(request).await.unwrap();
        assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(calls.load(Ordering::SeqCst), 1);
    }
}

mod hedge_layer {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicU32, Ordering};
    use std::time::Duration;

    use retry::Hedging;
    use retry::tower::HedgeLayer;
    use tower::{Service, ServiceBuilder, ServiceExt};

    /// Counts its drops: a copy dropped unfinished is a cancelled hedge.
    struct Dropped(Arc<AtomicU32>);
    impl Drop for Dropped {
        fn drop(&mut self) {
            self.0.fetch_add(1, Ordering::SeqCst);
        }
    }

    #[tokio::test(start_paused = true)]
    async fn the_first_ok_wins_and_the_slow_copy_is_dropped() {
        let (calls, drops) = (Arc::new(AtomicU32::new(0)), Arc::new(AtomicU32::new(0)));
        let (counted, dropped) = (calls.clone(), drops.clone());
        let mut service = ServiceBuilder::new()
            .layer(HedgeLayer::new(|| Hedging::new(3).delay(Duration::from_millis(20))))
            .service_fn(move |x: u32| {
                let n = counted.fetch_add(1, Ordering::SeqCst);
                let guard = Dropped(dropped.clone());
                async move {
                    let _guard = guard;
                    // The first copy hangs; the second answers after 5 ms.
                    tokio::time::sleep(Duration::from_millis(if n == 0 { 60_000 } else { 5 })).await;
                    Ok::<_, ()>(x * 10 + n)
                }
            });
        let start = tokio::time::Instant::now();
        assert_eq!(service.ready().await.unwrap().call(4).await, Ok(41));
        assert_eq!(start.elapsed(), Duration::from_millis(25));
        assert_eq!(calls.load(Ordering::SeqCst), 2, "the third copy never started");
        assert_eq!(drops.load(Ordering::SeqCst), 2, "the winner and the dropped slow copy");
    }

    #[tokio::test(start_paused = true)]
    async fn a_request_that_cannot_be_copied_is_not_hedged() {
        let calls = Arc::new(AtomicU32::new(0));
        let counted = calls.clone();
        let mut service = ServiceBuilder::new()
            .layer(
                HedgeLayer::new(|| Hedging::new(2).delay(Duration::from_millis(20))).replay(|_: &u32| None),
            )
            .service_fn(move |x: u32| {
                counted.fetch_add(1, Ordering::SeqCst);
                async move {
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    Ok::<_, ()>(x)
                }
            });
        assert_eq!(service.ready().await.unwrap().call(9).await, Ok(9));
        assert_eq!(calls.load(Ordering::SeqCst), 1);
    }
}
