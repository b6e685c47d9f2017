use retry::retry;

#[retry(wiat = fixed(1), stpo = attempts(3))]
fn fetch() -> Result<(), ()> {
    Ok(())
}

fn main() {
    // The fn is still emitted, so callers type-check.
    let _ = fetch();
}
