//! Fn shapes that compile and run without `#[retry]`: with it, they compile and
//! mean the same thing (issue: "`#[retry]` accepts every fn a plain fn accepts").

use std::cell::Cell;
use std::pin::Pin;

use retry::retry;

#[derive(Clone, Debug)]
struct Counter {
    n: u32,
}

impl Counter {
    /// `{self}` inside a format string is the attempt's `self`, as every other
    /// `self` token of the body.
    #[retry(stop = attempts(2), wait = none())]
    fn describe(mut self) -> Result<String, String> {
        self.n += 1;
        Err(format!("{self:?} | {:?}", self))
    }

    #[retry(stop = attempts(2), wait = none())]
    async fn describe_async(mut self) -> Result<String, String> {
        self.n += 1;
        tokio::task::yield_now().await;
        Err(format!("{self:?} | {:?}", self))
    }

    /// A by-value `self` that the body moves out of: each attempt has its own.
    #[retry(stop = attempts(3), wait = none())]
    fn into_parts(self) -> Result<(u32, String), u32> {
        let Counter { n } = self;
        if retry::attempt() == Some(3) { Ok((n, format!("{n}"))) } else { Err(n) }
    }
}

#[test]
fn self_in_format_strings_is_the_attempts_copy() {
    assert_eq!(Counter { n: 0 }.describe(), Err("Counter { n: 1 } | Counter { n: 1 }".to_owned()));
    assert_eq!(Counter { n: 0 }.into_parts(), Ok((0, "0".to_owned())));
}

#[tokio::test]
async fn self_in_format_strings_is_the_attempts_copy_async() {
    assert_eq!(
        Counter { n: 0 }.describe_async().await,
        Err("Counter { n: 1 } | Counter { n: 1 }".to_owned())
    );
}

// Futures stay `Send` when the plain fn's are.

#[retry(stop = attempts(2), wait = none())]
async fn by_value_cell(cell: Cell<u32>) -> Result<u32, u32> {
    cell.set(cell.get() + 1);
    tokio::task::yield_now().await;
    Err(cell.get())
}

struct SendNotSync {
    seen: Cell<u32>,
}

impl SendNotSync {
    #[retry(stop = attempts(3), wait = none())]
    async fn bump(&mut self) -> Result<u32, u32> {
        self.seen.set(self.seen.get() + 1);
        tokio::task::yield_now().await;
        if self.seen.get() < 3 { Err(self.seen.get()) } else { Ok(self.seen.get()) }
    }
}

#[retry(stop = attempts(3), wait = none())]
async fn calls(f: impl Fn() -> u32 + Send) -> Result<u32, u32> {
    let n = f();
    tokio::task::yield_now().await;
    if n < 3 { Err(n) } else { Ok(n) }
}

#[tokio::test]
async fn futures_are_send_when_the_plain_fns_are() {
    let out = tokio::spawn(by_value_cell(Cell::new(0))).await.unwrap();
    assert_eq!(out, Err(1), "each attempt starts from its own copy");

    let out = tokio::spawn(async {
        let mut s = SendNotSync { seen: Cell::new(0) };
        s.bump().await
    })
    .await
    .unwrap();
    assert_eq!(out, Ok(3));

    let count = std::sync::Arc::new(std::sync::atomic::AtomicU32::new(0));
    let counted = count.clone();
    let f = move || counted.fetch_add(1, std::sync::atomic::Ordering::Relaxed) + 1;
    // `Cell` makes the closure `Send` but not `Sync`.
    let local = Cell::new(0u32);
    let g = move || {
        local.set(local.get() + 1);
        f()
    };
    assert_eq!(tokio::spawn(calls(g)).await.unwrap(), Ok(3));
}

// `self: Pin<&mut Self>`, reborrowed per attempt.

struct Pinned {
    polls: u32,
}

impl Pinned {
    #[retry(stop = attempts(3), wait = none())]
    fn poll_once(mut self: Pin<&mut Self>) -> Result<u32, u32> {
        self.as_mut().get_mut().polls += 1;
        if self.polls < 3 { Err(self.polls) } else { Ok(self.polls) }
    }

