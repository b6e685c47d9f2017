use retry::retry;

#[retry(wait = fixed(99999999999999999999h))]
fn fetch() -> Result<(), ()> {
    Ok(())
}

fn main() {
    let _ = fetch();
}
