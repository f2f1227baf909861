//! Attributes of [memscope](https://docs.rs/memscope): `#[memscope::track]` and
//! `#[memscope::main]`.
//!
//! Use them through the `memscope` crate, which re-exports both; the code they
//! generate reaches the runtime only through `::memscope::__private`.
#![forbid(unsafe_code)]

use proc_macro::TokenStream;

mod args;
mod entry;
mod item;
mod track;

/// Tracks each call of an `async fn` as one task: memory it allocates and
/// frees, how long it runs and waits, and which memory outlives it.
///
/// ```
/// #[memscope::track(name = "fetch_user", task_type = "network")]
/// async fn fetch_user(id: u64) -> Result<String, std::io::Error> {
///     if id == 0 {
///         return Err(std::io::Error::other("there is no user 0"));
///     }
///     let user = format!("user {id}");
///     Ok(user)
/// }
///
/// #[memscope::main(flavor = "current_thread", summary = false)]
/// async fn main() {
///     assert_eq!(fetch_user(7).await.unwrap(), "user 7");
///     assert!(fetch_user(0).await.is_err());
///     let snapshot = memscope::snapshot();
///     let calls = snapshot.task_profiles().iter().filter(|t| t.name == "fetch_user");
///     assert_eq!(calls.count(), 2, "one tracked task per call");
/// }
/// ```
///
/// # Arguments
///
/// | argument | value | default |
/// |---|---|---|
/// | `name = "…"` | a string literal, the task's name in reports | the fn's path, as `type_name` writes it without generic parameters: `app::fetch_user` for a free fn, `app::Db::fetch_user` for a method or associated fn of `Db` (with or without `self`; in a trait impl too), `app::Store::fetch_user` for a trait's default fn without `self` |
/// | `task_type = "…"` | `"cpu"`, `"io"`, `"network"`, `"memory"`, `"background"` or `"unspecified"` | the caller's type when awaited or spawned inside a tracked task, else `"unspecified"` |
/// | `label = …` | any expression whose value is `Display` (an argument such as a peer address, `self.id`), evaluated when the fn is called; shown beside the name of this instance, grouped by the name alone | none |
///
/// # Where it applies
///
/// Any `async fn` with a body: free fns, inherent methods taking `self`,
/// `&self` or `&mut self`, methods of trait impls and default methods written
/// as native `async fn` in traits, generic fns with lifetimes and `where`
/// clauses, `impl Trait` arguments and return types. The body keeps `?` and
/// early `return` as written; both leave the tracked task.
///
/// A `#[track]` fn awaited inside another tracked task is a nested task whose
/// parent is the caller (and whose type is the caller's unless it names one); a
/// future spawned from one keeps it as parent too.
///
/// `#[async_trait]` methods are not supported: by the time this attribute runs
/// they are plain fns returning a boxed future, and the error says so. Write
/// the method as a native `async fn` in the trait (Rust 1.75 and later).
///
/// # Equivalent code
///
/// The signature stays as written; the body moves into an `async move` block
/// that is wrapped as a tracked task and awaited. Without the attribute,
/// `fetch_user` above reads:
///
/// ```
/// use memscope::{TaskType, TrackedExt};
///
/// async fn fetch_user(id: u64) -> Result<String, std::io::Error> {
///     async move {
///         if id == 0 {
///             return Err(std::io::Error::other("there is no user 0"));
///         }
///         let user = format!("user {id}");
///         Ok(user)
///     }
///     .tracked("fetch_user", TaskType::NetworkIntensive)
///     .await
/// }
/// # assert_eq!(
/// #     tokio::runtime::Builder::new_current_thread()
/// #         .build()
/// #         .unwrap()
/// #         .block_on(fetch_user(7))
/// #         .unwrap(),
/// #     "user 7"
/// # );
/// ```
///
/// The generated code also ties the block's output type to the declared
/// return type, so `?` converts into the declared error type and a type
/// mismatch is reported at your own tail expression.
///
/// # Errors
///
/// Each is a compile error on the offending token; the fn itself is kept, so
/// callers see no further errors:
/// a fn that is not `async`, a trait method without a body, an unknown or
/// duplicate argument, a value that is not a string literal, an unknown
/// `task_type` (the message lists the valid ones).
#[proc_macro_attribute]
pub fn track(args: TokenStream, item: TokenStream) -> TokenStream {
    track::track(args.into(), item.into()).into()
}

