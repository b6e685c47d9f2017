//! More fn shapes a plain fn accepts, under `#[retry]`: each compiles and means
//! the same (futures spawned to prove `Send`).

use std::io::Write;
use std::sync::Arc;

use retry::retry;

#[retry(stop = attempts(3), wait = none())]
async fn as_ref_arg(s: impl AsRef<str> + Send, seen: &std::sync::Mutex<Vec<String>>) -> Result<usize, ()> {
    seen.lock().unwrap().push(s.as_ref().to_owned());
    tokio::task::yield_now().await;
    if seen.lock().unwrap().len() < 3 { Err(()) } else { Ok(s.as_ref().len()) }
}

#[retry(stop = attempts(3), wait = none())]
async fn mutated_by_value(mut v: Vec<u32>, seen: &std::sync::Mutex<Vec<usize>>) -> Result<usize, ()> {
    v.push(1);
    seen.lock().unwrap().push(v.len());
    tokio::task::yield_now().await;
    let moved = tokio::spawn(async move { v.len() }).await.unwrap();
    if seen.lock().unwrap().len() < 3 { Err(()) } else { Ok(moved) }
}

#[retry(stop = attempts(2), wait = none())]
fn writes(out: &mut impl Write) -> Result<(), std::io::Error> {
    out.write_all(b"x")?;
    Err(std::io::Error::other("again"))
}

struct Svc {
    name: String,
}

impl Svc {
    #[retry(stop = attempts(2), wait = none())]
    async fn by_arc_ref(self: &Arc<Self>, suffix: String) -> Result<String, String> {
        let me = Arc::clone(self);
        tokio::task::yield_now().await;
        Err(format!("{}{suffix}", me.name))
    }

    #[retry(stop = attempts(2), wait = none())]
    async fn maps(&self, items: &[u32]) -> Result<Vec<String>, ()> {
        tokio::task::yield_now().await;
        Ok(items.iter().map(|i| format!("{}{i}", self.name)).collect())
    }
}

#[tokio::test]
async fn more_shapes() {
    let seen = Arc::new(std::sync::Mutex::new(Vec::new()));
    let s2 = seen.clone();
    let out = tokio::spawn(async move { as_ref_arg("abc".to_owned(), &s2).await }).await.unwrap();
    assert_eq!(out, Ok(3));
    assert_eq!(*seen.lock().unwrap(), ["abc", "abc", "abc"]);

    let seen = Arc::new(std::sync::Mutex::new(Vec::new()));
    let s2 = seen.clone();
    let out = tokio::spawn(async move { mutated_by_value(vec![7], &s2).await }).await.unwrap();
    assert_eq!(out, Ok(2));
    assert_eq!(*seen.lock().unwrap(), [2, 2, 2], "each attempt starts from its own copy");

    let mut buf = Vec::new();
    assert!(writes(&mut buf).is_err());
    assert_eq!(buf, b"xx");

    let svc = Arc::new(Svc { name: "s".to_owned() });
    let s = svc.clone();
    assert_eq!(
        tokio::spawn(async move { s.by_arc_ref("!".to_owned()).await }).await.unwrap(),
        Err("s!".to_owned())
    );
    let s = svc.clone();
    let out = tokio::spawn(async move { s.maps(&[1, 2]).await }).await.unwrap();
    assert_eq!(out, Ok(vec!["s1".to_owned(), "s2".to_owned()]));
}
