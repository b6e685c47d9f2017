use retry::retry;

#[retry(wait = chain())]
fn fetch() -> Result<(), ()> {
    Ok(())
}

fn main() {
    let _ = fetch();
}
