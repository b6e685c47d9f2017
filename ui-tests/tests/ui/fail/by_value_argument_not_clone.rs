use retry::retry;

struct Connection;

#[retry]
fn send(conn: Connection, message: String) -> Result<(), ()> {
    let _ = (conn, message);
    Ok(())
}

fn main() {
    let _ = send(Connection, String::new());
}
