use retry::retry;

#[retry(before_sleep = |delay: std::time::Duration| println!("{delay:?}"))]
fn fetch() -> Result<(), ()> {
    Ok(())
}

fn main() {
    let _ = fetch();
}
