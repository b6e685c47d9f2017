//! End to end over real sockets: a reqwest client whose methods use `#[retry]`,
//! a breaker and `#[hedge]`, against a fault-injecting hyper server started on
//! 127.0.0.1 (a random port) by the test itself. Every assertion reads the server's
//! own request log: how many requests each policy made, when, and what for.
//! Real time, kept short: the whole file runs in a few seconds.
#![deny(warnings, clippy::all)]

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bytes::Bytes;
use http_body_util::Full;
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use retry::http::{HttpError, check_status};
use retry::{CircuitBreaker, hedge, retry};
use tokio::net::TcpListener;

/// What the server does with the `n`-th request (0-based) to a path.
#[derive(Clone, Copy, Debug)]
enum Fault {
    /// 503 with `Retry-After: 1`.
    Unavailable,
    /// 503 without a hint.
    Down,
    /// Close the connection without answering.
    Reset,
    /// Answer 200 after this long.
    Stall(Duration),
    /// 400: the request's fault.
    BadRequest,
    /// 200 at once.
    Ok,
}

/// The script per path: faults for the first requests, then `Ok`.
type Script = HashMap<&'static str, Vec<Fault>>;

/// The server's log: every request's path and arrival time.
#[derive(Clone, Default)]
struct Log(Arc<Mutex<Vec<(String, Instant)>>>);

impl Log {
    fn count(&self, path: &str) -> usize {
        self.0.lock().unwrap().iter().filter(|(p, _)| p == path).count()
    }
    fn times(&self, path: &str) -> Vec<Instant> {
        self.0.lock().unwrap().iter().filter(|(p, _)| p == path).map(|(_, t)| *t).collect()
    }
}

