use retry::hedge as hedged;
use retry::retry;

#[retry(stop = attempts(3))]
#[hedged(n = 2, delay = 10ms)]
async fn fetch() -> Result<(), ()> {
    Ok(())
}

fn main() {
    let _ = fetch();
}
