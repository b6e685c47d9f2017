use retry::retry;

#[derive(Debug)]
struct NetError {
    code: u16,
}

#[retry(on = [Timeout])]
fn fetch() -> Result<(), NetError> {
    Err(NetError { code: 503 })
}

fn main() {
    let _ = fetch().map_err(|e| e.code);
}
