use retry::retry;

#[retry(observe = loud)]
fn call() -> Result<(), ()> {
    Ok(())
}

fn main() {
    let _ = call();
}