    #[retry(stop = attempts(3), wait = none())]
    async fn poll_async(mut self: Pin<&mut Self>) -> Result<u32, u32> {
        self.as_mut().get_mut().polls += 1;
        tokio::task::yield_now().await;
        if self.polls < 3 { Err(self.polls) } else { Ok(self.polls) }
    }
}

#[tokio::test]
async fn pin_mut_self_is_reborrowed_per_attempt() {
    let mut pinned = Pinned { polls: 0 };
    assert_eq!(Pin::new(&mut pinned).poll_once(), Ok(3));
    let mut pinned = Pinned { polls: 0 };
    assert_eq!(Pin::new(&mut pinned).poll_async().await, Ok(3));
}

// The user's names win over the DSL's.

#[retry(stop = attempts(attempts), wait = none())]
fn attempts_argument(attempts: u32, calls: &Cell<u32>) -> Result<(), ()> {
    calls.set(calls.get() + 1);
    Err(())
}

#[test]
fn an_argument_named_like_a_dsl_fn_stays_the_argument() {
    let calls = Cell::new(0);
    assert_eq!(attempts_argument(4, &calls), Err(()));
    assert_eq!(calls.get(), 4);
}

// No user name collides with a name the expansion introduces.

#[retry(stop = attempts(2), wait = none())]
fn hidden_names(__retry: &Cell<u32>, __retry_policy: u32, __retry_hedging: u32) -> Result<u32, u32> {
    __retry.set(__retry.get() + 1);
    Err(__retry_policy + __retry_hedging)
}

#[retry(stop = attempts(2), wait = none())]
async fn hidden_names_async(
    __retry: &Cell<u32>,
    (a, b): (u32, u32),
    __retry_arg1: u32,
    __retry_self: u32,
) -> Result<u32, u32> {
    __retry.set(__retry.get() + 1);
    Err(a + b + __retry_arg1 + __retry_self)
}

#[tokio::test]
async fn user_names_never_collide_with_the_expansions() {
    let calls = Cell::new(0);
    assert_eq!(hidden_names(&calls, 1, 2), Err(3));
    assert_eq!(calls.get(), 2);
    let calls = Cell::new(0);
    assert_eq!(hidden_names_async(&calls, (1, 2), 3, 4).await, Err(10));
    assert_eq!(calls.get(), 2);
}

// An error type named through a type parameter (`S::Error`), with `on`.

#[derive(Debug, PartialEq)]
enum ServiceError {
    Busy,
    Down,
}

trait Service {
    type Error;
    fn call(&self) -> Result<u32, Self::Error>;
}

struct Flaky(Cell<u32>);

impl Service for Flaky {
    type Error = ServiceError;
    fn call(&self) -> Result<u32, ServiceError> {
        self.0.set(self.0.get() + 1);
        if self.0.get() < 3 { Err(ServiceError::Busy) } else { Err(ServiceError::Down) }
    }
}

#[retry(stop = attempts(5), wait = none(), on = [ServiceError::Busy])]
fn through<S: Service<Error = ServiceError>>(service: &S) -> Result<u32, S::Error> {
    service.call()
}

#[test]
fn on_patterns_with_an_associated_error_type() {
    let flaky = Flaky(Cell::new(0));
    assert_eq!(through(&flaky), Err(ServiceError::Down));
    assert_eq!(flaky.0.get(), 3, "Busy is retried, Down is not");
}

// `#[async_trait]` with `&mut self`.

#[async_trait::async_trait]
trait Bump {
    async fn bump(&mut self) -> Result<u32, u32>;
}

struct Bumper {
    n: u32,
}

#[async_trait::async_trait]
impl Bump for Bumper {
    #[retry(stop = attempts(3), wait = none())]
    async fn bump(&mut self) -> Result<u32, u32> {
        self.n += 1;
        tokio::task::yield_now().await;
        if self.n < 3 { Err(self.n) } else { Ok(self.n) }
    }
}

#[tokio::test]
async fn async_trait_with_mut_self() {
    let mut bumper = Bumper { n: 0 };
    assert_eq!(tokio::spawn(async move { bumper.bump().await }).await.unwrap(), Ok(3));
}

// The return type is recognised by what it is, not by its name.

