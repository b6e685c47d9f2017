use retry::retry;

#[retry(wait = expo(1, base = 0.5))]
fn fetch() -> Result<(), ()> {
    Ok(())
}

fn main() {
    let _ = fetch();
}
