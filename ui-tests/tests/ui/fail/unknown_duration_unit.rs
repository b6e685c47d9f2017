use retry::retry;

#[retry(wait = fixed(5sec) + fixed(2d))]
fn fetch() -> Result<(), ()> {
    Ok(())
}

fn main() {
    let _ = fetch();
}
