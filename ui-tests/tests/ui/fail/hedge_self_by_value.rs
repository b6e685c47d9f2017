use std::sync::Arc;

use retry::hedge;

struct Client;

impl Client {
    #[hedge(n = 2, delay = 10ms)]
    async fn fetch(self: Arc<Self>) -> Result<(), ()> {
        let _ = self;
        Ok(())
    }
}

fn main() {
    let _ = Arc::new(Client).fetch();
}
