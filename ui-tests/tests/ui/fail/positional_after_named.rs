use retry::retry;

#[retry(wait = expo(max = 10, 1))]
fn fetch() -> Result<(), ()> {
    Ok(())
}

fn main() {
    let _ = fetch();
}
