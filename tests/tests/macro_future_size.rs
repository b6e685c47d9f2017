//! The future of a `#[retry]` async fn is at most 128 bytes larger than the plain fn's.

use retry::retry;

async fn plain_tiny(x: u32) -> Result<u32, ()> {
    std::future::ready(()).await;
    Ok(x)
}

#[retry]
async fn retried_tiny(x: u32) -> Result<u32, ()> {
    std::future::ready(()).await;
    Ok(x)
}

async fn plain_io(url: &str, body: &mut Vec<u8>) -> Result<usize, std::io::Error> {
    tokio::time::sleep(std::time::Duration::from_millis(1)).await;
    body.extend_from_slice(url.as_bytes());
    Ok(body.len())
}

#[retry(stop = attempts(5), wait = expo(100ms, max = 5s), on = transient)]
async fn retried_io(url: &str, body: &mut Vec<u8>) -> Result<usize, std::io::Error> {
    tokio::time::sleep(std::time::Duration::from_millis(1)).await;
    body.extend_from_slice(url.as_bytes());
    Ok(body.len())
}

#[derive(Debug)]
enum FetchError {
    Timeout,
    #[allow(dead_code)]
    Io(std::io::Error),
}

async fn plain_fetch(url: &str, body: &mut Vec<u8>) -> Result<usize, FetchError> {
    tokio::time::sleep(std::time::Duration::from_millis(1)).await;
    body.extend_from_slice(url.as_bytes());
    if body.is_empty() { Err(FetchError::Timeout) } else { Ok(body.len()) }
}

/// `on = [..]` patterns: a closure that captures nothing, zero-sized (a `fn` pointer would add 8 bytes).
#[retry(stop = attempts(5), wait = expo(100ms, max = 5s), on = [Timeout])]
async fn retried_fetch(url: &str, body: &mut Vec<u8>) -> Result<usize, FetchError> {
    tokio::time::sleep(std::time::Duration::from_millis(1)).await;
    body.extend_from_slice(url.as_bytes());
    if body.is_empty() { Err(FetchError::Timeout) } else { Ok(body.len()) }
}

#[test]
fn retried_future_is_at_most_128_bytes_larger() {
    let plain = size_of_val(&plain_tiny(1));
    let retried = size_of_val(&retried_tiny(1));
    println!("tiny: plain {plain} B, retried {retried} B (+{})", retried - plain);
    assert!(retried <= plain + 128, "tiny: {retried} > {plain} + 128");

    let mut body = Vec::new();
    let plain = size_of_val(&plain_io("u", &mut body));
    let retried = size_of_val(&retried_io("u", &mut body));
    println!("io: plain {plain} B, retried {retried} B (+{})", retried - plain);
    assert!(retried <= plain + 128, "io: {retried} > {plain} + 128");

    let plain = size_of_val(&plain_fetch("u", &mut body));
    let retried = size_of_val(&retried_fetch("u", &mut body));
    println!("patterns: plain {plain} B, retried {retried} B (+{})", retried - plain);
    assert!(retried <= plain + 128, "patterns: {retried} > {plain} + 128");
}
