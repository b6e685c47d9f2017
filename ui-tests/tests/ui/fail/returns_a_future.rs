use retry::retry;
use std::future::Future;

#[retry]
fn fetch() -> impl Future<Output = Result<(), ()>> {
    async { Ok(()) }
}

fn main() {
    let _ = fetch();
}
