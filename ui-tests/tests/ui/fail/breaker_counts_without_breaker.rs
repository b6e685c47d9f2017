use retry::retry;

#[derive(Debug)]
enum DbError {
    Unavailable,
}

#[retry(breaker_counts = [Unavailable])]
fn fetch() -> Result<(), DbError> {
    Err(DbError::Unavailable)
}

fn main() {
    let _ = fetch();
}
