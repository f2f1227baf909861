#[memscope::track(name = "fetch_user", level = "debug")]
async fn fetch_user() {}

fn main() {
    let _ = fetch_user();
}
