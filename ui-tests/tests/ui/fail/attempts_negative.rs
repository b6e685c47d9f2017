use retry::retry;

#[retry(stop = attempts(-1))]
fn fetch() -> Result<(), ()> {
    Ok(())
}

fn main() {
    let _ = fetch();
}