/// Runs an `async fn` on a tokio runtime as the root tracked task, and reports
/// on memory at shutdown. Use it in place of `#[tokio::main]`.
///
/// ```
/// #[memscope::track(task_type = "memory")]
/// async fn build_cache() -> Vec<u64> {
///     (0..1_000).collect()
/// }
///
/// #[memscope::main(summary = false)]
/// async fn main() -> Result<(), Box<dyn std::error::Error>> {
///     let cache = build_cache().await;
///     let first = cache.first().ok_or("empty cache")?;
///     assert_eq!(*first, 0);
///     Ok(())
/// }
/// ```
///
/// With `report = "target/memscope.json"` it also writes a JSON report there.
/// At start-up the session checks that the report can be written and says on
/// stderr if not (it never panics). When the body returns, a summary goes to
/// stderr (top tasks by peak, a table per task type, memory retained after
/// completion, the untracked share) and the report is written; then `main`
/// returns the body's value, so a `main` returning `Result` works as before.
///
/// The figures at the end are taken once tokio's runtime is gone: every task it
/// ran has completed or been dropped, so no tracked task runs or is being dropped
/// while they are read, and the same run gives the same figures. A report that
/// cannot be written makes `main` exit with status 1, after the summary.
///
/// # Arguments
///
/// memscope's own:
///
/// | argument | value | default |
/// |---|---|---|
/// | `report = "…"` | path of the report written at shutdown; the format follows the extension (`.txt`, `.json`, `.html`, `.trace.json`) | no report, unless the environment variable `MEMSCOPE_REPORT` names a path (it wins over this argument) |
/// | `summary = …` | `true` or `false`: print the summary to stderr | `true` |
/// | `format = "…"` | `"text"`, `"json"`, `"html"` or `"trace"`, overriding the extension | from the extension |
///
/// and those of `#[tokio::main]`, passed on verbatim so tokio checks them with
/// its own messages: `flavor = "current_thread" | "multi_thread"`,
/// `worker_threads = N`, `start_paused = true` (with `"current_thread"`), and
/// `unhandled_panic = "…"` (needs `--cfg tokio_unstable`). `crate = "…"` is
/// not accepted: memscope points tokio at its own copy.
///
/// The fn may have any name, like with `#[tokio::main]`, but no parameters.
///
/// # Equivalent code
///
/// Without the attribute, `main` above reads:
///
/// ```
/// # #[memscope::track(task_type = "memory")]
/// # async fn build_cache() -> Vec<u64> {
/// #     (0..1_000).collect()
/// # }
/// use memscope::{Session, SessionOptions, TaskType, TrackedExt};
///
/// fn main() -> Result<(), Box<dyn std::error::Error>> {
///     let session = Session::start(SessionOptions::new().summary(false));
///     let output: Result<(), Box<dyn std::error::Error>> =
///         tokio::runtime::Builder::new_multi_thread()
///             .enable_all()
///             .build()
///             .expect("Failed building the Runtime")
///             .block_on(
///                 async move {
///                     let cache = build_cache().await;
///                     let first = cache.first().ok_or("empty cache")?;
///                     assert_eq!(*first, 0);
///                     Ok(())
///                 }
///                 .tracked("main", TaskType::Unspecified),
///             );
///     // The runtime was dropped at the end of the statement above.
///     let end = session.end();
///     end.print();
///     if end.report_lost() {
///         std::process::exit(1);
///     }
///     output
/// }
/// ```
///
/// # Errors
///
/// Each is a compile error on the offending token, and the fn still expands,
/// so there is one error, not a cascade: a fn that is not `async`, a fn with
/// parameters, an unknown or duplicate argument, `crate = …`, a value of the
/// wrong kind, an unknown `format`, and whatever `#[tokio::main]` rejects
/// (such as `worker_threads` with `flavor = "current_thread"`).
#[proc_macro_attribute]
pub fn main(args: TokenStream, item: TokenStream) -> TokenStream {
    entry::main(args.into(), item.into()).into()
}
