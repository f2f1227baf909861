#![deny(warnings)]
//! Generic fns with lifetimes, `where` clauses, `impl Trait` arguments and returns.

use std::fmt::Display;

#[memscope::track]
async fn longest<'a, 'b: 'a>(a: &'a str, b: &'b str) -> &'a str {
    if a.len() >= b.len() {
        a
    } else {
        b
    }
}

#[memscope::track(task_type = "cpu")]
async fn join_all<T, I>(items: I, sep: &str) -> String
where
    T: Display,
    I: IntoIterator<Item = T>,
{
    items
        .into_iter()
        .map(|t| t.to_string())
        .collect::<Vec<_>>()
        .join(sep)
}

#[memscope::track]
async fn evens(limit: u32, keep: impl Fn(u32) -> bool) -> impl Iterator<Item = u32> {
    (0..limit).filter(move |n| n % 2 == 0 && keep(*n))
}

#[memscope::track]
async fn first_word(text: &str) -> &str {
    text.split(' ').next().unwrap_or_default()
}

#[memscope::track]
async fn pair<T: Clone + Send>(value: T) -> (T, T) {
    (value.clone(), value)
}

#[memscope::track]
async fn boxed_display(n: u8) -> Box<dyn Display + Send> {
    Box::new(n)
}

#[memscope::track]
async fn result_of_impl(n: u8) -> Result<impl Display, String> {
    if n > 0 {
        Ok(n)
    } else {
        Err("zero".to_owned())
    }
}

#[memscope::track]
async fn later(n: u8) -> impl std::future::Future<Output = u8> {
    async move { n + 1 }
}

const fn assert_send<T: Send>(t: T) -> T {
    t
}

#[memscope::main(flavor = "current_thread", summary = false)]
async fn main() {
    assert_eq!(longest("abc", "de").await, "abc");
    assert_eq!(join_all([1, 2, 3], ",").await, "1,2,3");
    assert_eq!(evens(7, |n| n != 2).await.collect::<Vec<_>>(), [0, 4, 6]);
    assert_eq!(first_word("hello world").await, "hello");
    assert_eq!(
        assert_send(pair(String::from("x"))).await,
        ("x".into(), "x".into())
    );
    assert_eq!(boxed_display(4).await.to_string(), "4");
    assert_eq!(result_of_impl(3).await.unwrap().to_string(), "3");
    assert!(result_of_impl(0).await.is_err());
    assert_eq!(later(1).await.await, 2);
}
