use std::future::Future;

use retry::retry;

#[retry(stop = attempts(3))]
fn greet<T: Into<String>>(name: T) -> Result<String, ()> {
    let name: String = name.into();
    Ok(format!("hello {name}"))
}

#[retry(stop = attempts(3))]
fn total<I>(items: I) -> Result<u32, ()>
where
    I: Iterator<Item = u32>,
{
    Ok(items.sum())
}

#[retry(stop = attempts(3))]
fn sum(items: impl Iterator<Item = u32>) -> Result<u32, ()> {
    Ok(items.sum())
}

#[retry(stop = attempts(3))]
async fn drive(job: impl Future<Output = u32>) -> Result<u32, ()> {
    Ok(job.await)
}

/// A `mut` iterator may be advanced in place by each attempt: no error.
#[retry(stop = attempts(3))]
fn first(mut items: impl Iterator<Item = u32>) -> Result<u32, ()> {
    items.next().ok_or(())
}

#[retry(stop = attempts(3))]
fn run_once(job: Box<dyn FnOnce() -> u32>) -> Result<u32, ()> {
    Ok(job())
}

fn main() {
    let _ = greet("you");
    let _ = total([1].into_iter());
    let _ = sum([1].into_iter());
    let _ = drive(async { 1 });
    let _ = first([1].into_iter());
    let _ = run_once(Box::new(|| 1));
}
