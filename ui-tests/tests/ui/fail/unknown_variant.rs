use retry::retry;

#[derive(Debug)]
enum Error {
    Timeout,
    Connect(u16),
}

#[retry(on = [Timeot, Conect(_)])]
fn fetch() -> Result<(), Error> {
    Err(Error::Connect(80))
}

fn main() {
    let _ = fetch();
    let _ = Error::Timeout;
}
