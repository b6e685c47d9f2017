//! `retry::http::RetryMiddleware` with reqwest-middleware, against a real axum
//! server on loopback that fails the first attempts of each call with 503 and
//! `Retry-After`, and deduplicates POSTs by `Idempotency-Key`: a retried charge is
//! executed once, every attempt carries the same key, and retries say their number.
#![deny(warnings, clippy::all)]

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::IntoResponse;
use axum::routing::{get, post};
use retry::http::RetryMiddleware;
use retry::{Retrying, dsl::*};

/// What server B saw and did.
#[derive(Default)]
struct Ledger {
    /// Attempts seen per idempotency key.
    attempts: HashMap<String, u32>,
    /// Charges executed, per key (the dedup table).
    executed: HashMap<String, u32>,
    /// (idempotency key, attempt header) of every request, in order.
    seen: Vec<(Option<String>, Option<String>)>,
    /// How many first attempts of each call fail with 503.
    fail_first: u32,
    /// The `Retry-After` the 503s carry.
    retry_after: String,
}

type Shared = Arc<Mutex<Ledger>>;

fn header(headers: &HeaderMap, name: &str) -> Option<String> {
    headers.get(name).and_then(|v| v.to_str().ok()).map(str::to_owned)
}

async fn charge(State(ledger): State<Shared>, headers: HeaderMap) -> axum::response::Response {
    let key = header(&headers, "idempotency-key");
    let mut ledger = ledger.lock().unwrap();
    ledger.seen.push((key.clone(), header(&headers, "retry-attempt")));
    let Some(key) = key else { return (StatusCode::BAD_REQUEST, "no idempotency key").into_response() };
    let attempt = {
        let n = ledger.attempts.entry(key.clone()).or_default();
        *n += 1;
        *n
    };
    if attempt <= ledger.fail_first {
        let after = ledger.retry_after.clone();
        return (StatusCode::SERVICE_UNAVAILABLE, [("retry-after", after)], "busy").into_response();
    }
    // Executed once per key; a repeat gets the same charge back.
    let next_id = ledger.executed.len() as u32 + 1;
    let id = *ledger.executed.entry(key).or_insert(next_id);
    (StatusCode::OK, format!("charge {id}")).into_response()
}

async fn missing(State(ledger): State<Shared>, headers: HeaderMap) -> StatusCode {
    ledger
        .lock()
        .unwrap()
        .seen
        .push((header(&headers, "idempotency-key"), header(&headers, "retry-attempt")));
    StatusCode::NOT_FOUND
}

