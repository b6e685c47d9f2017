use retry::retry;

#[retry(timeout = 0, deadline = -5s)]
async fn fetch() -> Result<(), std::io::Error> {
    Ok(())
}

fn main() {
    let _ = fetch();
}
