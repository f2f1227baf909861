#![deny(warnings)]
//! `flavor`, `worker_threads`, `summary` and `format` together.

#[memscope::main(
    flavor = "multi_thread",
    worker_threads = 2,
    summary = false,
    format = "json"
)]
async fn main() {
    let flavor = tokio::runtime::Handle::current().runtime_flavor();
    assert_eq!(flavor, tokio::runtime::RuntimeFlavor::MultiThread);
    let workers = tokio::runtime::Handle::current().metrics().num_workers();
    assert_eq!(workers, 2);
}
