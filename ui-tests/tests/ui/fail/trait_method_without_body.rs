use retry::retry;

trait Service {
    #[retry]
    fn call(&self) -> Result<(), ()>;
}

fn main() {}
