use retry::retry;

#[derive(Debug)]
struct NetError;

#[retry(on = transient)]
fn fetch() -> Result<(), NetError> {
    Err(NetError)
}

fn main() {
    let _ = fetch();
}
