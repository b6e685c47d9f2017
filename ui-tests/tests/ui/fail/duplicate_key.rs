use retry::retry;

#[retry(stop = attempts(3), wait = none(), stop = attempts(4))]
fn fetch() -> Result<(), ()> {
    Ok(())
}

fn main() {
    let _ = fetch();
}
