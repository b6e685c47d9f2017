use retry::retry;

#[derive(Debug)]
struct NetError;

#[retry(when = |e: &std::io::Error| e.kind() == std::io::ErrorKind::TimedOut)]
fn fetch() -> Result<(), NetError> {
    Err(NetError)
}

fn main() {
    let _ = fetch();
}
