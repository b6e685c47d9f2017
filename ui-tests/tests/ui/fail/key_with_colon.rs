use retry::retry;

#[retry(stop: attempts(3))]
fn fetch() -> Result<(), ()> {
    Ok(())
}

fn main() {
    let _ = fetch();
}
