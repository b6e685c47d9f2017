//! A reqwest client with `#[retry(on = transient, timeout = ..)]` against a local
//! fault server (started here on 127.0.0.1): a 503 with `Retry-After` is retried
//! after the delay it asks for, a stalled request is cut and retried, a 400 is not
//! retried. Prints the server's log.
//!
//! Run with `cargo run -p examples --example http_client`.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bytes::Bytes;
use http_body_util::Full;
use hyper::body::Incoming;
use hyper::service::service_fn;
use hyper::{Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use retry::http::{HttpError, check_status};
use retry::retry;

type Log = Arc<Mutex<Vec<(Instant, String)>>>;

/// Answers by path and by how many times the path was asked.
async fn answer(
    request: Request<Incoming>,
    log: Log,
) -> Result<Response<Full<Bytes>>, std::convert::Infallible> {
    let path = request.uri().path().to_string();
    let seen = {
        let mut log = log.lock().unwrap();
        log.push((Instant::now(), path.clone()));
        log.iter().filter(|(_, p)| *p == path).count()
    };
    let (status, retry_after) = match (path.as_str(), seen) {
        ("/busy", 1) => (StatusCode::SERVICE_UNAVAILABLE, Some("1")),
        ("/stall", 1) => {
            tokio::time::sleep(Duration::from_secs(3)).await;
            (StatusCode::OK, None)
        }
        ("/bad", _) => (StatusCode::BAD_REQUEST, None),
        _ => (StatusCode::OK, None),
    };
    let mut response = Response::builder().status(status);
    if let Some(after) = retry_after {
        response = response.header("retry-after", after);
    }
    Ok(response.body(Full::new(Bytes::from(format!("{path}: answer #{seen}")))).unwrap())
}

#[retry(on = transient, stop = attempts(3), wait = fixed(50ms), timeout = 500ms, observe = off)]
async fn get(client: &reqwest::Client, url: &str) -> Result<String, HttpError> {
    Ok(check_status(client.get(url).send().await?).await?.text().await?)
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let listener = tokio::net::TcpListener::bind(SocketAddr::from(([127, 0, 0, 1], 0))).await?;
    let base = format!("http://{}", listener.local_addr()?);
    let log: Log = Arc::default();
    let server = {
        let log = log.clone();
        tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                let log = log.clone();
                tokio::spawn(async move {
                    let service = service_fn(move |request| answer(request, log.clone()));
                    let _ = hyper::server::conn::http1::Builder::new()
                        .serve_connection(TokioIo::new(stream), service)
                        .await;
                });
            }
        })
    };

    let client = reqwest::Client::new();
    let start = Instant::now();
    for path in ["/busy", "/stall", "/bad"] {
        let t = Instant::now();
        let outcome = get(&client, &format!("{base}{path}")).await;
        println!("GET {path:<7} -> {outcome:?} in {:.2?}", t.elapsed());
    }
    println!("\nthe server's log:");
    for (at, path) in log.lock().unwrap().iter() {
        println!("  {:>6.2?}  {path}", at.duration_since(start));
    }
    server.abort();
    Ok(())
}
