use retry::retry;

#[retry(wait = expo(1, maxx = 10))]
fn fetch() -> Result<(), ()> {
    Ok(())
}

fn main() {
    let _ = fetch();
}
