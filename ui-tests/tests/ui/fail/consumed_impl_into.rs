use retry::retry;

#[retry(stop = attempts(3))]
fn greet(name: impl Into<String>) -> Result<String, ()> {
    let name: String = name.into();
    Ok(format!("hello {name}"))
}

fn main() {
    let _ = greet("you");
}
