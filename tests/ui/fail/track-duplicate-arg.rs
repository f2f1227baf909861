#[memscope::track(task_type = "io", task_type = "network")]
async fn fetch_user() {}

fn main() {
    let _ = fetch_user();
}
