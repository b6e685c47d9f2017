use retry::hedge;

#[hedge(n = 2, delay = 50ms)]
fn lookup(key: &str) -> Result<String, ()> {
    Ok(key.to_string())
}

fn main() {
    let _ = lookup("a");
}
