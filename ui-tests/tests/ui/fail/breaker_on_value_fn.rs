use retry::{CircuitBreaker, retry_if_result};

static JOBS: CircuitBreaker = CircuitBreaker::new();

#[retry_if_result(|done: &bool| !done, breaker = JOBS)]
fn job_done() -> bool {
    true
}

fn main() {
    let _ = job_done();
}
