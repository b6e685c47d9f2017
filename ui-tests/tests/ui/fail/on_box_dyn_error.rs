use retry::retry;

#[retry(on = [Timeout])]
fn fetch() -> Result<(), Box<dyn std::error::Error>> {
    Ok(())
}

fn main() {
    let _ = fetch();
}
