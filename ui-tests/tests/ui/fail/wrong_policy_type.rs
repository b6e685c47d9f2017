use retry::retry;

#[retry(stop = "three times")]
fn fetch() -> Result<(), ()> {
    Ok(())
}

#[retry(wait = 5)]
fn fetch_again() -> Result<(), ()> {
    Ok(())
}

fn main() {
    let _ = fetch();
    let _ = fetch_again();
}
