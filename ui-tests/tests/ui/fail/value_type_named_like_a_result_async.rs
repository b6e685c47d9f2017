use retry::retry;

/// A value, whatever its name says.
struct SearchResult {
    hits: u32,
}

#[retry(stop = attempts(3))]
async fn search() -> SearchResult {
    SearchResult { hits: 0 }
}

fn main() {
    let _ = search();
    let _ = SearchResult { hits: 1 }.hits;
}
