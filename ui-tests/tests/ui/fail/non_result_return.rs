use retry::retry;

#[retry(stop = attempts(3))]
fn count() -> u32 {
    0
}

#[retry]
fn nothing() {}

fn main() {
    let _ = count();
    nothing();
}
