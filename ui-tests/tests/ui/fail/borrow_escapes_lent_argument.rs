use retry::retry;

struct Conn {
    buf: Vec<u8>,
}

#[retry(stop = attempts(3))]
fn fill<'a>(conn: &'a mut Conn) -> Result<&'a mut Vec<u8>, ()> {
    conn.buf.push(1);
    Ok(&mut conn.buf)
}

impl Conn {
    #[retry(stop = attempts(3))]
    fn next(&mut self) -> Result<&u8, ()> {
        self.buf.first().ok_or(())
    }
}

fn main() {
    let mut conn = Conn { buf: Vec::new() };
    let _ = fill(&mut conn);
    let _ = conn.next();
}
