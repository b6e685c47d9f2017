use retry::retry;

/// A fn of the user's named like the DSL's `fixed`: never silently replaced.
fn fixed(millis: u64) -> std::time::Duration {
    std::time::Duration::from_millis(millis)
}

#[retry(wait = fixed(5))]
fn fetch() -> Result<(), ()> {
    Ok(())
}

fn main() {
    let _ = fixed(1);
    let _ = fetch();
}