#[derive(Debug, PartialEq)]
struct SearchResult {
    hits: u32,
}

#[retry(stop = attempts(5), wait = none(), if_result = |r: &SearchResult| r.hits == 0)]
fn search(tries: &Cell<u32>) -> SearchResult {
    tries.set(tries.get() + 1);
    SearchResult { hits: if tries.get() < 3 { 0 } else { 7 } }
}

type Fallible<T> = Result<T, ServiceError>;

#[retry(stop = attempts(5), wait = none(), on = [ServiceError::Busy])]
fn fallible(tries: &Cell<u32>) -> Fallible<u32> {
    tries.set(tries.get() + 1);
    if tries.get() < 3 { Err(ServiceError::Busy) } else { Ok(tries.get()) }
}

#[retry(stop = attempts(5), wait = none(), when = |e: &ServiceError| *e == ServiceError::Busy)]
async fn fallible_async(tries: &Cell<u32>) -> Fallible<u32> {
    tries.set(tries.get() + 1);
    tokio::task::yield_now().await;
    if tries.get() < 3 { Err(ServiceError::Busy) } else { Ok(tries.get()) }
}

#[tokio::test]
async fn result_aliases_are_results_and_a_search_result_is_a_value() {
    let tries = Cell::new(0);
    assert_eq!(search(&tries), SearchResult { hits: 7 });
    assert_eq!(tries.get(), 3);
    let tries = Cell::new(0);
    assert_eq!(fallible(&tries), Ok(3));
    let tries = Cell::new(0);
    assert_eq!(fallible_async(&tries).await, Ok(3));
}

// `impl Trait + Clone` by value: each attempt gets its own copy.

#[retry(stop = attempts(3), wait = none())]
fn greet(name: impl Into<String> + Clone, seen: &Cell<u32>) -> Result<String, String> {
    seen.set(seen.get() + 1);
    let name: String = name.into();
    if seen.get() < 3 { Err(name) } else { Ok(format!("hello {name}")) }
}

#[test]
fn a_cloneable_impl_trait_argument_is_copied_per_attempt() {
    let seen = Cell::new(0);
    assert_eq!(greet("you", &seen), Ok("hello you".to_owned()));
}

// The default name of a method includes its type.

mod pg_demo {
    use std::cell::Cell;

    use retry::retry;

    pub struct Db;

    impl Db {
        #[retry(stop = attempts(1), after = |a: &retry::Attempt<'_, u32, ()>| seen.set(a.name()))]
        pub fn count_rows(&self, seen: &Cell<&'static str>) -> Result<u32, ()> {
            Ok(1)
        }

        #[retry(stop = attempts(1), after = |a: &retry::Attempt<'_, Self, ()>| seen.set(a.name()))]
        pub async fn connect(seen: &Cell<&'static str>) -> Result<Self, ()> {
            Ok(Db)
        }
    }

    pub struct Pool<T>(pub T);

    impl<T> Pool<T> {
        #[retry(stop = attempts(1), after = |a: &retry::Attempt<'_, u32, ()>| seen.set(a.name()))]
        pub fn get(&self, seen: &Cell<&'static str>) -> Result<u32, ()> {
            Ok(1)
        }
    }

    #[retry(stop = attempts(1), after = |a: &retry::Attempt<'_, u32, ()>| seen.set(a.name()))]
    pub fn free(seen: &Cell<&'static str>) -> Result<u32, ()> {
        Ok(1)
    }
}

#[tokio::test]
async fn the_default_name_of_a_method_is_its_types_path() {
    let seen = Cell::new("");
    let _ = pg_demo::Db.count_rows(&seen);
    assert_eq!(seen.get(), "macro_fn_shapes::pg_demo::Db::count_rows");
    let _ = pg_demo::Db::connect(&seen).await;
    assert_eq!(seen.get(), "macro_fn_shapes::pg_demo::Db::connect");
    let _ = pg_demo::Pool(1u8).get(&seen);
    assert_eq!(seen.get(), "macro_fn_shapes::pg_demo::Pool<u8>::get");
    let _ = pg_demo::Pool("x").get(&seen);
    assert_eq!(seen.get(), "macro_fn_shapes::pg_demo::Pool<&str>::get", "one static, two types");
    let _ = pg_demo::Pool(1u8).get(&seen);
    assert_eq!(seen.get(), "macro_fn_shapes::pg_demo::Pool<u8>::get");
    let _ = pg_demo::free(&seen);
    assert_eq!(seen.get(), "macro_fn_shapes::pg_demo::free");
}

