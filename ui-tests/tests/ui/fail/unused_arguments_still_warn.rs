//! An argument the body never uses is reported as without the attribute.
#![deny(unused_variables)]

use retry::retry;

#[retry]
async fn lent(buf: &mut Vec<u8>, f: impl Fn() + Send, copy: String) -> Result<(), ()> {
    Ok(())
}

#[retry]
fn sync_lent(buf: &mut Vec<u8>, copy: String) -> Result<(), ()> {
    Ok(())
}

fn main() {
    let _ = lent(&mut Vec::new(), || (), String::new());
    let _ = sync_lent(&mut Vec::new(), String::new());
}
