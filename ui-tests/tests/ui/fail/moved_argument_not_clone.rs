use retry::retry;

trait Handler {
    fn handle(self) -> u32;
}

#[retry(stop = attempts(3))]
fn run(handler: impl Handler) -> Result<u32, ()> {
    let owned = handler;
    Ok(owned.handle())
}

#[retry(stop = attempts(3))]
async fn run_async<H: Handler>(handler: H) -> Result<u32, ()> {
    Ok(consume(handler))
}

fn consume(handler: impl Handler) -> u32 {
    handler.handle()
}

fn main() {}