// `#[tracing::instrument]` above `#[retry]`, with `&mut self`.

struct Instrumented {
    n: u32,
}

impl Instrumented {
    #[tracing::instrument(skip(self))]
    #[retry(stop = attempts(3), wait = none())]
    async fn bump(&mut self) -> Result<u32, u32> {
        self.n += 1;
        tokio::task::yield_now().await;
        if self.n < 3 { Err(self.n) } else { Ok(self.n) }
    }

    #[tracing::instrument(skip(self), err)]
    #[retry(stop = attempts(3), wait = none())]
    async fn bump_err(&mut self) -> Result<u32, u32> {
        self.n += 1;
        tokio::task::yield_now().await;
        if self.n < 6 { Err(self.n) } else { Ok(self.n) }
    }

    #[tracing::instrument(skip(self, buf), err)]
    #[retry(stop = attempts(3), wait = none())]
    fn bump_sync(&mut self, buf: &mut Vec<u32>) -> Result<u32, u32> {
        self.n += 1;
        buf.push(self.n);
        if self.n < 9 { Err(self.n) } else { Ok(self.n) }
    }
}

#[tokio::test]
async fn tracing_instrument_above_retry_with_mut_self() {
    let mut it = Instrumented { n: 0 };
    assert_eq!(it.bump().await, Ok(3));
    assert_eq!(it.bump_err().await, Ok(6));
    let mut buf = Vec::new();
    assert_eq!(it.bump_sync(&mut buf), Ok(9));
    assert_eq!(buf, [7, 8, 9]);
    let mut it = Instrumented { n: 0 };
    assert_eq!(tokio::spawn(async move { it.bump().await }).await.unwrap(), Ok(3));
}

// A generic value that is not `Clone` is lent to each attempt, as `impl Trait`.

#[retry(stop = attempts(3), wait = none())]
async fn generic_callback<F: Fn() -> u32 + Send>(f: F) -> Result<u32, u32> {
    let n = f();
    tokio::task::yield_now().await;
    if n < 3 { Err(n) } else { Ok(n) }
}

#[tokio::test]
async fn a_generic_callback_is_lent_and_the_future_stays_send() {
    let count = std::sync::Arc::new(std::sync::atomic::AtomicU32::new(0));
    let counted = count.clone();
    let local = Cell::new(0u32);
    let f = move || {
        local.set(local.get() + 1);
        counted.fetch_add(1, std::sync::atomic::Ordering::Relaxed) + 1
    };
    assert_eq!(tokio::spawn(generic_callback(f)).await.unwrap(), Ok(3));
}

// A sync method taking `self` by value runs its attempts in the fn's own loop:
// hooks, the breaker and sleeps act as in any other sync call.

mod by_value_loop {
    use std::cell::Cell;
    use std::time::Duration;

    use retry::{CircuitBreaker, CircuitOpen, retry};

    #[derive(Debug, PartialEq)]
    pub enum Error {
        Down,
        Open,
    }

    impl From<CircuitOpen> for Error {
        fn from(_: CircuitOpen) -> Self {
            Error::Open
        }
    }

    pub static BREAKER: CircuitBreaker =
        CircuitBreaker::new().with_consecutive_failures(2).with_open_for(Duration::from_secs(60));

    #[derive(Clone)]
    pub struct Request {
        pub body: String,
    }

    impl Request {
        #[retry(
            stop = attempts(3),
            wait = fixed(7ms),
            breaker = BREAKER,
            before = |a: &retry::Attempt<'_, String, Error>| seen.set(seen.get() + a.attempt()),
        )]
        pub fn send(self, seen: &Cell<u32>) -> Result<String, Error> {
            let Request { body } = self;
            drop(body);
            Err(Error::Down)
        }
    }
}

