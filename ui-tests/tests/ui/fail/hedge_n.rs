use retry::hedge;

#[hedge(delay = 50ms)]
async fn no_n() -> Result<(), ()> {
    Ok(())
}

#[hedge(n = 1)]
async fn one_copy() -> Result<(), ()> {
    Ok(())
}

fn main() {
    let _ = no_n();
    let _ = one_copy();
}
