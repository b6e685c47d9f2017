use retry::retry;

#[retry(wait = expo(10, max = 1), stop = elapsed(0), crate = "retry")]
fn fetch() -> Result<(), ()> {
    Ok(())
}

fn main() {
    let _ = fetch();
}
