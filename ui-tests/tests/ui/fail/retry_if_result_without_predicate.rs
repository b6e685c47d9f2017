use retry::retry_if_result;

#[retry_if_result(stop = attempts(3))]
fn poll() -> u32 {
    0
}

#[retry_if_result]
fn poll_again() -> u32 {
    0
}

fn main() {
    let _ = (poll(), poll_again());
}
