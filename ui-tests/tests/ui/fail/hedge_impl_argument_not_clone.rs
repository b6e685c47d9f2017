use retry::hedge;

#[hedge(n = 2, delay = 10ms)]
async fn fetch(make: impl Fn() -> u32) -> Result<u32, ()> {
    Ok(make())
}

fn main() {
    let _ = fetch(|| 1);
}
