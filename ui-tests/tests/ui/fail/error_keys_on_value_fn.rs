use retry::retry_if_result;

#[retry_if_result(|v: &u32| *v == 0, on = [Timeout], when = |_e: &()| true)]
fn poll() -> u32 {
    0
}

fn main() {
    let _ = poll();
}
