use retry::hedge;
use retry::hedge as hedge_again;

#[hedge(n = 2, delay = 10ms)]
#[hedge_again(n = 2, delay = 10ms)]
async fn fetch() -> Result<(), ()> {
    Ok(())
}

fn main() {
    let _ = fetch();
}
