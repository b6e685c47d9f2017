use retry::retry;

#[retry(wait = fixed(-1s), stop = elapsed(-30))]
fn fetch() -> Result<(), ()> {
    Ok(())
}

fn main() {
    let _ = fetch();
}
