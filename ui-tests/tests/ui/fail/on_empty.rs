use retry::retry;

#[derive(Debug)]
enum NetError {
    Timeout,
}

#[retry(on = [])]
fn fetch() -> Result<(), NetError> {
    Err(NetError::Timeout)
}

fn main() {
    let _ = fetch();
}
