use retry::retry;

#[derive(Debug)]
enum NetError {
    Timeout,
}

// Each wrong closure is one error, at the closure.

#[retry(when = |e: &std::io::Error| e.kind() == std::io::ErrorKind::TimedOut)]
async fn fetch() -> Result<(), NetError> {
    Err(NetError::Timeout)
}

#[retry(if_result = |v: &String| v.is_empty())]
async fn poll() -> Result<u32, NetError> {
    Ok(1)
}

#[retry(before_sleep = |delay: std::time::Duration| println!("{delay:?}"))]
async fn hooked() -> Result<(), NetError> {
    Ok(())
}

#[retry(on = [Timeout], unless = |e: &u32| *e == 0, retry_after = |e: &u32| None)]
async fn more() -> Result<(), NetError> {
    Ok(())
}

static BREAKER: retry::CircuitBreaker = retry::CircuitBreaker::new();

#[derive(Debug)]
enum DbError {
    Rejected,
}

impl From<retry::CircuitOpen> for DbError {
    fn from(_: retry::CircuitOpen) -> Self {
        DbError::Rejected
    }
}

#[retry(breaker = BREAKER, breaker_counts = |e: &NetError| true)]
async fn guarded() -> Result<(), DbError> {
    Err(DbError::Rejected)
}

fn main() {
    let _ = fetch();
    let _ = poll();
    let _ = hooked();
    let _ = more();
    let _ = guarded();
}
