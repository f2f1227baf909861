//! Attributes of [memscope](https://docs.rs/memscope): `#[memscope::track]`,
//! `#[memscope::main]` and `#[memscope::test]`.
//!
//! Use them through the `memscope` crate, which re-exports them; the code they
//! generate reaches the runtime only through `::memscope::__private` (and
//! `#[memscope::test]` through memscope's public `measure_named` and `assert_mem!`).
#![forbid(unsafe_code)]

use proc_macro::TokenStream;

mod args;
mod entry;
mod item;
mod test_attr;
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

/// Runs an `async fn` as a tokio test, measured, and fails it when its memory goes
/// over budget. Use it in place of `#[tokio::test]`.
///
/// ```
/// #[memscope::test(peak = "256 KiB", retained = 0, allocations = 96)]
/// async fn parses_small_requests() {
///     let v = vec![0u8; 1000];
///     assert_eq!(v.len(), 1000);
/// }
/// ```
///
/// `cargo test` runs it (a doctest only compiles it: `#[test]` fns are left out
/// of other builds; the equivalent code below runs). The body runs inside [`memscope::measure_named`], named after the test's path
/// (`my_crate::tests::parses_small_requests`), on a runtime of its own. When it has
/// returned, each budget is checked with [`memscope::assert_mem!`], whose panic
/// names the figure, its budget and its value; then the test returns the body's
/// value, so a test returning `Result` works as with `#[tokio::test]`, and one
/// that returns an `Err` is held to its budgets too.
///
/// [`memscope::measure_named`]: https://docs.rs/memscope/latest/memscope/fn.measure_named.html
/// [`memscope::assert_mem!`]: https://docs.rs/memscope/latest/memscope/macro.assert_mem.html
///
/// # Arguments
///
/// All optional. A budget is an upper bound (`<=`) on the figure of
/// `memscope::Stats` of the same name, counted over the body and every task
/// created inside it (its task tree), and over nothing else, so tests running at
/// once see only their own memory:
///
/// | argument | value | bounds |
/// |---|---|---|
/// | `allocated = …` | bytes: an integer, or a string with a unit (see below) | bytes allocated (requested sizes) |
/// | `freed = …` | bytes | bytes of those allocations freed by the end, by anyone |
/// | `peak = …` | bytes | the most bytes held at once |
/// | `retained = …` | bytes | bytes still allocated at the end: leaked, cached, or returned by the body |
/// | `allocations = N` | an integer | allocations (a `realloc` counts as a free and an allocation) |
/// | `frees = N` | an integer | frees of those allocations |
/// | `retained_blocks = N` | an integer | blocks still allocated at the end |
/// | `polls = N` | an integer | polls of the tree's tasks |
/// | `tasks = N` | an integer | tasks in the tree, the body's own included |
/// | `flavor = "…"` | `"current_thread"` or `"multi_thread"`, as with `#[tokio::test]` | default `"current_thread"` |
/// | `worker_threads = N` | an integer, at least 1; only with `"multi_thread"` | default: tokio's, one per core |
///
/// A size string is a number and a binary unit, `B`, `KiB`, `MiB` or `GiB`:
/// `"100 B"`, `"256 KiB"`, `"1.5 MiB"`, `"2 GiB"`; it is read into bytes at compile
/// time and must come to a whole number of them. `KB`, `MB` and `GB` are rejected:
/// they mean 1,000 to some and 1,024 to others.
///
/// Other attributes, written above or below it, stay on the test fn:
/// `#[ignore]`, or `#[should_panic(expected = "…")]` for a test meant to go over
/// budget (the panic starts ``memscope::assert_mem! failed for `path::of::the_test` ``,
/// then lists the failed budgets as `retained <= 0 B (0): retained is 100 B (100)`).
///
/// With `flavor = "multi_thread"`, leave room in `retained` for the task cells of
/// spawned tasks: tokio frees a cell on the worker that ran the task, which may be
/// just after the join has handed its output back, so it may still be live when
/// the figures are read.
///
/// # Equivalent code
///
/// The fn becomes a plain test fn: `async` dropped, the return type and the other
/// attributes kept, `#[::core::prelude::v1::test]` put first. Without the attribute,
/// the test above reads (here without `#[test]`, so that the example can call it):
///
/// ```
/// fn parses_small_requests() {
///     let runtime = tokio::runtime::Builder::new_current_thread()
///         .enable_all()
///         .build()
///         .expect("memscope::test: could not build the tokio runtime");
///     let (output, stats) = runtime.block_on(memscope::measure_named(
///         async move {
///             let v = vec![0u8; 1000];
///             assert_eq!(v.len(), 1000);
///         },
///         concat!(module_path!(), "::parses_small_requests"),
///     ));
///     memscope::assert_mem!(stats, peak <= 262144u64, retained <= 0u64, allocations <= 96u64);
///     output
/// }
/// # parses_small_requests();
/// ```
///
/// `flavor = "multi_thread"` builds the runtime with `new_multi_thread()`, and
/// `worker_threads = N` adds `.worker_threads(N)`.
///
/// # Errors
///
/// Each is a compile error on the offending token: an unknown argument (the
/// message lists the accepted ones) or a duplicate one, a size string that is
/// not one (`"1 MB"`, `"1.3 B"`, no unit, an unknown unit), a string for a count,
/// an unknown `flavor`, `worker_threads` without `flavor = "multi_thread"`, a fn
/// that is not `async`, a fn with parameters, and the attribute on something that
/// is not a fn. A bad argument is left out and the rest still expands, so there
/// is one error, not a cascade.
#[proc_macro_attribute]
pub fn test(args: TokenStream, item: TokenStream) -> TokenStream {
    test_attr::test(args.into(), item.into()).into()
}
