use retry::retry;

struct Connection;

impl Connection {
    #[retry(stop = attempts(2))]
    fn send(self) -> Result<(), ()> {
        let _ = self;
        Ok(())
    }

    #[retry(stop = attempts(2))]
    fn send_boxed(self: Box<Self>) -> Result<(), ()> {
        let _ = self;
        Ok(())
    }

    #[retry(stop = attempts(2))]
    async fn send_async(self) -> Result<(), ()> {
        let _ = self;
        Ok(())
    }
}

fn main() {
    let _ = Connection.send();
    let _ = Box::new(Connection).send_boxed();
    let _ = Connection.send_async();
}
