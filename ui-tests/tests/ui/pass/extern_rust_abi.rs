//! `extern "Rust"` is the Rust ABI: the attribute takes it as any fn.
use retry::retry;

#[retry(stop = attempts(2), wait = none())]
extern "Rust" fn fetch() -> Result<u32, ()> {
    Ok(1)
}

fn main() {
    assert_eq!(fetch(), Ok(1));
}
