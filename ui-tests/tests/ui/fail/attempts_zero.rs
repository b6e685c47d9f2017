use retry::retry;

#[retry(stop = attempts(0))]
fn fetch() -> Result<(), ()> {
    Ok(())
}

fn main() {
    let _ = fetch();
}
