use retry::retry;

#[retry(sleep = |d: std::time::Duration| std::thread::sleep(d))]
async fn fetch() -> Result<(), ()> {
    Ok(())
}

fn main() {
    let _ = fetch();
}
