#[memscope::track(name = fetch_user)]
async fn fetch_user() {}

fn main() {
    let _ = fetch_user();
}
