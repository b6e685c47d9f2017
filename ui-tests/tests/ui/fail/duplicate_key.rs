use retry::retry;

#[retry(stop = attempts(3), wait = none(), stop = attempts(4))]
fn fetch() -> Result<(), ()> {
    Ok(())
}

// The other values are still checked.
#[retry(stop = attempts(3), stop = attempts(4), wait = fixed(-1s), wiat = 1, on = [])]
fn fetch_again() -> Result<(), ()> {
    Ok(())
}

// A named argument given twice.
#[retry(wait = expo(1, max = 10, max = 20))]
fn fetch_more() -> Result<(), ()> {
    Ok(())
}

fn main() {
    let _ = fetch();
    let _ = fetch_again();
    let _ = fetch_more();
}
