use retry::retry;

#[retry(on = [Timeout])]
fn call<E>(f: impl Fn() -> Result<(), E>) -> Result<(), E> {
    f()
}

fn main() {
    let _ = call(|| Ok::<(), ()>(()));
}
