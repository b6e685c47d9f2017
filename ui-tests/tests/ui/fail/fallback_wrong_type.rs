use retry::retry;

#[retry(fallback = |_| 5)]
fn fetch() -> Result<u32, ()> {
    Ok(1)
}

fn main() {
    let _ = fetch();
}
