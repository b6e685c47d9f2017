//! `retry::tower::ReportLayer` on an axum server: each response says how the
//! retried calls made while serving it went (`X-Retry-Count`, `X-Fallback`), and
//! fallbacks are counted in metrics. First on a `Router` called in-process, then
//! end to end: a client calls server A over loopback, whose handlers call server B
//! over loopback through `#[retry]` fns while B fails the first attempts of each
//! call.
#![deny(warnings, clippy::all)]

use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use retry::http::{HttpError, check_status};
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

#[retry(stop = attempts(2), wait = none(), fallback = |last| last)]
async fn passes_errors_through() -> Result<u32, &'static str> {
    Err("down")
}

#[retry(stop = attempts(3), wait = fixed(60s))]
async fn slow_to_recover() -> Result<u32, &'static str> {
    Err("down")
}

async fn failed_through() -> String {
    format!("{:?}", passes_errors_through().await)
}

async fn cut_short() -> String {
    // Dropped while it sleeps for its first retry: no retry was made.
    let out = tokio::time::timeout(std::time::Duration::from_millis(20), slow_to_recover()).await;
    format!("{}", out.is_err())
}

async fn calm() -> &'static str {
    "nothing retried"
}

fn app() -> axum::Router {
    axum::Router::new()
        .route("/page", get(page))
        .route("/degraded", get(degraded))
        .route("/calm", get(calm))
        .route("/failed-through", get(failed_through))
        .route("/cut-short", get(cut_short))
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

#[tokio::test]
async fn a_fallback_that_hands_back_the_error_and_a_retry_never_made_are_not_reported() {
    let headers = get_headers("/failed-through").await;
    assert_eq!(headers.get("x-retry-count").unwrap(), "1");
    assert!(headers.get("x-fallback").is_none(), "the fallback answered with an error");
    let headers = get_headers("/cut-short").await;
    assert!(headers.get("x-retry-count").is_none(), "cancelled before its first retry");
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

// End to end: client → A → B, each hop over a real socket on 127.0.0.1.

/// A server on 127.0.0.1 (a free port), stopped gracefully by [`Server::stop`]
/// (aborted if a failing test drops it).
struct Server {
    base: String,
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
    task: tokio::task::JoinHandle<()>,
}

impl Server {
    async fn start(app: axum::Router) -> Server {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let (shutdown, stopped) = tokio::sync::oneshot::channel::<()>();
        let task = tokio::spawn(async move {
            axum::serve(listener, app)
                .with_graceful_shutdown(async move {
                    let _ = stopped.await;
                })
                .await
                .unwrap()
        });
        Server { base, shutdown: Some(shutdown), task }
    }

    async fn stop(mut self) {
        let _ = self.shutdown.take().unwrap().send(());
        let stopped = tokio::time::timeout(Duration::from_secs(5), &mut self.task).await;
        stopped.expect("the server stops within 5 s").unwrap();
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.task.abort();
    }
}

fn header(headers: &HeaderMap, name: &str) -> Option<String> {
    headers.get(name).and_then(|v| v.to_str().ok()).map(str::to_owned)
}

/// How many first attempts of each call B fails, per item: `stock` recovers after
/// two, `price` never does, anything else answers at once.
fn failing(item: &str) -> u32 {
    match item {
        "stock" => 2,
        "price" => u32::MAX,
        _ => 0,
    }
}

/// One request B received.
#[derive(Clone, Debug, PartialEq)]
struct Received {
    item: String,
    /// The call's key (`Idempotency-Key`), the same on every attempt of one call.
    key: String,
    /// The attempt number A sent (`Retry-Attempt`).
    attempt: String,
}

/// Server B's state: what it received, and how it answers.
struct B {
    received: Mutex<Vec<Received>>,
    /// The `Retry-After` of its 503s.
    retry_after: &'static str,
    /// How long it takes over each answer.
    stall: Duration,
}

impl B {
    /// `(key, attempt)` of each request for `item`, in order.
    fn attempts(&self, item: &str) -> Vec<(String, String)> {
        let received = self.received.lock().unwrap();
        received.iter().filter(|r| r.item == item).map(|r| (r.key.clone(), r.attempt.clone())).collect()
    }

    fn total(&self) -> usize {
        self.received.lock().unwrap().len()
    }
}

/// B's one route: fails the first `failing(item)` attempts of each call (counted
/// per `Idempotency-Key`) with 503 and `Retry-After`, then answers `<item> #<n>`.
async fn item(State(b): State<Arc<B>>, Path(item): Path<String>, headers: HeaderMap) -> Response {
    let key = header(&headers, "idempotency-key").unwrap_or_default();
    let attempt = header(&headers, "retry-attempt").unwrap_or_default();
    let n = {
        let mut received = b.received.lock().unwrap();
        received.push(Received { item: item.clone(), key: key.clone(), attempt });
        received.iter().filter(|r| r.item == item && r.key == key).count() as u32
    };
    tokio::time::sleep(b.stall).await;
    if n <= failing(&item) {
        (StatusCode::SERVICE_UNAVAILABLE, [("retry-after", b.retry_after)], "busy").into_response()
    } else {
        format!("{item} #{n}").into_response()
    }
}

async fn start_b(retry_after: &'static str, stall: Duration) -> (Server, Arc<B>) {
    let b = Arc::new(B { received: Mutex::default(), retry_after, stall });
    let app = axum::Router::new().route("/items/{item}", get(item)).with_state(b.clone());
    (Server::start(app).await, b)
}

/// A's client of B.
struct Upstream {
    http: reqwest::Client,
    base: String,
    keys: AtomicU64,
}

impl Upstream {
    /// A key for one logical call, made before its retry loop.
    fn key(&self) -> String {
        format!("call-{}", self.keys.fetch_add(1, Ordering::SeqCst))
    }

    /// One attempt: GET the item, with the call's key and this attempt's number.
    async fn get(&self, item: &str, key: &str) -> Result<String, HttpError> {
        let attempt = retry::attempt().expect("inside a retried call");
        let request = self
            .http
            .get(format!("{}/items/{item}", self.base))
            .header("idempotency-key", key)
            .header("retry-attempt", attempt.to_string());
        Ok(check_status(request.send().await?).await?.text().await?)
    }
}

#[retry(on = transient, stop = attempts(5), wait = none())]
async fn stock(upstream: &Upstream, key: &str) -> Result<String, HttpError> {
    upstream.get("stock", key).await
}

#[retry(on = transient, stop = attempts(3), wait = none(), fallback = |_| Ok("list price".to_owned()))]
async fn price(upstream: &Upstream, key: &str) -> Result<String, HttpError> {
    upstream.get("price", key).await
}

#[retry(on = transient, stop = attempts(5), wait = none())]
async fn about(upstream: &Upstream, key: &str) -> Result<String, HttpError> {
    upstream.get("about", key).await
}

type Answer = Result<String, (StatusCode, String)>;

fn bad_gateway(error: HttpError) -> (StatusCode, String) {
    (StatusCode::BAD_GATEWAY, error.to_string())
}

/// B recovers after two failures.
async fn order(State(upstream): State<Arc<Upstream>>) -> Answer {
    stock(&upstream, &upstream.key()).await.map_err(bad_gateway)
}

/// B stays down: the fallback answers.
async fn quote(State(upstream): State<Arc<Upstream>>) -> Answer {
    price(&upstream, &upstream.key()).await.map_err(bad_gateway)
}

/// Nothing fails.
async fn info(State(upstream): State<Arc<Upstream>>) -> Answer {
    about(&upstream, &upstream.key()).await.map_err(bad_gateway)
}

/// Both: the retries of two calls add up.
async fn checkout(State(upstream): State<Arc<Upstream>>) -> Answer {
    let stock = stock(&upstream, &upstream.key()).await.map_err(bad_gateway)?;
    let price = price(&upstream, &upstream.key()).await.map_err(bad_gateway)?;
    Ok(format!("{stock} at {price}"))
}

async fn start_a(b: &Server) -> Server {
    let upstream =
        Arc::new(Upstream { http: reqwest::Client::new(), base: b.base.clone(), keys: AtomicU64::new(0) });
    let app = axum::Router::new()
        .route("/order", get(order))
        .route("/quote", get(quote))
        .route("/info", get(info))
        .route("/checkout", get(checkout))
        .with_state(upstream)
        .layer(ReportLayer::new());
    Server::start(app).await
}

/// What A answered: body, `X-Retry-Count`, `X-Fallback`.
#[derive(Debug, PartialEq)]
struct Reported {
    body: String,
    retry_count: Option<String>,
    fallback: Option<String>,
}

impl Reported {
    fn new(body: &str, retry_count: Option<&str>, fallback: Option<&str>) -> Self {
        Reported {
            body: body.into(),
            retry_count: retry_count.map(Into::into),
            fallback: fallback.map(Into::into),
        }
    }
}

async fn call_a(client: &reqwest::Client, a: &Server, path: &str) -> Reported {
    let response = client.get(format!("{}{path}", a.base)).send().await.unwrap();
    assert_eq!(response.status(), 200, "{path}");
    let (retry_count, fallback) =
        (header(response.headers(), "x-retry-count"), header(response.headers(), "x-fallback"));
    Reported { body: response.text().await.unwrap(), retry_count, fallback }
}

fn calls(key: &str, attempts: u32) -> Vec<(String, String)> {
    (1..=attempts).map(|n| (key.to_owned(), n.to_string())).collect()
}

#[tokio::test]
async fn a_server_calling_another_over_loopback_reports_what_happened() {
    // One thread runs client, A and B: A's sleeps are recorded, not slept.
    let sleeps = retry::testing::record_sleeps();
    let (b_server, b) = start_b("1", Duration::ZERO).await;
    let a = start_a(&b_server).await;
    let client = reqwest::Client::new();

    // Nothing fails: no report.
    assert_eq!(call_a(&client, &a, "/info").await, Reported::new("about #1", None, None));
    assert_eq!(b.attempts("about"), calls("call-0", 1));
    assert_eq!(sleeps.sleeps(), []);

    // B fails twice, then answers: two retries, no fallback. Every attempt carried
    // the call's key and its number; A waited the `Retry-After: 1` B asked for.
    assert_eq!(call_a(&client, &a, "/order").await, Reported::new("stock #3", Some("2"), None));
    assert_eq!(b.attempts("stock"), calls("call-1", 3));
    assert_eq!(sleeps.sleeps(), [Duration::from_secs(1); 2]);

    // B stays down: three attempts, two retries, and the fallback answered.
    sleeps.clear();
    assert_eq!(call_a(&client, &a, "/quote").await, Reported::new("list price", Some("2"), Some("true")));
    assert_eq!(b.attempts("price"), calls("call-2", 3));
    assert_eq!(sleeps.sleeps(), [Duration::from_secs(1); 2]);

    // Both in one request: the retries of the two calls add up.
    let reported = call_a(&client, &a, "/checkout").await;
    assert_eq!(reported, Reported::new("stock #3 at list price", Some("4"), Some("true")));
    assert_eq!(b.attempts("stock")[3..], calls("call-3", 3));
    assert_eq!(b.attempts("price")[3..], calls("call-4", 3));

    // Nothing else reached B, and the next calm request reports nothing again.
    assert_eq!(call_a(&client, &a, "/info").await, Reported::new("about #1", None, None));
    assert_eq!(b.total(), 1 + 3 + 3 + 6 + 1);

    drop(client);
    a.stop().await;
    b_server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn requests_served_at_once_each_get_their_own_report() {
    // Real (zero) waits: `Retry-After: 0`; B takes 5 ms over each answer so the
    // requests overlap, and they move between the two worker threads.
    let (b_server, b) = start_b("0", Duration::from_millis(5)).await;
    let a = start_a(&b_server).await;
    let client = reqwest::Client::new();

    let expected = [
        ("/order", Reported::new("stock #3", Some("2"), None)),
        ("/quote", Reported::new("list price", Some("2"), Some("true"))),
        ("/info", Reported::new("about #1", None, None)),
        ("/checkout", Reported::new("stock #3 at list price", Some("4"), Some("true"))),
    ];
    let requests = (0..3).flat_map(|_| expected.iter()).map(|(path, _)| call_a(&client, &a, path));
    let answers = futures::future::join_all(requests).await;
    for (answer, (path, expected)) in answers.iter().zip((0..3).flat_map(|_| expected.iter())) {
        assert_eq!(answer, expected, "{path}");
    }
    // 3 × (3 + 3 + 1 + 6) requests, 3 per call of stock and price, 1 for about.
    assert_eq!(b.total(), 3 * 13);
    let received = b.received.lock().unwrap().clone();
    let mut keys: Vec<_> = received.iter().map(|r| r.key.clone()).collect();
    keys.sort();
    keys.dedup();
    assert_eq!(keys.len(), 3 * 5, "one key per call: 5 calls per round");
    for key in keys {
        let of_key: Vec<_> = received.iter().filter(|r| r.key == key).collect();
        let attempts: Vec<_> = of_key.iter().map(|r| r.attempt.clone()).collect();
        let expected = if of_key[0].item == "about" { 1 } else { 3 };
        assert_eq!(attempts, (1..=expected).map(|n| n.to_string()).collect::<Vec<_>>(), "{key}");
    }

    drop(client);
    a.stop().await;
    b_server.stop().await;
}
