//! `retry::tower::ReportLayer` on an axum server: each response says how the
//! retried calls made while serving it went (`X-Retry-Count`, `X-Fallback`), and
//! fallbacks are counted in metrics.
#![deny(warnings, clippy::all)]

use std::sync::atomic::{AtomicU32, Ordering};

use axum::routing::get;
use retry::tower::ReportLayer;
use retry::{Retrying, dsl::*, retry};
use tower::ServiceExt;

static FLAKY: AtomicU32 = AtomicU32::new(0);

#[retry(stop = attempts(5), wait = none())]
async fn inventory() -> Result<u32, &'static str> {
    if FLAKY.fetch_add(1, Ordering::SeqCst) % 3 < 2 { Err("busy") } else { Ok(7) }
}

#[retry(stop = attempts(2), wait = none(), fallback = |_| Ok(0), name = "prices::quote")]
async fn prices() -> Result<u32, &'static str> {
    Err("down")
}

async fn page() -> String {
    let stock = inventory().await.unwrap_or_default();
    format!("{stock} in stock")
}

async fn degraded() -> String {
    // One retried call that recovers, and one that falls back.
    let stock = inventory().await.unwrap_or_default();
    let price = prices().await.unwrap_or_default();
    let sync = Retrying::<u32, ()>::new().wait(none()).call(|| Ok(1)).unwrap_or_default();
    format!("{stock} at {price} ({sync})")
}

async fn calm() -> &'static str {
    "nothing retried"
}

fn app() -> axum::Router {
    axum::Router::new()
        .route("/page", get(page))
        .route("/degraded", get(degraded))
        .route("/calm", get(calm))
        .layer(ReportLayer::new())
}

async fn get_headers(path: &str) -> axum::http::HeaderMap {
    let request = axum::http::Request::get(path).body(axum::body::Body::empty()).unwrap();
    let response = app().oneshot(request).await.unwrap();
    assert_eq!(response.status(), 200);
    response.headers().clone()
}

#[tokio::test]
async fn responses_say_what_was_retried_and_what_fell_back() {
    FLAKY.store(0, Ordering::SeqCst);
    let headers = get_headers("/page").await;
    assert_eq!(headers.get("x-retry-count").unwrap(), "2");
    assert!(headers.get("x-fallback").is_none());

    FLAKY.store(0, Ordering::SeqCst);
    let headers = get_headers("/degraded").await;
    assert_eq!(headers.get("x-retry-count").unwrap(), "3", "2 for inventory, 1 for prices");
    assert_eq!(headers.get("x-fallback").unwrap(), "true");

    let headers = get_headers("/calm").await;
    assert!(headers.get("x-retry-count").is_none() && headers.get("x-fallback").is_none());

    // Requests served at once each get their own count. (One test: they share
    // the flaky counter.)
    FLAKY.store(0, Ordering::SeqCst);
    let (a, b) = tokio::join!(get_headers("/degraded"), get_headers("/calm"));
    assert_eq!(a.get("x-fallback").unwrap(), "true");
    assert!(b.get("x-fallback").is_none() && b.get("x-retry-count").is_none());
}

#[test]
fn fallbacks_are_counted_by_name() {
    let recorder = metrics_util::debugging::DebuggingRecorder::new();
    let snapshotter = recorder.snapshotter();
    metrics::with_local_recorder(&recorder, || {
        let rt = tokio::runtime::Builder::new_current_thread().build().unwrap();
        assert_eq!(rt.block_on(prices()), Ok(0));
    });
    let fallbacks = snapshotter
        .snapshot()
        .into_vec()
        .into_iter()
        .find(|(key, ..)| key.key().name() == "retry_fallbacks_total")
        .map(|(key, _, _, value)| {
            (key.key().labels().map(|l| l.value().to_owned()).collect::<Vec<_>>(), value)
        });
    assert_eq!(
        fallbacks,
        Some((vec!["prices::quote".to_owned()], metrics_util::debugging::DebugValue::Counter(1)))
    );
}

#[tokio::test]
async fn a_response_made_in_a_span_carries_its_id() {
    use tracing::Instrument;
    let subscriber = tracing_subscriber::fmt().with_writer(std::io::sink).finish();
    let _default = tracing::subscriber::set_default(subscriber);
    let request = axum::http::Request::get("/calm").body(axum::body::Body::empty()).unwrap();
    let span = tracing::info_span!("request");
    let id = span.id().unwrap().into_u64();
    let response = app().oneshot(request).instrument(span).await.unwrap();
    assert_eq!(response.headers().get("x-trace-id").unwrap(), &id.to_string());
    // Outside a span: no header.
    let request = axum::http::Request::get("/calm").body(axum::body::Body::empty()).unwrap();
    assert!(app().oneshot(request).await.unwrap().headers().get("x-trace-id").is_none());
}
