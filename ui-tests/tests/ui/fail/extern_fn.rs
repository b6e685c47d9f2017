use retry::retry;

#[retry]
extern "C" fn callback() -> i32 {
    0
}

fn main() {
    let _ = callback();
}