struct Server {
    base: String,
    log: Log,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for Server {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Starts the fault server on 127.0.0.1 with a random port; stopped when dropped.
async fn serve(script: Script) -> Server {
    let listener = TcpListener::bind(SocketAddr::from(([127, 0, 0, 1], 0))).await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let log = Log::default();
    let script = Arc::new(script);
    let task = {
        let log = log.clone();
        tokio::spawn(async move {
            loop {
                let Ok((stream, _)) = listener.accept().await else { return };
                let (log, script) = (log.clone(), script.clone());
                tokio::spawn(async move {
                    let service = service_fn(move |request: Request<Incoming>| {
                        let (log, script) = (log.clone(), script.clone());
                        async move { respond(request, &log, &script).await }
                    });
                    let _ = http1::Builder::new().serve_connection(TokioIo::new(stream), service).await;
                });
            }
        })
    };
    Server { base, log, task }
}

/// One answer; an `Err` makes hyper drop the connection without answering.
async fn respond(
    request: Request<Incoming>,
    log: &Log,
    script: &Script,
) -> Result<Response<Full<Bytes>>, std::io::Error> {
    let path = request.uri().path().to_string();
    let n = {
        let mut entries = log.0.lock().unwrap();
        entries.push((path.clone(), Instant::now()));
        entries.iter().filter(|(p, _)| *p == path).count() - 1
    };
    let fault = script.get(path.as_str()).and_then(|faults| faults.get(n)).copied().unwrap_or(Fault::Ok);
    let answer = |status: StatusCode, retry_after: Option<&str>| {
        let mut response = Response::builder().status(status);
        if let Some(value) = retry_after {
            response = response.header("retry-after", value);
        }
        Ok(response.body(Full::new(Bytes::from(format!("{path} #{n}")))).unwrap())
    };
    match fault {
        Fault::Unavailable => answer(StatusCode::SERVICE_UNAVAILABLE, Some("1")),
        Fault::Down => answer(StatusCode::SERVICE_UNAVAILABLE, None),
        Fault::Reset => Err(std::io::Error::other("reset by the script")),
        Fault::Stall(took) => {
            tokio::time::sleep(took).await;
            answer(StatusCode::OK, None)
        }
        Fault::BadRequest => answer(StatusCode::BAD_REQUEST, None),
        Fault::Ok => answer(StatusCode::OK, None),
    }
}

struct Client {
    http: reqwest::Client,
    base: String,
    breaker: CircuitBreaker,
}

impl Client {
    fn new(base: &str) -> Self {
        Client {
            http: reqwest::Client::new(),
            base: base.to_string(),
            breaker: CircuitBreaker::new()
                .with_consecutive_failures(3)
                .with_open_for(Duration::from_secs(60)),
        }
    }

    /// Transient failures retried (honouring `Retry-After`), each attempt cut at 300 ms.
    #[retry(on = transient, stop = attempts(4), wait = fixed(20ms), timeout = 300ms)]
    async fn get(&self, path: &str) -> Result<String, HttpError> {
        let response = check_status(self.http.get(format!("{}{path}", self.base)).send().await?).await?;
        Ok(response.text().await?)
    }

    /// Through the breaker: three failures open it for a minute.
    #[retry(on = transient, stop = attempts(2), wait = fixed(20ms), breaker = self.breaker)]
    async fn get_guarded(&self, path: &str) -> Result<String, HttpError> {
        let response = check_status(self.http.get(format!("{}{path}", self.base)).send().await?).await?;
        Ok(response.text().await?)
    }

    /// Hedged: a second copy after 100 ms.
    #[hedge(n = 2, delay = 100ms)]
    async fn get_hedged(&self, path: &str) -> Result<String, HttpError> {
        let response = check_status(self.http.get(format!("{}{path}", self.base)).send().await?).await?;
        Ok(response.text().await?)
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_policy_makes_exactly_the_requests_it_should() {
    let server = serve(Script::from([
        ("/unavailable", vec![Fault::Unavailable, Fault::Unavailable]),
        ("/reset", vec![Fault::Reset]),
        ("/stall", vec![Fault::Stall(Duration::from_secs(5))]),
        ("/bad", vec![Fault::BadRequest; 5]),
        ("/down", vec![Fault::Down; 10]),
        ("/slow-first", vec![Fault::Stall(Duration::from_secs(2))]),
    ]))
    .await;
    let client = Client::new(&server.base);
    let log = &server.log;

    // Two 503s with `Retry-After: 1`, then 200: three requests, a second apart.
    assert_eq!(client.get("/unavailable").await.unwrap(), "/unavailable #2");
    let times = log.times("/unavailable");
    assert_eq!(times.len(), 3);
    for pair in times.windows(2) {
        let gap = pair[1] - pair[0];
        assert!(gap >= Duration::from_millis(990) && gap < Duration::from_millis(1500), "gap {gap:?}");
    }

    // A connection dropped without an answer is transient: one retry.
    assert_eq!(client.get("/reset").await.unwrap(), "/reset #1");
    assert_eq!(log.count("/reset"), 2);

    // A stall past the 300 ms timeout is cut and retried; the retry answers.
    let start = Instant::now();
    assert_eq!(client.get("/stall").await.unwrap(), "/stall #1");
    assert!(start.elapsed() < Duration::from_secs(2), "the stall was cut: {:?}", start.elapsed());
    assert_eq!(log.count("/stall"), 2);

    // 400 is never retried.
    match client.get("/bad").await {
        Err(error @ HttpError::Status { status: 400, .. }) => {
            // The server's words come with the status.
            assert_eq!(error.to_string(), "HTTP status 400: /bad #0");
        }
        other => panic!("expected the 400 itself, got {other:?}"),
    }
    assert_eq!(log.count("/bad"), 1);

    // The breaker: call 1 fails twice (2 requests); call 2's first failure is the
    // third in a row and opens it, so it gives up without a retry (1 request);
    // call 3 is rejected without a request.
    assert!(matches!(client.get_guarded("/down").await, Err(HttpError::Status { status: 503, .. })));
    assert_eq!(log.count("/down"), 2);
    assert!(matches!(client.get_guarded("/down").await, Err(HttpError::Status { status: 503, .. })));
    assert_eq!(log.count("/down"), 3);
    assert!(matches!(client.get_guarded("/down").await, Err(HttpError::CircuitOpen)));
    assert_eq!(log.count("/down"), 3, "no traffic while open");

    // Hedging: the first request stalls 2 s; the hedge at 100 ms answers at once.
    let start = Instant::now();
    assert_eq!(client.get_hedged("/slow-first").await.unwrap(), "/slow-first #1");
    assert!(start.elapsed() < Duration::from_millis(1000), "hedged: {:?}", start.elapsed());
    assert_eq!(log.count("/slow-first"), 2);
    let times = log.times("/slow-first");
    assert!(times[1] - times[0] >= Duration::from_millis(95), "the hedge waited its delay");

    // Nothing else reached the server.
    assert_eq!(server.log.0.lock().unwrap().len(), 3 + 2 + 2 + 1 + 3 + 2);
}

#[tokio::test]
async fn reqwest_errors_and_statuses_are_classified() {
    use retry::Transient;
    // Nothing listens on a port just released: a connect error, transient.
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let error = reqwest::get(format!("http://127.0.0.1:{port}/")).await.unwrap_err();
    assert!(error.is_connect() && error.is_transient(), "{error}");
    let error = HttpError::from(error);
    assert!(error.is_transient() && error.retry_after().is_none());
    // Statuses: 503 with its hint is transient, 404 is not, a rejection is not.
    let busy =
        HttpError::Status { status: 503, retry_after: Some(Duration::from_secs(2)), body: String::new() };
    assert!(busy.is_transient());
    assert_eq!(busy.retry_after(), Some(Duration::from_secs(2)));
    assert!(!HttpError::Status { status: 404, retry_after: None, body: String::new() }.is_transient());
    assert!(!HttpError::CircuitOpen.is_transient());
    assert!(HttpError::TimedOut.is_transient());
}