#[test]
fn a_sync_by_value_self_loop_runs_hooks_breaker_and_sleeps() {
    let sleeps = retry::testing::record_sleeps();
    let seen = Cell::new(0);
    let request = by_value_loop::Request { body: "x".to_owned() };
    // Two failures open the breaker; the call gives up rather than retry into it.
    assert_eq!(request.clone().send(&seen), Err(by_value_loop::Error::Down));
    assert_eq!(seen.get(), 1 + 2);
    assert_eq!(sleeps.sleeps(), [std::time::Duration::from_millis(7)]);
    assert_eq!(request.send(&seen), Err(by_value_loop::Error::Open), "rejected at once");
}

#[retry::hedge(n = 2, delay = 50ms)]
async fn hedged_hidden_names(__retry_hedging: u32, (a, b): (u32, u32), __retry_arg1: u32) -> Result<u32, ()> {
    Ok(__retry_hedging + a + b + __retry_arg1)
}

#[tokio::test]
async fn user_names_never_collide_with_the_hedges() {
    assert_eq!(hedged_hidden_names(1, (2, 3), 4).await, Ok(10));
}

// DSL fns called inside a block of a value are the DSL's; a name the value
// binds itself stays its own.

#[retry(stop = { let n = 2; attempts(n) }, wait = { let none = 0; fixed(none) })]
fn dsl_in_blocks(calls: &Cell<u32>) -> Result<(), ()> {
    calls.set(calls.get() + 1);
    Err(())
}

#[test]
fn dsl_fns_inside_blocks() {
    let _sleeps = retry::testing::record_sleeps();
    let calls = Cell::new(0);
    assert_eq!(dsl_in_blocks(&calls), Err(()));
    assert_eq!(calls.get(), 2);
}

/// `#[hedge]` clones an `impl Trait + Clone` argument for each copy, as
/// `#[retry]` clones it for each attempt.
#[retry::hedge(n = 2, delay = 50ms)]
async fn hedged_cloneable_callback(f: impl Fn() -> u32 + Clone) -> Result<u32, ()> {
    Ok(f())
}

#[tokio::test]
async fn hedge_clones_a_cloneable_impl_trait_argument() {
    let base = 40;
    assert_eq!(hedged_cloneable_callback(move || base + 2).await, Ok(42));
}

/// A by-value argument the body never names is not copied per attempt, so it
/// need not be `Clone`: a type parameter of the `impl` (which the attribute
/// cannot see) as well as one the attribute's values read.
struct Tagged<T>(std::marker::PhantomData<T>);

struct NotClone(u32);

impl<T> Tagged<T> {
    #[retry(stop = attempts(3), wait = none())]
    fn ignore(&self, _tag: T, tries: &Cell<u32>) -> Result<u32, u32> {
        tries.set(tries.get() + 1);
        Err(tries.get())
    }
}

#[retry(stop = attempts(limit.0), wait = none())]
fn limited(limit: NotClone, tries: &Cell<u32>) -> Result<u32, u32> {
    tries.set(tries.get() + 1);
    Err(tries.get())
}

#[retry(stop = attempts(limit.0), wait = none())]
async fn limited_async(limit: NotClone, tries: &Cell<u32>) -> Result<u32, u32> {
    tries.set(tries.get() + 1);
    Err(tries.get())
}

#[tokio::test]
async fn unused_by_value_arguments_need_not_be_clone() {
    let tries = Cell::new(0);
    assert_eq!(Tagged(std::marker::PhantomData).ignore(NotClone(0), &tries), Err(3));
    let tries = Cell::new(0);
    assert_eq!(limited(NotClone(2), &tries), Err(2));
    let tries = Cell::new(0);
    assert_eq!(limited_async(NotClone(4), &tries).await, Err(4));
}

/// A pattern argument keeps its pattern (rustdoc shows it), its names can be
/// read by the attribute's values, and each attempt gets its own copy of them.
#[retry(stop = attempts(tries), wait = none())]
fn pattern_limit((tries, mut label): (u32, String), seen: &Cell<u32>) -> Result<String, String> {
    label.push('!');
    seen.set(seen.get() + 1);
    Err(label)
}

#[derive(Clone)]
struct Point {
    x: u32,
    y: u32,
}

