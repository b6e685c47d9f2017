use retry::retry;
use retry::retry as again;

#[retry(stop = attempts(2))]
#[again(stop = attempts(2))]
fn fetch() -> Result<(), ()> {
    Ok(())
}

#[retry(stop = attempts(2))]
#[again(stop = attempts(2))]
async fn fetch_async(tries: &std::cell::Cell<u32>) -> Result<(), ()> {
    tries.set(tries.get() + 1);
    Ok(())
}

fn main() {
    let _ = fetch();
    let _ = fetch_async(&std::cell::Cell::new(0));
}
