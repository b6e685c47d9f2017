use retry::{CircuitOpen, retry};

#[derive(Debug)]
struct Unavailable;

impl From<CircuitOpen> for Unavailable {
    fn from(_: CircuitOpen) -> Self {
        Unavailable
    }
}

#[retry(breaker = 5, budget = "payments")]
fn charge() -> Result<(), Unavailable> {
    Err(Unavailable)
}

fn main() {
    let _ = charge();
}
