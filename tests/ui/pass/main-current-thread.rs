#![deny(warnings)]
//! tokio's arguments pass through: the body runs on a current-thread runtime.

#[memscope::main(flavor = "current_thread", summary = false)]
async fn main() {
    let flavor = tokio::runtime::Handle::current().runtime_flavor();
    assert_eq!(flavor, tokio::runtime::RuntimeFlavor::CurrentThread);
    // The body is the root tracked task.
    let root = memscope::current_task_id().expect("main runs inside a tracked task");
    let snapshot = memscope::snapshot();
    assert_eq!(snapshot.task(root).map(|t| t.name.as_str()), Some("main"));
}
