use retry::retry;

#[retry(max_attempts = 5, retries = 3, max_delay = 10s, retry_on = [Timeout], log = warn)]
fn fetch() -> Result<(), ()> {
    Ok(())
}

fn main() {
    let _ = fetch();
}
