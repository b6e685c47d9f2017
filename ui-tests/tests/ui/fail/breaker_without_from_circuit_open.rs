use retry::{CircuitBreaker, retry};

static PAYMENTS: CircuitBreaker = CircuitBreaker::new();

#[derive(Debug)]
enum ChargeError {
    Declined,
}

#[retry(breaker = PAYMENTS)]
fn charge() -> Result<(), ChargeError> {
    Err(ChargeError::Declined)
}

fn main() {
    let _ = charge();
}
