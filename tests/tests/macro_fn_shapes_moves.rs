//! Fn shapes where the body moves what each attempt is handed, and a renamed
//! `#[hedge]` stacked with `#[retry]`: each compiles and means what the plain fn
//! means (futures spawned to prove `Send`).

use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};

use retry::hedge as hedged;
use retry::retry;

// A method that moves its `&mut self` (`let me = self;`): each attempt reborrows it.

#[derive(Debug, Default)]
struct Buffer {
    bytes: Vec<u8>,
}

impl Buffer {
    #[retry(stop = attempts(3), wait = none())]
    fn push(&mut self) -> Result<usize, usize> {
        let me = self;
        me.bytes.push(1);
        if me.bytes.len() < 3 { Err(me.bytes.len()) } else { Ok(me.bytes.len()) }
    }

    #[retry(stop = attempts(3), wait = none())]
    async fn push_async(&mut self) -> Result<usize, usize> {
        let me = self;
        tokio::task::yield_now().await;
        me.bytes.push(1);
        if me.bytes.len() < 3 { Err(me.bytes.len()) } else { Ok(me.bytes.len()) }
    }

    /// A nested fn's own `self` is left alone.
    #[retry(stop = attempts(2), wait = none())]
    fn nested(&mut self) -> Result<usize, ()> {
        struct Owned(usize);
        impl Owned {
            fn take(self) -> usize {
                let me = self;
                me.0
            }
        }
        let me = self;
        me.bytes.push(2);
        Ok(Owned(me.bytes.len()).take())
    }

    #[retry(stop = attempts(3), wait = none())]
    fn push_pinned(self: Pin<&mut Self>) -> Result<usize, usize> {
        let me = self;
        let me = me.get_mut();
        me.bytes.push(1);
        if me.bytes.len() < 3 { Err(me.bytes.len()) } else { Ok(me.bytes.len()) }
    }

    #[retry(stop = attempts(3), wait = none())]
    async fn push_pinned_async(self: Pin<&mut Self>) -> Result<usize, usize> {
        let me = self;
        tokio::task::yield_now().await;
        let me = me.get_mut();
        me.bytes.push(1);
        if me.bytes.len() < 3 { Err(me.bytes.len()) } else { Ok(me.bytes.len()) }
    }
}

#[tokio::test]
async fn a_moved_mut_self_is_reborrowed_per_attempt() {
    let mut buffer = Buffer::default();
    assert_eq!(buffer.push(), Ok(3));
    let mut buffer = Buffer::default();
    let future = async move { buffer.push_async().await };
    assert_eq!(tokio::spawn(future).await.unwrap(), Ok(3));
    let mut buffer = Buffer::default();
    assert_eq!(buffer.nested(), Ok(1));
    let mut buffer = Buffer::default();
    assert_eq!(Pin::new(&mut buffer).push_pinned(), Ok(3));
    let mut buffer = Buffer::default();
    let future = async move { Pin::new(&mut buffer).push_pinned_async().await };
    assert_eq!(tokio::spawn(future).await.unwrap(), Ok(3));
}

// `Clone` through a supertrait: a by-value argument whose bounds do not say
// `Clone` and that the body moves is cloned for each attempt all the same.

trait Conn: Clone + Send + 'static {
    fn id(&self) -> u32;
}

#[derive(Clone)]
struct Pg {
    id: u32,
    opened: Arc<AtomicU32>,
}

impl Conn for Pg {
    fn id(&self) -> u32 {
        self.opened.fetch_add(1, Ordering::SeqCst);
        self.id
    }
}

fn consume(conn: impl Conn) -> u32 {
    conn.id()
}

#[retry(stop = attempts(3), wait = none())]
fn query(conn: impl Conn, calls: &AtomicU32) -> Result<u32, u32> {
    let n = calls.fetch_add(1, Ordering::SeqCst) + 1;
    let id = consume(conn);
    if n < 3 { Err(id) } else { Ok(id) }
}

#[retry(stop = attempts(3), wait = none())]
async fn query_async<C: Conn>(conn: C, calls: &AtomicU32) -> Result<u32, u32> {
    let n = calls.fetch_add(1, Ordering::SeqCst) + 1;
    let owned = conn;
    tokio::task::yield_now().await;
    let id = tokio::spawn(async move { owned.id() }).await.unwrap();
    if n < 3 { Err(id) } else { Ok(id) }
}

/// Only borrowed: lent to each attempt, as before.
#[retry(stop = attempts(3), wait = none())]
fn query_borrowed<C>(conn: C, calls: &AtomicU32) -> Result<u32, u32>
where
    C: Conn,
{
    let n = calls.fetch_add(1, Ordering::SeqCst) + 1;
    if n < 3 { Err(conn.id()) } else { Ok(conn.id()) }
}

#[hedged(n = 2, delay = 10ms)]
async fn hedged_query(conn: impl Conn) -> Result<u32, ()> {
    let owned = conn;
    Ok(owned.id())
}

#[tokio::test]
async fn clone_through_a_supertrait() {
    let opened = Arc::new(AtomicU32::new(0));
    let pg = Pg { id: 7, opened: opened.clone() };
    assert_eq!(query(pg.clone(), &AtomicU32::new(0)), Ok(7));
    assert_eq!(opened.load(Ordering::SeqCst), 3);
    let calls = Arc::new(AtomicU32::new(0));
    let future = {
        let (pg, calls) = (pg.clone(), calls.clone());
        async move { query_async(pg, &calls).await }
    };
    assert_eq!(tokio::spawn(future).await.unwrap(), Ok(7));
    assert_eq!(query_borrowed(pg.clone(), &AtomicU32::new(0)), Ok(7));
    assert_eq!(hedged_query(pg).await, Ok(7));
}

// `#[hedge]` under another name, above `#[retry]`: the hedged call is retried.

#[hedged(n = 2, delay = 10ms)]
#[retry(stop = attempts(3), wait = none())]
async fn renamed_hedge_above(calls: &AtomicU32) -> Result<u32, u32> {
    let n = calls.fetch_add(1, Ordering::SeqCst) + 1;
    if n < 3 { Err(n) } else { Ok(n) }
}

#[tokio::test]
async fn a_renamed_hedge_above_retry_is_retried_whole() {
    let calls = AtomicU32::new(0);
    assert_eq!(renamed_hedge_above(&calls).await, Ok(3));
}