async fn server(fail_first: u32, retry_after: &str) -> (String, Shared) {
    let ledger: Shared =
        Arc::new(Mutex::new(Ledger { fail_first, retry_after: retry_after.into(), ..Ledger::default() }));
    let app = axum::Router::new()
        .route("/charge", post(charge))
        .route("/missing", get(missing))
        .with_state(ledger.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (url, ledger)
}

fn client(max_retry_after: Duration) -> reqwest_middleware::ClientWithMiddleware {
    reqwest_middleware::ClientBuilder::new(reqwest::Client::new())
        .with(
            RetryMiddleware::new(|| Retrying::new().stop(attempts(5)).wait(fixed(Duration::from_millis(10))))
                .max_retry_after(max_retry_after),
        )
        .build()
}

#[tokio::test]
async fn a_retried_post_is_executed_once_with_one_key_and_numbered_attempts() {
    let sleeps = retry::testing::record_sleeps();
    let (url, ledger) = server(2, "1").await;
    let response =
        client(Duration::from_millis(250)).post(format!("{url}/charge")).body("500").send().await.unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(response.text().await.unwrap(), "charge 1");
    let ledger = ledger.lock().unwrap();
    assert_eq!(ledger.executed.len(), 1, "executed exactly once");
    let keys: Vec<_> = ledger.seen.iter().map(|(key, _)| key.clone().unwrap()).collect();
    assert_eq!(keys.len(), 3);
    assert!(keys.iter().all(|key| *key == keys[0]), "one key for every attempt: {keys:?}");
    assert_eq!(keys[0].len(), 36, "a UUID: {}", keys[0]);
    assert_eq!(&keys[0][14..15], "4", "version 4: {}", keys[0]);
    let attempts: Vec<_> = ledger.seen.iter().map(|(_, n)| n.clone()).collect();
    assert_eq!(attempts, [None, Some("2".into()), Some("3".into())]);
    // `Retry-After: 1` asked for 1 s; the middleware's cap is 250 ms.
    assert_eq!(sleeps.sleeps(), [Duration::from_millis(250); 2]);
}

#[tokio::test]
async fn two_calls_get_two_keys_and_a_callers_own_key_is_kept() {
    let _sleeps = retry::testing::record_sleeps();
    let (url, ledger) = server(0, "0").await;
    let client = client(Duration::from_secs(1));
    for _ in 0..2 {
        client.post(format!("{url}/charge")).send().await.unwrap();
    }
    let mine =
        client.post(format!("{url}/charge")).header("idempotency-key", "order-7").send().await.unwrap();
    assert_eq!(mine.text().await.unwrap(), "charge 3");
    let again =
        client.post(format!("{url}/charge")).header("idempotency-key", "order-7").send().await.unwrap();
    assert_eq!(again.text().await.unwrap(), "charge 3", "the server deduplicated it");
    let ledger = ledger.lock().unwrap();
    assert_eq!(ledger.executed.len(), 3);
    assert_ne!(ledger.seen[0].0, ledger.seen[1].0);
    assert_eq!(ledger.seen[2].0.as_deref(), Some("order-7"));
}

#[tokio::test]
async fn retry_after_as_an_http_date_is_honoured_up_to_the_cap() {
    let sleeps = retry::testing::record_sleeps();
    let in_an_hour = httpdate_in(Duration::from_secs(3600));
    let (url, _) = server(1, &in_an_hour).await;
    let response = client(Duration::from_millis(40)).post(format!("{url}/charge")).send().await.unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(sleeps.sleeps(), [Duration::from_millis(40)]);
}

#[tokio::test]
async fn a_404_is_returned_at_once_and_a_get_carries_no_key() {
    let (url, ledger) = server(0, "0").await;
    let response = client(Duration::from_secs(1)).get(format!("{url}/missing")).send().await.unwrap();
    assert_eq!(response.status(), 404);
    assert_eq!(ledger.lock().unwrap().seen, [(None, None)]);
}

#[tokio::test]
async fn giving_up_on_a_503_returns_the_last_response() {
    let _sleeps = retry::testing::record_sleeps();
    let (url, ledger) = server(100, "0").await;
    let response = client(Duration::from_secs(1)).post(format!("{url}/charge")).send().await.unwrap();
    assert_eq!(response.status(), 503);
    assert_eq!(ledger.lock().unwrap().seen.len(), 5);
}

#[tokio::test]
async fn connection_failures_are_retried_and_a_stream_body_is_sent_once_and_says_why() {
    let _sleeps = retry::testing::record_sleeps();
    // A port nothing listens on.
    let closed = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap()
    };
    let seen = Arc::new(Mutex::new(0u32));
    let counted = seen.clone();
    let client = reqwest_middleware::ClientBuilder::new(reqwest::Client::new())
        .with(RetryMiddleware::new(move || {
            let counted = counted.clone();
            Retrying::new().stop(attempts(3)).wait(none()).after(
                move |_: &retry::Attempt<'_, reqwest::Response, retry::http::Failed>| {
                    *counted.lock().unwrap() += 1
                },
            )
        }))
        .build();
    let error = client.post(format!("http://{closed}/charge")).body("x").send().await.unwrap_err();
    assert!(error.is_connect(), "{error}");
    assert_eq!(*seen.lock().unwrap(), 3);

    *seen.lock().unwrap() = 0;
    let stream = futures::stream::iter([Ok::<_, std::io::Error>(bytes::Bytes::from_static(b"x"))]);
    let error = client
        .post(format!("http://{closed}/charge"))
        .body(reqwest::Body::wrap_stream(stream))
        .send()
        .await
        .unwrap_err();
    assert_eq!(*seen.lock().unwrap(), 1, "sent once");
    assert!(error.to_string().contains("not retried: the request's body is a stream"), "{error}");
}

/// An HTTP-date `after` from now.
fn httpdate_in(after: Duration) -> String {
    httpdate::fmt_http_date(std::time::SystemTime::now() + after)
}

/// Charges through a middleware that does not retry: the attribute does, and
/// keeps one key for all its attempts by setting it from its call id.
#[retry::retry(stop = attempts(4), wait = none(), when = |e: &reqwest_middleware::Error| e.status().is_some())]
async fn charge_in_a_retried_fn(
    client: &reqwest_middleware::ClientWithMiddleware,
    url: &str,
) -> Result<String, reqwest_middleware::Error> {
    let key = retry::call_id().unwrap().to_string();
    let response =
        client.post(format!("{url}/charge")).header("idempotency-key", key).body("70").send().await?;
    Ok(response.error_for_status()?.text().await?)
}

/// Two different charges in one retried call.
#[retry::retry(stop = attempts(1))]
async fn two_charges(
    client: &reqwest_middleware::ClientWithMiddleware,
    url: &str,
) -> Result<(String, String), reqwest_middleware::Error> {
    let first = client.post(format!("{url}/charge")).body("1").send().await?.text().await?;
    let second = client.post(format!("{url}/charge")).body("2").send().await?.text().await?;
    Ok((first, second))
}

#[tokio::test]
async fn each_request_has_its_own_key_and_a_retried_fn_can_keep_one_for_its_attempts() {
    let (url, ledger) = server(2, "0").await;
    let once = reqwest_middleware::ClientBuilder::new(reqwest::Client::new())
        .with(RetryMiddleware::new(|| Retrying::new().stop(attempts(1))))
        .build();
    assert_eq!(charge_in_a_retried_fn(&once, &url).await.unwrap(), "charge 1");
    {
        let ledger = ledger.lock().unwrap();
        let keys: Vec<_> = ledger.seen.iter().map(|(key, _)| key.clone().unwrap()).collect();
        assert_eq!(keys.len(), 3, "two 503s, then the charge");
        assert!(keys.iter().all(|key| *key == keys[0]), "the fn's call id on every attempt: {keys:?}");
    }

    let (url, ledger) = server(0, "0").await;
    assert_eq!(
        two_charges(&client(Duration::ZERO), &url).await.unwrap(),
        ("charge 1".into(), "charge 2".into())
    );
    let ledger = ledger.lock().unwrap();
    assert_eq!(ledger.executed.len(), 2, "two requests, two keys, two charges");
}