#[retry(stop = attempts(x + y), wait = none())]
async fn pattern_limit_async(
    Point { x, y }: Point,
    cell: (Cell<u32>,),
    seen: &Cell<u32>,
) -> Result<u32, u32> {
    let (cell,) = cell;
    cell.set(cell.get() + 1);
    seen.set(seen.get() + 1);
    tokio::task::yield_now().await;
    Err(cell.get())
}

#[retry(stop = attempts(2), wait = none())]
async fn pattern_cell_send((a, b): (Cell<u32>, u32)) -> Result<u32, u32> {
    a.set(a.get() + b);
    tokio::task::yield_now().await;
    Err(a.get())
}

#[tokio::test]
async fn pattern_arguments_are_readable_by_values_and_copied_per_attempt() {
    let seen = Cell::new(0);
    assert_eq!(pattern_limit((3, "x".to_owned()), &seen), Err("x!".to_owned()));
    assert_eq!(seen.get(), 3);
    let seen = Cell::new(0);
    assert_eq!(pattern_limit_async(Point { x: 1, y: 1 }, (Cell::new(5),), &seen).await, Err(6));
    assert_eq!(seen.get(), 2);
    let handle = tokio::spawn(pattern_cell_send((Cell::new(1), 2)));
    assert_eq!(handle.await.unwrap(), Err(3));
}

/// A `Pin<&mut T>` argument is reborrowed for each attempt (`as_mut()`), as a
/// `self: Pin<&mut Self>` is.
#[retry(stop = attempts(3), wait = none())]
fn pinned_counter(counter: Pin<&mut u32>) -> Result<u32, u32> {
    let n = counter.get_mut();
    *n += 1;
    if *n < 3 { Err(*n) } else { Ok(*n) }
}

#[retry(stop = attempts(3), wait = none())]
async fn pinned_future(
    mut job: Pin<&mut (dyn std::future::Future<Output = u32> + Send)>,
) -> Result<u32, u32> {
    let polled = std::future::poll_fn(|cx| std::task::Poll::Ready(job.as_mut().poll(cx))).await;
    match polled {
        std::task::Poll::Ready(n) => Ok(n),
        std::task::Poll::Pending => Err(0),
    }
}

#[tokio::test]
async fn pin_mut_arguments_are_reborrowed_per_attempt() {
    let mut n = 0;
    assert_eq!(pinned_counter(Pin::new(&mut n)), Ok(3));
    let mut job = std::pin::pin!(async { 7 });
    assert_eq!(pinned_future(job.as_mut()).await, Ok(7));
}

/// A boxed `Fn`/`FnMut` (never `Clone`) is lent to each attempt, as an `impl Fn`
/// is, in sync and async fns.
#[retry(stop = attempts(3), wait = none())]
fn boxed_callback(f: Box<dyn Fn() -> u32>, mut g: Box<dyn FnMut() -> u32>) -> Result<u32, u32> {
    let n = f() + g();
    if n < 6 { Err(n) } else { Ok(n) }
}

#[retry(stop = attempts(3), wait = none())]
async fn boxed_callback_async(f: Box<dyn Fn() -> u32 + Send>) -> Result<u32, u32> {
    let n = f();
    tokio::task::yield_now().await;
    if n < 3 { Err(n) } else { Ok(n) }
}

#[tokio::test]
async fn boxed_fn_arguments_are_lent() {
    let calls = std::rc::Rc::new(Cell::new(0));
    let mut counter = 0;
    let counted = calls.clone();
    let f = Box::new(move || {
        counted.set(counted.get() + 1);
        counted.get()
    });
    let g = Box::new(move || {
        counter += 1;
        counter
    });
    assert_eq!(boxed_callback(f, g), Ok(6));
    assert_eq!(calls.get(), 3);
    let calls = std::sync::atomic::AtomicU32::new(0);
    let calls = std::sync::Arc::new(calls);
    let counted = calls.clone();
    let f = Box::new(move || counted.fetch_add(1, std::sync::atomic::Ordering::SeqCst) + 1);
    assert_eq!(tokio::spawn(boxed_callback_async(f)).await.unwrap(), Ok(3));
}
