use std::future::Future;
use std::pin::Pin;

use retry::retry;

type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

#[retry(stop = attempts(3))]
fn fetch() -> BoxFuture<'static, Result<(), ()>> {
    Box::pin(async { Ok(()) })
}

fn main() {
    let _ = fetch();
}
