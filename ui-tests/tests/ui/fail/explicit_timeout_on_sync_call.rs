use retry::{Retrying, TimedOut};
use std::time::Duration;

#[derive(Debug)]
struct Slow;

impl From<TimedOut> for Slow {
    fn from(_: TimedOut) -> Self {
        Slow
    }
}

fn main() {
    let _ = Retrying::<(), Slow>::new().timeout(Duration::from_secs(1)).call(|| Err(Slow));
}
