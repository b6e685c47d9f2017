use retry::retry;

#[retry(stop, wait(fixed(1)))]
fn fetch() -> Result<(), ()> {
    Ok(())
}

fn main() {
    let _ = fetch();
}
