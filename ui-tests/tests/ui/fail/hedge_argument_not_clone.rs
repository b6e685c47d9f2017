use retry::hedge;

struct Request;

#[hedge(n = 2, delay = 10ms)]
async fn fetch(request: Request) -> Result<(), ()> {
    let _ = request;
    Ok(())
}

fn main() {
    let _ = fetch(Request);
}
