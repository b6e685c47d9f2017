use retry::retry;

enum Error {
    Timeout,
}

#[retry(on = Timeout)]
fn fetch() -> Result<(), Error> {
    Err(Error::Timeout)
}

fn main() {
    let _ = fetch();
}
