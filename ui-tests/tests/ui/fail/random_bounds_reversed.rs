use retry::retry;

#[retry(wait = random(2s, 500ms))]
fn fetch() -> Result<(), ()> {
    Ok(())
}

fn main() {
    let _ = fetch();
}
