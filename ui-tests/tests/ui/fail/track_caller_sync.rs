use retry::retry;

#[retry(stop = attempts(3))]
#[track_caller]
fn fetch() -> Result<u32, ()> {
    Ok(std::panic::Location::caller().line())
}

fn main() {
    let _ = fetch();
}
