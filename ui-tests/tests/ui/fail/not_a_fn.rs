use retry::retry;

#[retry]
struct Client;

fn main() {
    let _ = Client;
}
