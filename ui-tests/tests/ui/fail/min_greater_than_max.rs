use retry::retry;

#[retry(wait = expo(100ms, min = 5s, max = 1s))]
fn fetch() -> Result<(), ()> {
    Ok(())
}

fn main() {
    let _ = fetch();
}
