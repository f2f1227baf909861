#[memscope::track(task_type = "gpu")]
async fn render() {}

fn main() {
    let _ = render();
}
