use retry::retry;

#[retry(stop = attempts(0), wait = expo(1, min = 10, max = 1), wiat = none(), on = [Timeout])]
fn fetch() -> std::io::Result<()> {
    Ok(())
}

fn main() {
    let _ = fetch();
}
