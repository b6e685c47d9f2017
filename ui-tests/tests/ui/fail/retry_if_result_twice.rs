use retry::retry_if_result;

#[retry_if_result(|v: &u32| *v == 0, if_result = |v: &u32| *v == 1)]
fn poll() -> u32 {
    0
}

fn main() {
    let _ = poll();
}
