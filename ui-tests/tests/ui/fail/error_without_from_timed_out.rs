use retry::retry;

#[derive(Debug)]
enum FetchError {
    Refused,
}

#[retry(timeout = 2s)]
async fn fetch() -> Result<(), FetchError> {
    Err(FetchError::Refused)
}

fn main() {
    let _ = fetch();
}
