use retry::retry;

#[retry(log = loud)]
fn call() -> Result<(), ()> {
    Ok(())
}

fn main() {
    let _ = call();
}
