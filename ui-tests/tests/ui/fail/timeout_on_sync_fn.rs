use retry::retry;

#[retry(timeout = 2s)]
fn fetch() -> Result<(), std::io::Error> {
    Ok(())
}

fn main() {
    let _ = fetch();
}
