use retry::retry;

/// A value, whatever its name says.
struct SearchResult {
    hits: u32,
}

#[retry(stop = attempts(3))]
fn search() -> SearchResult {
    SearchResult { hits: 0 }
}

fn main() {
    let _ = search().hits;
}
