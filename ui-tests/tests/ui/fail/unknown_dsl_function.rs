use retry::retry;

#[retry(wait = expoo(1, max = 10), stop = atempts(3))]
fn fetch() -> Result<(), ()> {
    Ok(())
}

fn main() {
    let _ = fetch();
}
