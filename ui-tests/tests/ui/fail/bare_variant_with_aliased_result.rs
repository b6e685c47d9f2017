use retry::retry;

#[retry(on = [TimedOut, Interrupted])]
fn read() -> std::io::Result<()> {
    Ok(())
}

fn main() {
    let _ = read();
}
