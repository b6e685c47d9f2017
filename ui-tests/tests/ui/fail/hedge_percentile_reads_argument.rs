use retry::hedge;

#[hedge(n = 2, delay = percentile(q))]
async fn fetch(q: f64) -> Result<f64, ()> {
    Ok(q)
}

fn main() {
    let _ = fetch(0.9);
}
