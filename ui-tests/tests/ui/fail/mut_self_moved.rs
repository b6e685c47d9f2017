use retry::retry;

struct Buffer {
    bytes: Vec<u8>,
}

impl Buffer {
    #[retry(stop = attempts(2))]
    fn push(&mut self) -> Result<(), ()> {
        let me = self;
        me.bytes.push(1);
        Ok(())
    }

    #[retry(stop = attempts(2))]
    async fn push_async(&mut self) -> Result<(), ()> {
        let me = self;
        me.bytes.push(1);
        Ok(())
    }

    /// A typed binding reborrows: no error.
    #[retry(stop = attempts(2))]
    fn push_typed(&mut self) -> Result<(), ()> {
        let me: &mut Self = self;
        me.bytes.push(1);
        Ok(())
    }
}

fn main() {
    let mut buffer = Buffer { bytes: Vec::new() };
    let _ = buffer.push();
    let _ = buffer.push_async();
    let _ = buffer.push_typed();
}
