//! A retried POST executed once: a payments server on loopback fails the first
//! two attempts of each call with 503, and deduplicates charges by their
//! `Idempotency-Key`; the client sends through `retry::http::RetryMiddleware`,
//! which gives the call one key for all its attempts and numbers the retries.
//! The server answers through `retry::tower::ReportLayer`, so its responses say
//! when serving them took retries.
//!
//! Run with `cargo run -p examples --example idempotent_post`.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::IntoResponse;
use retry::http::RetryMiddleware;
use retry::tower::ReportLayer;
use retry::{Retrying, dsl::*};

#[derive(Default)]
struct Payments {
    /// Attempts seen per key, and the charge made for it.
    attempts: HashMap<String, u32>,
    charges: HashMap<String, u32>,
}

async fn charge(
    State(payments): State<Arc<Mutex<Payments>>>,
    headers: HeaderMap,
) -> axum::response::Response {
    let key = headers.get("idempotency-key").and_then(|v| v.to_str().ok()).unwrap_or_default().to_owned();
    let attempt_header = headers.get("retry-attempt").and_then(|v| v.to_str().ok()).unwrap_or("-").to_owned();
    let mut payments = payments.lock().unwrap();
    let seen = payments.attempts.entry(key.clone()).or_default();
    *seen += 1;
    let seen = *seen;
    println!("server: POST /charges  Idempotency-Key: {key}  Retry-Attempt: {attempt_header}");
    if seen <= 2 {
        println!("server:   -> 503 (busy), Retry-After: 0");
        return (StatusCode::SERVICE_UNAVAILABLE, [("retry-after", "0")], "busy").into_response();
    }
    let next = payments.charges.len() as u32 + 1;
    let (executed, id) = match payments.charges.get(&key) {
        Some(id) => (false, *id),
        None => {
            payments.charges.insert(key, next);
            (true, next)
        }
    };
    println!(
        "server:   -> 200, charge {id} ({})",
        if executed { "executed now" } else { "a repeat: not executed again" }
    );
    (StatusCode::OK, format!("charge {id}")).into_response()
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let payments = Arc::new(Mutex::new(Payments::default()));
    let app = axum::Router::new()
        .route("/charges", axum::routing::post(charge))
        .with_state(payments.clone())
        .layer(ReportLayer::new());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let url = format!("http://{}/charges", listener.local_addr()?);
    tokio::spawn(async move { axum::serve(listener, app).await });

    let client = reqwest_middleware::ClientBuilder::new(reqwest::Client::new())
        .with(RetryMiddleware::new(|| {
            Retrying::new()
                .stop(attempts(5))
                .wait(expo(Duration::from_millis(50)).max(Duration::from_secs(1)))
        }))
        .build();
    let response = client.post(&url).body(r#"{"cents": 500}"#).send().await?;
    println!("client: {} {}", response.status(), response.text().await?);

    let payments = payments.lock().unwrap();
    let attempts: u32 = payments.attempts.values().sum();
    println!("\n{attempts} attempts, one key, {} charge executed", payments.charges.len());
    assert_eq!((attempts, payments.charges.len()), (3, 1));
    Ok(())
}
